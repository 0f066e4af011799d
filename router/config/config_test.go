package config

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/semroute/semroute/intents"
)

func TestLoadDemoConfig(t *testing.T) {
	c, err := Load("../../datasets/demo/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Intents) < 10 || c.Fallback.String() != "model:strong" {
		t.Errorf("%d intents, fallback %s", len(c.Intents), c.Fallback)
	}
	if c.Index.DataDir != "../../data/demo" {
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
		{"unknown key", "version: 1\nintentz: []\n", `line 2, column 1: intentz: unknown field "intentz"; want one of version, embedder,`},
		{"tab indentation", "version: 1\nintents:\n\t- name: x\n", "[3:1]"},
		{"wrong type", "version: one\n", `line 1, column 10: version: want a whole number, got "one"`},
		{"empty file", "   \n", "empty"},
		{"utterances not a list", "intents:\n  - name: a\n    utterances: {x: 1}\n", "line 3, column 17: intents[0].utterances: want a list, got a mapping"},
		{"unknown key in intent", "intents:\n  - name: a\n    utterance: [x]\n", `line 3, column 5: intents[0].utterance: unknown field "utterance"; want one of name, description, utterances, threshold, target`},
		{"a list for a target", "intents:\n  - name: a\n    target: [x]\n", "line 3, column 13: intents[0].target: want a mapping, got a list"},
		{"a mapping for a tier", "fallback: {model: {a: b}}\n", "line 1, column 19: fallback.model: model must be a name or a list of names"},
		{"a key twice", "routing: {threshold: 0.1, threshold: 0.2}\n", "routing.threshold: given twice (first at line 1)"},
		{"a key twice in a map", "teams: {a: [x], a: [y]}\n", "teams.a: given twice (first at line 1)"},
		{"bool", "index: {kind: pgvector, dsn: x, halfvec: sometimes}\n", `index.halfvec: want true or false, got "sometimes"`},
		{"map value", "cache: {per_intent: {a: high}}\n", `cache.per_intent.a: want a number, got "high"`},
		{"nested list", "teams: {a: [[x]]}\n", "teams.a[0]: want a string, got a list"},
		{"a key that is not a name", "fallback: {model: m, 1: x}\n", "line 1, column 22: fallback.1: 1 is not a field name; want one of model, rag,"},
		{"anchors and merge keys", "models:\n  - &m {name: a, base_url: http://x/v1, model: x}\n  - <<: *m\n    name: b\n    timeout_ms: x\n", `line 5, column 17: models[1].timeout_ms: want a whole number, got "x"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.yaml), "c.yaml")
			if err == nil {
				err = c.Validate()
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "c.yaml") {
				t.Errorf("err = %v, want one naming c.yaml and containing %q", err, tc.want)
			}
		})
	}
}

// TestTypeErrorsComeWithTheRest: values of the wrong type and unknown keys
// are reported with their field path, line and column, together with the
// validation's problems, in the order of the file. The strict decoder
// stopped at the first ("cannot unmarshal string into Go struct field
// Config.Intents of type float64"), with no field and nothing else.
func TestTypeErrorsComeWithTheRest(t *testing.T) {
	_, err := Load("testdata/mixed.yaml")
	var ce *ConfigError
	if !errors.As(err, &ce) || !errors.Is(err, ErrConfig) {
		t.Fatalf("err = %v, want a *ConfigError", err)
	}
	want := []Problem{
		{7, 17, "models[1].timeout_ms", `want a whole number, got "soon"`},
		{12, 0, "intents[1].name", `duplicate intent name "refund" (first defined at line 9)`},
		{17, 16, "intents[2].threshold", `want a number, got "high"`},
		{18, 0, "intents[2].target.model", `names model "nope", which is not defined under models`},
		{19, 5, "intents[2].colour", `unknown field "colour"; want one of name, description, utterances, threshold, target`},
		{21, 11, "routing.margin", "want a number, got a list"},
		{22, 0, "routing.threshold", "1.5 is outside [0, 1]"},
	}
	if diff := cmp.Diff(want, ce.Problems); diff != "" {
		t.Errorf("problems (-want +got):\n%s\nerror:\n%v", diff, err)
	}
	if msg := err.Error(); !strings.Contains(msg, "line 17, column 16: intents[2].threshold: want a number") {
		t.Errorf("the message lacks the line, column and field of the type error:\n%s", msg)
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
	c, _ = Parse([]byte("models: [{name: m, base_url: http://x/v1, model: x}]\nintents: [{name: a, utterances: [x], target: {model: m}}]\nfallback: {moderation: flag}\n"), "c.yaml")
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "line 3: fallback.moderation: flag sends a prompt on to the fallback") {
		t.Errorf("a fallback that flags: %v", err)
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
	for _, p := range []string{"../../datasets/demo/config.yaml", "testdata/bad.yaml"} {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("intents: [{name: a, utterances: [x], target: {model: [a, b]}}]"))
	f.Add([]byte("version: 1\n\t"))
	f.Add([]byte("fallback: {handoff: q}\nrouting: {threshold: -1, margin: 2}"))
	mixed, err := os.ReadFile("testdata/mixed.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(mixed)
	f.Add([]byte("a: &x {b: 1}\nmodels: [{<<: *x, name: m}]\nteams: {t: [k, k], t: [j]}\n"))
	for _, s := range []string{
		"version: \"1\"\nindex: {halfvec: yes, ef_search: 1e2}\nteams: {1: [a, null]}\nintents: ~\n",
		"routing: !!map {threshold: !!float 0.5}\nout_of_scope: !!seq [a]\ncache: {per_intent: {x: 1}}\n",
		"? version\n: 1\nserver: {max_body_bytes: 0x10, api_keys: [{name: a, env: E, scope: client}]}\n",
		"models:\n  - &m {name: a, base_url: http://x/v1, model: x}\n  - *m\nfallback: {model: [a, a]}\n",
		"intents:\n- name: a\n  utterances:\n  - |\n    two\n    lines\n  target: {model: a}\n---\nversion: 2\n",
		"---\nversion: 1\nrouting: {margin: 0.1}\n", "# nothing\n---\n---\nversion: 1\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, "fuzz.yaml")
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		// A file the strict decoder refuses is never valid; one it reads,
		// the field-by-field decoding reads the same, without a problem.
		var strict Config
		serr := safely(func() error { return yaml.UnmarshalWithOptions(data, &strict, yaml.DisallowUnknownField()) })
		if serr != nil && len(c.decodeProblems) == 0 {
			t.Fatalf("the strict decoder refused the file (%v), Parse found no problem", serr)
		}
		if serr == nil {
			var lenient Config
			ps, _ := decodeLeniently(c.ast, &lenient)
			if slices.ContainsFunc(ps, func(p Problem) bool { return strings.Contains(p.Msg, "is not a field name") }) {
				return // the strict decoder dropped a mapping, and whatever else was in it
			}
			if len(ps) > 0 {
				t.Fatalf("a file the strict decoder reads has problems field by field: %v", ps)
			}
			if diff := cmp.Diff(strict, lenient, cmpopts.IgnoreUnexported(Config{})); diff != "" {
				t.Fatalf("field by field, the file reads otherwise (-strict +lenient):\n%s", diff)
			}
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
		{"!include utterances.yaml", "line 3: intents[0].utterances: the tag !include is not supported"},
		{"!00", "line 3: intents[0].utterances: the tag !00 is not supported"},
		{"!!int 0", "the tag !!int at line 3 (intents[0].utterances) is the likely cause"},
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

func TestValidateJudge(t *testing.T) {
	base := "models: [{name: m, base_url: http://127.0.0.1:1/v1, model: x}]\nintents: [{name: a, utterances: [hi], target: {model: m}}]\nfallback: {model: m}\nrouting:\n  threshold: 0.1\n  judge:\n"
	tests := []struct {
		name, judge string
		want        []string
	}{
		{"ok", "    model: m\n    below: 0.5\n", nil},
		{"every problem, with its line", "    model: nope\n    below: 0\n    top_k: 1\n    timeout_ms: -5\n",
			[]string{`line 7: routing.judge.model: names model "nope", which is not defined under models`,
				"line 8: routing.judge.below: 0 is outside (0, 1]", "line 9: routing.judge.top_k: 1 is outside [2, 100]",
				"routing.judge: timeout_ms, cache_ttl_s and max_suggestions must not be negative"}},
		{"no model", "    below: 0.5\n", []string{"routing.judge.model: missing"}},
		{"below above 1", "    model: m\n    below: 1.5\n", []string{"routing.judge.below: 1.5 is outside (0, 1]"}},
		{"unknown key", "    model: m\n    below: 0.5\n    topk: 3\n", []string{`unknown field "topk"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(base+tc.judge), "c.yaml")
			if err == nil {
				err = c.Validate()
			}
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("valid config refused: %v", err)
				}
				if j := c.Routing.Judge; j.TopK != 10 || j.TimeoutMS != 3000 || j.Examples != 3 || j.MaxSuggestions != 1000 {
					t.Errorf("defaults %+v", j)
				}
				return
			}
			for _, w := range tc.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v, want %q", err, w)
				}
			}
		})
	}
	long := strings.Repeat("x", 1001)
	c, _ := Parse([]byte("models: [{name: m, base_url: http://x/v1, model: x}]\nintents: [{name: a, description: "+long+", utterances: [hi], target: {model: m}}]\nfallback: {model: m}\n"), "c.yaml")
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "intents[0].description: want valid UTF-8 of at most 1000 bytes") {
		t.Errorf("a long description: %v", err)
	}
}

func TestFeedbackConfig(t *testing.T) {
	base := "version: 1\nintents:\n  - {name: a, utterances: [x y], target: {model: m}}\nmodels:\n  - {name: m, base_url: http://127.0.0.1:1/v1, model: m}\nfallback: {model: m}\n"
	c, err := Parse([]byte(base+"feedback: {}\n"), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if f := c.Feedback; f == nil || f.KeepDays != 7 || f.FeedbackKeepDays != 365 || f.MaxComment != 1000 || f.KeepPrompts {
		t.Errorf("defaults %+v", f)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("valid: %v", err)
	}
	c, err = Parse([]byte(base+"feedback: {keep_days: -1, max_comment: 200000}\n"), "c.yaml")
	if err == nil {
		err = c.Validate()
	}
	if err == nil || !strings.Contains(err.Error(), "feedback.keep_days") || !strings.Contains(err.Error(), "feedback.max_comment") {
		t.Errorf("bad feedback section: %v", err)
	}
}
