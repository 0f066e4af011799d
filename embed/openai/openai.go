// Package openai is an embedder for any OpenAI-compatible /v1/embeddings
// endpoint (OpenAI, Ollama, TEI, vLLM, LiteLLM, …): batching, a timeout per
// request and bounded retries with backoff. It is an option for users who
// have such an endpoint; the embedded default needs none.
package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/semroute/semroute/embed"
)

// Options configure an Embedder.
type Options struct {
	BaseURL string // e.g. http://127.0.0.1:11434/v1 (without /embeddings)
	Model   string
	APIKey  string // sent as a Bearer token when set
	// Dim is the vectors' length; 0 means learn it from the first call.
	Dim     int
	Batch   int           // texts per request (default 64)
	Timeout time.Duration // per request (default 30 s)
	Retries int           // after the first try, on 429, 5xx and network errors (default 3)
	Client  *http.Client
}

// Embedder calls the endpoint. Safe for concurrent use.
type Embedder struct {
	opt Options
	url string
	mu  sync.Mutex
	dim int
}

var _ embed.Embedder = (*Embedder)(nil)

// ErrUpstream wraps every failure of the endpoint.
var ErrUpstream = errors.New("embedding endpoint failed")

// New checks the options; it makes no request.
func New(opt Options) (*Embedder, error) {
	if opt.BaseURL == "" || opt.Model == "" {
		return nil, errors.New("openai embedder: base_url and model are required")
	}
	if opt.Batch <= 0 {
		opt.Batch = 64
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 30 * time.Second
	}
	if opt.Retries <= 0 {
		opt.Retries = 3
	}
	if opt.Client == nil {
		opt.Client = &http.Client{}
	}
	return &Embedder{opt: opt, url: strings.TrimRight(opt.BaseURL, "/") + "/embeddings", dim: opt.Dim}, nil
}

// Probe embeds one word to learn the dimension (and that the endpoint works).
func (e *Embedder) Probe(ctx context.Context) error {
	_, err := e.Embed(ctx, []string{"hello"})
	return err
}

// Fingerprint names the endpoint's model and dimension.
func (e *Embedder) Fingerprint() embed.Fingerprint {
	e.mu.Lock()
	defer e.mu.Unlock()
	return embed.Fingerprint{Kind: "openai", Model: e.opt.Model, Dim: e.dim, Version: "1"}
}

// Embed sends the texts in batches, in order.
func (e *Embedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, 0, len(texts))
	for start := 0; start < len(texts); start += e.opt.Batch {
		batch := texts[start:min(start+e.opt.Batch, len(texts))]
		vecs, err := e.batch(ctx, batch)
		if err != nil {
			return nil, err
		}
		out = append(out, vecs...)
	}
	return out, nil
}

type request struct {
	Model string   `json:"model"`
	Input []string `json:"input"`
}

type response struct {
	Data []struct {
		Index     int       `json:"index"`
		Embedding []float32 `json:"embedding"`
	} `json:"data"`
}

func (e *Embedder) batch(ctx context.Context, texts []string) ([][]float32, error) {
	body, err := json.Marshal(request{Model: e.opt.Model, Input: texts})
	if err != nil {
		return nil, err
	}
	var last error
	for attempt := 0; attempt <= e.opt.Retries; attempt++ {
		if attempt > 0 {
			if err := sleep(ctx, backoff(attempt, last)); err != nil {
				return nil, fmt.Errorf("%w: %v (after %v)", ErrUpstream, err, last)
			}
		}
		vecs, retry, err := e.post(ctx, body, len(texts))
		if err == nil {
			return vecs, nil
		}
		last = err
		if !retry {
			break
		}
	}
	return nil, last
}

// retryAfter carries a server's Retry-After to the backoff.
type retryAfter struct {
	error
	wait time.Duration
}

func (e *Embedder) post(ctx context.Context, body []byte, n int) (vecs [][]float32, retry bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, e.opt.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(body))
	if err != nil {
		return nil, false, fmt.Errorf("%w: %v", ErrUpstream, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if e.opt.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+e.opt.APIKey)
	}
	resp, err := e.opt.Client.Do(req)
	if err != nil {
		return nil, ctx.Err() == nil || errors.Is(ctx.Err(), context.DeadlineExceeded), fmt.Errorf("%w: %s: %v", ErrUpstream, e.url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, true, fmt.Errorf("%w: %s: read body: %v", ErrUpstream, e.url, err)
	}
	if resp.StatusCode != http.StatusOK {
		err := fmt.Errorf("%w: %s answered %d: %s", ErrUpstream, e.url, resp.StatusCode, snippet(data))
		retry := resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500
		if s, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && s >= 0 {
			return nil, retry, retryAfter{err, time.Duration(s) * time.Second}
		}
		return nil, retry, err
	}
	vecs, err = e.decode(data, n)
	return vecs, false, err
}

func (e *Embedder) decode(data []byte, n int) ([][]float32, error) {
	var r response
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%w: %s: not an embeddings response: %v", ErrUpstream, e.url, err)
	}
	if len(r.Data) != n {
		return nil, fmt.Errorf("%w: %s returned %d vectors for %d texts", ErrUpstream, e.url, len(r.Data), n)
	}
	sort.Slice(r.Data, func(i, j int) bool { return r.Data[i].Index < r.Data[j].Index })
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([][]float32, n)
	for i, d := range r.Data {
		if d.Index != i {
			return nil, fmt.Errorf("%w: %s: vector indexes are not 0..%d", ErrUpstream, e.url, n-1)
		}
		if e.dim == 0 {
			e.dim = len(d.Embedding)
		}
		if len(d.Embedding) != e.dim || e.dim == 0 {
			return nil, fmt.Errorf("%w: %s returned a %d-d vector, expected %d", ErrUpstream, e.url, len(d.Embedding), e.dim)
		}
		out[i] = d.Embedding
	}
	return out, nil
}

// backoff waits 100 ms × 2^(attempt-1) with ±50 % jitter, or what the server
// asked for (at most 30 s).
func backoff(attempt int, last error) time.Duration {
	var ra retryAfter
	if errors.As(last, &ra) {
		return min(ra.wait, 30*time.Second)
	}
	d := 100 * time.Millisecond << (attempt - 1)
	return d/2 + time.Duration(rand.Int64N(int64(d)))
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
