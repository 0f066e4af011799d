// Package indextest is the conformance suite every index backend passes, in
// the manner of testing/fstest: the chromem-go and pgvector backends run the
// same Run.
package indextest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"testing"

	"github.com/semroute/semroute/index"
)

// Run tests the backend that open returns; open is called once per subtest
// and must return an empty index.
func Run(t *testing.T, open func(t *testing.T) index.Index) {
	ctx := context.Background()
	t.Run("search finds nearest first", func(t *testing.T) {
		x := open(t)
		if err := x.Upsert(ctx, "c", []index.Record{
			rec("a", 1, 0, 0), rec("b", 0, 1, 0), rec("c", 0.9, 0.1, 0), rec("d", -1, 0, 0),
		}); err != nil {
			t.Fatal(err)
		}
		hits, err := x.Search(ctx, "c", []float32{1, 0, 0}, 3)
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(hits); fmt.Sprint(got) != "[a c b]" {
			t.Errorf("hits %v, want [a c b]", got)
		}
		if math.Abs(float64(hits[0].Score)-1) > 1e-5 {
			t.Errorf("score of an identical vector = %v, want 1", hits[0].Score)
		}
		if hits[0].Text != "text a" || hits[0].Metadata["k"] != "a" {
			t.Errorf("hit lost its text or metadata: %+v", hits[0].Record)
		}
	})
	t.Run("k larger than the collection", func(t *testing.T) {
		x := open(t)
		x.Upsert(ctx, "c", []index.Record{rec("a", 1, 0, 0)})
		hits, err := x.Search(ctx, "c", []float32{1, 0, 0}, 10)
		if err != nil || len(hits) != 1 {
			t.Fatalf("hits %v, err %v; want the one record", hits, err)
		}
	})
	t.Run("missing collection is empty", func(t *testing.T) {
		x := open(t)
		hits, err := x.Search(ctx, "none", []float32{1, 0, 0}, 3)
		if err != nil || len(hits) != 0 {
			t.Fatalf("hits %v, err %v", hits, err)
		}
		recs, err := x.List(ctx, "none")
		if err != nil || len(recs) != 0 {
			t.Fatalf("list %v, err %v", recs, err)
		}
	})
	t.Run("upsert replaces, delete removes, list lists", func(t *testing.T) {
		x := open(t)
		x.Upsert(ctx, "c", []index.Record{rec("a", 1, 0, 0), rec("b", 0, 1, 0)})
		r := rec("a", 0, 0, 1)
		r.Text = "new a"
		if err := x.Upsert(ctx, "c", []index.Record{r}); err != nil {
			t.Fatal(err)
		}
		hits, _ := x.Search(ctx, "c", []float32{0, 0, 1}, 1)
		if len(hits) != 1 || hits[0].ID != "a" || hits[0].Text != "new a" {
			t.Errorf("after replacing a: %+v", hits)
		}
		if err := x.Delete(ctx, "c", "b", "never-there"); err != nil {
			t.Fatal(err)
		}
		recs, err := x.List(ctx, "c")
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 1 || recs[0].ID != "a" || len(recs[0].Vector) != 3 {
			t.Errorf("list after delete: %+v", recs)
		}
		if err := x.Delete(ctx, "c"); err != nil {
			t.Fatal(err)
		}
		if recs, _ := x.List(ctx, "c"); len(recs) != 1 {
			t.Errorf("Delete with no IDs removed %d records", 1-len(recs))
		}
	})
	t.Run("get by IDs", func(t *testing.T) {
		x := open(t)
		g, ok := x.(index.Getter)
		if !ok {
			t.Skip("the backend has no Get")
		}
		if recs, err := g.Get(ctx, "none", "a"); err != nil || len(recs) != 0 {
			t.Fatalf("get from a missing collection: %v %v", recs, err)
		}
		x.Upsert(ctx, "c", []index.Record{rec("a", 1, 0, 0), rec("b", 0, 1, 0), rec("c", 0, 0, 1)})
		recs, err := g.Get(ctx, "c", "c", "a", "never-there")
		if err != nil {
			t.Fatal(err)
		}
		sort.Slice(recs, func(i, j int) bool { return recs[i].ID < recs[j].ID })
		if len(recs) != 2 || recs[0].ID != "a" || recs[1].ID != "c" || recs[1].Text != "text c" || recs[1].Metadata["k"] != "c" || len(recs[1].Vector) != 3 || recs[1].Vector[2] < 0.99 {
			t.Errorf("get c, a and a missing ID: %+v", recs)
		}
		if recs, err := g.Get(ctx, "c"); err != nil || len(recs) != 0 {
			t.Errorf("get of no IDs: %v %v", recs, err)
		}
	})
	t.Run("collections are separate", func(t *testing.T) {
		x := open(t)
		x.Upsert(ctx, "one", []index.Record{rec("a", 1, 0, 0)})
		x.Upsert(ctx, "two", []index.Record{rec("b", 1, 0, 0)})
		hits, _ := x.Search(ctx, "one", []float32{1, 0, 0}, 5)
		if got := ids(hits); fmt.Sprint(got) != "[a]" {
			t.Errorf("collection one has %v", got)
		}
	})
	t.Run("wrong dimension is refused", func(t *testing.T) {
		x := open(t)
		x.Upsert(ctx, "c", []index.Record{rec("a", 1, 0, 0)})
		err := x.Upsert(ctx, "c", []index.Record{{ID: "b", Vector: []float32{1, 0}}})
		if !errors.Is(err, index.ErrDimension) {
			t.Errorf("upsert of a 2-d vector into a 3-d collection: %v, want ErrDimension", err)
		}
		if _, err := x.Search(ctx, "c", []float32{1, 0}, 1); !errors.Is(err, index.ErrDimension) {
			t.Errorf("search with a 2-d query: %v, want ErrDimension", err)
		}
	})
	t.Run("record without ID or direction is refused", func(t *testing.T) {
		x := open(t)
		err := x.Upsert(ctx, "c", []index.Record{{Vector: []float32{1, 0, 0}}})
		if !errors.Is(err, index.ErrInvalid) {
			t.Errorf("err = %v, want ErrInvalid", err)
		}
		err = x.Upsert(ctx, "c", []index.Record{{ID: "z", Vector: []float32{0, 0, 0}}})
		if !errors.Is(err, index.ErrInvalid) {
			t.Errorf("zero vector: err = %v, want ErrInvalid", err)
		}
	})
	t.Run("many records", func(t *testing.T) {
		x := open(t)
		var recs []index.Record
		for i := 0; i < 500; i++ {
			a := float64(i) / 500 * math.Pi
			recs = append(recs, rec(fmt.Sprint(i), float32(math.Cos(a)), float32(math.Sin(a)), 0))
		}
		if err := x.Upsert(ctx, "c", recs); err != nil {
			t.Fatal(err)
		}
		hits, err := x.Search(ctx, "c", []float32{float32(math.Cos(1)), float32(math.Sin(1)), 0}, 3)
		if err != nil {
			t.Fatal(err)
		}
		got := ids(hits)
		sort.Strings(got)
		if fmt.Sprint(got) != "[158 159 160]" {
			t.Errorf("nearest to angle 1 rad: %v, want [158 159 160]", got)
		}
	})
}

func rec(id string, v ...float32) index.Record {
	return index.Record{ID: id, Text: "text " + id, Metadata: map[string]string{"k": id}, Vector: v}
}

func ids(hits []index.Hit) []string {
	out := []string{}
	for _, h := range hits {
		out = append(out, h.ID)
	}
	return out
}
