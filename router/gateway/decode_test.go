package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/semroute/semroute/intents"
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
		"{\"model\":\"a\",\"messages\":[{\"role\":\"user\",\"content\":\"caf\xc3\"}]}", "{\"model\":\"a\xff\"}", "\xef\xbb\xbf{}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		// readBody's check first: a body that is not UTF-8 is refused,
		// naming the first bad byte, before any decoding.
		if err := checkUTF8(body); err != nil {
			var re *requestError
			off := intents.InvalidUTF8(body)
			if utf8.Valid(body) || off < 0 || !utf8.Valid(body[:off]) || !errors.As(err, &re) || re.status() != 400 ||
				!strings.Contains(re.msg, fmt.Sprintf("offset %d ", off)) {
				t.Fatalf("checkUTF8(%q) = %v; first bad byte at %d", body, err, off)
			}
			if r, n := utf8.DecodeRune(body[off:]); r != utf8.RuneError || n != 1 {
				t.Fatalf("offset %d of %q starts a valid character", off, body)
			}
			return
		}
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
			if !errors.As(err, &re) || re.status() != 400 || re.msg == "" {
				t.Fatalf("error %v is not a 400 with a message", err)
			}
			return
		}
		if req.Model == "" || len(req.Messages) == 0 {
			t.Fatalf("accepted %q without a model or messages", body)
		}
		for _, m := range req.Messages {
			if !utf8.ValidString(m.Content) || !utf8.ValidString(m.Role) {
				t.Fatalf("a message of %q decoded to text that is not UTF-8: %q", body, m)
			}
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
// and with encoding/json alone, and checked as readBody checks every body
// (UTF-8) before the hand-sliced decoding: the check's cost is the
// difference between "checked+sliced" and "sliced" in one run, and
// "check-only" alone. "long" is a
// 16 KiB conversation with text past ASCII.
func BenchmarkDecodeChat(b *testing.B) {
	typical := []byte(`{"model":"auto","temperature":0,"messages":[{"role":"system","content":"You are a helpful assistant for an online shop."},{"role":"user","content":"where is my order, it was due yesterday please"}],"user":"u-1234"}`)
	var long bytes.Buffer
	long.WriteString(`{"model":"auto","messages":[`)
	for i := 0; long.Len() < 16<<10; i++ {
		fmt.Fprintf(&long, `{"role":"user","content":"Où est ma commande n° %d ? Elle devait arriver hier, merci de vérifier le suivi du colis."},`, i)
	}
	long.WriteString(`{"role":"user","content":"still waiting"}]}`)
	checked := func(body []byte) (*chatRequest, error) {
		if err := checkUTF8(body); err != nil {
			return nil, err
		}
		return decodeChat(body)
	}
	checkOnly := func(body []byte) (*chatRequest, error) { return nil, checkUTF8(body) }
	for _, size := range []struct {
		name string
		body []byte
	}{{"typical", typical}, {"long", long.Bytes()}} {
		for _, v := range []struct {
			name   string
			decode func([]byte) (*chatRequest, error)
		}{{"sliced", decodeChat}, {"checked+sliced", checked}, {"check-only", checkOnly}, {"encoding-json", decodeChatStd}} {
			b.Run(size.name+"/"+v.name, func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(size.body)))
				for b.Loop() {
					if _, err := v.decode(size.body); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
