package chromem

import (
	"context"
	"testing"

	"github.com/semroute/semroute/index"
	"github.com/semroute/semroute/index/indextest"
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
