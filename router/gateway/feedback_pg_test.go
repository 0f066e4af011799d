package gateway

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/semroute/semroute/internal/postgres"
	"github.com/semroute/semroute/router/feedback/feedbackpg"
)

// TestFeedbackReplicas: two servers on one PostgreSQL. A request routed
// by one takes feedback through the other, which lists it and applies the
// correction; the first then routes the prompt to the corrected intent.
func TestFeedbackReplicas(t *testing.T) {
	h := feedbackHarness(t, "feedback: {keep_prompts: true}\n") // for the config file and the fake upstreams
	cfg := pgConfig(t, h)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var urls []string
	for _, r := range pgReplicas(ctx, t, cfg, func(db *postgres.DB, o *Options) { o.Feedback = feedbackpg.New(db) }) {
		urls = append(urls, r.http.URL)
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
