package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
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
		`{"model":"a","model":"b", "messages" : [ {"ROLE":"user","Content":"x","role":"system"} , null ] }`,
		`{"m\u006fdel":"a","messages":[{"r\u006fle":"user","content":"x"}]}`,
		`{"model":"a","messages":[{"role":"us\u00e9r","content":"x"},{"role":null,"content":1}]}`,
		`{"model":"a","mod\u00e9l":1,"messages":[{"role":"user","content":[{"type":"text","text":"a\"]}"}]}]}`,
		`{"model":"a","messages":[{"role":"user","content":"x"}],"x":{"y":[1,{"z":"]}"}]},"n":-1.5e3,"t":true}`,
		`{"model":"a","messages":[{"role":1,"content":"x"}]}`, `{"model":"a","messages":["x"]}`, `{"model":"a","messages":{}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := decodeChat(body)
		// The same outcome as decoding with encoding/json alone.
		want, werr := decodeChatStd(body)
		if (err == nil) != (werr == nil) || err != nil && err.Error() != werr.Error() {
			t.Fatalf("error %v; with encoding/json alone %v", err, werr)
		}
		if err == nil && !sameRequest(req, want) {
			t.Fatalf("decoded %+v; with encoding/json alone %+v", req, want)
		}
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

// decodeChatStd is decodeChat with encoding/json alone, as it was before the
// members were sliced out by hand: the oracle FuzzDecodeChat holds it to.
func decodeChatStd(body []byte) (*chatRequest, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, bad("", "the request body is empty; send a JSON object with model and messages")
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return nil, bad("", "the request body is not a JSON object: %v", err)
	}
	req := &chatRequest{Request: upstream.Request{Body: fields, Raw: body}}
	raw, ok := fields["model"]
	if !ok {
		return nil, bad("model", "missing model; use \"auto\" to route by meaning")
	}
	if err := json.Unmarshal(raw, &req.Model); err != nil {
		req.Model = ""
	}
	if strings.TrimSpace(req.Model) == "" {
		return nil, bad("model", "model must be a non-empty string")
	}
	if raw, ok := fields["stream"]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &req.Stream); err != nil {
			return nil, bad("stream", "stream must be true or false")
		}
	}
	raw, ok = fields["messages"]
	if !ok {
		return nil, bad("messages", "missing messages")
	}
	var msgs []message
	if err := json.Unmarshal(raw, &msgs); err != nil {
		return nil, bad("messages", "messages must be an array of {role, content} objects")
	}
	if len(msgs) == 0 {
		return nil, bad("messages", "messages is empty")
	}
	for i, m := range msgs {
		if m.Role == nil || *m.Role == "" {
			return nil, bad(fmt.Sprintf("messages[%d].role", i), "missing role")
		}
		text, err := contentText(m.Content)
		if err != nil {
			return nil, bad(fmt.Sprintf("messages[%d].content", i), "%v", err)
		}
		req.Messages = append(req.Messages, upstream.Message{Role: *m.Role, Content: text})
	}
	return req, nil
}

func sameRequest(a, b *chatRequest) bool {
	if a.Model != b.Model || a.Stream != b.Stream || !slices.Equal(a.Messages, b.Messages) || len(a.Body) != len(b.Body) {
		return false
	}
	for k, v := range a.Body {
		if w, ok := b.Body[k]; !ok || !bytes.Equal(v, w) {
			return false
		}
	}
	return true
}

// BenchmarkDecodeChat decodes a typical two-turn request, sliced by hand
// and with encoding/json alone.
func BenchmarkDecodeChat(b *testing.B) {
	body := []byte(`{"model":"auto","temperature":0,"messages":[{"role":"system","content":"You are a helpful assistant for an online shop."},{"role":"user","content":"where is my order, it was due yesterday please"}],"user":"u-1234"}`)
	for _, v := range []struct {
		name   string
		decode func([]byte) (*chatRequest, error)
	}{{"sliced", decodeChat}, {"encoding-json", decodeChatStd}} {
		b.Run(v.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.decode(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
