package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/semroute/semroute/embed"
	"github.com/semroute/semroute/embed/local/localtest"
	embedopenai "github.com/semroute/semroute/embed/openai"
	"github.com/semroute/semroute/index/chromem"
	"github.com/semroute/semroute/router/config"
)

// TestEmbeddingsThroughOpenAIClient: the official client gets the
// embedder's own vectors, as floats and as base64.
func TestEmbeddingsThroughOpenAIClient(t *testing.T) {
	h := start(t, "")
	emb := localtest.Open(t)
	texts := []string{"will it rain tomorrow", "play some jazz", "Ünïcödé — naïve café, it's fine"}
	want, err := emb.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	c := h.client("")
	for _, format := range []openai.EmbeddingNewParamsEncodingFormat{openai.EmbeddingNewParamsEncodingFormatFloat, openai.EmbeddingNewParamsEncodingFormatBase64} {
		t.Run(string(format), func(t *testing.T) {
			res, err := c.Embeddings.New(context.Background(), openai.EmbeddingNewParams{
				Model: "auto", EncodingFormat: format,
				Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: texts},
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Data) != len(texts) || res.Model != emb.Fingerprint().Model {
				t.Fatalf("%d vectors from model %q, want %d from %q", len(res.Data), res.Model, len(texts), emb.Fingerprint().Model)
			}
			for i, d := range res.Data {
				if d.Index != int64(i) || len(d.Embedding) != emb.Dim() {
					t.Fatalf("data[%d]: index %d, %d dimensions, want %d", i, d.Index, len(d.Embedding), emb.Dim())
				}
				for j, x := range d.Embedding {
					if float32(x) != want[i][j] {
						t.Fatalf("data[%d][%d] = %v, the embedder gives %v", i, j, x, want[i][j])
					}
				}
			}
			// 4 + 3 + 6 words ("it's" is "it" "'s"; the dash is no word).
			if res.Usage.PromptTokens != 13 || res.Usage.TotalTokens != 13 {
				t.Errorf("usage %+v, want 13 prompt tokens", res.Usage)
			}
		})
	}
	one, err := c.Embeddings.New(context.Background(), openai.EmbeddingNewParams{
		Model: emb.Fingerprint().Model, Dimensions: openai.Int(int64(emb.Dim())),
		Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String(texts[1])},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(one.Data) != 1 || float32(one.Data[0].Embedding[0]) != want[1][0] {
		t.Errorf("one string: %+v", one.Data)
	}
	_, err = c.Embeddings.New(context.Background(), openai.EmbeddingNewParams{
		Model: "auto", Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfTokens: []int64{9906, 1917}},
	})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest || !strings.Contains(apiErr.Message, "token input") {
		t.Errorf("token ids through the client: %v", err)
	}
}

func TestEmbeddingsRefusesBadRequests(t *testing.T) {
	h := start(t, "server: {max_body_bytes: 100000}\n")
	dim := localtest.Open(t).Dim()
	many := `"a"` + strings.Repeat(`,"a"`, MaxEmbeddingInputs)
	for _, tc := range []struct {
		name, body string
		status     int
		param      string
		says       string
	}{
		{"ok", `{"input": "hello there"}`, 200, "", ""},
		{"dimensions equal", fmt.Sprintf(`{"input": "hi", "dimensions": %d, "user": "u1"}`, dim), 200, "", ""},
		{"empty body", ``, 400, "", "body is empty"},
		{"not an object", `[1]`, 400, "", "not a JSON object"},
		{"missing input", `{"model": "auto"}`, 400, "input", "missing input"},
		{"token ids", `{"input": [101, 2023]}`, 400, "input", "does not support token input"},
		{"arrays of token ids", `{"input": [[101, 2023], [7]]}`, 400, "input", "does not support token input"},
		{"empty array", `{"input": []}`, 400, "input", "empty array"},
		{"empty text", `{"input": ["ok", "  "]}`, 400, "input", "input[1] is empty"},
		{"not a string", `{"input": ["ok", {"text": "x"}]}`, 400, "input", "input[1] must be a string"},
		{"number", `{"input": 5}`, 400, "input", "a string or an array of strings"},
		{"too many", `{"input": [` + many + `]}`, 400, "input", "at most 2048"},
		{"dimensions", `{"input": "hi", "dimensions": 512}`, 400, "dimensions", fmt.Sprintf("gives %d dimensions", dim)},
		{"encoding", `{"input": "hi", "encoding_format": "int8"}`, 400, "encoding_format", `"float" or "base64"`},
		{"model", `{"input": "hi", "model": "text-embedding-3-small"}`, 404, "model", "does not exist here"},
		{"too large", `{"input": "` + strings.Repeat("word ", 30000) + `"}`, 413, "", "larger than 100000 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, _, out := h.do(t, "POST", "/v1/embeddings", "", tc.body)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %v", status, tc.status, out)
			}
			if tc.status == 200 {
				if d := out["data"].([]any); len(d) != 1 {
					t.Errorf("data %v", d)
				}
				return
			}
			msg := errorOf(t, out)
			if !strings.Contains(msg, tc.says) {
				t.Errorf("message %q lacks %q", msg, tc.says)
			}
			if p, _ := out["error"].(map[string]any)["param"].(string); p != tc.param {
				t.Errorf("param %q, want %q", p, tc.param)
			}
		})
	}
}

func TestEmbeddingsNeedTheClientKey(t *testing.T) {
	os.Setenv("SEMROUTE_TEST_EMBED_KEY", "client-secret")
	t.Cleanup(func() { os.Unsetenv("SEMROUTE_TEST_EMBED_KEY") })
	h := start(t, "server:\n  api_keys:\n    - {name: app, env: SEMROUTE_TEST_EMBED_KEY, scope: client}\n")
	if status, _, out := h.do(t, "POST", "/v1/embeddings", "", `{"input": "hi"}`); status != 401 {
		t.Errorf("no key: %d %v", status, out)
	}
	if status, _, out := h.do(t, "POST", "/v1/embeddings", "wrong", `{"input": "hi"}`); status != 401 {
		t.Errorf("a wrong key: %d %v", status, out)
	}
	if status, _, out := h.do(t, "POST", "/v1/embeddings", "client-secret", `{"input": "hi"}`); status != 200 {
		t.Errorf("the client key: %d %v", status, out)
	}
}

// TestEmbeddingsFromARemoteEmbedder: with the openai embedder configured,
// /v1/embeddings answers with its vectors, and its failure is a 502.
func TestEmbeddingsFromARemoteEmbedder(t *testing.T) {
	var refuse atomic.Bool
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Input []string }
		json.NewDecoder(r.Body).Decode(&req)
		if refuse.Load() {
			http.Error(w, `{"error": {"message": "no"}}`, http.StatusBadRequest)
			return
		}
		type item struct {
			Index     int       `json:"index"`
			Embedding []float32 `json:"embedding"`
		}
		var data []item
		for i, s := range req.Input {
			data = append(data, item{i, fakeVector(s)})
		}
		json.NewEncoder(w).Encode(map[string]any{"data": data})
	}))
	t.Cleanup(fake.Close)
	emb, err := embedopenai.New(embedopenai.Options{BaseURL: fake.URL + "/v1", Model: "fake-embed", Dim: 8})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg, err := config.Parse([]byte(fmt.Sprintf(`version: 1
embedder: {kind: openai, base_url: %s/v1, model: fake-embed}
index: {kind: memory, data_dir: %s}
models: [{name: m, base_url: http://127.0.0.1:1/v1, model: x}]
intents:
  - {name: a, target: {model: m}, utterances: [alpha one, alpha two]}
  - {name: b, target: {model: m}, utterances: [beta one, beta two]}
fallback: {model: m}
`, fake.URL, dir)), "remote.yaml")
	if err != nil {
		t.Fatal(err)
	}
	idx, err := chromem.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idx.Close() })
	srv := New(Options{LookupEnv: os.LookupEnv, Embedder: emb, Index: idx, Logger: testLogger(t)})
	if err := srv.Load(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	c := openai.NewClient(option.WithBaseURL(hs.URL+"/v1"), option.WithAPIKey("unused"), option.WithMaxRetries(0))
	res, err := c.Embeddings.New(context.Background(), openai.EmbeddingNewParams{Model: "fake-embed",
		EncodingFormat: openai.EmbeddingNewParamsEncodingFormatBase64,
		Input:          openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"gamma", "delta"}}})
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range []string{"gamma", "delta"} {
		want := fakeVector(s)
		for j, x := range res.Data[i].Embedding {
			if float32(x) != want[j] {
				t.Fatalf("%q[%d] = %v, the remote embedder gave %v", s, j, x, want[j])
			}
		}
	}
	if res.Model != "fake-embed" {
		t.Errorf("model %q", res.Model)
	}
	refuse.Store(true)
	_, err = c.Embeddings.New(context.Background(), openai.EmbeddingNewParams{Model: "auto",
		Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("gamma")}})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadGateway || !strings.Contains(apiErr.Message, "the embedder failed") {
		t.Errorf("a failing embedder: %v", err)
	}
}

// fakeVector is a deterministic 8-d vector for s.
func fakeVector(s string) []float32 {
	h := fnv.New64a()
	h.Write([]byte(s))
	r := rand.New(rand.NewPCG(h.Sum64(), 1))
	v := make([]float32, 8)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

func FuzzDecodeEmbeddings(f *testing.F) {
	f.Add([]byte(`{"input": "hi"}`))
	f.Add([]byte(`{"input": ["a", "b"], "model": "auto", "encoding_format": "base64", "dimensions": 256}`))
	f.Add([]byte(`{"input": [[1, 2], [3]]}`))
	f.Add([]byte(`{"input": ["", null]}`))
	fp := embed.Fingerprint{Kind: "local", Model: "m", Dim: 256}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := decodeEmbeddings(body, fp)
		if err != nil {
			var re *requestError
			if !errors.As(err, &re) || re.msg == "" || re.status() < 400 {
				t.Fatalf("error %v is not a request error with a message", err)
			}
			return
		}
		if len(req.texts) == 0 || len(req.texts) > MaxEmbeddingInputs {
			t.Fatalf("%d texts accepted", len(req.texts))
		}
		for _, s := range req.texts {
			if strings.TrimSpace(s) == "" {
				t.Fatalf("an empty text accepted from %q", body)
			}
		}
	})
}
