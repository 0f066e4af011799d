package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/semroute/semroute/embed"
	"github.com/semroute/semroute/embed/local"
	"github.com/semroute/semroute/embed/openai"
	"github.com/semroute/semroute/index"
	"github.com/semroute/semroute/index/chromem"
	"github.com/semroute/semroute/index/pgvector"
	"github.com/semroute/semroute/internal/dirlock"
	"github.com/semroute/semroute/router"
	"github.com/semroute/semroute/router/config"
)

// loadConfig reads the config and merges labeled examples into it.
func loadConfig(path, examples string) (*config.Config, error) {
	return loadConfigWith(path, examples, nil)
}

// loadConfigWith is loadConfig reading the examples with lf's field names.
func loadConfigWith(path, examples string, lf *labelFlags) (*config.Config, error) {
	if path == "" {
		return nil, usageError{errors.New("--config FILE is required")}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	cfg, err := config.Parse(data, path)
	if err != nil {
		return nil, err
	}
	if examples != "" {
		exs, err := lf.read(examples)
		if err != nil {
			return nil, err
		}
		cfg.AddExamples(exs)
	}
	if err := cfg.ValidateDSN(envPGDSN()); err != nil {
		return nil, err
	}
	return cfg, nil
}

// configOrDefault loads the config at path, or, with no path, returns the
// defaults (the embedded default embedder, no intents).
func configOrDefault(path string) (*config.Config, error) {
	if path == "" {
		return config.Default(), nil
	}
	return loadConfig(path, "")
}

// openEmbedder builds the configured embedder.
func openEmbedder(ctx context.Context, c config.EmbedderConfig) (embed.Embedder, func() error, error) {
	switch c.Kind {
	case "openai":
		e, err := openai.New(openai.Options{
			BaseURL: c.BaseURL, Model: c.Model, APIKey: os.Getenv(c.APIKeyEnv),
			Batch: c.Batch, Timeout: time.Duration(c.TimeoutMS) * time.Millisecond, Retries: c.Retries,
		})
		if err != nil {
			return nil, nil, err
		}
		if err := e.Probe(ctx); err != nil {
			return nil, nil, fmt.Errorf("embedder %s: %w", c.BaseURL, err)
		}
		return e, func() error { return nil }, nil
	default:
		path := vectorsPath(c.Path)
		if c.Path == "" && c.Model == "encoder" {
			path = filepath.Join(envCacheDir(), local.EncoderFileName)
		}
		e, err := local.Open(path)
		if err != nil {
			return nil, nil, err
		}
		return e, e.Close, nil
	}
}

// openIndex opens the configured index backend; the in-process one holds
// its data_dir for this process until Close (datadir.go).
func openIndex(ctx context.Context, c config.IndexConfig) (index.Index, error) {
	if c.Kind == "pgvector" {
		return pgvector.Open(ctx, pgvector.Options{DSN: indexDSN(c.DSN), Schema: c.Schema, HalfVec: c.HalfVec, EfSearch: c.EfSearch})
	}
	lock, err := dirlock.Acquire(c.DataDir)
	if err != nil {
		return nil, err
	}
	idx, err := chromem.Open(c.DataDir)
	if err != nil {
		lock.Release()
		return nil, err
	}
	return lockedIndex{idx, lock}, nil
}

// buildRouter opens the embedder and the index and builds the router; close
// releases them.
func buildRouter(ctx context.Context, cfg *config.Config, log *slog.Logger) (r *router.Router, close func(), err error) {
	emb, closeEmb, err := openEmbedder(ctx, cfg.Embedder)
	if err != nil {
		return nil, nil, err
	}
	idx, err := openIndex(ctx, cfg.Index)
	if err != nil {
		closeEmb()
		return nil, nil, err
	}
	close = func() { idx.Close(); closeEmb() }
	var th *router.Thresholds
	if f := cfg.Routing.ThresholdsFile; f != "" {
		if th, err = router.LoadThresholds(f, emb.Fingerprint()); err != nil {
			close()
			return nil, nil, err
		}
	}
	r, err = router.New(ctx, cfg, router.Options{Embedder: emb, Index: idx, Thresholds: th, Logger: log})
	if err != nil {
		close()
		return nil, nil, err
	}
	return r, close, nil
}
