package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action      string
	Package     string
	Test        string
	Output      string
	ImportPath  string // of build-output and build-fail
	FailedBuild string
}

// summary follows the events of a run and prints as it goes.
type summary struct {
	w                       io.Writer
	passed, failed, skipped int
	out                     map[string][]string // output by package and test ("pkg\x00Test"), until the test ends
	build                   map[string][]string // build output by import path
	failedIn                map[string]bool     // packages with a failed test
	skips                   []string            // "pkg TestName: reason"
	notes                   []string            // failures that are not a test's
}

func newSummary(w io.Writer) *summary {
	return &summary{w: w, out: map[string][]string{}, build: map[string][]string{}, failedIn: map[string]bool{}}
}

// read consumes the events; a line that is not one is printed as it is.
func (s *summary) read(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil || e.Action == "" {
			fmt.Fprintln(s.w, sc.Text())
			continue
		}
		s.event(e)
	}
	return sc.Err()
}

func (s *summary) event(e event) {
	switch e.Action {
	case "build-output":
		s.build[e.ImportPath] = append(s.build[e.ImportPath], e.Output)
		return
	case "output":
		k := e.Package + "\x00" + e.Test
		s.out[k] = append(s.out[k], e.Output)
		return
	case "pass", "fail", "skip":
	default:
		return
	}
	k := e.Package + "\x00" + e.Test
	lines := s.out[k]
	delete(s.out, k)
	if e.Test == "" {
		s.packageDone(e, lines)
		return
	}
	switch e.Action {
	case "pass":
		s.passed++
	case "fail":
		s.failed++
		s.failedIn[e.Package] = true
		s.print(lines)
	case "skip":
		s.skipped++
		s.skips = append(s.skips, fmt.Sprintf("%s %s: %s", e.Package, e.Test, reason(lines)))
	}
}

// packageDone prints a package's closing line, and all its own output when
// it failed; a failure with no failed test in it counts as one.
func (s *summary) packageDone(e event, lines []string) {
	if e.Action != "fail" {
		for _, l := range lines {
			if strings.HasPrefix(l, "ok ") || strings.HasPrefix(l, "?") {
				fmt.Fprint(s.w, l)
			}
		}
		return
	}
	if e.FailedBuild != "" {
		s.print(s.build[e.FailedBuild])
	}
	s.print(lines)
	if !s.failedIn[e.Package] {
		s.failed++
		why := "its test binary failed outside any test"
		if e.FailedBuild != "" {
			why = "it did not build"
		}
		s.notes = append(s.notes, fmt.Sprintf("%s: %s", e.Package, why))
	}
}

// print writes a test's or package's output without the lines that only
// mark where a test started or resumed.
func (s *summary) print(lines []string) {
	for _, l := range lines {
		if t := strings.TrimSpace(l); strings.HasPrefix(t, "=== RUN") || strings.HasPrefix(t, "=== PAUSE") || strings.HasPrefix(t, "=== CONT") || t == "FAIL" {
			continue
		}
		fmt.Fprint(s.w, l)
	}
}

// reason is what a skipped test logged, on one line.
func reason(lines []string) string {
	var parts []string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- SKIP") {
			continue
		}
		parts = append(parts, t)
	}
	if len(parts) == 0 {
		return "(no reason given)"
	}
	return strings.Join(parts, " / ")
}

// finish prints the skips, the failures outside tests and the closing line,
// and returns the exit status: 1 when anything failed. status is go test's.
func (s *summary) finish(status int) int {
	if status != 0 && s.failed == 0 {
		s.failed++
		s.notes = append(s.notes, fmt.Sprintf("go test exited with status %d and no test failed", status))
	}
	if len(s.skips) > 0 {
		fmt.Fprintf(s.w, "\nskipped (%d):\n", len(s.skips))
		for _, l := range s.skips {
			fmt.Fprintf(s.w, "  %s\n", l)
		}
	}
	if len(s.notes) > 0 {
		fmt.Fprintf(s.w, "\nfailed outside a test:\n")
		for _, l := range s.notes {
			fmt.Fprintf(s.w, "  %s\n", l)
		}
	}
	fmt.Fprintf(s.w, "\n%d passed, %d failed, %d skipped\n", s.passed, s.failed, s.skipped)
	if s.failed > 0 {
		return 1
	}
	return 0
}
