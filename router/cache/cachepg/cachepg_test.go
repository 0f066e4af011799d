package cachepg_test

import (
	"testing"
	"time"

	"github.com/semroute/semroute/index/flat"
	"github.com/semroute/semroute/internal/postgres"
	"github.com/semroute/semroute/internal/postgres/pgtest"
	"github.com/semroute/semroute/router/cache"
	"github.com/semroute/semroute/router/cache/cachepg"
)

func TestCacheStore(t *testing.T) {
	db := pgtest.Open(t, postgres.Options{})
	c := cachepg.New(db, time.Hour)
	unit := func(v ...float32) []float32 { flat.Normalize(v); return v }
	c.Put(cache.Key{Exact: "e1", Context: "ctx", Vec: unit(1, 0, 0)}, cache.Entry{Body: []byte(`{"a":1}`), Model: "fast", Cost: 0.1})
	if e, kind, ok := c.Get(cache.Key{Exact: "e1"}, 0); !ok || kind != "exact" || string(e.Body) != `{"a":1}` || e.Model != "fast" {
		t.Errorf("exact: %v %v %v", e, kind, ok)
	}
	if _, kind, ok := c.Get(cache.Key{Exact: "e2", Context: "ctx", Vec: unit(0.99, 0.1, 0)}, 0.95); !ok || kind != "semantic" {
		t.Errorf("semantic: %v %v", kind, ok)
	}
	if _, _, ok := c.Get(cache.Key{Exact: "e3", Context: "other", Vec: unit(1, 0, 0)}, 0.5); ok {
		t.Error("a hit from another context")
	}
	short := cachepg.New(db, time.Millisecond)
	short.Put(cache.Key{Exact: "gone", Context: "ctx"}, cache.Entry{Body: []byte("{}")})
	time.Sleep(20 * time.Millisecond)
	if _, _, ok := short.Get(cache.Key{Exact: "gone"}, 0); ok {
		t.Error("an expired entry was served")
	}
}
