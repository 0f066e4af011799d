package ragpg_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/semroute/semroute/embed/local/localtest"
	"github.com/semroute/semroute/index"
	"github.com/semroute/semroute/index/pgvector"
	"github.com/semroute/semroute/index/pgvector/pgtest"
	"github.com/semroute/semroute/rag"
	"github.com/semroute/semroute/rag/ragpg"
)

// listOnly hides a backend's Get: Sync then lists the whole collection.
type listOnly struct{ index.Index }

// noLog is a coordinator whose change log never answers: Sync then reads
// the whole manifest, as it did before the log.
type noLog struct{ *ragpg.Store }

func (noLog) Changed(context.Context, string, int64) ([]string, bool, error) { return nil, false, nil }

// BenchmarkSync100k: what a replica's Sync costs on a collection of
// 100,000 chunks (10,000 documents of 10) after another replica replaced
// one document: by Get (the changed document's manifest entry, named by
// the change log, and its chunks, by ID), by Get without the log
// (nolog: the whole manifest, then the changed chunks), by List (the
// whole collection), and with the version unchanged (one query);
// manifest is the List of the manifest alone, which nolog includes.
//
//	SEMROUTE_PG_DSN=… go test -run '^$' -bench Sync100k -benchtime 20x ./rag/ragpg
func BenchmarkSync100k(b *testing.B) {
	ctx := context.Background()
	st := pgtest.Open(b, pgvector.Options{})
	co := ragpg.New(st.DB())
	emb := localtest.Open(b)
	v, err := emb.Embed(ctx, []string{"x"})
	if err != nil {
		b.Fatal(err)
	}
	dim, fp := len(v[0]), emb.Fingerprint().String()
	const docs, per = 10_000, 10
	words := strings.Fields("kettle desk lamp water boils litre minutes standing rises centimetres settings brightness warm white bulb receipt travel expenses meals abroad covered")
	rng := rand.New(rand.NewPCG(1, 2))
	chunksOf := func(d int, hash string) []index.Record {
		recs := make([]index.Record, per)
		for p := range per {
			vec := make([]float32, dim)
			for i := range vec {
				vec[i] = rng.Float32() - 0.5
			}
			var text []string
			for range 60 {
				text = append(text, words[rng.IntN(len(words))])
			}
			id := fmt.Sprint("d", d)
			recs[p] = index.Record{ID: id + "@" + hash + "#" + strconv.Itoa(p), Text: strings.Join(text, " "), Vector: vec,
				Metadata: map[string]string{"doc": id, "hash": hash, "title": id, "position": strconv.Itoa(p), "embedder": fp}}
		}
		return recs
	}
	entry := func(d int, hash string) index.Record {
		return index.Record{ID: fmt.Sprint("d", d), Vector: []float32{1}, Metadata: map[string]string{"hash": hash, "chunks": strconv.Itoa(per), "title": fmt.Sprint("d", d)}}
	}
	var all, manifest []index.Record
	for d := range docs {
		all = append(all, chunksOf(d, "h0")...)
		manifest = append(manifest, entry(d, "h0"))
	}
	if err := st.Upsert(ctx, "rag.kb", all); err != nil {
		b.Fatal(err)
	}
	if err := st.Upsert(ctx, "rag.kb.docs", manifest); err != nil {
		b.Fatal(err)
	}
	version := 0
	// replace stands in for another replica's ingest of a new version.
	replace := func() {
		d, old := version%docs, "h"+strconv.Itoa(version/docs)
		version++
		hash := "h" + strconv.Itoa(version)
		if err := st.Upsert(ctx, "rag.kb", chunksOf(d, hash)); err != nil {
			b.Fatal(err)
		}
		if err := st.Upsert(ctx, "rag.kb.docs", []index.Record{entry(d, hash)}); err != nil {
			b.Fatal(err)
		}
		var ids []string
		for p := range per {
			ids = append(ids, fmt.Sprint("d", d, "@", old, "#", p))
		}
		if err := st.Delete(ctx, "rag.kb", ids...); err != nil {
			b.Fatal(err)
		}
		if _, err := co.Bump(ctx, "kb", []string{fmt.Sprint("d", d)}); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("manifest", func(b *testing.B) { // the part of nolog that reads the manifest
		for b.Loop() {
			if _, err := st.List(ctx, "rag.kb.docs"); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, bc := range []struct {
		name   string
		idx    index.Index
		co     rag.Coordinator
		change bool
	}{{"get", st, co, true}, {"nolog", st, noLog{co}, true}, {"list", listOnly{st}, co, true}, {"unchanged", st, co, false}} {
		if !benchWanted(b, bc.name) {
			continue
		}
		c, err := rag.Open(ctx, "kb", rag.Options{Index: bc.idx, Embedder: emb, Coordinator: bc.co})
		if err != nil {
			b.Fatal(err)
		}
		if c.Chunks() != docs*per {
			b.Fatalf("%d chunks loaded", c.Chunks())
		}
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if bc.change {
					b.StopTimer()
					replace()
					b.StartTimer()
				}
				if err := c.Sync(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
		if c.Chunks() != docs*per {
			b.Errorf("%s: %d chunks after the syncs", bc.name, c.Chunks())
		}
	}
}

// benchWanted reports whether -bench selects the sub-benchmark name of b
// (opening a collection of 100,000 chunks for one that does not run
// takes seconds).
func benchWanted(b *testing.B, name string) bool {
	f := flag.Lookup("test.bench")
	if f == nil {
		return true
	}
	parts := strings.Split(f.Value.String(), "/")
	if len(parts) < 2 {
		return true
	}
	ok, err := regexp.MatchString(parts[1], name)
	return err != nil || ok
}
