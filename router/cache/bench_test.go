package cache

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/semroute/semroute/index/flat"
	"github.com/semroute/semroute/internal/cold"
)

// BenchmarkMiss is the cost a cache adds to every request it cannot
// answer: the keys and a lookup among 10,000 entries, 100 of them in the
// request's own conversation context, of which the semantic scan reads the
// newest maxSemantic (D = 256). The cold variant reads 4 MB between
// lookups, as the service's network stack and routing do, so the cache's
// memory comes from L3 or further, as in the service.
func BenchmarkMiss(b *testing.B) {
	c := New(1<<30, time.Hour)
	rng := rand.New(rand.NewPCG(1, 2))
	vec := func() []float32 {
		v := make([]float32, 256)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		flat.Normalize(v)
		return v
	}
	for i := range 10000 {
		ctx := fmt.Sprint("ctx", i%100)
		c.Put(Key{Exact: fmt.Sprint(i), Context: ctx, Vec: vec()}, Entry{Body: make([]byte, 300)})
	}
	var body map[string]json.RawMessage
	json.Unmarshal([]byte(`{"model":"auto","temperature":0,"max_tokens":100}`), &body)
	msgs := []Message{{"system", "be brief"}, {"user", "will it rain tomorrow in paris"}}
	q := vec()
	miss := func(b *testing.B, ctx string) {
		if ok, why := Cacheable(body, msgs, false); !ok {
			b.Fatal(why)
		}
		exact, _ := Keys("model:fast", body, msgs)
		if _, _, ok := c.Get(Key{Exact: exact, Context: ctx, Vec: q}, 0.95); ok {
			b.Fatal("hit")
		}
	}
	b.Run("warm", func(b *testing.B) {
		for b.Loop() {
			miss(b, "ctx7")
		}
	})
	var ctxs []string
	for i := range 100 {
		ctxs = append(ctxs, fmt.Sprint("ctx", i))
	}
	b.Run("cold", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			b.StopTimer()
			cold.Evict()
			b.StartTimer()
			miss(b, ctxs[i%len(ctxs)])
		}
	})
}
