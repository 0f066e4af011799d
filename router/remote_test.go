package router

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/semroute/semroute/embed/openai"
	"github.com/semroute/semroute/intents"
	"github.com/semroute/semroute/router/config"
)

// letterCounts is the fake endpoint's embedding: how often each letter a–z
// occurs, unnormalised, so the router must normalise what it is given.
func letterCounts(s string) []float32 {
	v := make([]float32, 26)
	for _, c := range strings.ToLower(s) {
		if c >= 'a' && c <= 'z' {
			v[c-'a'] += 3
		}
	}
	return v
}

func TestRouterWithRemoteEmbedder(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Input []string }
		json.NewDecoder(r.Body).Decode(&req)
		type item struct {
			Index     int       `json:"index"`
			Embedding []float32 `json:"embedding"`
		}
		var out struct {
			Data []item `json:"data"`
		}
		for i, s := range req.Input {
			out.Data = append(out.Data, item{i, letterCounts(s)})
		}
		json.NewEncoder(w).Encode(out)
	}))
	defer srv.Close()
	emb, err := openai.New(openai.Options{BaseURL: srv.URL + "/v1", Model: "letters"})
	if err != nil {
		t.Fatal(err)
	}
	if err := emb.Probe(context.Background()); err != nil {
		t.Fatal(err)
	}
	q := intents.Target{Handoff: "q"}
	cfg := &config.Config{Fallback: q, Intents: []intents.Intent{
		{Name: "aaa", Utterances: []string{"aaa aab", "aaaa baa", "aa aa"}, Target: q},
		{Name: "zzz", Utterances: []string{"zzz zzy", "zzzz yzz", "zz zz"}, Target: q},
	}}
	cfg.SetDefaults("")
	r, err := New(context.Background(), cfg, Options{Embedder: emb})
	if err != nil {
		t.Fatal(err)
	}
	d, err := r.Route(context.Background(), "zzzzzz zz")
	if err != nil {
		t.Fatal(err)
	}
	if d.Intent == nil || *d.Intent != "zzz" || d.Similarity > 1.0001 {
		t.Errorf("decision %+v: want zzz with a cosine similarity ≤ 1", d)
	}
	if r.gate.MinSimilarity != 0 {
		t.Errorf("min_similarity %v for a remote embedder, want 0 until fitted", r.gate.MinSimilarity)
	}
}
