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
