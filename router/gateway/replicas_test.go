package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/semroute/semroute/embed/local/localtest"
	"github.com/semroute/semroute/index/pgvector"
	"github.com/semroute/semroute/index/pgvector/pgtest"
	"github.com/semroute/semroute/intents/intentspg"
	"github.com/semroute/semroute/internal/postgres"
	"github.com/semroute/semroute/rag/ragpg"
	"github.com/semroute/semroute/router/config"
)

// TestReplicasShareIntents: two servers on one PostgreSQL. An intent made
// through one is routed by the other soon after, through LISTEN/NOTIFY.
func TestReplicasShareIntents(t *testing.T) {
	h := adminHarness(t) // for the config file and the fake upstreams
	cfg := pgConfig(t, h)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var urls []string
	for _, r := range pgReplicas(ctx, t, cfg, nil) {
		urls = append(urls, r.http.URL)
	}
	if resp, err := http.Get(urls[1] + "/readyz"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("readyz: %v %v", resp, err)
	} else {
		var body map[string]any
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if body["database"] != "ok" {
			t.Errorf("readyz should report the database: %v", body)
		}
	}
	route := func(base string) string {
		return routedIntent(t, base, "admin-secret", "please update my billing address on the invoice")
	}
	if route(urls[1]) == "billing" {
		t.Fatal("billing routes before it exists")
	}
	req, _ := http.NewRequest("POST", urls[0]+"/v1/intents", strings.NewReader(`{"name":"billing","target":{"model":"fast"},"utterances":["change my billing address","update the address on my invoice","my invoice shows the wrong address"]}`))
	req.Header.Set("Authorization", "Bearer admin-secret")
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("create on replica 1: %v %v", resp, err)
	}
	resp.Body.Close()
	var took time.Duration
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if route(urls[1]) == "billing" {
			took = time.Since(start)
			break
		}
	}
	if took == 0 {
		t.Fatal("replica 2 never routed to the intent made on replica 1")
	}
	t.Logf("replica 2 routed the new intent %v after replica 1 acknowledged it", took.Round(time.Millisecond))
	// A third replica started now begins with the stored intents.
	st3 := pgtest.Open(t, pgvector.Options{DSN: cfg.Index.DSN, Schema: cfg.Index.Schema})
	third := New(Options{LookupEnv: os.LookupEnv, Embedder: localtest.Open(t), Index: st3, Intents: intentspg.New(st3.DB())})
	if err := third.Load(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if names := third.st.Load().cfg.Intents; len(names) != len(cfg.Intents)+1 {
		t.Errorf("a new replica has %d intents, want %d", len(names), len(cfg.Intents)+1)
	}
}

// pgReplicas starts two servers on cfg (its index a pgvector one), each
// with its own connection to the one schema (the first drops it at the
// end), the intents kept there and the rag collections kept in step
// through it (as cmd wires them); more adds a replica's other stores.
// Each watches for the other's changes until ctx ends.
func pgReplicas(ctx context.Context, t *testing.T, cfg *config.Config, more func(*postgres.DB, *Options)) []*harness {
	t.Helper()
	opt := pgvector.Options{DSN: cfg.Index.DSN, Schema: cfg.Index.Schema}
	var out []*harness
	for i := range 2 {
		var store *pgvector.Store
		if i == 0 {
			store = pgtest.Open(t, opt) // drops the schema at the end
		} else {
			var err error
			if store, err = pgvector.Open(ctx, opt); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { store.Close() })
		}
		o := Options{LookupEnv: os.LookupEnv, Embedder: localtest.Open(t), Index: store, Intents: intentspg.New(store.DB()),
			RAGSync: ragpg.New(store.DB()), Logger: testLogger(t)}
		if more != nil {
			more(store.DB(), &o)
		}
		srv := New(o)
		if err := srv.Load(ctx, cfg); err != nil {
			t.Fatal(err)
		}
		srv.Watch(ctx)
		hs := httptest.NewServer(srv.Handler())
		t.Cleanup(hs.Close)
		t.Cleanup(srv.closeFeedback)
		out = append(out, &harness{srv: srv, http: hs})
	}
	return out
}

// pgConfig is h's config with the index on the test PostgreSQL (pgtest's
// DSN and schema), for servers that share it as replicas do.
func pgConfig(t *testing.T, h *harness) *config.Config {
	t.Helper()
	cfg, err := config.Load(h.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Index = config.IndexConfig{Kind: "pgvector", DSN: pgtest.DSN(t), Schema: pgtest.Schema()}
	return cfg
}
