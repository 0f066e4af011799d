package router

import (
	"context"
	"strings"
	"testing"

	"github.com/semroute/semroute/embed/local/localtest"
)

// TestHeadPruning: pruning the head's small sparse weights keeps about a
// twentieth of them and the top intent of nearly every prompt, against the
// same head with every weight kept (fitting is deterministic, so both start
// from the same weights).
func TestHeadPruning(t *testing.T) {
	ctx := context.Background()
	emb := localtest.Open(t)
	cfg := Synthetic(emb.Word, 100, 100, 1)
	pruned, err := New(ctx, cfg, Options{Embedder: emb})
	if err != nil {
		t.Fatal(err)
	}
	full, err := New(ctx, cfg, Options{Embedder: emb, Head: HeadOptions{Prune: -1}})
	if err != nil {
		t.Fatal(err)
	}
	kept := float64(pruned.head.sparse.weights()) / float64(full.head.sparse.weights())
	same, n := 0, 0
	for i, in := range cfg.Intents {
		for k := 0; k < len(in.Utterances); k += 10 {
			// Variations of the utterances: a word dropped, one added.
			words := strings.Fields(in.Utterances[(k+i)%len(in.Utterances)])
			prompt := strings.Join(words[1:], " ") + " please"
			a, err := pruned.Score(ctx, prompt)
			if err != nil {
				t.Fatal(err)
			}
			b, err := full.Score(ctx, prompt)
			if err != nil {
				t.Fatal(err)
			}
			n++
			if a.Best == b.Best {
				same++
			}
		}
	}
	t.Logf("pruning kept %.1f %% of the sparse weights; top intent unchanged for %d of %d prompts", 100*kept, same, n)
	if kept > 0.10 || float64(same) < 0.99*float64(n) {
		t.Errorf("kept %.3f of the weights (want ≤ 0.10); top intent unchanged for %d of %d prompts (want ≥ 99 %%)", kept, same, n)
	}
}
