package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/semroute/semroute/embed/local"
)

// TestPgvectorDSNFromEnv: a pgvector index with no dsn in the config takes
// $SEMROUTE_PG_DSN, which the command reads (the router package reads no
// variable); with neither, the config is refused naming index.dsn.
func TestPgvectorDSNFromEnv(t *testing.T) {
	path := demoConfigWithIndex(t, "index: {kind: pgvector}")
	t.Setenv("SEMROUTE_PG_DSN", "")
	_, err := loadConfig(path, "")
	if err == nil || !strings.Contains(err.Error(), "index.dsn: missing; give the PostgreSQL DSN here or in SEMROUTE_PG_DSN") {
		t.Fatalf("no DSN anywhere: %v, want the index.dsn problem", err)
	}
	t.Setenv("SEMROUTE_PG_DSN", "postgres://127.0.0.1:1/x")
	cfg, err := loadConfig(path, "")
	if err != nil {
		t.Fatalf("DSN in the environment: %v", err)
	}
	if got := indexDSN(cfg.Index.DSN); got != "postgres://127.0.0.1:1/x" {
		t.Errorf("indexDSN = %q, want the variable's", got)
	}
	if got := indexDSN("postgres://cfg/y"); got != "postgres://cfg/y" {
		t.Errorf("indexDSN = %q, want the config's, which wins", got)
	}
}

// TestVectorsPathFromEnv: $SEMROUTE_CACHE sets the directory of the
// vectors file the command opens when none is given.
func TestVectorsPathFromEnv(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("SEMROUTE_CACHE", dir)
	if got, want := vectorsPath(""), filepath.Join(dir, local.FileName); got != want {
		t.Errorf("vectorsPath(\"\") = %q, want %q", got, want)
	}
	if got := vectorsPath("/x/v.semvec"); got != "/x/v.semvec" {
		t.Errorf("vectorsPath of a given path = %q", got)
	}
	t.Setenv("SEMROUTE_CACHE", "")
	if got := vectorsPath(""); got != local.DefaultPath() {
		t.Errorf("vectorsPath(\"\") without the variable = %q, want %q", got, local.DefaultPath())
	}
}

// demoConfigWithIndex writes the demo config with its index line replaced
// by index, and returns the file's path.
func demoConfigWithIndex(t *testing.T, index string) string {
	t.Helper()
	data, err := os.ReadFile("../../datasets/demo/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const memory = "index: {kind: memory, data_dir: ../../data/demo}"
	if !strings.Contains(string(data), memory) {
		t.Fatalf("the demo config has no line %q", memory)
	}
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(strings.Replace(string(data), memory, index, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
