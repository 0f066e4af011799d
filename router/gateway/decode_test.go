package gateway

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/semroute/semroute/router/upstream"
)

func FuzzDecodeChat(f *testing.F) {
	for _, s := range []string{
		`{"model":"auto","messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"auto","stream":true,"messages":[{"role":"system","content":"x"},{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"u"}}]}],"seed":1}`,
		`{"model":"","messages":[]}`, `{"model":1}`, `[]`, `null`, ``, `{"model":"a","messages":[{"role":"assistant","content":null,"tool_calls":[]}]}`,
		`{"model":"a","messages":[{"role":"user","content":"\u0000\ud800"}],"stream":"yes"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := decodeChat(body)
		if err != nil {
			var re *requestError
			if !errors.As(err, &re) || re.status != 400 || re.msg == "" {
				t.Fatalf("error %v is not a 400 with a message", err)
			}
			return
		}
		if req.Model == "" || len(req.Messages) == 0 {
			t.Fatalf("accepted %q without a model or messages", body)
		}
		// Every field goes upstream as sent, the model replaced.
		out, err := json.Marshal(req.Body)
		if err != nil {
			t.Fatal(err)
		}
		var back map[string]json.RawMessage
		if err := json.Unmarshal(out, &back); err != nil || len(back) != len(req.Body) {
			t.Fatalf("body does not round-trip: %v", err)
		}
		if routingText(req.Messages, 3) == "" && hasUserText(req.Messages) {
			t.Fatalf("user text found but nothing to route on")
		}
	})
}

func hasUserText(ms []upstream.Message) bool {
	for _, m := range ms {
		if m.Role == "user" && strings.TrimSpace(m.Content) != "" {
			return true
		}
	}
	return false
}

// FuzzPlainString: where the fast path reads a JSON string, it reads what
// json.Unmarshal reads.
func FuzzPlainString(f *testing.F) {
	for _, s := range []string{`"auto"`, `"a\"b"`, `"é"`, `""`, `"x`, `1`, "\"tab\there\""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !json.Valid(raw) {
			return // decodeChat only hands it decoded values
		}
		got, ok := plainString(raw)
		if !ok {
			return
		}
		var want string
		if err := json.Unmarshal(raw, &want); err != nil || got != want {
			t.Fatalf("plainString(%q) = %q; json.Unmarshal gives %q, %v", raw, got, want, err)
		}
	})
}
