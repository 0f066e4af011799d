package gateway

import (
	"context"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/semroute/semroute/embed/local/localtest"
	"github.com/semroute/semroute/index/pgvector"
	"github.com/semroute/semroute/index/pgvector/pgtest"
	"github.com/semroute/semroute/intents/intentspg"
	"github.com/semroute/semroute/router/config"
	"github.com/semroute/semroute/router/feedback/feedbackpg"
)

// TestFeedbackReplicas: two servers on one PostgreSQL. A request routed
// by one takes feedback through the other, which lists it and applies the
// correction; the first then routes the prompt to the corrected intent.
func TestFeedbackReplicas(t *testing.T) {
	dsn, schema := pgtest.DSN(t), pgtest.Schema()
	h := feedbackHarness(t, "feedback: {keep_prompts: true}\n") // for the config file and the fake upstreams
	cfg, err := config.Load(h.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Index = config.IndexConfig{Kind: "pgvector", DSN: dsn, Schema: schema}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var urls []string
	for i := range 2 {
		var store *pgvector.Store
		if i == 0 {
			store = pgtest.Open(t, pgvector.Options{DSN: dsn, Schema: schema}) // drops the schema at the end
		} else if store, err = pgvector.Open(ctx, pgvector.Options{DSN: dsn, Schema: schema}); err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			defer store.Close()
		}
		srv := New(Options{LookupEnv: os.LookupEnv, Embedder: localtest.Open(t), Index: store,
			Intents: intentspg.New(store.DB()), Feedback: feedbackpg.New(store.DB())})
		if err := srv.Load(ctx, cfg); err != nil {
			t.Fatal(err)
		}
		srv.Watch(ctx)
		defer srv.closeFeedback()
		hs := httptest.NewServer(srv.Handler())
		defer hs.Close()
		urls = append(urls, hs.URL)
	}
	const prompt = "will it rain tomorrow in paris"
	id, before := chatID(t, urls[0], clientKey, prompt)
	if before != "weather" {
		t.Fatalf("before: %q routes to %q", prompt, before)
	}
	other := &harness{http: &httptest.Server{URL: urls[1]}}
	if code, _, body := other.do(t, "POST", "/v1/feedback", clientKey, `{"request_id":"`+id+`","intent":"music"}`); code != 201 {
		t.Fatalf("feedback on the other replica: %d %v", code, body)
	}
	first := &harness{http: &httptest.Server{URL: urls[0]}}
	code, _, body := first.do(t, "GET", "/v1/feedback?intent=music", adminKey, "")
	if data, _ := body["data"].([]any); code != 200 || len(data) != 1 {
		t.Fatalf("the first replica lists %d %v", code, body)
	}
	if code, _, body := other.do(t, "POST", "/v1/feedback/"+id+"/apply", adminKey, ""); code != 200 || body["utterance"] != prompt {
		t.Fatalf("apply on the other replica: %d %v", code, body)
	}
	after := ""
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && after != "music"; time.Sleep(20 * time.Millisecond) {
		after = routedIntent(t, urls[0], clientKey, prompt)
	}
	if after != "music" {
		t.Errorf("after the correction on the other replica, %q routes to %q on the first, want music", prompt, after)
	}
}
