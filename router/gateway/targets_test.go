package gateway

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFlaggedIntentGoesToAnyFallback: an intent whose target is the
// moderation action flag or redact sends the prompt on to the fallback,
// whatever its kind; a fallback that is a handoff queue, a RAG collection
// or a cascade answered 501 before ("this build of semroute does not have
// it yet").
func TestFlaggedIntentGoesToAnyFallback(t *testing.T) {
	for _, tc := range []struct{ name, fallback, header, want string }{
		{"handoff", "{handoff: agents}", "X-Semroute-Ticket", "A person will follow up"},
		{"rag", "{rag: handbook}", "X-Semroute-Cost", "nothing relevant"},
		{"cascade", "{cascade: [fast, strong]}", "X-Semroute-Cascade", "answer from"},
		{"model", "{model: strong}", "X-Semroute-Model", "answer from strong"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &harness{dir: t.TempDir(), fast: newUpstream(t, "fast"), strong: newUpstream(t, "strong")}
			intentsYAML := strings.Replace(intentsYAML, "fallback: {model: strong}", "fallback: "+tc.fallback, 1)
			intentsYAML = strings.Replace(intentsYAML, "target: {moderation: block}", "target: {moderation: flag}", 1)
			cfg := fmt.Sprintf("version: 1\nindex: {kind: memory, data_dir: %q}\nmodels:\n  - {name: fast, base_url: %s/v1, model: small-1}\n  - {name: strong, base_url: %s/v1, model: large-1}\nhandoff: {message: \"A person will follow up: {ticket}\"}\n%s",
				filepath.Join(h.dir, "data"), h.fast.URL, h.strong.URL, intentsYAML)
			h.cfgPath = filepath.Join(h.dir, "config.yaml")
			os.WriteFile(h.cfgPath, []byte(cfg), 0o644)
			h.srv, h.http = h.open(t)
			code, hdr, out := h.do(t, "POST", "/v1/chat/completions", "", `{"model":"auto","messages":[{"role":"user","content":"I am going to attack you"}]}`)
			if code != 200 || hdr.Get("X-Semroute-Moderation") != "threats;action=flag" || hdr.Get(tc.header) == "" {
				t.Fatalf("%d %v %v", code, hdr, out)
			}
			choices, _ := out["choices"].([]any)
			if len(choices) == 0 || !strings.Contains(fmt.Sprint(choices[0]), tc.want) {
				t.Errorf("answer %v, want %q", out, tc.want)
			}
		})
	}
}

// TestChatHeaders: the headers README.md's table gives a chat completion:
// a fallback's intent is "oos"; a stream relayed from an upstream has the
// decision and the model in its headers and its cost in a trailer.
func TestChatHeaders(t *testing.T) {
	h := start(t, "")
	code, hdr, out := h.do(t, "POST", "/v1/chat/completions", "", `{"model":"auto","messages":[{"role":"user","content":"what is the capital of mongolia"}]}`)
	if code != 200 || hdr.Get("X-Semroute-Intent") != "oos" || hdr.Get("X-Semroute-Target") != "model:strong" ||
		hdr.Get("X-Semroute-Model") != "strong" || hdr.Get("X-Semroute-Attempts") != "1" || hdr.Get("X-Semroute-Cost") == "" || hdr.Get("X-Semroute-Score") == "" {
		t.Errorf("a fallback: %d %v %v", code, hdr, out)
	}
	resp, err := http.Post(h.http.URL+"/v1/chat/completions", "application/json", strings.NewReader(`{"model":"auto","stream":true,"messages":[{"role":"user","content":"play some jazz"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(resp.Body)
	resp.Body.Close()
	if hd := resp.Header; hd.Get("X-Semroute-Intent") != "music" || hd.Get("X-Semroute-Score") == "" || hd.Get("X-Semroute-Target") != "model:strong" ||
		hd.Get("X-Semroute-Model") != "strong" || hd.Get("X-Semroute-Cost") != "" {
		t.Errorf("a stream's headers: %v", hd)
	}
	if _, ok := resp.Trailer["X-Semroute-Cost"]; !ok {
		t.Errorf("a stream's trailers: %v", resp.Trailer)
	}
}
