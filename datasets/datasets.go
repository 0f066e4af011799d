// Package datasets finds the data semroute's tests and evals read: the
// fixtures written for this repository live beside this file, and the
// public datasets (CLINC150, SNIPS, RouteLLM, …) are read in place from
// ../shared/datasets, never copied here.
package datasets

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Shared returns the directory of the public datasets: $SEMROUTE_DATASETS,
// or shared/datasets beside the repository. A test that needs it is
// skipped, saying so, when it is absent.
func Shared(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("SEMROUTE_DATASETS")
	if dir == "" {
		_, file, _, _ := runtime.Caller(0)
		dir = filepath.Join(filepath.Dir(file), "..", "..", "shared", "datasets")
	}
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("skipping: the public datasets are not at %s (set SEMROUTE_DATASETS)", dir)
	}
	return dir
}
