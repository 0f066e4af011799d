package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/semroute/semroute/embed/local/localtest"
	"github.com/semroute/semroute/index/pgvector"
	"github.com/semroute/semroute/rag"
)

// ragReplicas starts two servers on one PostgreSQL schema, with the
// admin harness's config (the handbook collection, no model); seed is
// ingested into the collection before they start.
func ragReplicas(ctx context.Context, t *testing.T, seed []rag.Document) (a, b *harness) {
	t.Helper()
	h := adminHarness(t) // for the config file and the fake upstreams
	cfg := pgConfig(t, h)
	if len(seed) > 0 {
		st, err := pgvector.Open(ctx, pgvector.Options{DSN: cfg.Index.DSN, Schema: cfg.Index.Schema})
		if err != nil {
			t.Fatal(err)
		}
		c, err := rag.Open(ctx, "handbook", rag.Options{Index: st, Embedder: localtest.Open(t)})
		if err == nil {
			_, err = c.Ingest(ctx, seed)
		}
		st.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	rs := pgReplicas(ctx, t, cfg, nil)
	return rs[0], rs[1]
}

// handbookPassages asks r's handbook collection in mode and returns the
// passages' documents and texts, as "doc: text" lines.
func handbookPassages(t *testing.T, r *harness, mode, query string) string {
	t.Helper()
	code, _, body := r.do(t, "POST", "/v1/rag/handbook/query", "admin-secret", fmt.Sprintf(`{"query":%s,"k":10,"mode":%q}`, quote(query), mode))
	if code != 200 {
		t.Fatalf("%s query %q: %d %v", mode, query, code, body)
	}
	var lines []string
	ps, _ := body["passages"].([]any)
	for _, p := range ps {
		m := p.(map[string]any)
		lines = append(lines, fmt.Sprint(m["doc"], ": ", m["text"]))
	}
	return strings.Join(lines, "\n")
}

// eventually polls cond until it holds or a generous deadline passes, and
// returns how long it took; past the deadline it reports what did not
// happen and returns 0.
func eventually(t *testing.T, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for deadline := start.Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return time.Since(start)
		}
	}
	t.Errorf("%s: not within 15 s", what)
	return 0
}

var ragModes = []string{"bm25", "vector", "hybrid"}

// TestReplicasShareRAG: two servers on one PostgreSQL, both started on
// a collection holding two documents. What one ingests, replaces or
// deletes, the other finds, stops finding or cannot delete again soon
// after (LISTEN/NOTIFY and a Sync), by BM25, vector and hybrid search; a
// document one ingested the other deletes. Each step checks what a
// server that never catches up gets wrong.
func TestReplicasShareRAG(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var seed struct{ Documents []rag.Document }
	if err := json.Unmarshal([]byte(handbookDocs), &seed); err != nil {
		t.Fatal(err)
	}
	a, b := ragReplicas(ctx, t, seed.Documents)
	const key = "admin-secret"
	const vacation = "how many vacation days do I get"
	const laptop = "how do I lock my laptop screen"
	for _, mode := range ragModes {
		if got := handbookPassages(t, b, mode, vacation); !strings.Contains(got, "28 vacation days") {
			t.Fatalf("B, %s, before any change:\n%s", mode, got)
		}
	}

	// A ingests a document: B finds it.
	security := `{"id": "security", "title": "Security", "source": "handbook/security.md", "text": "Lock your laptop screen whenever you leave your desk: press the windows key and L."}`
	if code, _, body := a.do(t, "POST", "/v1/rag/handbook/documents", key, security); code != 200 || body["documents"] != float64(1) {
		t.Fatalf("ingest on A: %d %v", code, body)
	}
	if took := eventually(t, "B finds the document A ingested in every mode", func() bool {
		for _, mode := range ragModes {
			if !strings.Contains(handbookPassages(t, b, mode, laptop), "security: Lock your laptop screen") {
				return false
			}
		}
		return true
	}); took > 0 {
		t.Logf("B found the document A ingested %v after A acknowledged it", took.Round(time.Millisecond))
	}

	// A replaces a document: B returns the new version only.
	newLeave := `{"id": "leave", "title": "Leave policy", "source": "handbook/leave.md", "text": "# Vacation\n\nEvery employee gets 30 vacation days a year, plus public holidays."}`
	if code, _, body := a.do(t, "POST", "/v1/rag/handbook/documents", key, newLeave); code != 200 || body["documents"] != float64(1) {
		t.Fatalf("replace on A: %d %v", code, body)
	}
	eventually(t, "B returns only the new version of the document A replaced", func() bool {
		for _, mode := range ragModes {
			got := handbookPassages(t, b, mode, vacation)
			if !strings.Contains(got, "30 vacation days") || strings.Contains(got, "28 vacation days") || strings.Contains(got, "Parents get 16 weeks") {
				return false
			}
		}
		return true
	})

	// A deletes a document: B stops returning it and cannot delete it again.
	if code, _, body := a.do(t, "DELETE", "/v1/rag/handbook/documents/expenses", key, ""); code != 200 {
		t.Fatalf("delete on A: %d %v", code, body)
	}
	eventually(t, "B stops returning the document A deleted", func() bool {
		for _, mode := range ragModes {
			if strings.Contains(handbookPassages(t, b, mode, "are travel expenses reimbursed with receipts"), "expenses: ") {
				return false
			}
		}
		return true
	})
	if code, _, body := b.do(t, "DELETE", "/v1/rag/handbook/documents/expenses", key, ""); code != 404 {
		t.Errorf("B deleting the document A deleted: %d %v, want 404", code, body)
	}

	// B deletes the document A ingested.
	if code, _, body := b.do(t, "DELETE", "/v1/rag/handbook/documents/security", key, ""); code != 200 {
		t.Errorf("B deleting the document A ingested: %d %v", code, body)
	}
	eventually(t, "A stops returning the document B deleted", func() bool {
		for _, mode := range ragModes {
			if strings.Contains(handbookPassages(t, a, mode, laptop), "security: ") {
				return false
			}
		}
		return true
	})
	if code, _, body := a.do(t, "DELETE", "/v1/rag/handbook/documents/security", key, ""); code != 404 {
		t.Errorf("A deleting the document B deleted: %d %v, want 404", code, body)
	}
}

// TestReplicasIngestAtOnce: both servers ingest new versions of the same
// documents at once, round after round. The store ends consistent (every
// manifest entry has all its chunks, and no chunk is an orphan), and both
// servers answer from the store's versions alone.
func TestReplicasIngestAtOnce(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, b := ragReplicas(ctx, t, nil)
	const rounds = 6
	var wg sync.WaitGroup
	for i, r := range []*harness{a, b} {
		wg.Go(func() {
			for round := range rounds {
				var docs []string
				for d := range 3 {
					docs = append(docs, fmt.Sprintf(`{"id": "doc%d", "title": "Doc %d", "text": "Replica %d wrote this in round %d. The kettle boils water in %d minutes."}`, d, d, i, round, round+d))
				}
				body := `{"documents": [` + strings.Join(docs, ",") + `]}`
				if code, _, out := r.do(t, "POST", "/v1/rag/handbook/documents", "admin-secret", body); code != 200 {
					t.Errorf("replica %d, round %d: %d %v", i, round, code, out)
					return
				}
			}
		})
	}
	wg.Wait()
	idx := a.srv.opt.Index
	st, err := rag.Verify(ctx, idx, "handbook")
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Orphans)+len(st.Missing) > 0 {
		t.Errorf("orphan chunks %v; the manifest points to chunks not stored: %v", st.Orphans, st.Missing)
	}
	if st.Documents != 3 {
		t.Errorf("%d documents in the manifest, want 3", st.Documents)
	}
	live := st.Live
	// Both servers come to answer with the stored chunks, and all of them.
	for i, r := range []*harness{a, b} {
		eventually(t, fmt.Sprintf("replica %d answers from the store's versions", i), func() bool {
			code, _, body := r.do(t, "POST", "/v1/rag/handbook/query", "admin-secret", `{"query":"which replica wrote this round kettle","k":50,"mode":"bm25"}`)
			ps, _ := body["passages"].([]any)
			if code != 200 || len(ps) != len(live) {
				return false
			}
			for _, p := range ps {
				if !live[p.(map[string]any)["chunk_id"].(string)] {
					return false
				}
			}
			return true
		})
	}
}
