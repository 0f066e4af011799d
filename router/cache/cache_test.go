package cache

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/semroute/semroute/index/flat"
)

func unit(v ...float32) []float32 { flat.Normalize(v); return v }

func TestExactSemanticTTLAndLRU(t *testing.T) {
	c := New(1<<20, time.Minute)
	now := time.Unix(0, 0)
	c.now = func() time.Time { return now }
	k := Key{Exact: "a", Context: "ctx1", Vec: unit(1, 0, 0)}
	c.Put(k, Entry{Body: []byte("A"), Model: "fast", Cost: 0.1})
	if e, kind, ok := c.Get(Key{Exact: "a"}, 0); !ok || kind != "exact" || string(e.Body) != "A" {
		t.Errorf("exact: %v %v %v", e, kind, ok)
	}
	near := Key{Exact: "b", Context: "ctx1", Vec: unit(0.99, 0.1, 0)}
	if _, kind, ok := c.Get(near, 0.95); !ok || kind != "semantic" {
		t.Errorf("semantic within the threshold: %v %v", kind, ok)
	}
	if _, _, ok := c.Get(near, 0.999); ok {
		t.Error("semantic hit above the threshold")
	}
	other := Key{Exact: "c", Context: "ctx2", Vec: unit(1, 0, 0)}
	if _, _, ok := c.Get(other, 0.5); ok {
		t.Error("a semantic hit from another conversation")
	}
	now = now.Add(2 * time.Minute)
	if _, _, ok := c.Get(Key{Exact: "a"}, 0); ok || c.Len() != 0 {
		t.Errorf("an expired entry was served; %d left", c.Len())
	}
	// LRU by bytes: room for two 400-byte bodies.
	c = New(1100, time.Hour)
	body := make([]byte, 400)
	c.Put(Key{Exact: "1"}, Entry{Body: body})
	c.Put(Key{Exact: "2"}, Entry{Body: body})
	c.Get(Key{Exact: "1"}, 0) // 1 is now the most recent
	c.Put(Key{Exact: "3"}, Entry{Body: body})
	if _, _, ok := c.Get(Key{Exact: "2"}, 0); ok {
		t.Error("the least recently used entry was kept")
	}
	if _, _, ok := c.Get(Key{Exact: "1"}, 0); !ok || c.Bytes() > 1100 {
		t.Errorf("recent entry lost, or %d bytes over the bound", c.Bytes())
	}
	c.Put(Key{Exact: "huge"}, Entry{Body: make([]byte, 5000)})
	if _, _, ok := c.Get(Key{Exact: "huge"}, 0); ok {
		t.Error("an entry over the bound was kept")
	}
}

func TestKeysAndCacheable(t *testing.T) {
	body := func(s string) map[string]json.RawMessage {
		var m map[string]json.RawMessage
		json.Unmarshal([]byte(s), &m)
		return m
	}
	two := []Message{{"user", "hello"}, {"assistant", "hi"}, {"user", "what is the capital of france"}}
	e1, c1 := Keys("model:fast", body(`{"temperature":0}`), two)
	e2, c2 := Keys("model:fast", body(`{"temperature":0,"user":"u1"}`), two) // user does not change the answer
	e3, _ := Keys("model:fast", body(`{"temperature":0,"max_tokens":5}`), two)
	e4, _ := Keys("model:strong", body(`{"temperature":0}`), two)
	_, c5 := Keys("model:fast", body(`{"temperature":0}`), []Message{{"user", "bonjour"}, {"assistant", "hi"}, {"user", "what is the capital of france"}})
	e6, c6 := Keys("model:fast", body(`{"temperature":0}`), []Message{{"user", "hello"}, {"assistant", "hi"}, {"user", "capital of france?"}})
	e7, _ := Keys("model:fast", body(`{ "max_tokens" : 5,"temperature": 0 }`), two) // e3 in another order and spacing
	if e3 != e7 {
		t.Error("the same parameters in another order or spacing changed the key")
	}
	if e1 != e2 || c1 != c2 || e1 == e3 || e1 == e4 || c1 == c5 || e1 == e6 || c1 != c6 {
		t.Error("keys: same request, other parameters, other target, other earlier turns, other last turn")
	}
	// Texts with the bytes that frame a key's messages make no other
	// conversation's key.
	for _, pair := range [][2][]Message{
		{{{"system", "S\x00user\x01Q"}}, {{"system", "S"}, {"user", "Q"}}},
		{{{"user\x01x", "y"}}, {{"user", "x\x01y"}}},
		{{{"user", "\x02\x01a"}}, {{"user", "\x02"}, {"", "a"}}},
	} {
		a, _ := Keys("model:fast", body(`{"temperature":0}`), pair[0])
		b, _ := Keys("model:fast", body(`{"temperature":0}`), pair[1])
		if a == b {
			t.Errorf("%q and %q share a key", pair[0], pair[1])
		}
	}
	for _, tc := range []struct {
		body  string
		msgs  []Message
		allow bool
		ok    bool
	}{
		{`{"temperature":0}`, two, false, true},
		{`{}`, two, false, false}, // OpenAI's default temperature is 1
		{`{"temperature":0.7}`, two, true, true},
		{`{"temperature": 0.0 }`, two, false, true},
		{`{"temperature":-0}`, two, false, true},
		{`{"temperature":null}`, two, false, false}, // the default, 1
		{`{"temperature":"0"}`, two, false, false},  // not a number
		{`{"temperature":1e400}`, two, false, false},
		{`{"temperature":0,"n":2}`, two, false, false},
		{`{"temperature":0,"n":1}`, two, false, true},
		{`{"temperature":0,"n":null}`, two, false, true},
		{`{"temperature":0,"tools":[{}]}`, two, true, false},
		{`{"temperature":0}`, []Message{{"tool", "42"}}, true, false},
		{`{"temperature":0,"n":3}`, two, true, false},
	} {
		if ok, _ := Cacheable(body(tc.body), tc.msgs, tc.allow); ok != tc.ok {
			t.Errorf("Cacheable(%s, allow %v) = %v", tc.body, tc.allow, ok)
		}
	}
}

func TestSemanticScanIsBounded(t *testing.T) {
	c := New(1<<30, time.Hour)
	put := func(i int) {
		c.Put(Key{Exact: fmt.Sprint(i), Context: "ctx", Vec: unit(1, float32(i), 0)}, Entry{})
	}
	for i := range maxSemantic + 10 {
		put(i)
	}
	// Entry 0 alone is within 0.9999 of (1, 0, 0), and it is now older
	// than the newest maxSemantic.
	if _, _, ok := c.Get(Key{Exact: "q", Context: "ctx", Vec: unit(1, 0, 0)}, 0.9999); ok {
		t.Error("an entry past the newest maxSemantic is still matched semantically")
	}
	if _, kind, ok := c.Get(Key{Exact: "0"}, 0); !ok || kind != "exact" {
		t.Error("an entry that left the semantic scan lost its exact key")
	}
	for i := maxSemantic + 10; i < 3*maxSemantic; i++ {
		put(i)
	}
	if n := len(c.byCtx["ctx"].els); n > 2*maxSemantic {
		t.Errorf("the context keeps %d entries for the scan, want at most %d", n, 2*maxSemantic)
	}
	if _, kind, ok := c.Get(Key{Exact: "1"}, 0); !ok || kind != "exact" {
		t.Error("an entry dropped from the semantic arrays lost its exact key")
	}
	// The newest is still found.
	last := 3*maxSemantic - 1
	if _, kind, ok := c.Get(Key{Exact: "q", Context: "ctx", Vec: unit(1, float32(last), 0)}, 0.9999); !ok || kind != "semantic" {
		t.Error("the newest entry is not matched semantically")
	}
}

// TestSemanticHitsNearThreshold: pairs just above the threshold are always
// found through the int8 rows, and pairs just below are never served.
func TestSemanticHitsNearThreshold(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	randUnit := func() []float32 {
		v := make([]float32, 256)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		flat.Normalize(v)
		return v
	}
	// at returns a unit vector whose cosine with v is cos.
	at := func(v []float32, cos float64) []float32 {
		u := randUnit()
		d := flat.Dot(u, v)
		for i := range u {
			u[i] -= d * v[i]
		}
		flat.Normalize(u)
		w := make([]float32, len(v))
		s := float32(math.Sqrt(1 - cos*cos))
		for i := range w {
			w[i] = float32(cos)*v[i] + s*u[i]
		}
		return w
	}
	for _, th := range []float64{0.8, 0.95} {
		missed, wrong := 0, 0
		for i := range 5000 {
			c := New(1<<20, time.Hour)
			v := randUnit()
			c.Put(Key{Exact: "stored", Context: "ctx", Vec: v}, Entry{Body: []byte("A")})
			if _, _, ok := c.Get(Key{Exact: fmt.Sprint("q", i), Context: "ctx", Vec: at(v, th+0.002)}, th); !ok {
				missed++
			}
			if _, _, ok := c.Get(Key{Exact: fmt.Sprint("r", i), Context: "ctx", Vec: at(v, th-0.002)}, th); ok {
				wrong++
			}
		}
		t.Logf("threshold %v: %d of 5000 hits passed over, %d served below the threshold", th, missed, wrong)
		if missed > 0 || wrong > 0 {
			t.Errorf("threshold %v: %d of 5000 hits passed over, %d served below the threshold", th, missed, wrong)
		}
	}
}

// TestEstimateBound: the int8 estimate of a cosine is never further from
// the float32 cosine than its slack, for dense vectors and for sparse,
// spiky ones (a few large components, as the embedder's hashed part has).
func TestEstimateBound(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	vec := func(n int, sparse bool) []float32 {
		v := make([]float32, n)
		for i := range v {
			if !sparse || rng.IntN(10) == 0 {
				v[i] = float32(rng.NormFloat64())
			}
		}
		flat.Normalize(v)
		return v
	}
	worst := 0.0
	for n := range 2000 {
		sparse := n%2 == 1
		v := vec(100+rng.IntN(200), sparse)
		w := make([]float32, len(v)) // v mixed in, so the cosines span [-1, 1]
		mix := float32(rng.Float64()*4 - 2)
		for i, x := range vec(len(v), sparse) {
			w[i] = mix*v[i] + x
		}
		flat.Normalize(w)
		s := &semantic{cdim: (len(v) + 15) &^ 15}
		s.add(&item{key: Key{Vec: v}}, nil)
		q := make([]int8, s.cdim)
		qs := flat.Quantize(q, w)
		est, slack := s.estimate(0, flat.DotInt8(q, s.codes), qs, qs*absSum(q))
		off := math.Abs(float64(est - flat.Dot(w, v)))
		worst = max(worst, off/float64(slack))
		if off > float64(slack) {
			t.Fatalf("estimate %v, cosine %v: off by %v, slack %v", est, flat.Dot(w, v), off, slack)
		}
	}
	t.Logf("the largest error was %.0f %% of its slack", 100*worst)
}

// TestServedEntriesStayInScan: an entry served often stays in the semantic
// scan while far more than maxSemantic new entries arrive, and the arrays
// stay aligned as entries move: each entry in the window is still found by
// its own vector.
func TestServedEntriesStayInScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	randUnit := func() []float32 {
		v := make([]float32, 64)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		flat.Normalize(v)
		return v
	}
	c := New(1<<30, time.Hour)
	popular := randUnit()
	c.Put(Key{Exact: "popular", Context: "ctx", Vec: popular}, Entry{Body: []byte("P")})
	vecs := map[string][]float32{}
	for i := range 5 * maxSemantic {
		k := fmt.Sprint(i)
		vecs[k] = randUnit()
		c.Put(Key{Exact: k, Context: "ctx", Vec: vecs[k]}, Entry{Body: []byte(k)})
		if i%(maxSemantic/4) == 0 {
			e, kind, ok := c.Get(Key{Exact: fmt.Sprint("ask", i), Context: "ctx", Vec: popular}, 0.99)
			if !ok || kind != "semantic" || string(e.Body) != "P" {
				t.Fatalf("after %d new entries the popular one was not served: %q %v %v", i+1, e.Body, kind, ok)
			}
		}
	}
	s := c.byCtx["ctx"]
	window := slices.Clone(s.els[max(0, len(s.els)-maxSemantic):]) // Get reorders s.els
	for _, el := range window {
		it := el.Value.(*item)
		if it.key.Exact == "popular" {
			continue
		}
		e, _, ok := c.Get(Key{Exact: "probe", Context: "ctx", Vec: vecs[it.key.Exact]}, 0.999)
		if !ok || string(e.Body) != it.key.Exact {
			t.Fatalf("entry %s in the window is not found by its own vector: %q %v", it.key.Exact, e.Body, ok)
		}
	}
}

// TestKeysAreStable: replicas of different versions share keys through
// PostgreSQL during a rolling upgrade, so the bytes a key hashes must not
// change by accident. These are the keys of the version that wrote them.
func TestKeysAreStable(t *testing.T) {
	var body map[string]json.RawMessage
	json.Unmarshal([]byte(`{"model":"auto","temperature":0,"max_tokens": 100,"stop":["\n"]}`), &body)
	msgs := []Message{{"system", "be brief"}, {"user", "hello"}, {"assistant", "hi"}, {"user", " will it rain tomorrow in paris "}}
	e, c := Keys("model:fast|weather", body, msgs)
	if e != "4c03d50d9aa5711b99fb806dbb1ffe57" || c != "6dab7dd0e7d5400cdaaa98c81e3e685f" {
		t.Errorf("keys %s %s changed", e, c)
	}
	// Without a user turn the context is the whole request.
	e, c = Keys("model:fast|weather", body, []Message{{"assistant", "hi"}})
	if e != "88f37950acbb011dc8d6e835e40dff0d" || c != e {
		t.Errorf("keys without a user turn %s %s changed", e, c)
	}
}
