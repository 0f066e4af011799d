package router

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/semroute/semroute/intents"
)

func TestLoadDemoConfig(t *testing.T) {
	c, err := Load("../datasets/demo/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Intents) < 10 || c.Fallback.String() != "model:strong" {
		t.Errorf("%d intents, fallback %s", len(c.Intents), c.Fallback)
	}
	if c.Index.DataDir != "../data/demo" {
		t.Errorf("data_dir %q: want it relative to the config file", c.Index.DataDir)
	}
	if got := c.Intents[2].Target.Model; len(got) != 2 {
		t.Errorf("refund's tier %v: want [fast strong]", got)
	}
}

func TestValidateReportsEveryProblemWithLines(t *testing.T) {
	_, err := Load("testdata/bad.yaml")
	var ce *ConfigError
	if !errors.As(err, &ce) || !errors.Is(err, ErrConfig) {
		t.Fatalf("err = %v, want a *ConfigError", err)
	}
	type p struct {
		Line  int
		Field string
	}
	var got []p
	for _, pr := range ce.Problems {
		got = append(got, p{pr.Line, pr.Field})
	}
	want := []p{
		{8, "intents[1].name"},           // duplicate
		{9, "intents[1].utterances"},     // empty
		{10, "intents[1].target"},        // two targets
		{12, "intents[2].utterances[1]"}, // blank utterance
		{13, "intents[2].target.model"},  // undefined model
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s\nerror:\n%v", diff, err)
	}
	if !strings.Contains(err.Error(), `first defined at line 5`) {
		t.Errorf("duplicate name should point at the first definition:\n%v", err)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown key", "version: 1\nintentz: []\n", `unknown field "intentz"`},
		{"tab indentation", "version: 1\nintents:\n\t- name: x\n", "[3:1]"},
		{"wrong type", "version: one\n", "cannot unmarshal"},
		{"empty file", "   \n", "empty"},
		{"utterances not a list", "intents:\n  - name: a\n    utterances: {x: 1}\n", "[3:17]"},
		{"unknown key in intent", "intents:\n  - name: a\n    utterance: [x]\n", `unknown field "utterance"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml), "c.yaml")
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "c.yaml") {
				t.Errorf("err = %v, want one naming c.yaml and containing %q", err, tc.want)
			}
		})
	}
}

func TestValidateFields(t *testing.T) {
	base := "models: [{name: m, base_url: http://127.0.0.1:1/v1, model: x}]\nintents: [{name: a, utterances: [hi], target: {model: m}}]\nfallback: {model: m}\n"
	tests := []struct {
		name, extra, want string
	}{
		{"ok", "", ""},
		{"bad version", "version: 2\n", "version 2 is not supported"},
		{"bad embedder", "embedder: {kind: bert}\n", `unknown embedder kind "bert"`},
		{"openai without url", "embedder: {kind: openai, model: e}\n", "embedder.base_url: missing"},
		{"bad index", "index: {kind: redis}\n", `unknown index kind "redis"`},
		{"threshold range", "routing: {threshold: 1.5}\n", "outside [0, 1]"},
		{"bad scorer", "routing: {scorer: magic}\n", `unknown scorer "magic"`},
		{"negative memory limit", "server: {memory_limit_mb: -1}\n", "server.memory_limit_mb: -1 MiB is outside"},
		{"no memory limit", "server: {memory_limit_mb: 0}\n", ""},
		{"deprecated gc floor still parses", "server: {gc_floor_mb: 64}\n", ""},
		{"max words too small", "routing: {max_words: 3}\n", "routing.max_words: 3; want 0 (no cap) or at least 16"},
		{"max words off", "routing: {max_words: 0}\n", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(base+tc.extra), "c.yaml")
			if err != nil {
				t.Fatal(err)
			}
			err = c.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("valid config refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
	c, _ := Parse([]byte("models: [{name: m, base_url: http://x/v1, model: x}]\nintents: [{name: b, utterances: [\"?!\"], target: {model: m}}]\nfallback: {model: m}\n"), "c.yaml")
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), `"?!" has no words to match`) {
		t.Errorf("utterance without words: %v", err)
	}
	c, _ = Parse([]byte("models: [{name: m, base_url: http://x/v1, model: x}]\nintents: [{name: oos, utterances: [x], target: {model: m}}]\n"), "c.yaml")
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), `"oos" marks out-of-scope`) || !strings.Contains(err.Error(), "fallback: missing") {
		t.Errorf("err = %v, want both the oos name and the missing fallback", err)
	}
}

func TestAddExamples(t *testing.T) {
	c, err := Parse([]byte("models: [{name: m, base_url: http://127.0.0.1:1/v1, model: x}]\nintents: [{name: a, utterances: [a0], target: {model: m}}]\nfallback: {handoff: q}\n"), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	oos := c.AddExamples([]intents.Example{{Text: "a1", Label: "a"}, {Text: "x", Label: intents.OOS}, {Text: "b1", Label: "b"}, {Text: "a2", Label: " a "}})
	if len(c.Intents) != 2 || len(c.Intents[0].Utterances) != 3 || c.Intents[0].Target.String() != "model:m" {
		t.Errorf("a known label should add to its intent and keep its target: %+v", c.Intents)
	}
	if c.Intents[1].Name != "b" || c.Intents[1].Target.String() != "handoff:q" {
		t.Errorf("a new label should become an intent with the fallback target: %+v", c.Intents[1])
	}
	if len(oos) != 1 || oos[0].Text != "x" {
		t.Errorf("oos examples: %+v", oos)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("merged config: %v", err)
	}
}

func FuzzParseConfig(f *testing.F) {
	for _, p := range []string{"../datasets/demo/config.yaml", "testdata/bad.yaml"} {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("intents: [{name: a, utterances: [x], target: {model: [a, b]}}]"))
	f.Add([]byte("version: 1\n\t"))
	f.Add([]byte("fallback: {handoff: q}\nrouting: {threshold: -1, margin: 2}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, "fuzz.yaml")
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if err := c.Validate(); err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) || len(ce.Problems) == 0 {
				t.Fatalf("validation error without problems: %v", err)
			}
		}
	})
}

// TestParseTags: a tag where the decoder cannot follow it is an error that
// says where, never a panic (the YAML library panics on a tag on a scalar
// where a list belongs; a config reloaded on SIGHUP would take the service
// down).
func TestParseTags(t *testing.T) {
	for _, tc := range []struct{ value, want string }{
		{"!include utterances.yaml", "line 3: the tag !include is not supported"},
		{"!00", "line 3: the tag !00 is not supported"},
		{"!!int 0", "the tag !!int at line 3 is the likely cause"},
	} {
		data := "intents:\n  - name: a\n    utterances: " + tc.value + "\n    target: {model: m}\n"
		_, err := Parse([]byte(data), "tags.yaml")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.value, err, tc.want)
		}
	}
	if _, err := Parse([]byte("intents:\n  - name: !!str a\n    utterances: [x]\n"), "tags.yaml"); err != nil {
		t.Errorf("a standard tag the decoder reads: %v", err)
	}
}
