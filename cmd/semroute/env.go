package main

import (
	"cmp"
	"os"
	"path/filepath"

	"github.com/semroute/semroute/embed/local"
	"github.com/semroute/semroute/internal/postgres"
)

// The environment variables semroute reads. They are read here, in cmd,
// and nowhere else in the service: library packages get their values
// through options and config fields (issue 20). The test helpers
// (datasets, localtest, pgtest, crashtest) read the variables of the test
// run themselves.
//
// The variables a config names (api_key_env of models, embedders and the
// external moderator, env of server.api_keys) are read through lookupEnv,
// which cmd passes to router/upstream.NewPool and gateway.Options: the
// gateway reads them again on each reload of the config.

// lookupEnv reads a variable a config names (os.LookupEnv).
var lookupEnv = os.LookupEnv

// envPGDSN is $SEMROUTE_PG_DSN: the PostgreSQL DSN when the config's
// index.dsn (or bench pgvector's --dsn) is empty.
func envPGDSN() string { return os.Getenv(postgres.DSNEnv) }

// envCacheDir is $SEMROUTE_CACHE: the directory of the embedded default's
// vectors file, else local.CacheDir ($XDG_CACHE_HOME/semroute or
// ~/.cache/semroute).
func envCacheDir() string { return cmp.Or(os.Getenv("SEMROUTE_CACHE"), local.CacheDir()) }

// envMemoryLimitSet says whether $GOMEMLIMIT is set: the runtime read it,
// and it wins over the config's memory_limit_mb.
func envMemoryLimitSet() bool { return os.Getenv("GOMEMLIMIT") != "" }

// vectorsPath is the vectors file path to open: path, else the file in
// envCacheDir.
func vectorsPath(path string) string {
	if path != "" {
		return path
	}
	return filepath.Join(envCacheDir(), local.FileName)
}

// indexDSN is the DSN to open the pgvector index with: dsn, else
// $SEMROUTE_PG_DSN.
func indexDSN(dsn string) string { return cmp.Or(dsn, envPGDSN()) }
