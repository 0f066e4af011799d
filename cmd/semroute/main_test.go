package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/semroute/semroute/embed/local/localtest"
)

func semroute(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// demoConfig copies the demo config into a temp dir so the test's index
// data stays there.
func demoConfig(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("../../datasets/demo/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "config.yaml")
	os.WriteFile(p, bytes.Replace(data, []byte("../../data/demo"), []byte("./data"), 1), 0o644)
	return p
}

func TestRouteCommand(t *testing.T) {
	localtest.Open(t)
	cfg := demoConfig(t)
	code, out, errs := semroute(t, "", "route", "--config", cfg, "I forgot my password", "what is the capital of mongolia")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want one JSON object per prompt:\n%s", len(lines), out)
	}
	var d struct {
		Intent           *string          `json:"intent"`
		Score            *float64         `json:"score"`
		Margin           *float64         `json:"margin"`
		Target           map[string]any   `json:"target"`
		Fallback         bool             `json:"fallback"`
		Alternatives     []map[string]any `json:"alternatives"`
		MatchedUtterance string           `json:"matched_utterance"`
		LatencyUS        *float64         `json:"latency_us"`
	}
	json.Unmarshal([]byte(lines[0]), &d)
	if d.Intent == nil || *d.Intent != "account_access" || d.Score == nil || d.Margin == nil || d.Target["model"] != "fast" ||
		d.Fallback || len(d.Alternatives) == 0 || d.MatchedUtterance == "" || d.LatencyUS == nil {
		t.Errorf("first decision: %s", lines[0])
	}
	d.Intent = nil
	json.Unmarshal([]byte(lines[1]), &d)
	if d.Intent != nil || !d.Fallback || d.Target["model"] != "strong" || !strings.Contains(lines[1], `"intent":null`) {
		t.Errorf("out-of-scope decision: %s", lines[1])
	}

	// Prompts from stdin, one a line; blank lines skipped.
	code, out, _ = semroute(t, "where is my order\n\nhello\n", "route", "--config", cfg)
	if code != 0 || strings.Count(out, "\n") != 2 {
		t.Errorf("stdin: exit %d, output:\n%s", code, out)
	}
	// --examples adds intents from a labeled file.
	ex := filepath.Join(t.TempDir(), "more.jsonl")
	os.WriteFile(ex, []byte(`{"text":"what's the weather tomorrow","label":"weather"}`+"\n"+`{"text":"will it rain today","label":"weather"}`+"\n"), 0o644)
	code, out, errs = semroute(t, "", "route", "--config", cfg, "--examples", ex, "is it going to rain tomorrow")
	if code != 0 || !strings.Contains(out, `"intent":"weather"`) {
		t.Errorf("--examples: exit %d %s %s", code, out, errs)
	}
	// Text format for people, with the labeled demo prompts.
	code, out, _ = semroute(t, "", "route", "--config", cfg, "--format", "text", "--prompts", "../../datasets/demo/prompts.jsonl")
	if code != 0 || !strings.Contains(out, "prompts routed as labeled") {
		t.Errorf("--prompts: exit %d\n%s", code, out)
	}
}

func TestRouteCommandErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("version: 1\nintents:\n  - name: a\n    utterances: []\n    target: {model: x}\n"), 0o644)
	typed := filepath.Join(t.TempDir(), "typed.yaml")
	os.WriteFile(typed, []byte("version: 1\nintents:\n  - name: a\n    utterances: []\n    threshold: high\n    target: {model: x}\n"), 0o644)
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no config", []string{"route", "hi"}, 2, "--config FILE is required"},
		{"missing config", []string{"route", "--config", "/nonexistent.yaml", "hi"}, 1, "no such file"},
		{"invalid config", []string{"route", "--config", bad, "hi"}, 1, "line 4: intents[0].utterances"},
		{"type error with the rest", []string{"route", "--config", typed, "hi"}, 1,
			"line 4: intents[0].utterances: no utterances; give at least one example of what users say\n  line 5, column 16: intents[0].threshold: want a number, got \"high\"\n  line 6: intents[0].target.model"},
		{"bad format", []string{"route", "--config", bad, "--format", "xml"}, 2, "want json or text"},
		{"unknown command", []string{"frobnicate"}, 2, "unknown command"},
		{"bad flag", []string{"route", "--nope"}, 2, "flag provided but not defined"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := semroute(t, "", tc.args...)
			if code != tc.code || !strings.Contains(errs, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, errs, tc.code, tc.want)
			}
		})
	}
}

func TestRouteEmptyPrompt(t *testing.T) {
	localtest.Open(t)
	code, out, errs := semroute(t, "", "route", "--config", demoConfig(t), "  ", "hello")
	if code != 1 || !strings.Contains(out, `"error":"empty prompt"`) || !strings.Contains(out, `"intent":"greeting"`) {
		t.Errorf("exit %d\nstdout %s\nstderr %s", code, out, errs)
	}
}

// TestRouteInvalidUTF8: a prompt that is not UTF-8, from stdin or as an
// argument, prints an error line naming the byte and the line (or
// argument); the other prompts are routed, and the command exits 1 once
// all are read.
func TestRouteInvalidUTF8(t *testing.T) {
	localtest.Open(t)
	cfg := demoConfig(t)
	code, out, errs := semroute(t, "hello\n\nwhere is my \xff order\n\nhello\ncaf\xc3\n", "route", "--config", cfg)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 1 || len(lines) != 4 || !strings.Contains(lines[0], `"intent":"greeting"`) ||
		lines[1] != `{"error":"invalid UTF-8 at byte 12 of line 3"}` || !strings.Contains(lines[2], `"intent":"greeting"`) ||
		lines[3] != `{"error":"invalid UTF-8 at byte 3 of line 6"}` {
		t.Errorf("stdin: exit %d\nstdout %s\nstderr %s", code, out, errs)
	}
	code, out, _ = semroute(t, "", "route", "--config", cfg, "hello", "\xe2\x82 hi")
	if code != 1 || !strings.Contains(out, `{"error":"invalid UTF-8 at byte 0 of argument 2"}`) || !strings.Contains(out, `"intent":"greeting"`) {
		t.Errorf("arguments: exit %d\n%s", code, out)
	}
	code, out, _ = semroute(t, "hi \xff\n", "route", "--config", cfg, "--format", "text")
	if code != 1 || !strings.Contains(out, "invalid UTF-8 at byte 3 of line 1") || !utf8.ValidString(out) {
		t.Errorf("text format: exit %d\n%q", code, out)
	}
	// A labeled file (--prompts) with such a line is refused whole, naming
	// the line and the byte, before anything is routed.
	p := filepath.Join(t.TempDir(), "p.jsonl")
	os.WriteFile(p, []byte("{\"text\":\"hello\",\"label\":\"greeting\"}\n{\"text\":\"x \xff\",\"label\":\"greeting\"}\n"), 0o644)
	code, out, errs = semroute(t, "", "route", "--config", cfg, "--prompts", p)
	if code != 1 || out != "" || !strings.Contains(errs, "line 2: not valid UTF-8 at byte 11") {
		t.Errorf("--prompts: exit %d\nstdout %s\nstderr %s", code, out, errs)
	}
}

// TestUsage: the usage lists README.md's commands, and every command it
// names answers --help and lists every flag the usage gives it.
func TestUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), nil, nil, &out, &errOut); code != 0 {
		t.Fatalf("exit %d", code)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, block, _ := strings.Cut(string(readme), "## The CLI\n\n```\n")
	block, _, _ = strings.Cut(block, "```")
	var listed []string
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(line, "  semroute ") {
			listed = append(listed, line[2:])
		}
	}
	if want := strings.Split(strings.TrimSpace(block), "\n"); !slices.Equal(listed, want) {
		t.Errorf("the usage's commands:\n%s\nREADME.md's:\n%s", strings.Join(listed, "\n"), strings.Join(want, "\n"))
	}
	flagName := regexp.MustCompile(`--([a-z][a-z-]*)`)
	for _, line := range listed {
		f := strings.Fields(line)
		args := f[1:2]
		if len(f) > 2 && f[2][0] >= 'a' && f[2][0] <= 'z' {
			args = f[1:3] // a subcommand: eval safety, bench proxy, model import
		}
		var help, errs bytes.Buffer
		if code := run(context.Background(), append(slices.Clone(args), "--help"), nil, &help, &errs); code != 0 {
			t.Errorf("semroute %s --help: exit %d: %s", strings.Join(args, " "), code, errs.String())
			continue
		}
		for _, m := range flagName.FindAllStringSubmatch(line, -1) {
			if !regexp.MustCompile(`\n  -` + m[1] + `[ \n]`).MatchString(errs.String()) {
				t.Errorf("the usage gives semroute %s --%s, which its --help does not list", strings.Join(args, " "), m[1])
			}
		}
	}
	if len(listed) < 10 {
		t.Errorf("%d commands in the usage", len(listed))
	}
	for name := range commands {
		if !slices.ContainsFunc(listed, func(l string) bool { return strings.HasPrefix(l, "semroute "+name+" ") }) {
			t.Errorf("the usage does not name %q", name)
		}
	}
}
