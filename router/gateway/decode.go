package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/semroute/semroute/router/upstream"
)

// chatRequest is a decoded /v1/chat/completions body.
type chatRequest struct {
	Model string
	upstream.Request
}

// requestError is a problem with a request body, answered with 400 (or
// 413 when too large).
type requestError struct {
	status int
	param  string
	msg    string
}

func (e *requestError) Error() string { return e.msg }

func bad(param, format string, args ...any) *requestError {
	return &requestError{status: http.StatusBadRequest, param: param, msg: fmt.Sprintf(format, args...)}
}

// readBody reads a request body, reporting one over the limit as 413.
func readBody(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(r)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, &requestError{status: http.StatusRequestEntityTooLarge, msg: fmt.Sprintf("the request body is larger than %d bytes", mbe.Limit)}
	}
	if err != nil {
		return nil, bad("", "reading the request body: %v", err)
	}
	return b, nil
}

// decodeChat checks a chat completion body and keeps every field as sent.
func decodeChat(body []byte) (*chatRequest, error) {
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
	var msgs []struct {
		Role    *string         `json:"role"`
		Content json.RawMessage `json:"content"`
	}
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
