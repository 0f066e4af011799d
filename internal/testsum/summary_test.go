package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// TestSummary reads the events of a run with a passing, a skipped, a failed
// test, a skipped subtest and a package that does not build
// (testdata/mixed.jsonl, from `go test -json`), and checks the closing
// line, the skips with their reasons and that the build failure counts.
func TestSummary(t *testing.T) {
	f, err := os.Open("testdata/mixed.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out bytes.Buffer
	s := newSummary(&out)
	if err := s.read(f); err != nil {
		t.Fatal(err)
	}
	code := s.finish(1)
	got := out.String()
	lines := strings.Split(strings.TrimRight(got, "\n"), "\n")
	// TestOK, TestSub/y, TestSub pass; TestFail and tj/b's build fail;
	// TestSkip and TestSub/x skip.
	if last := lines[len(lines)-1]; last != "3 passed, 2 failed, 2 skipped" || code != 1 {
		t.Errorf("closing line %q, exit %d; want \"3 passed, 2 failed, 2 skipped\", exit 1\n%s", last, code, got)
	}
	for _, want := range []string{
		"tj/a TestSkip: a_test.go:4: no datasets at ../shared",
		"tj/a TestSub/x: a_test.go:5: sub skip",
		"a_test.go:6: boom",            // the failed test's output
		"b/b_test.go:3:40: cannot use", // the build error
		"tj/b: it did not build",       // counted as a failure
		"FAIL\ttj/b [build failed]",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "a_test.go:3: hi") || strings.Contains(got, "=== RUN") {
		t.Errorf("a passing test's log or a RUN line was printed (as go test without -v would not):\n%s", got)
	}
}

// TestExitWithoutFailedTest: go test failing with no test failed (say, a
// flag it refused) still gives "1 failed" and a non-zero status.
func TestExitWithoutFailedTest(t *testing.T) {
	var out bytes.Buffer
	s := newSummary(&out)
	s.read(strings.NewReader(`{"Action":"pass","Package":"p","Test":"TestA"}` + "\n"))
	if code := s.finish(2); code != 1 || !strings.HasSuffix(out.String(), "1 passed, 1 failed, 0 skipped\n") {
		t.Errorf("exit %d, output:\n%s", code, out.String())
	}
}
