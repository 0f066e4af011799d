package router

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/semroute/semroute/embed/local/localtest"
	"github.com/semroute/semroute/intents"
	"github.com/semroute/semroute/router/config"
)

func smallConfig(oos ...string) *config.Config {
	cfg := config.Default()
	cfg.Intents = []intents.Intent{
		{Name: "weather", Target: intents.Target{Handoff: "w"}, Utterances: []string{"what is the weather today", "will it rain tomorrow", "is it going to be sunny this weekend", "how cold is it outside"}},
		{Name: "music", Target: intents.Target{Handoff: "m"}, Utterances: []string{"play some jazz", "put on my workout playlist", "skip this song", "turn the music up"}},
	}
	cfg.OutOfScope = oos
	return cfg
}

// TestOutOfScopeExamples: a prompt like the configured out-of-scope
// examples falls back, with its own reason, where without them it would
// have gone to an intent.
func TestOutOfScopeExamples(t *testing.T) {
	emb := localtest.Open(t)
	ctx := context.Background()
	prompt := "what is the weather like on mars for the rover"
	without, err := New(ctx, smallConfig(), Options{Embedder: emb, Thresholds: &Thresholds{Scorer: config.ScorerHead}})
	if err != nil {
		t.Fatal(err)
	}
	d, _ := without.Route(ctx, prompt)
	if d.Fallback {
		t.Fatalf("without out-of-scope examples and no thresholds, %q should reach an intent: %+v", prompt, d)
	}
	with, err := New(ctx, smallConfig("what is the weather like on mars", "how hot is venus", "what is the climate on jupiter", "space probe temperatures"),
		Options{Embedder: emb, Thresholds: &Thresholds{Scorer: config.ScorerHead}})
	if err != nil {
		t.Fatal(err)
	}
	d, _ = with.Route(ctx, prompt)
	if !d.Fallback || d.Reason != ReasonOutOfScope {
		t.Errorf("with out-of-scope examples: %+v, want a fallback for %s", d, ReasonOutOfScope)
	}
	if d, _ := with.Route(ctx, "will it rain this afternoon"); d.Intent == nil || *d.Intent != "weather" {
		t.Errorf("an in-scope prompt no longer routes: %+v", d)
	}
	if with.Exemplars() != without.Exemplars()+4 {
		t.Errorf("exemplars %d, want %d + 4 out-of-scope", with.Exemplars(), without.Exemplars())
	}
}

func TestOutOfScopeValidated(t *testing.T) {
	cfg := smallConfig("  ", "?!")
	err := cfg.Validate()
	var ce *config.ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "out_of_scope[0]: empty utterance") || !strings.Contains(err.Error(), "out_of_scope[1]") {
		t.Errorf("Validate: %v", err)
	}
}

// TestCoverage: the confidence falls with the share of the prompt's words
// never seen in the intent's utterances, while a prompt made of them keeps
// full coverage.
func TestCoverage(t *testing.T) {
	r, err := New(context.Background(), smallConfig(), Options{Embedder: localtest.Open(t)})
	if err != nil {
		t.Fatal(err)
	}
	seen, _ := r.Score(context.Background(), "will it rain tomorrow")
	unseen, _ := r.Score(context.Background(), "will it rain on the quarterly revenue spreadsheet formulas")
	if seen.Coverage < 0.999 || unseen.Coverage > 0.6 || unseen.Confidence() >= unseen.S1 {
		t.Errorf("coverage seen %v, unseen %v (confidence %v of probability %v)", seen.Coverage, unseen.Coverage, unseen.Confidence(), unseen.S1)
	}
	if d := r.Decide(unseen); d.Score != unseen.Confidence() || d.Probability != unseen.S1 || d.Coverage != unseen.Coverage {
		t.Errorf("decision %+v does not carry the scores %+v", d, unseen)
	}
}
