package router

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/semroute/semroute/embed"
	"github.com/semroute/semroute/embed/local/localtest"
	"github.com/semroute/semroute/index/chromem"
	"github.com/semroute/semroute/index/flat"
	"github.com/semroute/semroute/intents"
	"github.com/semroute/semroute/router/config"
)

func demoRouter(t *testing.T, opt Options) *Router {
	t.Helper()
	cfg, err := config.Load("../datasets/demo/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if opt.Embedder == nil {
		opt.Embedder = localtest.Open(t)
	}
	r, err := New(context.Background(), cfg, opt)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestDemoDecisions(t *testing.T) {
	r := demoRouter(t, Options{})
	ctx := context.Background()
	tests := []struct {
		prompt, intent, target string
	}{
		{"I forgot my password and now I can't sign in", "account_access", "model:fast"},
		{"I want a refund for my order", "refund", "model:fast,strong"},
		{"please let me talk to a human agent", "talk_to_human", "handoff:support"},
		{"I want to kill myself", "self_harm", "moderation:handoff"},
		{"is the blender dishwasher safe?", "product_question", "rag:products"},
		{"whre is my ordr", "order_status", "model:fast"}, // misspelt
		{"what is the capital of mongolia", "", "model:strong"},
		{"how tall is mount everest", "", "model:strong"},
	}
	for _, tc := range tests {
		t.Run(tc.prompt, func(t *testing.T) {
			d, err := r.Route(ctx, tc.prompt)
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if d.Intent != nil {
				got = *d.Intent
			}
			if got != tc.intent || d.Target.String() != tc.target || d.Fallback != (tc.intent == "") {
				t.Errorf("intent %q target %s fallback %v (score %.2f, sim %.2f, reason %s); want %q %s",
					got, d.Target, d.Fallback, d.Score, d.Similarity, d.Reason, tc.intent, tc.target)
			}
			if len(d.Alternatives) == 0 || d.LatencyUS <= 0 || d.MatchedUtterance == "" {
				t.Errorf("decision lacks alternatives, latency or matched utterance: %+v", d)
			}
			if d.Margin < 0 || d.Score < 0 || d.Score > 1 {
				t.Errorf("score %v margin %v", d.Score, d.Margin)
			}
		})
	}
}

// TestRouteVec: RouteVec decides as Route does and gives the prompt's
// embedding as the embedder gives it, at unit length, appended to what the
// caller passed.
func TestRouteVec(t *testing.T) {
	r := demoRouter(t, Options{})
	ctx := context.Background()
	for _, p := range []string{"I want a refund for my order", "how tall is mount everest", "xqzv"} {
		want, err := r.Embedder().Embed(ctx, []string{p})
		if err != nil {
			t.Fatal(err)
		}
		flat.Normalize(want[0])
		d, vec, err := r.RouteVec(ctx, p, []float32{7})
		if err != nil {
			t.Fatal(err)
		}
		d2, _ := r.Route(ctx, p)
		if d.Target.String() != d2.Target.String() || d.Score != d2.Score {
			t.Errorf("%q: RouteVec decided %s %.4f, Route %s %.4f", p, d.Target, d.Score, d2.Target, d2.Score)
		}
		if len(vec) != 1+len(want[0]) || vec[0] != 7 {
			t.Fatalf("%q: %d floats, first %v; want 7 then the %d of the embedding", p, len(vec), vec[0], len(want[0]))
		}
		for i, x := range want[0] {
			if d := x - vec[1+i]; d > 1e-6 || d < -1e-6 {
				t.Fatalf("%q: component %d is %v, the embedder gives %v", p, i, vec[1+i], x)
			}
		}
	}
	if _, vec, err := r.RouteVec(ctx, "  ", nil); err == nil || vec != nil {
		t.Errorf("an empty prompt: err %v, vec %v", err, vec)
	}
}

func TestBadPrompts(t *testing.T) {
	r := demoRouter(t, Options{})
	ctx := context.Background()
	for _, p := range []string{"", "   \n\t "} {
		if _, err := r.Route(ctx, p); !errors.Is(err, ErrEmptyPrompt) {
			t.Errorf("Route(%q) err = %v, want ErrEmptyPrompt", p, err)
		}
	}
	d, err := r.Route(ctx, "?!?! ... ---")
	if err != nil || !d.Fallback || d.Reason != ReasonNoWords {
		t.Errorf("punctuation only: %+v, %v; want a no_words fallback", d, err)
	}
	huge := strings.Repeat("where is my order ", 60000) // ~1 MB
	if d, err := r.Route(ctx, huge); err != nil || d.Intent == nil || *d.Intent != "order_status" {
		t.Errorf("1 MB prompt: %+v, %v", d, err)
	}
	if d, err := r.Route(ctx, "I forgot my password \xff\xfe please help"); err != nil || d.Intent == nil || *d.Intent != "account_access" {
		t.Errorf("invalid UTF-8: %+v, %v; want a decision", d, err)
	}
}

func TestSingleUtteranceAndManyIntents(t *testing.T) {
	emb := localtest.Open(t)
	ctx := context.Background()
	fallback := intents.Target{Handoff: "q"}
	one := &config.Config{Intents: []intents.Intent{{Name: "only", Utterances: []string{"cancel my subscription"}, Target: fallback}}, Fallback: fallback}
	one.SetDefaults("")
	r, err := New(ctx, one, Options{Embedder: emb})
	if err != nil {
		t.Fatal(err)
	}
	if d, err := r.Route(ctx, "please cancel the subscription"); err != nil || d.Intent == nil {
		t.Errorf("one intent, one utterance: %+v %v", d, err)
	}

	many := &config.Config{Fallback: fallback}
	for i := 0; i < 10000; i++ {
		many.Intents = append(many.Intents, intents.Intent{
			Name:       fmt.Sprintf("intent%d", i),
			Utterances: []string{fmt.Sprintf("ticket number %d about topic %d", i, i%97)},
			Target:     fallback,
		})
	}
	many.SetDefaults("")
	r, err = New(ctx, many, Options{Embedder: emb})
	if err != nil {
		t.Fatal(err)
	}
	if r.Scorer() != config.ScorerKNN {
		t.Errorf("10,000 intents use scorer %s, want knn", r.Scorer())
	}
	d, err := r.Route(ctx, "ticket number 4321 about topic 53")
	if err != nil || d.Intent == nil || *d.Intent != "intent4321" {
		t.Errorf("10,000 intents: %+v %v", d, err)
	}
}

// counting wraps an embedder and counts the texts it embeds.
type counting struct {
	embed.Embedder
	n atomic.Int64
}

func (c *counting) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	c.n.Add(int64(len(texts)))
	return c.Embedder.Embed(ctx, texts)
}

func TestRestartReusesStoredVectors(t *testing.T) {
	dir := t.TempDir()
	emb := &counting{Embedder: localtest.Open(t)}
	build := func(cfg *config.Config) *Router {
		idx, err := chromem.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		r, err := New(context.Background(), cfg, Options{Embedder: emb, Index: idx})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	cfg, _ := config.Load("../datasets/demo/config.yaml")
	first := build(cfg)
	embedded := emb.n.Load()
	if embedded != int64(first.Exemplars()) {
		t.Fatalf("first build embedded %d texts, want %d", embedded, first.Exemplars())
	}
	build(cfg)
	if again := emb.n.Load() - embedded; again != 0 {
		t.Errorf("restart embedded %d texts, want 0 (vectors are stored)", again)
	}
	cfg.Intents[0].Utterances[0] = "where on earth is my package"
	build(cfg)
	if again := emb.n.Load() - embedded; again != 1 {
		t.Errorf("after changing one utterance %d texts were embedded, want 1", again)
	}
	idx, _ := chromem.Open(dir)
	recs, _ := idx.List(context.Background(), Collection)
	if len(recs) != first.Exemplars() {
		t.Errorf("%d stored exemplars, want %d (the replaced utterance is deleted)", len(recs), first.Exemplars())
	}
}

func TestThresholdsFile(t *testing.T) {
	emb := localtest.Open(t)
	path := filepath.Join(t.TempDir(), "thresholds.json")
	other := emb.Fingerprint()
	other.Version = "older"
	if err := (&Thresholds{Embedder: other, Scorer: config.ScorerHead, Global: 0.5}).Save(path); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadThresholds(path, emb.Fingerprint()); !errors.Is(err, embed.ErrFingerprintMismatch) {
		t.Fatalf("thresholds of another embedder: %v, want ErrFingerprintMismatch", err)
	}
	strict := &Thresholds{Embedder: emb.Fingerprint(), Scorer: config.ScorerHead, Global: 0.999, PerIntent: map[string]float64{"greeting": 0.01}}
	strict.Save(path)
	th, err := LoadThresholds(path, emb.Fingerprint())
	if err != nil {
		t.Fatal(err)
	}
	r := demoRouter(t, Options{Thresholds: th})
	d, _ := r.Route(context.Background(), "I want a refund for my order")
	if !d.Fallback || d.Reason != ReasonThreshold || d.Threshold != 0.999 {
		t.Errorf("with a fitted global threshold of 0.999: %+v", d)
	}
	d, _ = r.Route(context.Background(), "hello there")
	if d.Fallback || d.Threshold != 0.01 {
		t.Errorf("with greeting's own fitted threshold 0.01: %+v", d)
	}
}

// TestClipWords: a prompt over routing.max_words is routed on its first
// and last words; shorter ones are left alone.
func TestClipWords(t *testing.T) {
	words := func(from, n int) string {
		var w []string
		for i := from; i < from+n; i++ {
			w = append(w, fmt.Sprintf("w%d", i))
		}
		return strings.Join(w, " ")
	}
	long := words(0, 1000)
	if got, want := clipWords(long, 16), words(0, 8)+" "+words(992, 8); got != want {
		t.Errorf("clipWords(1000 words, 16) = %q, want %q", got, want)
	}
	for _, s := range []string{"", "short prompt", words(0, 16), "  " + words(0, 16) + "\n"} {
		if got := clipWords(s, 16); got != s {
			t.Errorf("clipWords(%q, 16) = %q, want it unchanged", s, got)
		}
	}
	// Runs of spaces, tabs and newlines, and non-ASCII letters, count as
	// one separator and as letters.
	messy := "ünö  dos\ttres\n\nquatro " + words(0, 30) + " zwölf\t elf  zehn"
	got := clipWords(messy, 6)
	if !strings.HasPrefix(got, "ünö  dos\ttres") || !strings.HasSuffix(got, "zwölf\t elf  zehn") || strings.Contains(got, "w10") {
		t.Errorf("clipWords(messy, 6) = %q", got)
	}

	// The router routes a long prompt as its clipped text, and the demo's
	// default (512 words) leaves a short prompt alone.
	r := demoRouter(t, Options{})
	filler := strings.Repeat("the weather was mild and the river ran slowly past the old mill ", 100)
	prompt := "I want a refund for my order. " + filler + " Please send the money back to my card."
	d, err := r.Route(context.Background(), prompt)
	if err != nil {
		t.Fatal(err)
	}
	d2, _ := r.Route(context.Background(), clipWords(prompt, config.DefaultMaxWords))
	if d.Target.String() != d2.Target.String() || d.Score != d2.Score {
		t.Errorf("long prompt %s %.4f; its clipped text %s %.4f", d.Target, d.Score, d2.Target, d2.Score)
	}
	if len(strings.Fields(prompt)) <= config.DefaultMaxWords || clipWords(prompt, config.DefaultMaxWords) == prompt {
		t.Fatal("the long prompt is not long enough to be clipped")
	}
}
