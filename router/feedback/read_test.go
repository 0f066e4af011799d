package feedback_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/semroute/semroute/router/feedback"
)

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	l, err := feedback.Open(filepath.Join(dir, "feedback"), nil)
	if err != nil {
		t.Fatal(err)
	}
	fb := feedback.Feedback{RequestID: "req-1", At: time.Now().UTC(), Intent: "music", Route: feedback.Route{ID: "req-1", Prompt: "play it"}}
	if err := l.Add(context.Background(), fb); err != nil {
		t.Fatal(err)
	}
	// Read while the log is open, as beside a running server.
	for _, path := range []string{dir, filepath.Join(dir, "feedback", feedback.FeedbackFile)} {
		got, err := feedback.ReadFile(path)
		if err != nil || len(got) != 1 || got[0].Route.Prompt != "play it" {
			t.Errorf("%s: %+v %v", path, got, err)
		}
	}
	l.Close()
	api := filepath.Join(dir, "list.json")
	os.WriteFile(api, []byte(`{"object":"list","data":[{"request_id":"r","at":"2026-12-01T00:00:00Z","intent":"oos","route":{"request_id":"r","at":"2026-12-01T00:00:00Z","intent":"music","score":0.5,"decided_by":"embedding","target":"model:x","prompt":"hi"}}]}`), 0o644)
	if got, err := feedback.ReadFile(api); err != nil || len(got) != 1 || got[0].Intent != "oos" || got[0].Route.Prompt != "hi" {
		t.Errorf("a GET /v1/feedback answer: %+v %v", got, err)
	}
	for _, tc := range []struct{ body, says string }{
		{`{"object":"list","data":[}`, "byte 26"},
		{`{"data":[]}`, "not a GET /v1/feedback answer"},
		{"what is this", "not a feedback log"},
		{`{"text":"hi","label":"music"}`, "not a GET /v1/feedback answer"},
	} {
		bad := filepath.Join(dir, "bad.json")
		os.WriteFile(bad, []byte(tc.body+"\n"), 0o644)
		if _, err := feedback.ReadFile(bad); err == nil || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%q: %v, want an error saying %q", tc.body, err, tc.says)
		}
	}
	if _, err := feedback.ReadFile(filepath.Join(dir, "feedback", "..", "..")); err == nil || !strings.Contains(err.Error(), "holds no") {
		t.Errorf("a folder without feedback: %v", err)
	}
}
