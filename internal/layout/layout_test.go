package layout

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// A rule forbids packages under any of from to depend on packages under
// any of to (folders relative to the module root).
type rule struct{ from, to []string }

var rules = []rule{
	{from: []string{"index"}, to: []string{"router", "moderation"}},
	{from: []string{"rag", "moderation", "embed"}, to: []string{"router"}},
	// The embedders' vector kernels are internal/simd's, not the index's;
	// moderation's head is intents/classify's, not the router's.
	{from: []string{"embed", "moderation"}, to: []string{"index"}},
	// intents (and the head fitted on them) come before every step that
	// routes, answers or checks; internal/ is beneath all of them.
	{from: []string{"intents"}, to: []string{"router", "moderation", "rag", "index"}},
	{from: []string{"internal"}, to: []string{"router", "moderation", "rag", "index", "intents", "embed", "eval", "cmd"}},
}

// edge is a dependency of a package on another, module-relative.
type edge struct{ from, to string }

// known are the backward imports main had when the rules were written
// (issue 20 removes them). Delete an entry once its import is gone; never
// add one.
var known = map[edge]string{}

// pkg is what `go list -json` says of a package.
type pkg struct {
	ImportPath                               string
	Imports, Deps, TestImports, XTestImports []string
}

func TestImportsFollowTheDataPath(t *testing.T) {
	module, pkgs := goList(t)
	violations, stale := check(module, pkgs, rules, known)
	for _, v := range violations {
		t.Errorf("a backward import: %s", v)
	}
	for _, e := range stale {
		t.Errorf("%s no longer depends on %s: delete that exception from known", e.from, e.to)
	}
	if len(violations) == 0 && len(stale) == 0 {
		t.Logf("%d packages checked; %d known exceptions left", len(pkgs), len(known))
	}
}

// TestCheck: the check finds a dependency through another package and
// through a test's imports, names the path, accepts a known one, and
// reports a known one that is gone.
func TestCheck(t *testing.T) {
	const m = "example.com/m"
	pkgs := map[string]*pkg{}
	add := func(path string, imports, testImports []string) {
		p := &pkg{ImportPath: m + "/" + path}
		for _, i := range imports {
			p.Imports = append(p.Imports, m+"/"+i)
		}
		for _, i := range testImports {
			p.TestImports = append(p.TestImports, m+"/"+i)
		}
		pkgs[p.ImportPath] = p
	}
	add("router/spend", nil, nil)
	add("internal/pg", []string{"router/spend"}, nil)
	add("index/pg", []string{"internal/pg"}, nil)
	add("index/flat", nil, []string{"router/spend"})
	add("index", nil, nil)
	add("rag", []string{"router/spend"}, nil)
	fillDeps(pkgs)
	// The checker's own rules, fixed here so that the live ones can grow.
	fixed := []rule{
		{from: []string{"index"}, to: []string{"router", "moderation"}},
		{from: []string{"rag", "moderation", "embed"}, to: []string{"router"}},
	}
	violations, stale := check(m, pkgs, fixed, map[edge]string{
		{"rag", "router/spend"}: "known",
		{"embed", "router"}:     "gone",
	})
	want := []string{
		"index/flat depends on router/spend: index/flat (its tests) → router/spend",
		"index/pg depends on router/spend: index/pg → internal/pg → router/spend",
	}
	if !slices.Equal(violations, want) {
		t.Errorf("violations\n%q\nwant\n%q", violations, want)
	}
	if !slices.Equal(stale, []edge{{"embed", "router"}}) {
		t.Errorf("stale %v", stale)
	}
}

// check applies the rules to every package and returns the violations not
// known, and the known ones that no longer occur.
func check(module string, pkgs map[string]*pkg, rules []rule, known map[edge]string) (violations []string, stale []edge) {
	seen := map[edge]bool{}
	for _, path := range slices.Sorted(maps.Keys(pkgs)) {
		rel, ok := relative(module, path)
		if !ok {
			continue
		}
		for _, r := range rules {
			if !under(rel, r.from) {
				continue
			}
			for _, d := range deps(pkgs, pkgs[path]) {
				drel, ok := relative(module, d)
				if !ok || !under(drel, r.to) {
					continue
				}
				e := edge{rel, drel}
				if seen[e] {
					continue
				}
				seen[e] = true
				if _, ok := known[e]; !ok {
					violations = append(violations, fmt.Sprintf("%s depends on %s: %s", rel, drel, via(module, pkgs, path, d)))
				}
			}
		}
	}
	for e := range known {
		if !seen[e] {
			stale = append(stale, e)
		}
	}
	slices.SortFunc(stale, func(a, b edge) int { return strings.Compare(a.from+" "+a.to, b.from+" "+b.to) })
	return violations, stale
}

// deps are p's dependencies and its tests'.
func deps(pkgs map[string]*pkg, p *pkg) []string {
	out := slices.Clone(p.Deps)
	for _, i := range slices.Concat(p.TestImports, p.XTestImports) {
		out = append(out, i)
		if q := pkgs[i]; q != nil {
			out = append(out, q.Deps...)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// via is a shortest import path from p to d, for the message.
func via(module string, pkgs map[string]*pkg, from, to string) string {
	type step struct {
		path string
		prev *step
		test bool
	}
	name := func(s *step) string {
		rel, _ := relative(module, s.path)
		if s.test {
			return rel + " (its tests)"
		}
		return rel
	}
	p := pkgs[from]
	queue := []*step{{path: from}}
	for _, i := range slices.Concat(p.TestImports, p.XTestImports) {
		if !slices.Contains(p.Imports, i) && i != from {
			queue = append(queue, &step{path: i, prev: &step{path: from, test: true}})
		}
	}
	visited := map[string]bool{}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		if s.path == to {
			var names []string
			for ; s != nil; s = s.prev {
				names = append(names, name(s))
			}
			slices.Reverse(names)
			return strings.Join(names, " → ")
		}
		if visited[s.path] || pkgs[s.path] == nil {
			continue
		}
		visited[s.path] = true
		for _, i := range pkgs[s.path].Imports {
			queue = append(queue, &step{path: i, prev: s})
		}
	}
	return "(path not found)"
}

func relative(module, path string) (string, bool) {
	rel, ok := strings.CutPrefix(path, module+"/")
	return rel, ok
}

// under says whether rel is one of the folders or below one.
func under(rel string, folders []string) bool {
	for _, f := range folders {
		if rel == f || strings.HasPrefix(rel, f+"/") {
			return true
		}
	}
	return false
}

// fillDeps computes Deps from Imports, as go list does, for TestCheck.
func fillDeps(pkgs map[string]*pkg) {
	var walk func(string, map[string]bool)
	walk = func(path string, seen map[string]bool) {
		for _, i := range pkgs[path].Imports {
			if !seen[i] {
				seen[i] = true
				walk(i, seen)
			}
		}
	}
	for path, p := range pkgs {
		seen := map[string]bool{}
		walk(path, seen)
		p.Deps = slices.Sorted(maps.Keys(seen))
	}
}

// goList lists the module's packages with `go list -json`, run from the
// module root (no module beyond the standard library is needed).
func goList(t *testing.T) (module string, pkgs map[string]*pkg) {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	out, err := exec.Command(gobin, "list", "-m", "-f", "{{.Path}}\t{{.Dir}}").Output()
	if err != nil {
		t.Fatalf("go list -m: %v", stderr(err))
	}
	module, dir, ok := strings.Cut(strings.TrimSpace(string(out)), "\t")
	if !ok {
		t.Fatalf("go list -m printed %q", out)
	}
	cmd := exec.Command(gobin, "list", "-e", "-json=ImportPath,Imports,Deps,TestImports,XTestImports", "./...")
	cmd.Dir = dir
	out, err = cmd.Output()
	if err != nil {
		t.Fatalf("go list ./...: %v", stderr(err))
	}
	pkgs = map[string]*pkg{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("decode go list's output: %v", err)
		}
		pkgs[p.ImportPath] = &p
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found %d packages in %s", len(pkgs), dir)
	}
	return module, pkgs
}

func stderr(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return fmt.Sprintf("%v: %s", err, ee.Stderr)
	}
	return err.Error()
}
