package classify

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/semroute/semroute/embed/local/localtest"
	"github.com/semroute/semroute/internal/simd"
)

// synthetic is classify.Synthetic's 100 × 100 set with its examples: unit
// vectors, as a router or Classifier fits on, and features.
func synthetic(t *testing.T) ([][]string, *Set, []Example) {
	t.Helper()
	emb := localtest.Open(t)
	classes := Synthetic(emb.Word, 100, 100, 1)
	set := &Set{}
	for _, texts := range classes {
		set.Add(texts)
	}
	set.Close()
	vecs, err := emb.Embed(context.Background(), set.Texts)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vecs {
		simd.Normalize(v)
	}
	in := NewInput(emb, emb.Dim())
	return classes, set, in.Examples(set, vecs)
}

// TestHeadPruning: pruning the head's small sparse weights keeps about a
// twentieth of them and the top class of nearly every prompt, against the
// same head with every weight kept (fitting is deterministic, so both start
// from the same weights).
func TestHeadPruning(t *testing.T) {
	ctx := context.Background()
	emb := localtest.Open(t)
	classes := Synthetic(emb.Word, 100, 100, 1)
	pruned, err := New(ctx, emb, classes, nil, HeadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	full, err := New(ctx, emb, classes, nil, HeadOptions{Prune: -1})
	if err != nil {
		t.Fatal(err)
	}
	kept := float64(pruned.head.Weights()) / float64(full.head.Weights())
	same, n := 0, 0
	for i, texts := range classes {
		for k := 0; k < len(texts); k += 10 {
			// Variations of the texts: a word dropped, one added.
			words := strings.Fields(texts[(k+i)%len(texts)])
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
	t.Logf("pruning kept %.1f %% of the sparse weights; top class unchanged for %d of %d prompts", 100*kept, same, n)
	if kept > 0.10 || float64(same) < 0.99*float64(n) {
		t.Errorf("kept %.3f of the weights (want ≤ 0.10); top class unchanged for %d of %d prompts (want ≥ 99 %%)", kept, same, n)
	}
}

// TestHeadQuantized: the head inference reads, its weights in int8 with a
// scale per row, gives the probabilities of the float32 weights it was
// fitted as, within a hundredth (three with the dense regression blended
// in), and the same top class for nearly every prompt.
func TestHeadQuantized(t *testing.T) {
	emb := localtest.Open(t)
	classes, set, exs := synthetic(t)
	var prompts []Example
	for i, texts := range classes {
		for k := 0; k < len(texts); k += 10 {
			words := strings.Fields(texts[(k+i)%len(texts)])
			text := strings.Join(words[1:], " ") + " please"
			vec, feats := emb.EmbedFeatures(make([]float32, emb.Dim()), nil, text)
			prompts = append(prompts, Example{Vec: vec, Feats: feats, Class: i})
		}
	}
	// The sparse head alone, and blended with the dense regression at the
	// largest weight calibration may choose (its weights added into the
	// dense rows that int8 stores).
	for _, blend := range []float32{0, calBlends[len(calBlends)-1]} {
		h := fitHead(exs, set.Classes, emb.Dim(), HeadOptions{}.withDefaults())
		if blend > 0 {
			fitDenseLR(exs, set.Classes, 0, emb.WordDim(), denseOpts(len(exs), 1)).blendInto(h, blend)
		}
		want := make([][]float32, len(prompts))
		for i, p := range prompts {
			want[i] = make([]float32, h.Classes)
			h.logits(want[i], p.Vec, p.Feats, h.rowsOf(nil, p.Feats))
			softmax(want[i])
		}
		h.compact(exs, -1) // every weight kept: only quantization differs
		if h.Dense != nil || h.trainW != nil {
			t.Fatal("compact kept the float32 weights")
		}
		got := make([]float32, h.Classes)
		var worst float64
		same := 0
		for i, p := range prompts {
			h.Probs(got, p.Vec, p.Feats, &Scratch{})
			for c := range got {
				worst = max(worst, math.Abs(float64(got[c]-want[i][c])))
			}
			if argmax(got) == argmax(want[i]) {
				same++
			}
		}
		// An int8 step is 1/127 of a row's largest weight. The regression's
		// weights on the word-vector block are the rows' largest (about 15
		// against 1 for the sparse head's, on this set), so the blended
		// head's steps are coarser: logits off by up to about 0.1, which
		// moves a sharp softmax by up to 0.03. The accuracy figures are
		// measured through the int8 head.
		tol := 0.01
		if blend > 0 {
			tol = 0.03
		}
		t.Logf("blend %g: largest difference in probability %.4f; same top intent for %d of %d prompts", blend, worst, same, len(prompts))
		if worst > tol || float64(same) < 0.99*float64(len(prompts)) {
			t.Errorf("blend %g: largest difference %.4f (want ≤ %g); same top intent %d of %d (want ≥ 99 %%)", blend, worst, tol, same, len(prompts))
		}
	}
}

func argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// TestExpNeg: expNeg is e^x within 2e-7 relatively over the range softmax
// uses it on, and 0 below float32's normal range.
func TestExpNeg(t *testing.T) {
	var worst float64
	for x := float32(0); x > -87; x -= 0.000731 {
		want := math.Exp(float64(x))
		got := float64(expNeg(x))
		worst = max(worst, math.Abs(got-want)/want)
	}
	t.Logf("largest relative error %.3g", worst)
	if worst > 2e-7 {
		t.Errorf("largest relative error %.3g, want ≤ 2e-7", worst)
	}
	if expNeg(0) != 1 || expNeg(-100) != 0 {
		t.Errorf("expNeg(0) = %v, expNeg(-100) = %v", expNeg(0), expNeg(-100))
	}
}
