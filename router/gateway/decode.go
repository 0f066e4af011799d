package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/semroute/semroute/intents"
	"github.com/semroute/semroute/router/upstream"
)

// chatRequest is a decoded /v1/chat/completions body.
type chatRequest struct {
	Model string
	upstream.Request
	limits *limits // the request's own (metadata or headers), see limits.go; nil: none
}

// readBody reads a request body, reporting one over the limit as 413 and
// one that is not UTF-8 as 400. Every body the service takes comes through
// here.
func readBody(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(r)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, &requestError{kind: kindTooLarge, code: "request_too_large",
			msg: fmt.Sprintf("the request body is larger than %d bytes", mbe.Limit)}
	}
	if err != nil {
		return nil, bad("", "reading the request body: %v", err)
	}
	if err := checkUTF8(b); err != nil {
		return nil, err
	}
	return b, nil
}

// checkUTF8 refuses a body that is not UTF-8, naming the offset of its
// first bad byte. JSON text is UTF-8 (RFC 8259 §8.1); encoding/json would
// quietly turn each bad byte into U+FFFD, and the service would route and
// forward a text the client never sent. utf8.Valid is one pass that takes
// ASCII eight bytes at a time, without allocating: 70 ns on a typical
// 214-byte request against 2.9 µs for decodeChat, 14 µs on 16 KiB of
// accented text against 267 µs (BenchmarkDecodeChat, check-only against
// sliced, the fastest of 8 runs); the offset is looked for only when it
// fails. Escapes are left alone: "\udc00", a lone surrogate, is valid JSON
// and encoding/json decodes it to U+FFFD; the bytes go upstream as the
// client sent them.
func checkUTF8(b []byte) error {
	if utf8.Valid(b) {
		return nil
	}
	off := intents.InvalidUTF8(b)
	return &requestError{kind: kindInvalid, code: "invalid_utf8",
		msg: fmt.Sprintf("the request body is not valid UTF-8: byte 0x%02x at offset %d (counting from 0) starts no valid UTF-8 character; send JSON in UTF-8", b[off], off)}
}

// decodeChat checks a chat completion body and keeps every field as sent.
func decodeChat(body []byte) (*chatRequest, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, bad("", "the request body is empty; send a JSON object with model and messages")
	}
	// One validating pass, then the members are sliced out of the body
	// without a decoder; json.Unmarshal, which scans twice and copies each
	// value, only where that walk declines (it also words the errors).
	valid := json.Valid(body)
	fields, ok := objectMembers(body, valid)
	if !ok {
		if err := json.Unmarshal(body, &fields); err != nil {
			return nil, bad("", "the request body is not a JSON object: %v", err)
		}
	}
	req := &chatRequest{Request: upstream.Request{Body: fields, Raw: body}}
	raw, ok := fields["model"]
	if !ok {
		return nil, bad("model", "missing model; use \"auto\" to route by meaning")
	}
	if m, ok := plainString(raw); ok {
		req.Model = m
	} else if err := json.Unmarshal(raw, &req.Model); err != nil {
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
	msgs, ok := messageMembers(raw, valid)
	if !ok {
		if err := json.Unmarshal(raw, &msgs); err != nil {
			return nil, bad("messages", "messages must be an array of {role, content} objects")
		}
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

// message is a chat message as the body has it.
type message struct {
	Role    *string         `json:"role"`
	Content json.RawMessage `json:"content"`
}

// objectMembers splits the JSON object b into its members, each value a
// slice of b. It declines (false) unless valid says b is valid JSON, b is
// an object and no key has an escape: json.Unmarshal's cases.
func objectMembers(b []byte, valid bool) (map[string]json.RawMessage, bool) {
	if !valid {
		return nil, false
	}
	i := skipSpace(b, 0)
	if i == len(b) || b[i] != '{' {
		return nil, false
	}
	fields := make(map[string]json.RawMessage, 8)
	ok := eachMember(b, i, func(key, value []byte) bool {
		fields[string(key)] = value
		return true
	})
	return fields, ok
}

// messageMembers reads the messages array raw (valid JSON when valid is
// set) as json.Unmarshal reads it into []message: keys matched without
// regard to case, the last one winning; a null element is a message
// without a role. It declines (false) where json.Unmarshal has work to do:
// not valid, not an array, an element neither object nor null, a role
// that is not a plain string, a key with an escape.
func messageMembers(raw []byte, valid bool) ([]message, bool) {
	if !valid || len(raw) == 0 || raw[0] != '[' {
		return nil, false
	}
	msgs := make([]message, 0, 4)
	i := skipSpace(raw, 1)
	for i < len(raw) && raw[i] != ']' {
		var m message
		switch raw[i] {
		case 'n': // null
		case '{':
			ok := eachMember(raw, i, func(key, value []byte) bool {
				switch {
				// key is ASCII (eachMember declines other keys), so
				// EqualFold folds it as encoding/json does.
				case bytes.EqualFold(key, []byte("role")):
					if string(value) == "null" {
						m.Role = nil
						return true
					}
					s, ok := plainString(value)
					m.Role = &s
					return ok
				case bytes.EqualFold(key, []byte("content")):
					m.Content = value
				}
				return true
			})
			if !ok {
				return nil, false
			}
		default:
			return nil, false
		}
		msgs = append(msgs, m)
		i = skipSpace(raw, skipValue(raw, i))
		if i < len(raw) && raw[i] == ',' {
			i = skipSpace(raw, i+1)
		}
	}
	return msgs, true
}

// eachMember calls fn with each key and value of
// the object at b[i], which is valid JSON, until fn returns false. A key
// has escapes or bytes past ASCII: false, for json.Unmarshal.
func eachMember(b []byte, i int, fn func(key, value []byte) bool) bool {
	i = skipSpace(b, i+1)
	for i < len(b) && b[i] == '"' {
		end := skipValue(b, i)
		key := b[i+1 : end-1]
		for _, c := range key {
			if c == '\\' || c >= 0x80 { // escapes, or UTF-8 json.Unmarshal would check
				return false
			}
		}
		i = skipSpace(b, end)
		i = skipSpace(b, i+1) // the colon
		end = skipValue(b, i)
		if !fn(key, b[i:end]) {
			return false
		}
		i = skipSpace(b, end)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
	return true
}

// skipValue returns the index just past the JSON value at b[i], in valid
// JSON.
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		for j := i + 1; j < len(b); j++ {
			switch b[j] {
			case '\\':
				j++
			case '"':
				return j + 1
			}
		}
		return len(b)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				j = skipValue(b, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return len(b)
	}
	j := i
	for j < len(b) && !isDelim(b[j]) {
		j++
	}
	return j
}

func isDelim(c byte) bool {
	return c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\n' || c == '\r'
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// plainString reads a JSON string without escapes, the common case, with
// no second pass of the JSON decoder; raw is already valid JSON (it came
// out of a decoded body). Any other value is for json.Unmarshal.
func plainString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	in := raw[1 : len(raw)-1]
	for _, c := range in {
		if c == '\\' || c == '"' || c < 0x20 || c >= 0x80 {
			return "", false // escapes, or UTF-8 to check: json.Unmarshal's work
		}
	}
	return string(in), true
}

// contentText reads a message's content: a string, an array of parts
// (whose text parts are joined), or null (e.g. an assistant's tool call).
func contentText(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	if s, ok := plainString(raw); ok {
		return s, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", errors.New("content must be a string or an array of content parts")
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Type == "text" {
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(p.Text)
		}
	}
	return b.String(), nil
}

// routingText is what a chat is routed on: its last n user turns.
func routingText(msgs []upstream.Message, n int) string {
	var turns []string
	for i := len(msgs) - 1; i >= 0 && len(turns) < n; i-- {
		if msgs[i].Role == "user" && strings.TrimSpace(msgs[i].Content) != "" {
			turns = append(turns, msgs[i].Content)
		}
	}
	for i, j := 0, len(turns)-1; i < j; i, j = i+1, j-1 {
		turns[i], turns[j] = turns[j], turns[i]
	}
	return strings.Join(turns, "\n")
}
