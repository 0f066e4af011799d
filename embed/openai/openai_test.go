package openai

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeEmbeddings serves /v1/embeddings: each text's vector is [len(text), 1, 0].
// fail, when set, answers a request instead (return true when it did).
func fakeEmbeddings(t *testing.T, fail func(w http.ResponseWriter, n int64) bool) (*httptest.Server, *atomic.Int64) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		if r.URL.Path != "/v1/embeddings" || r.Method != http.MethodPost {
			http.NotFound(w, r)
			return
		}
		if got := r.Header.Get("Authorization"); got != "Bearer k" {
			http.Error(w, `{"error":{"message":"bad key"}}`, http.StatusUnauthorized)
			return
		}
		if fail != nil && fail(w, n) {
			return
		}
		var req request
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		type item struct {
			Index     int       `json:"index"`
			Embedding []float32 `json:"embedding"`
		}
		var out struct {
			Data []item `json:"data"`
		}
		for i := len(req.Input) - 1; i >= 0; i-- { // out of order on purpose
			out.Data = append(out.Data, item{i, []float32{float32(len(req.Input[i])), 1, 0}})
		}
		json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func newEmbedder(t *testing.T, url string, o Options) *Embedder {
	o.BaseURL, o.Model, o.APIKey = url+"/v1", "m", "k"
	e, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestBatchingAndOrder(t *testing.T) {
	srv, calls := fakeEmbeddings(t, nil)
	e := newEmbedder(t, srv.URL, Options{Batch: 2})
	texts := []string{"a", "bb", "ccc", "dddd", "eeeee"}
	vecs, err := e.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 3 {
		t.Errorf("%d requests for 5 texts in batches of 2, want 3", calls.Load())
	}
	for i, v := range vecs {
		if int(v[0]) != len(texts[i]) {
			t.Errorf("vector %d belongs to another text: %v", i, v)
		}
	}
	if fp := e.Fingerprint(); fp.Dim != 3 || fp.Kind != "openai" || fp.Model != "m" {
		t.Errorf("fingerprint %+v", fp)
	}
}

func TestRetries(t *testing.T) {
	tests := []struct {
		name      string
		fail      func(w http.ResponseWriter, n int64) bool
		wantErr   bool
		wantCalls int64
	}{
		{"5xx then success", func(w http.ResponseWriter, n int64) bool {
			if n <= 2 {
				http.Error(w, "overloaded", http.StatusBadGateway)
				return true
			}
			return false
		}, false, 3},
		{"429 with Retry-After then success", func(w http.ResponseWriter, n int64) bool {
			if n == 1 {
				w.Header().Set("Retry-After", "0")
				http.Error(w, "slow down", http.StatusTooManyRequests)
				return true
			}
			return false
		}, false, 2},
		{"400 is not retried", func(w http.ResponseWriter, n int64) bool {
			http.Error(w, `{"error":{"message":"input too long"}}`, http.StatusBadRequest)
			return true
		}, true, 1},
		{"always 500 gives up after retries", func(w http.ResponseWriter, n int64) bool {
			http.Error(w, "down", http.StatusInternalServerError)
			return true
		}, true, 3},
		{"wrong vector count", func(w http.ResponseWriter, n int64) bool {
			w.Write([]byte(`{"data":[]}`))
			return true
		}, true, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, calls := fakeEmbeddings(t, tc.fail)
			e := newEmbedder(t, srv.URL, Options{Retries: 2})
			_, err := e.Embed(context.Background(), []string{"x"})
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if err != nil && !errors.Is(err, ErrUpstream) {
				t.Errorf("err %v does not wrap ErrUpstream", err)
			}
			if calls.Load() != tc.wantCalls {
				t.Errorf("%d calls, want %d", calls.Load(), tc.wantCalls)
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	block := make(chan struct{})
	srv, _ := fakeEmbeddings(t, func(w http.ResponseWriter, n int64) bool {
		<-block
		return true
	})
	defer close(block)
	e := newEmbedder(t, srv.URL, Options{Timeout: 50 * time.Millisecond, Retries: 1})
	_, err := e.Embed(context.Background(), []string{"x"})
	if err == nil || !strings.Contains(err.Error(), "deadline") {
		t.Fatalf("err = %v, want a deadline error", err)
	}
}

func TestDimensionChange(t *testing.T) {
	srv, _ := fakeEmbeddings(t, nil)
	e := newEmbedder(t, srv.URL, Options{Dim: 5})
	if _, err := e.Embed(context.Background(), []string{"x"}); err == nil {
		t.Fatal("a 3-d answer to a 5-d embedder was accepted")
	}
}
