// Package localtest opens the embedded default's real vectors file for tests
// in other packages, so that quality and end-to-end tests use the embedder
// users get rather than a stand-in.
package localtest

import (
	"os"
	"sync"
	"testing"

	"github.com/semroute/semroute/embed/local"
)

var (
	once   sync.Once
	shared *local.Embedder
	err    error
)

// Open returns the shared embedder opened from local.DefaultPath. When the
// file is missing the test is skipped with the command that creates it, or
// fails when SEMROUTE_REQUIRE_MODEL is set (as `make test` sets it).
func Open(t testing.TB) *local.Embedder {
	t.Helper()
	once.Do(func() { shared, err = local.Open("") })
	if err != nil {
		if os.Getenv("SEMROUTE_REQUIRE_MODEL") != "" {
			t.Fatalf("the embedded default is required here: %v", err)
		}
		t.Skipf("skipping: no word vectors (%v)", err)
	}
	return shared
}
