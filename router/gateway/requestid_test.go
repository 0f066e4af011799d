package gateway

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRequestIDs: every answer carries X-Request-Id, the client's when it
// is safe, a new one otherwise; the spend booking and the handoff ticket
// carry the same id.
func TestRequestIDs(t *testing.T) {
	h := start(t, `handoff:
  webhooks: {}
server:
  api_keys:
    - {name: ops, sha256: `+sha("admin-secret")+`, scope: admin}
budgets:
  - {name: all, scope: global, window: daily, limit_usd: 100}
`)
	send := func(sentID, content string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", h.http.URL+"/v1/chat/completions",
			strings.NewReader(`{"model":"auto","messages":[{"role":"user","content":"`+content+`"}]}`))
		req.Header.Set("Authorization", "Bearer admin-secret")
		if sentID != "" {
			req.Header.Set("X-Request-Id", sentID)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp, resp.Header.Get("X-Request-Id")
	}

	resp, id := send("client-7f3a:retry.2", "will it rain tomorrow")
	if resp.StatusCode != 200 || id != "client-7f3a:retry.2" {
		t.Fatalf("status %d, id %q: want the client's id echoed", resp.StatusCode, id)
	}
	ledger, err := os.ReadFile(filepath.Join(h.dir, "data", "spend.log"))
	if err != nil || !strings.Contains(string(ledger), `"request_id":"client-7f3a:retry.2"`) {
		t.Errorf("the booking lacks the request id: %v\n%s", err, ledger)
	}

	seen := map[string]bool{}
	for _, bad := range []string{"", "has space", "new\\nline", strings.Repeat("x", 129), "<script>"} {
		_, id := send(bad, "will it rain tomorrow")
		if id == bad || !strings.HasPrefix(id, "req-") || seen[id] {
			t.Errorf("sent %q, got id %q: want a new, unique one", bad, id)
		}
		seen[id] = true
	}

	// Errors carry one too.
	code, hd, _ := h.do(t, "GET", "/v1/no-such-thing", "", "")
	if code != 404 || !strings.HasPrefix(hd.Get("X-Request-Id"), "req-") {
		t.Errorf("404 %d without a request id: %v", code, hd)
	}

	_, id = send("ticket-req-1", "I want to talk to a human")
	code, _, list := h.do(t, "GET", "/v1/handoff/tickets", "admin-secret", "")
	data, _ := list["data"].([]any)
	if code != 200 || len(data) != 1 {
		t.Fatalf("tickets: %d %v", code, list)
	}
	if d := data[0].(map[string]any)["decision"].(map[string]any); d["request_id"] != id {
		t.Errorf("ticket decision %v: want request_id %q", d, id)
	}
}
