package rag

import (
	"fmt"
	"math/bits"
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
	queries := make([]string, 60)
	for q := range queries {
		queries[q] = text(2 + q%7)
	}
	checkBM25(t, b, frequencies(texts), queries)
}

// frequencies are each text's words' frequencies, by slot.
func frequencies(texts []string) []map[string]int32 {
	tfs := make([]map[string]int32, len(texts))
	for s, text := range texts {
		words, tf, _ := counts(text)
		tfs[s] = map[string]int32{}
		for i, w := range words {
			tfs[s][w] = tf[i]
		}
	}
	return tfs
}

// checkBM25 compares b's search with exhaustive scoring (tfs: the words'
// frequencies by slot) for each query, k = 1, 5, 50 and 120, with no
// filter and with one that rejects a slot in five: the same slots and the
// same scores bit for bit, ties by slot.
func checkBM25(t *testing.T, b *bm25, tfs []map[string]int32, queries []string) {
	t.Helper()
	keep := func(s int32) bool { return s%5 != 0 }
	before := func(x, y int32) bool { return x < y }
	for _, query := range queries {
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

// TestSearchBM25LengthsAndBitmaps checks the search against exhaustive
// scoring where its newer shortcuts matter: chunk lengths spread over
// many more lengths than its bounds are tabled for (lengthBuckets), a
// word whose frequency-1 part gets a bitmap, loses it when its chunks
// turn sparse and gets it again, and the same after removals and a
// compaction that renumbers the slots.
func TestSearchBM25LengthsAndBitmaps(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 7))
	const n = 12_000
	common := []string{"alpha", "beta", "gamma", "delta", "eps", "zeta", "eta", "theta"}
	words := func(m int) []string {
		ws := make([]string, m)
		for i := range ws {
			if rng.IntN(4) == 0 {
				ws[i] = fmt.Sprintf("r%d", rng.IntN(3000))
			} else {
				ws[i] = common[rng.IntN(len(common))]
			}
		}
		return ws
	}
	// burst is in every other chunk up to slot 200, then in slot 7,000
	// alone, then in every other one from 9,000.
	burst := func(s int) bool { return s < 200 && s%2 == 0 || s == 7000 || s >= 9000 && s%2 == 0 }
	b := newBM25()
	texts := make([]string, n)
	dense := func() bool { return b.lists[b.dict["burst"]].parts[0].dense() }
	for s := range texts {
		m := 5 + rng.IntN(40)
		if rng.IntN(10) == 0 {
			m = 600 + rng.IntN(900) // beyond the tabled lengths
		}
		ws := words(m)
		if burst(s) {
			ws[rng.IntN(len(ws))] = "burst" // at most once: the frequency-1 part
			for i := range ws {
				if ws[i] != "burst" && rng.IntN(2) == 0 {
					ws[i] = common[0]
				}
			}
		}
		texts[s] = strings.Join(ws, " ")
		b.add(int32(s), texts[s])
		switch s {
		case 199, 6999, n - 1:
			if !dense() {
				t.Fatalf("after slot %d: burst's frequency-1 part has no bitmap", s)
			}
		case 7000:
			if dense() {
				t.Fatal("after slot 7000: burst's frequency-1 part kept its bitmap")
			}
		}
	}
	checkBitmaps(t, b)
	queries := []string{"burst", "burst alpha", "burst alpha beta gamma", "alpha beta gamma delta eps zeta eta theta",
		"alpha alpha beta", "r17 burst", "r5 r6 r7 alpha"}
	for q := range 30 {
		queries = append(queries, strings.Join(words(2+q%6), " ")+" burst")
	}
	checkBM25(t, b, frequencies(texts), queries)

	// Remove a third of the chunks, burst's among them, then compact.
	for s := 0; s < n; s += 3 {
		b.remove(int32(s), texts[s])
	}
	checkBM25(t, b, frequencies(texts), queries)
	remap := make([]int32, n)
	var kept []string
	for s := range texts {
		remap[s] = -1
		if s%3 != 0 {
			remap[s] = int32(len(kept))
			kept = append(kept, texts[s])
		}
	}
	b.compact(remap)
	checkBitmaps(t, b)
	checkBM25(t, b, frequencies(kept), queries)
}

// checkBitmaps: every part's bitmap, where it has one, has exactly the
// slots of its list.
func checkBitmaps(t *testing.T, b *bm25) {
	t.Helper()
	for w, li := range b.dict {
		for pi := range b.lists[li].parts {
			p := &b.lists[li].parts[pi]
			if !p.dense() {
				continue
			}
			if pi != 0 {
				t.Fatalf("%q part %d: a bitmap on a part of several frequencies", w, pi)
			}
			n := 0
			for _, x := range p.aux {
				n += bits.OnesCount32(x)
			}
			if n != len(p.slots) {
				t.Fatalf("%q part %d: %d slots in the bitmap, %d in the list", w, pi, n, len(p.slots))
			}
			for _, s := range p.slots {
				if !p.has(s) {
					t.Fatalf("%q part %d: slot %d not in the bitmap", w, pi, s)
				}
			}
		}
	}
}

// TestBoundsByLengthHold: for every live chunk and every j, what the
// query words' parts cs[:j] add to it is at most the bound search tables
// for its length (fillBounds), which counts each word once and bounds a
// bucket of lengths at its shortest: the bounds it prunes with hold for
// every length of a bucket.
func TestBoundsByLengthHold(t *testing.T) {
	rng := rand.New(rand.NewPCG(29, 3))
	b := newBM25()
	var texts []string
	for s := range 3000 {
		m := 3 + rng.IntN(30)
		if s%4 == 0 {
			m = 400 + rng.IntN(800)
		}
		ws := make([]string, m)
		for i := range ws {
			ws[i] = fmt.Sprintf("w%d", int(rng.ExpFloat64()*8)) // some words in most chunks, often more than once
		}
		texts = append(texts, strings.Join(ws, " "))
		b.add(int32(s), texts[s])
	}
	if b.maxLen-b.minLen < 4*lengthBuckets {
		t.Fatalf("lengths %d to %d: not spread over more than %d buckets of one length", b.minLen, b.maxLen, lengthBuckets)
	}
	for _, query := range []string{"w0 w1 w2", "w3 w9 w20 w0", "w5", "w1 w1 w30 w2 w7"} {
		s := b.newSearcher(query, 10, nil, func(x, y int32) bool { return x < y })
		n := len(s.cs) + 1
		for d, l := range b.length {
			i := (l - s.lo) >> s.shift
			s.fillBounds(i)
			col := s.sc.bound[int(i)*n : int(i+1)*n]
			sum := 0.0
			for j, c := range s.cs {
				if _, tf := c.p.find(0, int32(d)); tf > 0 {
					sum += termScore(s.qs[c.term].idf, float64(tf), float64(l), s.avg)
				}
				if sum > col[j+1]*(1+1e-12) {
					t.Fatalf("query %q, slot %d of %d words: parts cs[:%d] add %v, over their bound %v", query, d, l, j+1, sum, col[j+1])
				}
			}
		}
		b.pool.Put(s.sc)
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
