package rag

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/semroute/semroute/embed/local/localtest"
	"github.com/semroute/semroute/index"
	"github.com/semroute/semroute/index/chromem"
)

// TestSyncInOneProcess: on chromem, which one process alone writes, Sync
// changes nothing a collection searches, while searches run beside it.
// Two collections opened on the one index stand in for two replicas: a
// Sync brings one the other's ingests, replacements and deletions, with
// their vectors (the corpus keeps them here), through Get and through a
// backend that can only List.
func TestSyncInOneProcess(t *testing.T) {
	ctx := context.Background()
	idx, err := chromem.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	emb := localtest.Open(t)
	open := func(x index.Index) *Collection {
		c, err := Open(ctx, "kb", Options{Index: x, Embedder: emb})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	a := open(idx)
	docs := []Document{
		{ID: "kettle", Title: "Kettle", Text: "The kettle boils a litre of water in four minutes."},
		{ID: "desk", Title: "Desk", Text: "The standing desk rises from 65 to 130 centimetres."},
	}
	if _, err := a.Ingest(ctx, docs); err != nil {
		t.Fatal(err)
	}
	const q = "how long does the kettle take to boil"
	search := func(c *Collection, mode string) string {
		t.Helper()
		ps, err := c.Search(ctx, Query{Text: q, K: 10, Mode: mode})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, p := range ps {
			out = append(out, fmt.Sprintf("%s %.6f %.6f", p.ChunkID, p.Score, p.Similarity))
		}
		return strings.Join(out, "\n")
	}
	modes := []string{ModeBM25, ModeVector, ModeHybrid, ModeRRF}
	before := map[string]string{}
	for _, m := range modes {
		before[m] = search(a, m)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 2 { // searches beside the syncs (go test -race)
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := a.Search(ctx, Query{Text: q, Mode: ModeHybrid}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for range 20 {
		if err := a.Sync(ctx); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	for _, m := range modes {
		if got := search(a, m); got != before[m] {
			t.Errorf("%s after Sync:\n%s\nbefore:\n%s", m, got, before[m])
		}
	}
	if a.Documents() != 2 || a.Chunks() != 2 {
		t.Errorf("after Sync: %d documents in %d chunks", a.Documents(), a.Chunks())
	}

	// Another collection on the same index, by Get (b) and by List (c,
	// behind failing, which hides Get).
	b := open(idx)
	c := open(&failing{Index: idx})
	if _, ok := c.opt.Index.(index.Getter); ok {
		t.Fatal("failing passes Get through")
	}
	kettle2 := Document{ID: "kettle", Title: "Kettle", Text: "The new kettle boils a litre of water in two minutes."}
	lamp := Document{ID: "lamp", Title: "Lamp", Text: "The lamp has three brightness settings."}
	if _, err := a.Ingest(ctx, []Document{kettle2, lamp}); err != nil {
		t.Fatal(err)
	}
	if err := a.Delete(ctx, "desk"); err != nil {
		t.Fatal(err)
	}
	for name, other := range map[string]*Collection{"by Get": b, "by List": c} {
		if err := other.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		for _, m := range modes {
			if got, want := search(other, m), search(a, m); got != want {
				t.Errorf("%s, %s: another collection after Sync:\n%s\nwant:\n%s", name, m, got, want)
			}
		}
		if other.Documents() != 2 || other.Chunks() != 2 {
			t.Errorf("%s: %d documents in %d chunks, want 2 in 2", name, other.Documents(), other.Chunks())
		}
		if err := other.Delete(ctx, "desk"); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: deleting what the other deleted: %v", name, err)
		}
	}
}

// TestVerifyFindsOrphansAndMissingChunks: Verify reports a chunk no
// manifest entry points to and a manifest entry whose chunk is gone, and
// nothing on a store an ingest left whole.
func TestVerifyFindsOrphansAndMissingChunks(t *testing.T) {
	ctx := context.Background()
	idx, _ := chromem.Open("")
	defer idx.Close()
	c, err := Open(ctx, "kb", Options{Index: idx, Embedder: localtest.Open(t)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Ingest(ctx, []Document{
		{ID: "kettle", Text: "The kettle boils a litre of water in four minutes."},
		{ID: "desk", Text: "The standing desk rises from 65 to 130 centimetres."},
	}); err != nil {
		t.Fatal(err)
	}
	st, err := Verify(ctx, idx, "kb")
	if err != nil || st.Documents != 2 || len(st.Live) != 2 || len(st.Orphans)+len(st.Missing) != 0 {
		t.Fatalf("whole store: %+v, %v", st, err)
	}
	desk := c.docs["desk"]
	gone := chunkID("desk", desk.hash, 0)
	if err := idx.Delete(ctx, c.chunkColl(), gone); err != nil {
		t.Fatal(err)
	}
	stray := index.Record{ID: "lamp@0000#0", Text: "a lamp", Vector: make([]float32, len(c.mem.vector(chunkID("kettle", c.docs["kettle"].hash, 0)))), Metadata: map[string]string{"doc": "lamp"}}
	stray.Vector[0] = 1
	if err := idx.Upsert(ctx, c.chunkColl(), []index.Record{stray}); err != nil {
		t.Fatal(err)
	}
	st, err = Verify(ctx, idx, "kb")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(st.Orphans) != "[lamp@0000#0]" || fmt.Sprint(st.Missing) != "["+gone+"]" || st.Documents != 2 {
		t.Errorf("Verify = %+v, want the orphan lamp@0000#0 and the missing %s", st, gone)
	}
}
