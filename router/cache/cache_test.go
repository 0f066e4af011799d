package cache

import (
	"encoding/json"
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
	if e1 != e2 || c1 != c2 || e1 == e3 || e1 == e4 || c1 == c5 || e1 == e6 || c1 != c6 {
		t.Error("keys: same request, other parameters, other target, other earlier turns, other last turn")
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
	for i := range maxSemantic + 10 {
		c.Put(Key{Exact: string(rune('a' + i)), Context: "ctx", Vec: unit(1, float32(i), 0)}, Entry{})
	}
	if n := len(c.byCtx["ctx"]); n != maxSemantic {
		t.Errorf("the context scans %d entries, want %d", n, maxSemantic)
	}
	if _, kind, ok := c.Get(Key{Exact: "a"}, 0); !ok || kind != "exact" {
		t.Error("an entry that left the semantic scan lost its exact key")
	}
	if _, _, ok := c.Get(Key{Exact: "zz", Context: "ctx", Vec: unit(1, 0, 0)}, 0.9999); ok {
		t.Error("the oldest entry is still matched semantically")
	}
}
