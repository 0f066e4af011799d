package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestAPIKeys(t *testing.T) {
	t.Setenv("SEMROUTE_TEST_CLIENT_KEY", "client-secret")
	// sha256("admin-secret")
	h := start(t, "server:\n  api_keys:\n    - {name: app, env: SEMROUTE_TEST_CLIENT_KEY, scope: client}\n    - {name: ops, sha256: "+sha("admin-secret")+", scope: admin}\n")
	body := `{"input":"will it rain tomorrow"}`
	if code, _, b := h.do(t, "POST", "/v1/route", "", body); code != 401 || !strings.Contains(errorOf(t, b), "API key") {
		t.Errorf("no key: %d", code)
	}
	if code, _, _ := h.do(t, "POST", "/v1/route", "wrong", body); code != 401 {
		t.Errorf("wrong key: %d", code)
	}
	if code, _, _ := h.do(t, "POST", "/v1/route", "client-secret", body); code != 200 {
		t.Errorf("client key: %d", code)
	}
	if code, _, _ := h.do(t, "GET", "/v1/intents", "client-secret", ""); code != 403 {
		t.Errorf("client key on the intents API: %d, want 403", code)
	}
	cc := h.client("client-secret")
	if _, err := cc.Models.List(context.Background()); err != nil {
		t.Errorf("models with the client key: %v", err)
	}
	if code, _, _ := h.do(t, "GET", "/healthz", "", ""); code != 200 {
		t.Errorf("healthz needs no key: %d", code)
	}
}

func adminHarness(t *testing.T) *harness {
	// sha256 of "admin-secret"
	return start(t, "server:\n  api_keys:\n    - {name: ops, sha256: "+sha("admin-secret")+", scope: admin}\n")
}

func TestIntentsAPI(t *testing.T) {
	h := adminHarness(t)
	const key = "admin-secret"
	route := func(srv *httptest.Server, text string) string { return routedIntent(t, srv.URL, key, text) }
	const prompt = "please update my billing address on the invoice"
	code, _, body := h.do(t, "POST", "/v1/intents", key, `{"name":"billing","target":{"model":"fast"},"utterances":["change my billing address","update the address on my invoice","my invoice shows the wrong address"]}`)
	if code != 201 {
		t.Fatalf("create: %d %v", code, body)
	}
	if got := route(h.http, prompt); got != "billing" {
		t.Errorf("after create, %q routes to %s", prompt, got)
	}
	if code, _, _ := h.do(t, "POST", "/v1/intents", key, `{"name":"billing","target":{"model":"fast"},"utterances":["x y"]}`); code != 409 {
		t.Errorf("create twice: %d, want 409", code)
	}
	if code, _, body := h.do(t, "POST", "/v1/intents/billing/utterances", key, `{"utterances":["bill me at my new address"]}`); code != 200 {
		t.Errorf("add utterances: %d %v", code, body)
	}
	code, _, body = h.do(t, "GET", "/v1/intents/billing", key, "")
	if us, _ := body["utterances"].([]any); code != 200 || len(us) != 4 {
		t.Errorf("get: %d %v", code, body)
	}
	// A change that would leave the intents invalid changes nothing.
	if code, _, body := h.do(t, "PUT", "/v1/intents/billing", key, `{"target":{"model":"nope"},"utterances":["x"]}`); code != 400 || !strings.Contains(errorOf(t, body), "nope") {
		t.Errorf("invalid replace: %d %v", code, body)
	}
	if code, _, body := h.do(t, "DELETE", "/v1/intents/billing/utterances", key, `{"utterances":["never said"]}`); code != 404 {
		t.Errorf("remove a missing utterance: %d %v", code, body)
	}

	// The change survives a restart: a new server on the same data.
	h.http.Close()
	_, again := h.open(t)
	if got := route(again, prompt); got != "billing" {
		t.Errorf("after a restart, %q routes to %s", prompt, got)
	}
	if code, _, _ := h.do2(t, again, "DELETE", "/v1/intents/billing", key); code != 200 {
		t.Errorf("delete: %d", code)
	}
	if got := route(again, prompt); got == "billing" {
		t.Errorf("after delete, %q still routes to billing", prompt)
	}
	if code, _, _ := h.do2(t, again, "GET", "/v1/intents/billing", key); code != 404 {
		t.Errorf("get after delete: %d", code)
	}
}

func (h *harness) do2(t *testing.T, srv *httptest.Server, method, path, key string) (int, http.Header, map[string]any) {
	saved := h.http
	h.http = srv
	defer func() { h.http = saved }()
	return h.do(t, method, path, key, "")
}

func quote(s string) string { b, _ := json.Marshal(s); return string(b) }

// routedIntent asks the server at base to route text and returns the
// intent, or "oos".
func routedIntent(t *testing.T, base, key, text string) string {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/v1/route", strings.NewReader(`{"input":`+quote(text)+`}`))
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var d struct{ Intent *string }
	json.NewDecoder(resp.Body).Decode(&d)
	if d.Intent == nil {
		return "oos"
	}
	return *d.Intent
}
