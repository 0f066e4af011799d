package gateway

import (
	"io"
	"net/http"
	"strings"
	"testing"
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
