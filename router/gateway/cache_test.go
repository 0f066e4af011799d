package gateway

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/semroute/semroute/embed"
	"github.com/semroute/semroute/embed/local/localtest"
	"github.com/semroute/semroute/index/chromem"
	"github.com/semroute/semroute/router/cache"
	"github.com/semroute/semroute/router/config"
)

func TestResponseCache(t *testing.T) {
	h := start(t, "cache: {semantic: true, semantic_threshold: 0.9}\n")
	ask := func(body string, hdr ...string) (string, string) {
		req, _ := http.NewRequest("POST", h.http.URL+"/v1/chat/completions", strings.NewReader(body))
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.Header.Get("x-semroute-cache"), string(b)
	}
	const q = `{"model":"auto","temperature":0,"messages":[{"role":"user","content":"will it rain tomorrow in paris"}]}`
	if got, _ := ask(q); got != "miss" {
		t.Errorf("first ask: %q", got)
	}
	h.srv.flushCacheWrites() // a remote store would store off the request path
	if got, body := ask(q); got != "hit-exact" || !strings.Contains(body, "answer from fast") {
		t.Errorf("second ask: %q %s", got, body)
	}
	if h.fast.hits.Load() != 1 {
		t.Errorf("the upstream answered %d times, want once", h.fast.hits.Load())
	}
	// A paraphrase of the last turn, same conversation: a semantic hit.
	if got, _ := ask(`{"model":"auto","temperature":0,"messages":[{"role":"user","content":"will it rain tomorrow in paris?"}]}`); got != "hit-semantic" {
		t.Errorf("paraphrase: %q", got)
	}
	// The same last turn in another conversation: never served from here.
	if got, _ := ask(`{"model":"auto","temperature":0,"messages":[{"role":"user","content":"I am in london"},{"role":"assistant","content":"ok"},{"role":"user","content":"will it rain tomorrow in paris"}]}`); got != "miss" {
		t.Errorf("other conversation: %q", got)
	}
	if got, _ := ask(strings.Replace(q, `"temperature":0`, `"temperature":0.8`, 1)); got != "off:temperature" {
		t.Errorf("temperature 0.8: %q", got)
	}
	before := h.fast.hits.Load()
	if got, _ := ask(q, "Cache-Control", "no-cache"); got != "bypass" || h.fast.hits.Load() != before+1 {
		t.Errorf("bypass: %q, upstream %d → %d", got, before, h.fast.hits.Load())
	}
	// A streaming client gets the cached answer replayed as a stream.
	got, body := ask(strings.Replace(q, `"model":"auto",`, `"model":"auto","stream":true,`, 1))
	if got != "hit-exact" || !strings.Contains(body, "data: ") || !strings.Contains(body, "answer from fast") || !strings.HasSuffix(body, "data: [DONE]\n\n") {
		t.Errorf("stream from the cache: %q %s", got, body)
	}
	resp, _ := http.Get(h.http.URL + "/metrics")
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`semroute_cache_lookups_total{result="hit_exact"} 2`, `semroute_cache_lookups_total{result="hit_semantic"} 1`, "semroute_cache_saved_usd_total 0.0006"} {
		if !strings.Contains(string(m), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// blockingStore is a response cache whose Put waits until released, as a
// slow PostgreSQL would.
type blockingStore struct {
	release chan struct{}
	puts    atomic.Int64
}

func (b *blockingStore) Get(cache.Key, float64) (cache.Entry, string, bool) {
	return cache.Entry{}, "", false
}

func (b *blockingStore) Put(cache.Key, cache.Entry) {
	<-b.release
	b.puts.Add(1)
}

// TestStoreLaterNeverBlocks: with the store stuck, handing it answers
// returns at once; past the queue's bound they are dropped and counted, and
// the rest are stored once the store moves again.
func TestStoreLaterNeverBlocks(t *testing.T) {
	srv := New(Options{LookupEnv: os.LookupEnv, Embedder: localtest.Open(t), Logger: testLogger(t)})
	store := &blockingStore{release: make(chan struct{})}
	const n = maxPendingWrites + 10
	done := make(chan struct{})
	go func() {
		for i := range n {
			srv.storeLater(store, cache.Key{Exact: fmt.Sprint(i)}, cache.Entry{})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("storeLater blocked on a stuck store")
	}
	close(store.release)
	srv.flushCacheWrites()
	value := func(result string) float64 {
		var m dto.Metric
		srv.m.cacheStores.WithLabelValues(result).Write(&m)
		return m.GetCounter().GetValue()
	}
	dropped, stored := value("dropped"), value("stored")
	if dropped < 9 || dropped > 10 || int64(stored) != store.puts.Load() || stored+dropped != n {
		t.Errorf("stored %v (store saw %d), dropped %v, of %d", stored, store.puts.Load(), dropped, n)
	}
}

// TestSemanticLookup: routing keeps a copy of the prompt's embedding only
// for requests the semantic cache will look up by it.
func TestSemanticLookup(t *testing.T) {
	on := &config.CacheConfig{Semantic: true, SemanticThreshold: 0.95}
	two := `[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"},{"role":"user","content":"where is my order"}]`
	for _, tc := range []struct {
		cc   *config.CacheConfig
		body string
		text string
		want bool
	}{
		{on, `{"model":"auto","temperature":0,"messages":` + two + `}`, "where is my order", true},
		{nil, `{"model":"auto","temperature":0,"messages":` + two + `}`, "where is my order", false},
		{&config.CacheConfig{}, `{"model":"auto","temperature":0,"messages":` + two + `}`, "where is my order", false},
		{on, `{"model":"auto","temperature":0.7,"messages":` + two + `}`, "where is my order", false},
		{on, `{"model":"auto","messages":` + two + `}`, "where is my order", false},
		{on, `{"model":"auto","temperature":0,"messages":` + two + `}`, "hi\nwhere is my order", false}, // routed on more turns than the last
		{&config.CacheConfig{Semantic: true, AllowTemperature: true}, `{"model":"auto","temperature":0.7,"messages":` + two + `}`, "where is my order", true},
	} {
		req, err := decodeChat([]byte(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		if got := semanticLookup(tc.cc, req, tc.text); got != tc.want {
			t.Errorf("cache %+v, body %s, text %q: %v, want %v", tc.cc, tc.body, tc.text, got, tc.want)
		}
	}
}

// TestSemanticCacheKeepsToItsEmbedder: two replicas share one cache
// store, one on GloVe and one on the trained encoder. A paraphrase hits
// the semantic cache on the replica whose embedder stored the answer and
// never on the other, whose vectors mean something else.
func TestSemanticCacheKeepsToItsEmbedder(t *testing.T) {
	enc := localtest.OpenEncoder(t)
	h := start(t, "cache: {semantic: true, semantic_threshold: 0.8}\n")
	shared := cache.New(1<<20, time.Hour)
	serve := func(e embed.Embedder) (*Server, string) {
		cfg, err := config.Load(h.cfgPath)
		if err != nil {
			t.Fatal(err)
		}
		idx, err := chromem.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { idx.Close() })
		srv := New(Options{ConfigPath: h.cfgPath, Embedder: e, Index: idx, Cache: shared, Logger: testLogger(t)})
		if err := srv.Load(context.Background(), cfg); err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewServer(srv.Handler())
		t.Cleanup(hs.Close)
		return srv, hs.URL
	}
	gs, glove := serve(localtest.Open(t))
	_, encoder := serve(enc)
	ask := func(url, text string) string {
		t.Helper()
		resp, err := http.Post(url+"/v1/chat/completions", "application/json",
			strings.NewReader(`{"model":"auto","temperature":0,"messages":[{"role":"user","content":"`+text+`"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.Header.Get("x-semroute-cache")
	}
	if got := ask(glove, "will it rain tomorrow in paris"); got != "miss" {
		t.Fatalf("first ask: %q", got)
	}
	gs.flushCacheWrites()
	// The same text is the same request whatever the embedder: an exact
	// hit on both.
	if a, b := ask(glove, "will it rain tomorrow in paris"), ask(encoder, "will it rain tomorrow in paris"); a != "hit-exact" || b != "hit-exact" {
		t.Errorf("the same prompt: %q on GloVe, %q on the encoder; want exact hits", a, b)
	}
	const para = "will it rain tomorrow in paris?"
	if got := ask(encoder, para); got != "miss" {
		t.Errorf("a paraphrase on the encoder's replica: %q, want a miss (GloVe's vectors stored it)", got)
	}
	if got := ask(glove, "is it going to rain tomorrow in paris"); got != "hit-semantic" {
		t.Errorf("a paraphrase on GloVe's replica: %q, want a semantic hit", got)
	}
}
