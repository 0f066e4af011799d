package rag

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestSearchBM25MatchesExhaustiveAtScale checks the BM25 search against
// scoring every live chunk on a corpus large enough for its pruning to
// start from a primed threshold (rare words of at most one posting in 256
// slots, as at 100,000 chunks): the same slots and the same scores bit for
// bit, ties by slot, with removed slots and a filter that rejects some of
// the chunks prime scores first.
func TestSearchBM25MatchesExhaustiveAtScale(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 5))
	const n = 30_000
	common := make([]string, 40)
	for i := range common {
		common[i] = fmt.Sprintf("c%d", i)
	}
	topics := make([][]string, 600) // 50 chunks a topic, its words in at most about 50
	for i := range topics {
		for j := range 4 {
			topics[i] = append(topics[i], fmt.Sprintf("t%dw%d", i, j))
		}
	}
	text := func(words int) string {
		topic := topics[rng.IntN(len(topics))]
		ws := make([]string, words)
		for i := range ws {
			if rng.IntN(3) == 0 {
				ws[i] = topic[rng.IntN(len(topic))]
			} else {
				ws[i] = common[rng.IntN(len(common))]
			}
		}
		return strings.Join(ws, " ")
	}
	b := newBM25()
	texts := make([]string, n)
	for i := range texts {
		texts[i] = text(10 + rng.IntN(30))
		b.add(int32(i), texts[i])
	}
	for s := 0; s < n; s += 7 {
		b.remove(int32(s), texts[s])
	}
	keep := func(s int32) bool { return s%5 != 0 }
	before := func(x, y int32) bool { return x < y }
	tfs := make([]map[string]int32, n)
	for s, text := range texts {
		words, tf, _ := counts(text)
		tfs[s] = map[string]int32{}
		for i, w := range words {
			tfs[s][w] = tf[i]
		}
	}
	for q := range 60 {
		query := text(2 + q%7)
		for _, f := range []func(int32) bool{nil, keep} {
			all := exhaustiveBM25(b, tfs, query, f)
			for _, k := range []int{1, 5, 50, 120} {
				got := b.search(query, k, f, before)
				want := all[:min(k, len(all))]
				if !slices.Equal(got, want) {
					t.Fatalf("query %q k=%d filter %v:\n got %v\nwant %v", query, k, f != nil, got, want)
				}
			}
		}
	}
}

// exhaustiveBM25 scores every live chunk keep accepts from its words'
// frequencies (tfs, by slot), the query's words in query order, best
// first, ties by slot.
func exhaustiveBM25(b *bm25, tfs []map[string]int32, query string, keep func(int32) bool) []hit {
	qs := b.queryTerms(query)
	var words []string // qs's words, in their order
	for _, w := range terms(query) {
		if li, ok := b.dict[w]; ok && !slices.Contains(words, w) && b.lists[li].df > 0 {
			words = append(words, w)
		}
	}
	avg := float64(b.total) / float64(b.live)
	var all []hit
	for s, tf := range tfs {
		if b.length[s] < 0 || keep != nil && !keep(int32(s)) {
			continue
		}
		h := hit{slot: int32(s)}
		for i, w := range words {
			if f := tf[w]; f > 0 {
				h.score += termScore(qs[i].idf, float64(f), float64(b.length[s]), avg)
			}
		}
		if h.score > 0 {
			all = append(all, h)
		}
	}
	slices.SortStableFunc(all, func(x, y hit) int { return cmpFloat(y.score, x.score) })
	return all
}
