package rag

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/semroute/semroute/embed/local/localtest"
	"github.com/semroute/semroute/index"
	"github.com/semroute/semroute/index/chromem"
	"github.com/semroute/semroute/index/flat"
)

// fixtureWords: a few very common words, as real text has, and topic
// words that few documents share.
var fixtureWords = strings.Fields(`the of and to in is was for on that with as by at from
kettle water boil litre minutes desk height standing rises centimetres refund policy days receipt
store credit expires garden tomato soil seed summer winter river bridge train station ticket
museum painting artist century king queen castle battle army ship harbour island volcano
glacier mountain forest wolf bear salmon physics prize nobel radiation electron atom energy`)

// fixtureDocs are n documents of one to three paragraphs; one in ten
// repeats an earlier document's text under its own ID, so that equal
// scores occur and their order is tested.
func fixtureDocs(n int, seed uint64) []Document {
	rng := rand.New(rand.NewPCG(seed, 1))
	docs := make([]Document, n)
	for i := range docs {
		docs[i] = Document{ID: fmt.Sprintf("d%04d", i), Title: fmt.Sprintf("Doc %d", i%7), Source: fmt.Sprintf("s%d", i%3)}
		if i > 0 && rng.IntN(10) == 0 {
			src := docs[rng.IntN(i)]
			docs[i].Title, docs[i].Text = src.Title, src.Text
			continue
		}
		var paras []string
		for range 1 + rng.IntN(3) {
			words := make([]string, 8+rng.IntN(30))
			for j := range words {
				if rng.IntN(2) == 0 {
					words[j] = fixtureWords[rng.IntN(15)]
				} else {
					words[j] = fixtureWords[15+rng.IntN(len(fixtureWords)-15)]
				}
			}
			paras = append(paras, strings.Join(words, " ")+".")
		}
		docs[i].Text = strings.Join(paras, "\n\n")
	}
	return docs
}

// fixtureQueries mix topic and common words, repeat words, and include
// words no document has.
func fixtureQueries(n int, seed uint64) []string {
	rng := rand.New(rand.NewPCG(seed, 2))
	qs := []string{"the", "the of and", "zyzzyva kettle", "kettle kettle water", "nobel prize physics electron"}
	for len(qs) < n {
		words := make([]string, 1+rng.IntN(8))
		for j := range words {
			words[j] = fixtureWords[rng.IntN(len(fixtureWords))]
		}
		qs = append(qs, strings.Join(words, " "))
	}
	return qs
}

// reference scores every chunk the store of record holds, exhaustively:
// BM25 from the chunks' texts and cosine from their stored vectors with
// flat.Dot, each list sorted by score, ties by chunk ID.
type reference struct {
	ids    []string
	vecs   [][]float32
	meta   []Chunk
	tf     []map[string]int
	length []int
	df     map[string]int
	total  int
}

func referenceOf(t *testing.T, idx index.Index, c *Collection) *reference {
	t.Helper()
	recs, err := idx.List(context.Background(), c.chunkColl())
	if err != nil {
		t.Fatal(err)
	}
	r := &reference{df: map[string]int{}}
	for _, rec := range recs {
		ch := chunkOf(rec)
		r.ids = append(r.ids, rec.ID)
		r.vecs = append(r.vecs, rec.Vector)
		r.meta = append(r.meta, ch)
		tf := map[string]int{}
		ws := terms(indexedText(ch))
		for _, w := range ws {
			if tf[w] == 0 {
				r.df[w]++
			}
			tf[w]++
		}
		r.tf = append(r.tf, tf)
		r.length = append(r.length, len(ws))
		r.total += len(ws)
	}
	return r
}

func sortScored(all []scored) []scored {
	slices.SortFunc(all, func(x, y scored) int { return cmp.Or(cmp.Compare(y.score, x.score), cmp.Compare(x.id, y.id)) })
	return all
}

// bm25 is Okapi BM25 computed from scratch: every chunk that has a query
// word, its words' scores added in query order.
func (r *reference) bm25(query string, filter map[string]string) []scored {
	n := float64(len(r.ids))
	avg := float64(r.total) / n
	acc := map[int]float64{}
	seen := map[string]bool{}
	for _, w := range terms(query) {
		if seen[w] || r.df[w] == 0 {
			continue
		}
		seen[w] = true
		idf := math.Log(1 + (n-float64(r.df[w])+0.5)/(float64(r.df[w])+0.5))
		for i, tf := range r.tf {
			if f := tf[w]; f > 0 {
				acc[i] += termScore(idf, float64(f), float64(r.length[i]), avg)
			}
		}
	}
	var all []scored
	for i, s := range acc {
		if matches(r.meta[i], filter) {
			all = append(all, scored{r.ids[i], s})
		}
	}
	return sortScored(all)
}

func (r *reference) vector(qv []float32, filter map[string]string) []scored {
	var all []scored
	for i, v := range r.vecs {
		if matches(r.meta[i], filter) {
			all = append(all, scored{r.ids[i], float64(flat.Dot(qv, v))})
		}
	}
	return sortScored(all)
}

// want is what Search must return in a mode: the reference lists cut to
// k, or to candidates(k) and fused.
func (r *reference) want(c *Collection, query, mode string, k int, filter map[string]string) []scored {
	qv, _ := c.embedOne(context.Background(), query)
	cut := func(l []scored, n int) []scored { return l[:min(n, len(l))] }
	n := candidates(k)
	switch mode {
	case ModeBM25:
		return cut(r.bm25(query, filter), k)
	case ModeVector:
		return cut(r.vector(qv, filter), k)
	case ModeHybrid:
		return cut(fuseScores(cut(r.bm25(query, filter), n), cut(r.vector(qv, filter), n), c.opt.VectorWeight), k)
	default:
		return cut(fuseRanks(cut(r.bm25(query, filter), n), cut(r.vector(qv, filter), n), 60), k)
	}
}

// checkAgainstReference runs every mode on the queries and compares chunk
// IDs and scores, bit for bit, with the exhaustive reference over the
// store of record.
func checkAgainstReference(t *testing.T, stage string, idx index.Index, c *Collection, queries []string) {
	t.Helper()
	r := referenceOf(t, idx, c)
	if len(r.ids) != c.Chunks() {
		t.Fatalf("%s: the store has %d chunks, the collection %d", stage, len(r.ids), c.Chunks())
	}
	filters := []map[string]string{nil, {"source": "s2"}}
	compared := 0
	for _, mode := range []string{ModeBM25, ModeVector, ModeHybrid, ModeRRF} {
		for _, k := range []int{1, 5, 30} {
			for qi, query := range queries {
				f := filters[qi%2]
				ps, err := c.Search(context.Background(), Query{Text: query, K: k, Mode: mode, Filter: f})
				if err != nil {
					t.Fatal(err)
				}
				got := make([]scored, len(ps))
				for i, p := range ps {
					got[i] = scored{p.ChunkID, p.Score}
				}
				if want := r.want(c, query, mode, k, f); !slices.Equal(got, want) {
					t.Fatalf("%s: %s k=%d %q filter %v:\n got %v\nwant %v", stage, mode, k, query, f, got, want)
				}
				compared += len(got)
			}
		}
	}
	t.Logf("%s: %d chunks, %d results identical to the reference", stage, len(r.ids), compared)
}

// TestSearchMatchesExhaustive: in every mode, with and without a filter,
// Search returns exactly the exhaustive reference over the store of
// record (BM25 from the texts, cosine from the stored vectors, ties by
// chunk ID), after an ingest, after documents are replaced and deleted
// (past the point where the corpus compacts), and after a restart that
// replays the store.
func TestSearchMatchesExhaustive(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	emb := localtest.Open(t)
	open := func() (*chromem.Index, *Collection) {
		idx, err := chromem.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { idx.Close() })
		c, err := Open(ctx, "kb", Options{Index: idx, Embedder: emb, Chunk: ChunkOptions{MaxWords: 30, OverlapWords: 5}})
		if err != nil {
			t.Fatal(err)
		}
		return idx, c
	}
	idx, c := open()
	docs := fixtureDocs(2400, 1) // over 4,096 chunks: BM25 search crosses windows
	for lo := 0; lo < len(docs); lo += 300 {
		if _, err := c.Ingest(ctx, docs[lo:lo+300]); err != nil {
			t.Fatal(err)
		}
	}
	queries := fixtureQueries(40, 3)
	checkAgainstReference(t, "after ingest", idx, c, queries)

	// Replace one document in five and delete one in three: dead slots
	// pass a quarter of all, so the corpus compacts.
	changed := fixtureDocs(2400, 2)
	var replace []Document
	for i := 0; i < len(docs); i += 5 {
		replace = append(replace, Document{ID: docs[i].ID, Title: changed[i].Title, Source: docs[i].Source, Text: changed[i].Text})
	}
	if st, err := c.Ingest(ctx, replace); err != nil || st.Documents == 0 {
		t.Fatal(st, err)
	}
	for i := 1; i < len(docs); i += 3 {
		if err := c.Delete(ctx, docs[i].ID); err != nil {
			t.Fatal(err)
		}
	}
	if dead := len(c.mem.ids) - c.mem.live; dead != 0 && dead >= len(c.mem.ids)/4 {
		t.Errorf("%d of %d slots dead after the deletes: the corpus did not compact", dead, len(c.mem.ids))
	}
	checkAgainstReference(t, "after replace and delete", idx, c, queries)

	idx.Close()
	idx, c = open()
	checkAgainstReference(t, "after restart", idx, c, queries)
}

// TestSearchDuringIngest: queries running while documents are ingested,
// replaced and deleted see only chunks of ingested documents, in order,
// and (under -race) touch nothing unguarded; once the writes are done,
// results are exactly the reference's.
func TestSearchDuringIngest(t *testing.T) {
	ctx := context.Background()
	idx, _ := chromem.Open("")
	c, err := Open(ctx, "kb", Options{Index: idx, Embedder: localtest.Open(t), Chunk: ChunkOptions{MaxWords: 30}})
	if err != nil {
		t.Fatal(err)
	}
	docs, changed := fixtureDocs(300, 4), fixtureDocs(300, 5)
	queries := fixtureQueries(20, 6)
	done := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				mode := []string{ModeBM25, ModeVector, ModeHybrid}[(i+g)%3]
				ps, err := c.Search(ctx, Query{Text: queries[i%len(queries)], K: 10, Mode: mode})
				if err == nil {
					err = validPassages(ps)
				}
				if err != nil {
					errs <- fmt.Errorf("%s during ingest: %w", mode, err)
					return
				}
			}
		}()
	}
	for lo := 0; lo < len(docs); lo += 30 {
		if _, err := c.Ingest(ctx, docs[lo:lo+30]); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < len(docs); i += 2 {
		c.Ingest(ctx, []Document{{ID: docs[i].ID, Title: changed[i].Title, Text: changed[i].Text}})
		if i%6 == 0 {
			c.Delete(ctx, docs[i+1].ID)
		}
	}
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	checkAgainstReference(t, "after concurrent writes", idx, c, queries)
}

// validPassages: sorted by score, each a chunk of a fixture document.
func validPassages(ps []Passage) error {
	for i, p := range ps {
		if !strings.HasPrefix(p.ChunkID, p.Doc+"@") || p.Text == "" {
			return fmt.Errorf("passage %d: chunk %q of document %q, text %q", i, p.ChunkID, p.Doc, p.Text)
		}
		if i > 0 && p.Score > ps[i-1].Score {
			return fmt.Errorf("passage %d scores %v, above the one before (%v)", i, p.Score, ps[i-1].Score)
		}
	}
	return nil
}
