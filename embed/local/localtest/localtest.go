// Package localtest opens the embedded default's real vectors file for tests
// in other packages, so that quality and end-to-end tests use the embedder
// users get rather than a stand-in.
package localtest

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/semroute/semroute/embed/local"
)

var (
	once   sync.Once
	shared *local.Embedder
	err    error
)

// Path is the vectors file the tests use: in $SEMROUTE_CACHE when set (as
// `make test` sets it, like the command), else local.DefaultPath.
func Path() string {
	if d := os.Getenv("SEMROUTE_CACHE"); d != "" {
		return filepath.Join(d, local.FileName)
	}
	return local.DefaultPath()
}

// Open returns the shared embedder opened from Path. When the file is missing the test is skipped with the command that creates it, or
// fails when SEMROUTE_REQUIRE_MODEL is set (as `make test` sets it).
func Open(t testing.TB) *local.Embedder {
	t.Helper()
	once.Do(func() { shared, err = local.Open(Path()) })
	if err != nil {
		if os.Getenv("SEMROUTE_REQUIRE_MODEL") != "" {
			t.Fatalf("the embedded default is required here: %v", err)
		}
		t.Skipf("skipping: no word vectors (%v)", err)
	}
	return shared
}

var (
	encOnce sync.Once
	encoder *local.Embedder
	encErr  error
)

// EncoderPath is the trained encoder's file (`make encoder`): beside Path.
func EncoderPath() string {
	return filepath.Join(filepath.Dir(Path()), local.EncoderFileName)
}

// OpenEncoder returns the shared trained encoder opened from EncoderPath.
// When the file is missing the test is skipped with the command that
// makes it (`make test` makes it whenever the pairs data set is there).
func OpenEncoder(t testing.TB) *local.Embedder {
	t.Helper()
	encOnce.Do(func() { encoder, encErr = local.Open(EncoderPath()) })
	if encErr != nil {
		t.Skipf("skipping: no trained encoder (%v)", encErr)
	}
	return encoder
}
