package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/semroute/semroute/embed/local/localtest"
	"github.com/semroute/semroute/intents"
)

// renamed rewrites a labeled JSONL file with the text and label under other
// names, and extra fields, as public data often has them.
func renamed(t *testing.T, path string) string {
	t.Helper()
	exs, err := intents.ReadLabeled(path)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for i, ex := range exs {
		line, _ := json.Marshal(map[string]any{"id": i, "utterance": ex.Text, "intent": ex.Label,
			"text": strings.ToUpper(ex.Text), "meta": map[string]any{"split": "x"}})
		b.Write(append(line, '\n'))
	}
	out := filepath.Join(t.TempDir(), "renamed-"+filepath.Base(path))
	os.WriteFile(out, []byte(b.String()), 0o644)
	return out
}

func TestLabeledFilesWithOtherFields(t *testing.T) {
	localtest.Open(t)
	cfg := demoConfig(t)
	ex := filepath.Join(t.TempDir(), "more.jsonl")
	os.WriteFile(ex, []byte(`{"id": 1, "text": "what's the weather tomorrow", "label": "weather", "source": "app"}
{"id": 2, "text": "will it rain today", "label": "weather", "meta": {"lang": "en"}}
`), 0o644)
	code, out, errs := semroute(t, "", "route", "--config", cfg, "--examples", ex, "is it going to rain tomorrow")
	if code != 0 || !strings.Contains(out, `"intent":"weather"`) {
		t.Fatalf("--examples with extra fields: exit %d %s %s", code, out, errs)
	}
	if want := "semroute route: " + ex + ": ignoring 3 other field(s): id, meta, source (reading text and label)\n"; errs != want {
		t.Errorf("stderr %q, want one line %q", errs, want)
	}

	// The same prompts under other names: --text-field and --label-field.
	prompts := renamed(t, "../../datasets/demo/prompts.jsonl")
	code, plain, _ := semroute(t, "", "route", "--config", cfg, "--format", "text", "--prompts", "../../datasets/demo/prompts.jsonl")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	code, out, errs = semroute(t, "", "route", "--config", cfg, "--format", "text", "--prompts", prompts,
		"--text-field", "utterance", "--label-field", "intent")
	tail := func(s string) string { return s[strings.LastIndex(s, "\n\n")+2 : strings.Index(s, " prompts routed")] }
	if code != 0 || tail(out) != tail(plain) || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, "ignoring 3 other field(s): id, meta, text") {
		t.Errorf("--prompts renamed: exit %d, %q routed as labeled (want %q), stderr %q", code, tail(out), tail(plain), errs)
	}
	code, _, errs = semroute(t, "", "route", "--config", cfg, "--prompts", prompts)
	if code != 1 || !strings.Contains(errs, "line 1: missing or empty label") {
		t.Errorf("without --label-field: exit %d, %s", code, errs)
	}

	train, test := demoSplit(t)
	code, out, errs = semroute(t, "", "eval", "--train", renamed(t, train), "--test", renamed(t, test), "--json", "--quiet",
		"--text-field", "utterance", "--label-field", "intent")
	var rep struct {
		N int `json:"n"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &rep) != nil || rep.N != 44 || strings.Count(errs, "ignoring 3 other field(s)") != 2 {
		t.Errorf("eval renamed: exit %d, n %d, stderr %s", code, rep.N, errs)
	}
}
