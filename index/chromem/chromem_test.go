package chromem

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	chromem "github.com/philippgille/chromem-go"

	"github.com/semroute/semroute/index"
	"github.com/semroute/semroute/index/indextest"
	"github.com/semroute/semroute/internal/crashtest"
)

func TestConformanceInMemory(t *testing.T) {
	indextest.Run(t, func(t *testing.T) index.Index {
		x, err := Open("")
		if err != nil {
			t.Fatal(err)
		}
		return x
	})
}

func TestConformancePersistent(t *testing.T) {
	indextest.Run(t, func(t *testing.T) index.Index {
		x, err := Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return x
	})
}

func TestReopenKeepsRecords(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	x, _ := Open(dir)
	if err := x.Upsert(ctx, "intents", []index.Record{
		{ID: "a", Text: "where is my order", Metadata: map[string]string{"intent": "order"}, Vector: []float32{3, 4}},
	}); err != nil {
		t.Fatal(err)
	}
	x.Close()
	y, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := y.List(ctx, "intents")
	if err != nil || len(recs) != 1 {
		t.Fatalf("after reopening: %v, %v", recs, err)
	}
	r := recs[0]
	if r.Text != "where is my order" || r.Metadata["intent"] != "order" || r.Vector[0] != 0.6 || r.Vector[1] != 0.8 {
		t.Errorf("record changed across a restart: %+v %v", r, r.Vector)
	}
}

// TestIDsSharingAFileNameSurvive: chromem-go's own persistence named each
// record's file by 32 bits of a hash of its ID, so of two IDs sharing those
// bits only one came back after a restart.
func TestIDsSharingAFileNameSurvive(t *testing.T) {
	seen := map[[4]byte]string{}
	var a, b string
	for i := 0; a == ""; i++ {
		id := fmt.Sprintf("chunk-%d", i)
		h := sha256.Sum256([]byte(id))
		if prev, ok := seen[[4]byte(h[:4])]; ok {
			a, b = prev, id
		}
		seen[[4]byte(h[:4])] = id
	}
	ctx := context.Background()
	dir := t.TempDir()
	x, _ := Open(dir)
	if err := x.Upsert(ctx, "c", []index.Record{{ID: a, Vector: []float32{1, 0}}, {ID: b, Vector: []float32{0, 1}}}); err != nil {
		t.Fatal(err)
	}
	x.Close()
	y, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if recs, _ := y.List(ctx, "c"); len(recs) != 2 {
		t.Errorf("%s and %s after a restart: %d records, want 2", a, b, len(recs))
	}
}

// TestReopenReplaysChanges: replacements and deletions survive a restart,
// records written after a torn last line replay, and a log mostly of
// replaced records is rewritten with the live ones alone, as it is written.
func TestReopenReplaysChanges(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, LogName)
	reopen := func(x *Index) *Index {
		x.Close()
		y, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		return y
	}
	x, _ := Open(dir)
	x.Upsert(ctx, "c", []index.Record{{ID: "a", Text: "old", Vector: []float32{1, 0}}, {ID: "b", Vector: []float32{0, 1}}})
	x.Upsert(ctx, "c", []index.Record{{ID: "a", Text: "new", Vector: []float32{1, 1}}})
	x.Delete(ctx, "c", "b")
	x = reopen(x)
	recs, _ := x.List(ctx, "c")
	if len(recs) != 1 || recs[0].ID != "a" || recs[0].Text != "new" || math.Abs(float64(recs[0].Vector[1])-math.Sqrt(0.5)) > 1e-6 {
		t.Fatalf("after a restart: %+v", recs)
	}
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`1234abcd {"collection":"c","dim":2,"upsert":[{"id":"z"`) // a crash mid-write
	f.Close()
	x = reopen(x)
	x.Upsert(ctx, "c", []index.Record{{ID: "d", Vector: []float32{0, 1}}})
	x = reopen(x)
	if recs, _ := x.List(ctx, "c"); len(recs) != 2 {
		t.Fatalf("after a torn line and one more record: %+v", recs)
	}
	var sizes []int64
	for range 3 { // the same records three times: the third write rewrites the log
		recs := make([]index.Record, batch)
		for i := range recs {
			recs[i] = index.Record{ID: fmt.Sprint(i), Vector: []float32{1, float32(i)}}
		}
		if err := x.Upsert(ctx, "d", recs); err != nil {
			t.Fatal(err)
		}
		st, _ := os.Stat(path)
		sizes = append(sizes, st.Size())
	}
	if sizes[2] >= sizes[1] {
		t.Errorf("log sizes after each of three writes of the same records: %v, want the third rewritten", sizes)
	}
	x = reopen(x)
	if c, d := x.count(), batch+2; c != d {
		t.Errorf("%d records after rewriting, want %d", c, d)
	}
	if recs, _ := x.List(ctx, "d"); len(recs) != batch || recs[0].Vector == nil {
		t.Errorf("collection d after rewriting: %d records", len(recs))
	}
}

// TestMovesChromemFilesIntoTheLog: an index that chromem-go persisted
// itself opens with its records, which are then in the log.
func TestMovesChromemFilesIntoTheLog(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	old, err := chromem.NewPersistentDB(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := old.CreateCollection(chromemName("intents", 2), nil, noEmbed)
	c.AddDocuments(ctx, []chromem.Document{{ID: "a", Content: "where is my order", Metadata: map[string]string{"intent": "order"}, Embedding: []float32{0.6, 0.8}}}, 1)
	for range 2 {
		x, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		recs, _ := x.List(ctx, "intents")
		if len(recs) != 1 || recs[0].Text != "where is my order" || recs[0].Metadata["intent"] != "order" || recs[0].Vector[1] != 0.8 {
			t.Errorf("records %+v", recs)
		}
		x.Close()
	}
	if _, err := os.Stat(filepath.Join(dir, legacyDir)); err != nil {
		t.Errorf("chromem-go's files were not moved aside: %v", err)
	}
}

// TestKillNineLosesNothing runs a child that upserts records as fast as it
// can, replacing earlier ones (so that opening the log rewrites it), and
// prints each ID and version once Upsert returns; the parent kills it with
// SIGKILL at some moment, several times over one directory. Every printed
// (acknowledged) record must be there, at its version or a later one.
func TestKillNineLosesNothing(t *testing.T) {
	if dir, ok := crashtest.Child("SEMROUTE_INDEX_CHILD"); ok {
		x, err := Open(dir)
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		recs, _ := x.List(context.Background(), "c")
		v0 := 0 // versions go on rising from the last round's
		for _, r := range recs {
			n, _ := strconv.Atoi(r.Text)
			v0 = max(v0, n+1)
		}
		for v := v0; ; v++ {
			recs := make([]index.Record, 1+v%7)
			for i := range recs {
				recs[i] = index.Record{ID: fmt.Sprint((v*7 + i) % 1500), Text: fmt.Sprint(v), Vector: []float32{1, float32(v), float32(i)}}
			}
			if err := x.Upsert(context.Background(), "c", recs); err != nil {
				fmt.Println("error", err)
				os.Exit(1)
			}
			for _, r := range recs {
				fmt.Println(r.ID, r.Text)
			}
		}
	}
	dir := t.TempDir()
	acked, lines := map[string]int{}, 0
	crashtest.Kill(t, "TestKillNineLosesNothing", "SEMROUTE_INDEX_CHILD", dir, 8, func(line string) {
		var id string
		var v int
		if _, err := fmt.Sscan(line, &id, &v); err == nil {
			acked[id] = max(acked[id], v)
			lines++
		}
	})
	x, err := Open(dir)
	if err != nil {
		t.Fatalf("the index does not open after kill -9: %v", err)
	}
	recs, _ := x.List(context.Background(), "c")
	got := map[string]int{}
	for _, r := range recs {
		got[r.ID], _ = strconv.Atoi(r.Text)
	}
	for id, v := range acked {
		if g, ok := got[id]; !ok || g < v {
			t.Fatalf("record %s: acknowledged at version %d, found %d (present %v)", id, v, g, ok)
		}
	}
	if len(acked) < 100 {
		t.Errorf("only %d records acknowledged in eight rounds: the test did not exercise much", len(acked))
	}
	t.Logf("%d writes of %d records acknowledged over eight kill -9 rounds, all there", lines, len(acked))
}
