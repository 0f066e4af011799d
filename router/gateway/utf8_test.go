package gateway

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// TestInvalidUTF8IsRefused: a body with a byte that is not UTF-8 gets 400,
// in OpenAI's format, naming the offset of the first bad byte, on every
// endpoint that takes a body; nothing reaches a model, an index or a log.
func TestInvalidUTF8IsRefused(t *testing.T) {
	h := adminHarness(t)
	const key = "admin-secret"
	for _, tc := range []struct{ method, path, body string }{
		{"POST", "/v1/chat/completions", `{"model":"auto","messages":[{"role":"user","content":"will it rain tomorrow BAD"}]}`},
		{"POST", "/v1/chat/completions", `{"model":"fast","messages":[{"role":"user","content":"hi"},{"role":"user","content":[{"type":"text","text":"BAD"}]}]}`},
		{"POST", "/v1/chat/completions", `{"model":"auto","messages":[{"role":"user","content":"hi"}],"user":"BAD"}`},
		{"POST", "/v1/route", `{"input":"will it rain BAD tomorrow"}`},
		{"POST", "/v1/intents", `{"name":"billing","target":{"model":"fast"},"utterances":["change my BAD address"]}`},
		{"PUT", "/v1/intents/music", `{"target":{"model":"fast"},"utterances":["play BAD"]}`},
		{"POST", "/v1/intents/music/utterances", `{"utterances":["BAD"]}`},
		{"DELETE", "/v1/intents/music/utterances", `{"utterances":["play some jazzBAD"]}`},
		{"POST", "/v1/rag/handbook/documents", `{"id":"d","text":"vacation BAD days"}`},
		{"POST", "/v1/rag/handbook/query", `{"query":"vacation BAD"}`},
		{"POST", "/v1/handoff/tickets/t-1/reply", `{"agent":"ana","text":"BAD"}`},
	} {
		for _, bad := range []string{"\xff", "\xc3(", "\xed\xa0\x80" /* a surrogate, encoded */, "\xe2\x82" /* cut short */} {
			body := strings.Replace(tc.body, "BAD", bad, 1)
			off := strings.Index(tc.body, "BAD")
			code, _, out := h.do(t, tc.method, tc.path, key, body)
			if code != 400 {
				t.Errorf("%s %s with %q: %d %v, want 400", tc.method, tc.path, bad, code, out)
				continue
			}
			msg := errorOf(t, out)
			if e := out["error"].(map[string]any); e["type"] != typeInvalid || e["code"] != "invalid_utf8" ||
				!strings.Contains(msg, fmt.Sprintf("offset %d ", off)) || !strings.Contains(msg, fmt.Sprintf("0x%02x", bad[0])) {
				t.Errorf("%s %s with %q: %v, want invalid_utf8 naming byte 0x%02x at offset %d", tc.method, tc.path, bad, e, bad[0], off)
			}
		}
	}
	if n := h.fast.hits.Load() + h.strong.hits.Load(); n != 0 {
		t.Errorf("the upstreams were called %d times", n)
	}
	if code, _, out := h.do(t, "GET", "/v1/intents/music", key, ""); code != 200 || len(out["utterances"].([]any)) != 5 {
		t.Errorf("the music intent changed: %d %v", code, out)
	}
}

// TestLoneSurrogateEscapes: "\udc00" and "\ud800" (surrogates without
// their pair) are valid JSON; they are accepted, read as U+FFFD for
// routing, and forwarded as the client wrote them.
func TestLoneSurrogateEscapes(t *testing.T) {
	h := start(t, "")
	body := `{"model":"auto","messages":[{"role":"user","content":"will it rain tomorrow \udc00\ud800"}]}`
	code, hdr, out := h.do(t, "POST", "/v1/chat/completions", "", body)
	if code != 200 || hdr.Get("X-Semroute-Intent") != "weather" {
		t.Fatalf("%d intent %q %v", code, hdr.Get("X-Semroute-Intent"), out)
	}
	h.fast.mu.Lock()
	msgs := string(h.fast.last["messages"])
	h.fast.mu.Unlock()
	if !strings.Contains(msgs, `\udc00\ud800`) {
		t.Errorf("the upstream got %s, not the escapes as sent", msgs)
	}
	if code, _, out := h.do(t, "POST", "/v1/route", "", `{"input":"\udc00"}`); code != 200 || out["fallback"] != true {
		t.Errorf("route a lone surrogate: %d %v", code, out)
	}
}

// TestEscapedSurrogatesPass: the check is on bytes; an escaped lone
// surrogate is valid JSON, which encoding/json reads as U+FFFD.
func TestEscapedSurrogatesPass(t *testing.T) {
	if err := checkUTF8([]byte(`{"a":"\udc00"}`)); err != nil {
		t.Errorf("an escaped lone surrogate is refused: %v", err)
	}
	var s string
	if err := json.Unmarshal([]byte(`"\udc00"`), &s); err != nil || s != "\uFFFD" {
		t.Errorf("encoding/json reads \\udc00 as %q, %v; the README says U+FFFD", s, err)
	}
}
