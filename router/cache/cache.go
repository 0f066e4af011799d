// Package cache is the service's response cache: an exact cache keyed by
// the normalized request, and a semantic cache that matches the last user
// turn by embedding among requests with identical earlier turns and
// parameters, so that a cached answer never lands in another conversation.
// It is bounded in bytes, evicts the least recently used entry, and
// expires entries after a TTL.
package cache

import (
	"bytes"
	"container/list"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strconv"
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

// maxSemantic bounds the entries one context's semantic scan reads: the
// most recently stored or served. An entry that keeps being asked for stays
// in the scan; one that is not leaves it after maxSemantic newer ones (its
// exact key stays until the LRU evicts it). Fewer rows, fewer cache misses
// in a scan that runs on every cacheable request.
const maxSemantic = 64

// Cache is safe for concurrent use.
type Cache struct {
	mu       sync.Mutex
	maxBytes int64
	ttl      time.Duration
	bytes    int64
	lru      *list.List               // of *item, most recent first
	exact    map[string]*list.Element // by Key.Exact
	byCtx    map[string]*semantic
	now      func() time.Time
}

// semantic is one context's entries for the semantic scan, oldest first:
// an int8 copy of each vector (flat.Quantize), side by side. The scan reads
// the window's int8 rows in one pass (flat.DotsInt8, in memory order with
// the next rows prefetched, which took a cold miss from 6.7 to 5.0 µs in
// BenchmarkMiss) and follows a pointer to the float32 vector only for an
// entry whose estimate can reach the threshold. Through the pointers
// alone, each vector of the scan was a cache miss of its own, the largest
// item in a profile of bench proxy --cache. A 64-bit SimHash prefilter in
// front of the rows cost more than it saved: the prompts one context holds
// are alike, so most passed it.
type semantic struct {
	cdim   int // the int8 rows' length: the vectors' rounded up to 16
	codes  []int8
	scales []float32 // vector ≈ scale × row
	abs    []float32 // scale × Σ|row|, for the error bound
	els    []*list.Element
}

// add appends an entry; past 2×maxSemantic entries the oldest are dropped
// down to maxSemantic, so that the arrays move once every maxSemantic adds.
// It returns the dropped entries.
func (s *semantic) add(it *item, el *list.Element) []*list.Element {
	i := len(s.els)
	s.els = append(s.els, el)
	s.codes = append(s.codes, make([]int8, s.cdim)...)
	row := s.codes[i*s.cdim : (i+1)*s.cdim]
	scale := flat.Quantize(row, it.key.Vec)
	s.scales, s.abs = append(s.scales, scale), append(s.abs, scale*absSum(row))
	if len(s.els) <= 2*maxSemantic {
		return nil
	}
	drop := len(s.els) - maxSemantic
	dropped := slices.Clone(s.els[:drop])
	s.del(0, drop)
	return dropped
}

// del removes the entries i ≤ k < j.
func (s *semantic) del(i, j int) {
	s.codes = slices.Delete(s.codes, i*s.cdim, j*s.cdim)
	s.scales = slices.Delete(s.scales, i, j)
	s.abs = slices.Delete(s.abs, i, j)
	s.els = slices.Delete(s.els, i, j)
}

// estimate is entry i's cosine with the query as the int8 rows give it
// (dot is their int8 inner product Q·V), and how far that can be from the
// float32 cosine: each component of each vector is off by at most half its
// scale, so with q = qs·Q + eq and v = vs·V + ev, |q·v − qs·vs·Q·V| ≤
// vs/2·Σ|qs·Q| + qs/2·Σ|vs·V| + n·qs·vs/4.
func (s *semantic) estimate(i int, dot int32, qScale, qAbs float32) (est, slack float32) {
	sc := s.scales[i]
	est = float32(dot) * qScale * sc
	slack = (sc*qAbs+qScale*s.abs[i])/2 + float32(s.cdim)*qScale*sc/4 + 1e-5
	return est, slack
}

// touch moves the entry to the newest end, back into or further inside the
// scan's window; it does nothing for an entry not in the arrays.
func (s *semantic) touch(el *list.Element) {
	i := slices.Index(s.els, el)
	if i < 0 || i == len(s.els)-1 {
		return
	}
	rotate(s.codes[i*s.cdim:], s.cdim)
	rotate(s.scales[i:], 1)
	rotate(s.abs[i:], 1)
	rotate(s.els[i:], 1)
}

// rotate moves x's first k elements to its end, keeping the order of the
// rest.
func rotate[T any](x []T, k int) {
	head := slices.Clone(x[:k])
	copy(x, x[k:])
	copy(x[len(x)-k:], head)
}

func absSum(row []int8) float32 {
	var n int32
	for _, x := range row {
		n += max(int32(x), -int32(x))
	}
	return float32(n)
}

type item struct {
	key     Key
	entry   Entry
	size    int64
	expires time.Time
}

// New makes a cache of at most maxBytes whose entries live ttl.
func New(maxBytes int64, ttl time.Duration) *Cache {
	return &Cache{maxBytes: maxBytes, ttl: ttl, lru: list.New(), exact: map[string]*list.Element{}, byCtx: map[string]*semantic{}, now: time.Now}
}

// Get finds an exact hit, else (with threshold > 0) the semantic entry of
// the same context whose last turn is nearest above the threshold. kind is
// "exact" or "semantic".
//
// The semantic scan estimates each cosine from the int8 rows and computes
// it exactly only where the estimate, plus its error bound, reaches the
// threshold: the answer is the one the float32 scan would give.
func (c *Cache) Get(k Key, threshold float64) (e Entry, kind string, ok bool) {
	var q []int8
	var qScale, qAbs float32
	semanticOn := threshold > 0 && len(k.Vec) > 0
	if semanticOn {
		var qb [1024]int8 // most embeddings: no allocation
		if cdim := (len(k.Vec) + 15) &^ 15; cdim <= len(qb) {
			q = qb[:cdim]
		} else {
			q = make([]int8, cdim)
		}
		qScale = flat.Quantize(q, k.Vec)
		qAbs = qScale * absSum(q)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if el, found := c.exact[k.Exact]; found {
		it := el.Value.(*item)
		if now.Before(it.expires) {
			c.hit(el)
			return it.entry, "exact", true
		}
		c.remove(el)
	}
	if !semanticOn {
		return Entry{}, "", false
	}
	s := c.byCtx[k.Context]
	if s == nil || s.cdim != len(q) {
		return Entry{}, "", false
	}
	var best *list.Element
	bestSim := float32(threshold)
	// The newest maxSemantic entries' int8 dots in one pass over their
	// rows, in memory order; then newest first: removing an expired entry
	// shifts only entries already read, and the newest wins a tie.
	lo := max(0, len(s.els)-maxSemantic)
	var dots [maxSemantic]int32
	flat.DotsInt8(q, s.codes[lo*s.cdim:len(s.els)*s.cdim], dots[:])
	for i := len(s.els) - 1; i >= lo; i-- {
		if est, slack := s.estimate(i, dots[i-lo], qScale, qAbs); est+slack < bestSim {
			continue
		}
		el := s.els[i]
		it := el.Value.(*item)
		if !now.Before(it.expires) {
			c.remove(el)
			continue
		}
		if sim := flat.Dot(k.Vec, it.key.Vec); sim > bestSim || (best == nil && sim == bestSim) {
			best, bestSim = el, sim
		}
	}
	if best == nil {
		return Entry{}, "", false
	}
	c.hit(best)
	return best.Value.(*item).entry, "semantic", true
}

// hit marks an entry as just served, for the LRU and the semantic scan.
func (c *Cache) hit(el *list.Element) {
	c.lru.MoveToFront(el)
	if it := el.Value.(*item); len(it.key.Vec) > 0 {
		if s := c.byCtx[it.key.Context]; s != nil {
			s.touch(el)
		}
	}
}

// Put stores an answer, evicting the least recently used entries past the
// byte bound. An entry larger than the bound is not kept.
func (c *Cache) Put(k Key, e Entry) {
	size := int64(len(e.Body)+len(k.Exact)+len(k.Context)+5*len(k.Vec)) + 144
	c.mu.Lock()
	defer c.mu.Unlock()
	if size > c.maxBytes {
		return
	}
	if el, ok := c.exact[k.Exact]; ok {
		c.remove(el)
	}
	it := &item{key: k, entry: e, size: size, expires: c.now().Add(c.ttl)}
	el := c.lru.PushFront(it)
	c.exact[k.Exact] = el
	if len(k.Vec) > 0 {
		cdim := (len(k.Vec) + 15) &^ 15
		s := c.byCtx[k.Context]
		if s == nil || s.cdim != cdim { // a new context, or vectors of another embedder
			s = &semantic{cdim: cdim}
			c.byCtx[k.Context] = s
		}
		// The oldest leave the semantic scan; their exact keys stay.
		for _, old := range s.add(it, el) {
			old.Value.(*item).key.Vec = nil
		}
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
	if len(it.key.Vec) > 0 {
		if s := c.byCtx[it.key.Context]; s != nil {
			if i := slices.Index(s.els, el); i >= 0 {
				s.del(i, i+1)
			}
			if len(s.els) == 0 {
				delete(c.byCtx, it.key.Context)
			}
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
	if n, ok := number(body["n"]); ok && n > 1 {
		return false, "n"
	}
	if allowTemperature {
		return true, ""
	}
	if t, ok := number(body["temperature"]); !ok || t > 0 {
		return false, "temperature"
	}
	return true, ""
}

// number reads a JSON number; false for anything else or nothing. The
// body was decoded once already, so a value ParseFloat takes is a JSON
// number (strings are quoted; true, false and null are not numbers):
// json.Unmarshal did the same at several times the cost, on every request.
func number(v json.RawMessage) (float64, bool) {
	f, err := strconv.ParseFloat(string(bytes.TrimSpace(v)), 64)
	return f, err == nil
}

// Keys computes a request's keys; target is where it goes (the decision's
// target or the model asked for).
func Keys(target string, body map[string]json.RawMessage, msgs []Message) (exact, context string) {
	last := len(msgs) - 1
	for last >= 0 && msgs[last].Role != "user" {
		last--
	}
	// The whole request goes into one buffer and is hashed once for the
	// exact key; the context key hashes the same bytes with the last user
	// turn replaced by a marker, without a second copy.
	bp := keyBuffers.Get().(*[]byte)
	b := append((*bp)[:0], target...)
	b = append(b, 0)
	// The parameters in outputParams' fixed order, each value compacted:
	// the same request gives the same bytes whatever its field order and
	// spacing (json.Marshal of a map did the same at twice the cost).
	for _, p := range outputParams {
		if v, ok := body[p]; ok {
			b = append(append(b, p...), '=')
			if c, err := appendCompact(b, v); err == nil {
				b = c
			} else {
				b = append(b, v...)
			}
			b = append(b, 0)
		}
	}
	lastFrom, lastTo := -1, -1
	for i, m := range msgs {
		if i == last {
			lastFrom = len(b)
		}
		b = appendField(append(appendField(append(b, 0), m.Role), 1), strings.TrimSpace(m.Content))
		if i == last {
			lastTo = len(b)
		}
	}
	all := sha256.Sum256(b)
	ctx := all
	if lastFrom >= 0 {
		h := sha256.New()
		h.Write(b[:lastFrom])
		h.Write([]byte("\x00<last>"))
		h.Write(b[lastTo:])
		h.Sum(ctx[:0])
	}
	*bp = b
	keyBuffers.Put(bp)
	return hex.EncodeToString(all[:16]), hex.EncodeToString(ctx[:16])
}

// appendField appends a role or a message's text to a key's bytes, where
// 0 starts a message and 1 ends its role. A text with any of the bytes 0, 1
// or 2 (JSON's \u0000 and the like) goes in as 2, its length, then its
// bytes: written plain it could make two conversations one key (a system
// message "S\x00user\x01Q" and the turns system "S", user "Q"), and so
// one conversation's cached answer another's. Every other text is written
// as before, so keys stay as they were (TestKeysAreStable).
func appendField(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] <= 2 {
			return append(binary.AppendUvarint(append(b, 2), uint64(len(s))), s...)
		}
	}
	return append(b, s...)
}

var keyBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// appendCompact appends src with insignificant space elided.
func appendCompact(dst, src []byte) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(src))
	if err := json.Compact(&buf, src); err != nil {
		return dst, err
	}
	return append(dst, buf.Bytes()...), nil
}
