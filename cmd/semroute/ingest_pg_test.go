package main

import (
	"context"
	"fmt"
	"testing"

	"github.com/semroute/semroute/embed/local/localtest"
	"github.com/semroute/semroute/index/pgvector"
	"github.com/semroute/semroute/index/pgvector/pgtest"
	"github.com/semroute/semroute/rag"
	"github.com/semroute/semroute/rag/ragpg"
)

// TestIngestTellsReplicas: `semroute ingest` into a pgvector collection
// bumps its version, so a serving replica's copy (a collection opened
// before, with the coordinator the service wires) catches up on its next
// Sync, which stops at the version when nothing moved.
func TestIngestTellsReplicas(t *testing.T) {
	ctx := context.Background()
	st := pgtest.Open(t, pgvector.Options{}) // makes the schema, drops it at the end
	cfg := demoConfigWithIndex(t, fmt.Sprintf("index: {kind: pgvector, dsn: %q, schema: %s}", pgtest.DSN(t), st.DB().SchemaName()))

	serving, err := rag.Open(ctx, "products", rag.Options{Index: st, Embedder: localtest.Open(t), Coordinator: ragpg.New(st.DB())})
	if err != nil {
		t.Fatal(err)
	}
	if code, _, errs := semroute(t, "", "ingest", "--quiet", "--config", cfg, "--collection", "products", "../../datasets/demo/products"); code != 0 {
		t.Fatalf("ingest: exit %d: %s", code, errs)
	}
	if err := serving.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if serving.Documents() != 3 {
		t.Errorf("the serving copy has %d documents after the CLI's ingest and a Sync, want the 3 product pages", serving.Documents())
	}
}
