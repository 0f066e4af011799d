package gateway

import (
	"strings"
	"sync"

	"github.com/gin-gonic/gin"

	"github.com/semroute/semroute/index/flat"
	"github.com/semroute/semroute/intents"
	"github.com/semroute/semroute/router/cache"
	"github.com/semroute/semroute/router/config"
	"github.com/semroute/semroute/router/spend"
	"github.com/semroute/semroute/router/upstream"
)

// fromCache answers a model-bound request from the cache when it can. It
// returns true when it answered; otherwise keep, when not nil, stores the
// upstream's answer.
func (s *Server) fromCache(c *gin.Context, st *state, x *exchange, target intents.Target, req *chatRequest) (answered bool, keep func(upstream.Result)) {
	cc := st.cfg.Cache
	if cc == nil {
		return false, nil
	}
	h := c.Writer.Header()
	var small [8]cache.Message // most conversations: no allocation
	msgs := keyMessages(small[:0], req)
	if ok, why := cache.Cacheable(req.Body, msgs, cc.AllowTemperature); !ok {
		h.Set("X-Semroute-Cache", "off:"+why)
		s.m.cache.WithLabelValues("off").Inc()
		return false, nil
	}
	key, threshold := cacheKey(c, st, x, target, req, msgs)
	store := s.responseCache(st)
	keep = func(res upstream.Result) {
		e := cache.Entry{Body: res.Body, Model: res.Model, Cost: res.Cost}
		if _, inProcess := store.(*cache.Cache); inProcess {
			// Microseconds, after the answer is flushed: handing it to
			// another goroutine did not help in bench proxy --cache (a
			// build not kept), as waking it costs about what it saves.
			store.Put(key, e)
			return
		}
		s.storeLater(store, key, e)
	}
	if bypass(c) {
		h.Set("X-Semroute-Cache", "bypass")
		s.m.cache.WithLabelValues("bypass").Inc()
		return false, keep
	}
	e, kind, ok := store.Get(key, threshold)
	if !ok {
		h.Set("X-Semroute-Cache", "miss")
		s.m.cache.WithLabelValues("miss").Inc()
		return false, keep
	}
	h.Set("X-Semroute-Cache", "hit-"+kind)
	h.Set("X-Semroute-Model", e.Model)
	h.Set("X-Semroute-Cost", "0")
	s.m.cache.WithLabelValues("hit_" + kind).Inc()
	s.m.cacheSaved.Add(e.Cost)
	s.bookSaving(c, st, e.Model, e.Cost, spend.SourceCache)
	x.model = e.Model
	if !req.Stream {
		c.Data(200, "application/json", e.Body)
		return true, nil
	}
	replay(c, e.Model, e.Body)
	return true, nil
}

// cacheKey is the request's key in the response cache and, for a
// semantic lookup, the similarity a hit needs. The routed intent joins the
// key: semantic matches stay within one intent, which also keeps each scan
// short.
func cacheKey(c *gin.Context, st *state, x *exchange, target intents.Target, req *chatRequest, msgs []cache.Message) (cache.Key, float64) {
	cc := st.cfg.Cache
	exact, ctx := cache.Keys(target.String()+"|"+x.intent, req.Body, msgs)
	key := cache.Key{Exact: exact, Context: ctx}
	if !cc.Semantic {
		return key, 0
	}
	// Vectors of one embedder mean nothing to another: a store that
	// outlives a switch of embedder (PostgreSQL, another replica) never
	// compares across the two.
	key.Context += "@" + st.space
	threshold := cc.SemanticThreshold
	if v, ok := cc.PerIntent[x.intent]; ok {
		threshold = v
	}
	if text := lastUser(req); text != "" {
		key.Vec = routedVec(x, text)
		if key.Vec == nil {
			if vs, err := st.router.Embedder().Embed(c.Request.Context(), []string{text}); err == nil {
				flat.Normalize(vs[0])
				key.Vec = vs[0]
			}
		}
	}
	return key, threshold
}

// keyMessages appends req's messages as the cache's keys see them.
func keyMessages(dst []cache.Message, req *chatRequest) []cache.Message {
	for _, m := range req.Messages {
		dst = append(dst, cache.Message{Role: m.Role, Content: m.Content})
	}
	return dst
}

// semanticLookup reports whether the semantic cache will look req up by
// the embedding routing computes for text (routed): it is on, req is
// cacheable, and text is req's last user turn. Otherwise routing need not
// keep a copy of it.
func semanticLookup(cc *config.CacheConfig, req *chatRequest, text string) bool {
	if cc == nil || !cc.Semantic || text != lastUser(req) {
		return false
	}
	var small [8]cache.Message
	ok, _ := cache.Cacheable(req.Body, keyMessages(small[:0], req), cc.AllowTemperature)
	return ok
}

// cacheWriter is the one goroutine that stores answers in a remote
// response cache, started on first use, and the answers it has yet to
// store.
type cacheWriter struct {
	writes  chan cacheWrite
	once    sync.Once
	pending sync.WaitGroup
}

// cacheWrite is an answer to store in a response cache.
type cacheWrite struct {
	store ResponseCache
	key   cache.Key
	entry cache.Entry
}

// maxPendingWrites bounds the answers waiting to be stored. Past it an
// answer is not cached, and semroute_cache_stores_total{result="dropped"}
// counts it: a cache is allowed to forget, a request is not allowed to wait
// for it.
const maxPendingWrites = 1024

// storeLater hands an answer for a remote store (PostgreSQL) to the one
// goroutine that stores answers, so that the request does not wait for a
// database round trip. A repeat of the request that arrives before the
// store is done misses, as it would have a moment earlier.
func (s *Server) storeLater(store ResponseCache, key cache.Key, e cache.Entry) {
	s.writer.once.Do(func() {
		s.writer.writes = make(chan cacheWrite, maxPendingWrites)
		go func() {
			for w := range s.writer.writes {
				w.store.Put(w.key, w.entry)
				s.m.cacheStores.WithLabelValues("stored").Inc()
				s.writer.pending.Done()
			}
		}()
	})
	s.writer.pending.Add(1)
	select {
	case s.writer.writes <- cacheWrite{store, key, e}:
	default:
		s.writer.pending.Done()
		s.m.cacheStores.WithLabelValues("dropped").Inc()
	}
}

// flushCacheWrites waits until every answer handed to storeLater so far is
// stored. Serve calls it after draining; tests call it before they expect
// a hit. It must not run while requests are still coming in.
func (s *Server) flushCacheWrites() { s.writer.pending.Wait() }

// routedVec is the embedding routing computed, when it routed on text
// (with route_turns 1 it routes on the last user turn, which the semantic
// cache looks up), and nil otherwise.
func routedVec(x *exchange, text string) []float32 {
	if r := x.routed; r.text == text && len(r.vec) > 0 {
		return r.vec
	}
	return nil
}

func lastUser(req *chatRequest) string {
	for i := len(req.Messages) - 1; i >= 0; i-- {
		if req.Messages[i].Role == "user" {
			return req.Messages[i].Content
		}
	}
	return ""
}

// bypass reports a request that asks not to be served from the cache.
func bypass(c *gin.Context) bool {
	return strings.Contains(strings.ToLower(c.GetHeader("Cache-Control")), "no-cache") ||
		strings.EqualFold(c.GetHeader("X-Semroute-Cache"), "bypass")
}
