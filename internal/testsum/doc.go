// Command testsum runs `go test -json` with its arguments and prints what
// `go test` prints without -v (one line a package, the output of the tests
// that failed, build errors), then every skipped test with its reason, so
// that a quality floor skipped for want of ../shared/datasets is seen, and
// last one line, `N passed, N failed, N skipped`, counting tests and
// subtests. A package that fails without a failing test (it did not build,
// or its test binary died outside a test) counts as one failure, and so
// does a `go test` that exits non-zero with none counted, so the line never
// says 0 failed when the run failed. Its exit status is 1 when anything
// failed. `make test` runs it: go run ./internal/testsum -- -count=1 ./...
package main
