package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/semroute/semroute/embed/local/localtest"
	"github.com/semroute/semroute/intents"
	"github.com/semroute/semroute/router"
	"github.com/semroute/semroute/router/config"
)

// BenchmarkEmbeddings measures a /v1/embeddings request of 64 texts of 12
// words over loopback, as floats and as base64, against the embedder
// embedding the same texts in process.
func BenchmarkEmbeddings(b *testing.B) {
	emb := localtest.Open(b)
	cfg := router.Synthetic(emb.Word, 10, 10, 1)
	t := intents.Target{Model: intents.Models{"m"}}
	cfg.Models = []config.Model{{Name: "m", Provider: "openai", BaseURL: "http://127.0.0.1:1/v1", Model: "m", Balance: "weight", TimeoutMS: 1000}}
	for i := range cfg.Intents {
		cfg.Intents[i].Target = t
	}
	cfg.Fallback, cfg.Index.DataDir = t, b.TempDir()
	srv := New(Options{LookupEnv: os.LookupEnv, Embedder: emb})
	if err := srv.Load(context.Background(), cfg); err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	texts := make([]string, 64)
	for i := range texts {
		words := make([]string, 12)
		for j := range words {
			words[j] = emb.Word(100 + (i*12+j)*37%20000)
		}
		texts[i] = strings.Join(words, " ")
	}
	b.Run("embedder", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := emb.Embed(context.Background(), texts); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, format := range []string{"float", "base64"} {
		body, _ := json.Marshal(map[string]any{"input": texts, "encoding_format": format})
		b.Run("endpoint-"+format, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				resp, err := http.Post(hs.URL+"/v1/embeddings", "application/json", bytes.NewReader(body))
				if err != nil || resp.StatusCode != 200 {
					b.Fatal(err, resp.StatusCode)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}
