// Package cache is the service's response cache: an exact cache keyed by
// the normalized request, and a semantic cache that matches the last user
// turn by embedding among requests with identical earlier turns and
// parameters, so that a cached answer never lands in another conversation.
// It is bounded in bytes, evicts the least recently used entry, and
// expires entries after a TTL.
package cache

import (
	"container/list"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/semroute/semroute/index/flat"
)

// Entry is a cached answer.
type Entry struct {
	Body  []byte  // the upstream's chat.completion JSON
	Model string  // the configured model that answered
	Cost  float64 // what it cost then: what a hit saves
}

// Key is a request as the cache sees it.
type Key struct {
	// Exact hashes the whole normalized request; Context hashes everything
	// but the last user turn (target, earlier turns, parameters).
	Exact, Context string
	// Vec is the last user turn's embedding (unit length), for the
	// semantic cache; nil turns it off for this request.
	Vec []float32
}

// maxSemantic bounds the entries one context's semantic scan reads.
const maxSemantic = 256

// Cache is safe for concurrent use.
type Cache struct {
	mu       sync.Mutex
	maxBytes int64
	ttl      time.Duration
	bytes    int64
	lru      *list.List               // of *item, most recent first
	exact    map[string]*list.Element // by Key.Exact
	byCtx    map[string][]*list.Element
	now      func() time.Time
}

type item struct {
	key     Key
	entry   Entry
	size    int64
	expires time.Time
}

// New makes a cache of at most maxBytes whose entries live ttl.
func New(maxBytes int64, ttl time.Duration) *Cache {
	return &Cache{maxBytes: maxBytes, ttl: ttl, lru: list.New(), exact: map[string]*list.Element{}, byCtx: map[string][]*list.Element{}, now: time.Now}
}

// Get finds an exact hit, else (with threshold > 0) the semantic entry of
// the same context whose last turn is nearest above the threshold. kind is
// "exact" or "semantic".
func (c *Cache) Get(k Key, threshold float64) (e Entry, kind string, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if el, found := c.exact[k.Exact]; found {
		it := el.Value.(*item)
		if now.Before(it.expires) {
			c.lru.MoveToFront(el)
			return it.entry, "exact", true
		}
		c.remove(el)
	}
	if threshold <= 0 || k.Vec == nil {
		return Entry{}, "", false
	}
	var best *list.Element
	bestSim := float32(threshold)
	for _, el := range slices.Clone(c.byCtx[k.Context]) {
		it := el.Value.(*item)
		if !now.Before(it.expires) {
			c.remove(el)
			continue
		}
		if sim := flat.Dot(k.Vec, it.key.Vec); sim >= bestSim {
			best, bestSim = el, sim
		}
	}
	if best == nil {
		return Entry{}, "", false
	}
	c.lru.MoveToFront(best)
	return best.Value.(*item).entry, "semantic", true
}

// Put stores an answer, evicting the least recently used entries past the
// byte bound. An entry larger than the bound is not kept.
func (c *Cache) Put(k Key, e Entry) {
	size := int64(len(e.Body)+len(k.Exact)+len(k.Context)+4*len(k.Vec)) + 128
	c.mu.Lock()
	defer c.mu.Unlock()
	if size > c.maxBytes {
		return
	}
	if el, ok := c.exact[k.Exact]; ok {
		c.remove(el)
	}
	el := c.lru.PushFront(&item{key: k, entry: e, size: size, expires: c.now().Add(c.ttl)})
	c.exact[k.Exact] = el
	if k.Vec != nil {
		l := append(c.byCtx[k.Context], el)
		if len(l) > maxSemantic { // the oldest leave the semantic scan (their exact keys stay)
			for _, old := range l[:len(l)-maxSemantic] {
				old.Value.(*item).key.Vec = nil
			}
			l = slices.Clone(l[len(l)-maxSemantic:])
		}
		c.byCtx[k.Context] = l
	}
	c.bytes += size
	for c.bytes > c.maxBytes {
		c.remove(c.lru.Back())
	}
}

func (c *Cache) remove(el *list.Element) {
	it := el.Value.(*item)
	c.lru.Remove(el)
	delete(c.exact, it.key.Exact)
	if it.key.Vec != nil {
		l := c.byCtx[it.key.Context]
		if i := slices.Index(l, el); i >= 0 {
			l = slices.Delete(l, i, i+1)
		}
		if len(l) == 0 {
			delete(c.byCtx, it.key.Context)
		} else {
			c.byCtx[it.key.Context] = l
		}
	}
	c.bytes -= it.size
}

// Len and Bytes report the cache's size.
func (c *Cache) Len() int     { c.mu.Lock(); defer c.mu.Unlock(); return c.lru.Len() }
func (c *Cache) Bytes() int64 { c.mu.Lock(); defer c.mu.Unlock(); return c.bytes }

// Message is one chat turn as the key sees it.
type Message struct {
	Role, Content string
}

// outputParams are the request fields that change the answer.
var outputParams = []string{"temperature", "top_p", "max_tokens", "max_completion_tokens", "stop", "n", "seed",
	"response_format", "presence_penalty", "frequency_penalty", "logit_bias", "logprobs", "top_logprobs", "reasoning_effort"}

// Cacheable reports whether a request may use the cache: no tools, and
// temperature 0 unless allowTemperature.
func Cacheable(body map[string]json.RawMessage, msgs []Message, allowTemperature bool) (bool, string) {
	for _, f := range []string{"tools", "tool_choice", "functions", "function_call"} {
		if v, ok := body[f]; ok && string(v) != "null" {
			return false, "tools"
		}
	}
	for _, m := range msgs {
		if m.Role == "tool" || m.Role == "function" {
			return false, "tools"
		}
	}
	var n float64
	if err := json.Unmarshal(body["n"], &n); err == nil && n > 1 {
		return false, "n"
	}
	if allowTemperature {
		return true, ""
	}
	var t float64
	if v, ok := body["temperature"]; !ok || json.Unmarshal(v, &t) != nil || t > 0 {
		return false, "temperature"
	}
	return true, ""
}

// Keys computes a request's keys; target is where it goes (the decision's
// target or the model asked for).
func Keys(target string, body map[string]json.RawMessage, msgs []Message) (exact, context string) {
	params := map[string]json.RawMessage{}
	for _, p := range outputParams {
		if v, ok := body[p]; ok {
			params[p] = v
		}
	}
	pj, _ := json.Marshal(params) // map keys sort: canonical
	last := len(msgs) - 1
	for last >= 0 && msgs[last].Role != "user" {
		last--
	}
	var ctx, all strings.Builder
	ctx.WriteString(target + "\x00" + string(pj))
	all.WriteString(target + "\x00" + string(pj))
	for i, m := range msgs {
		turn := "\x00" + m.Role + "\x01" + strings.TrimSpace(m.Content)
		all.WriteString(turn)
		if i != last {
			ctx.WriteString(turn)
		} else {
			ctx.WriteString("\x00<last>")
		}
	}
	return hash(all.String()), hash(ctx.String())
}

func hash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:16])
}
