package upstream

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/semroute/semroute/internal/telemetry"
)

// Bounds on what is read from an upstream.
const (
	maxBody      = 32 << 20
	maxErrorBody = 64 << 10
)

// openaiProvider calls OpenAI-compatible /chat/completions endpoints.
type openaiProvider struct{ pool *Pool }

// upstreamBody is the client's body with the model replaced: the raw body
// with the model's value spliced in when the request kept it and the key
// occurs once, else the fields marshalled again.
func upstreamBody(req *Request, model string) ([]byte, error) {
	name, err := json.Marshal(model)
	if err != nil {
		return nil, err
	}
	if raw, old := req.Raw, req.Body["model"]; raw != nil && old != nil {
		key := []byte(`"model"`)
		if i := bytes.Index(raw, key); i >= 0 && bytes.Count(raw, key) == 1 {
			j := i + len(key)
			for j < len(raw) && (raw[j] == ' ' || raw[j] == ':' || raw[j] == '\t' || raw[j] == '\n' || raw[j] == '\r') {
				j++
			}
			if bytes.HasPrefix(raw[j:], old) {
				out := make([]byte, 0, len(raw)+len(name))
				out = append(append(append(out, raw[:j]...), name...), raw[j+len(old):]...)
				return out, nil
			}
		}
	}
	return marshalFields(req, name)
}

func marshalFields(req *Request, name []byte) ([]byte, error) {
	fields := make(map[string]json.RawMessage, len(req.Body)+1)
	for k, v := range req.Body {
		fields[k] = v
	}
	fields["model"] = name
	return json.Marshal(fields)
}

func (o openaiProvider) chat(ctx context.Context, m *Model, d *Deployment, req *Request, s Stream) ([]byte, Usage, error) {
	var body []byte
	var err error
	added := false // stream_options.include_usage, which the client did not send
	if req.Stream && !d.noStreamOptions.Load() {
		body, added, err = streamBody(req, m.Model.Model)
	} else {
		body, err = upstreamBody(req, m.Model.Model)
	}
	if err != nil {
		return nil, Usage{}, err
	}
	timeout := time.Duration(m.TimeoutMS) * time.Millisecond
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The timeout bounds the whole call, or, for a stream, the wait for its
	// first byte: a long answer may stream for longer.
	timer := time.AfterFunc(timeout, cancel)
	defer timer.Stop()
	status, header, rbody, err := o.send(ctx, d, body, req.Stream)
	if err == nil && added && status == http.StatusBadRequest {
		// An upstream that refuses stream_options (a server that refuses
		// fields it does not know) is asked again without it, now and from
		// then on; its streams' usage is estimated.
		eb, _ := io.ReadAll(io.LimitReader(rbody, maxErrorBody))
		rbody.Close()
		if !bytes.Contains(eb, []byte("stream_options")) {
			return nil, Usage{}, statusError(m.Name, d.BaseURL, status, header, eb)
		}
		d.noStreamOptions.Store(true)
		if body, err = upstreamBody(req, m.Model.Model); err != nil {
			return nil, Usage{}, err
		}
		status, header, rbody, err = o.send(ctx, d, body, req.Stream)
	}
	if err != nil {
		return nil, Usage{}, timeoutOr(timer, err)
	}
	defer rbody.Close()
	if status != http.StatusOK {
		eb, _ := io.ReadAll(io.LimitReader(rbody, maxErrorBody))
		return nil, Usage{}, statusError(m.Name, d.BaseURL, status, header, eb)
	}
	if !req.Stream {
		b, err := io.ReadAll(io.LimitReader(rbody, maxBody))
		if err != nil {
			return nil, Usage{}, timeoutOr(timer, err)
		}
		if !json.Valid(b) {
			return nil, Usage{}, &Error{Kind: KindServer, Status: status, Err: errors.New("the answer is not JSON")}
		}
		u, ok := findUsage(b)
		if !ok {
			u = estimate(req, textBytes(b))
		}
		return b, u, nil
	}
	rl := relay{s: s, keepUsage: req.clientWantsUsage()}
	err = rl.run(rbody, timer)
	if !rl.reported && s.Started() { // an answer, or part of one, went out
		rl.u = estimate(req, rl.text)
	}
	return nil, rl.u, err
}

// send posts body to d's chat completions and returns the answer's status,
// headers (for an error's Retry-After; nil for a 200 from the plain-HTTP
// client) and body: over the plain-HTTP client when d's base URL is
// http://, else over net/http.
func (o openaiProvider) send(ctx context.Context, d *Deployment, body []byte, stream bool) (int, http.Header, io.ReadCloser, error) {
	if d.h1 != nil {
		resp, err := o.pool.h1.post(ctx, d.h1, body, d.apiKey, stream)
		if err != nil {
			return 0, nil, nil, err
		}
		return resp.Status, resp.Header, resp.Body, nil
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(d.BaseURL, "/")+"/chat/completions", bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	hreq.Header.Set("Content-Type", "application/json")
	if d.apiKey != "" {
		hreq.Header.Set("Authorization", "Bearer "+d.apiKey)
	}
	if stream {
		hreq.Header.Set("Accept", "text/event-stream")
	}
	telemetry.OutgoingOf(ctx).Set(hreq.Header)
	resp, err := o.pool.client.Do(hreq)
	if err != nil {
		return 0, nil, nil, err
	}
	return resp.StatusCode, resp.Header, resp.Body, nil
}

// usageIn reads the usage object of an answer. It usually closes the body,
// so it is looked for from the end; a "usage" inside a message's text is
// escaped and cannot match the key.
func usageIn(b []byte) Usage {
	u, _ := findUsage(b)
	return u
}

// findUsage is usageIn that also reports whether b has a usage object.
func findUsage(b []byte) (Usage, bool) {
	var u Usage
	for end := len(b); end > 0; {
		i := bytes.LastIndex(b[:end], []byte(`"usage"`))
		if i < 0 {
			break
		}
		rest := bytes.TrimLeft(b[i+len(`"usage"`):], " \t\r\n")
		if len(rest) > 0 && rest[0] == ':' {
			rest = bytes.TrimLeft(rest[1:], " \t\r\n")
			if n := objectEnd(rest); n > 0 && json.Unmarshal(rest[:n], &u) == nil {
				return u, true
			}
		}
		end = i
	}
	return u, false
}

// objectEnd is the length of the JSON object b starts with, or 0 when b
// does not start with a complete one: braces are counted outside strings.
// (A json.Decoder did the same with two allocations and a copy.)
func objectEnd(b []byte) int {
	if len(b) == 0 || b[0] != '{' {
		return 0
	}
	depth, inString := 0, false
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case inString && c == '\\':
			i++ // skip the escaped byte
		case c == '"':
			inString = !inString
		case inString:
		case c == '{':
			depth++
		case c == '}':
			if depth--; depth == 0 {
				return i + 1
			}
		}
	}
	return 0
}

// timeoutOr reports a fired timer as a timeout.
func timeoutOr(timer *time.Timer, err error) error {
	if !timer.Stop() {
		return fmt.Errorf("%w: %v", context.DeadlineExceeded, err)
	}
	return err
}

// clientGone is a failed write to the caller's stream: the caller's side,
// not the deployment's.
func clientGone(err error) *Error {
	return &Error{Kind: KindCanceled, Err: fmt.Errorf("write the stream to the client: %w", err)}
}

// relay copies an OpenAI-format event stream to a client, event by event,
// and reads the usage from the last chunk that has one. A stream that ends
// without [DONE], or that carries an error event, is broken.
type relay struct {
	s Stream
	// keepUsage: the client asked for the usage chunk itself. If not, the
	// chunk (choices empty) is not sent on, nor the "usage":null that
	// other chunks then carry.
	keepUsage bool
	u         Usage
	reported  bool // u is the upstream's
	text      int  // bytes of answer text relayed, for an estimate
}

var (
	usageKey  = []byte(`"usage"`)
	usageNull = []byte(`,"usage":null`)
)

func (rl *relay) run(r io.Reader, timer *time.Timer) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var event bytes.Buffer
	first, drop := true, false
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			return &Error{Kind: KindStream, Err: fmt.Errorf("an event line is longer than %d bytes", br.Size())}
		}
		if len(line) > 0 {
			if first {
				timer.Stop() // the first byte is here: no more deadline
				first = false
			}
			trimmed := bytes.TrimRight(line, "\r\n")
			if data, ok := bytes.CutPrefix(trimmed, []byte("data:")); ok {
				data = bytes.TrimSpace(data)
				switch {
				case bytes.Equal(data, []byte("[DONE]")):
					event.Write(line)
					event.WriteString("\n")
					if err := rl.s.Write(event.Bytes()); err != nil {
						return clientGone(err)
					}
					return nil
				case bytes.Contains(data, []byte(`"error"`)):
					var e struct {
						Error json.RawMessage `json:"error"`
					}
					if json.Unmarshal(data, &e) == nil && len(e.Error) > 0 && string(e.Error) != "null" {
						event.Write(line)
						if err := rl.s.Write(append(event.Bytes(), '\n')); err != nil {
							return clientGone(err)
						}
						return &Error{Kind: KindStream, Err: errors.New("the upstream sent an error event mid-stream"), Body: e.Error}
					}
				case bytes.Contains(data, usageKey):
					line, drop = rl.usage(data, line, drop)
				}
				rl.text += textBytes(data)
			}
			if !drop {
				event.Write(line)
			}
			if len(trimmed) == 0 { // a blank line ends an event
				if !drop {
					if err := rl.s.Write(event.Bytes()); err != nil {
						return clientGone(err)
					}
				}
				event.Reset()
				drop = false
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = errors.New("the stream ended without [DONE]")
			}
			if first {
				return timeoutOr(timer, err)
			}
			return &Error{Kind: KindStream, Err: err}
		}
	}
}

// usage reads a chunk's usage. It returns the line to send on and whether
// the chunk's event is dropped: the usage chunk when the client did not ask
// for it; other chunks lose their "usage":null then.
func (rl *relay) usage(data, line []byte, drop bool) ([]byte, bool) {
	if u, ok := findUsage(data); ok {
		rl.u, rl.reported = u, true
		if !rl.keepUsage {
			var c struct {
				Choices []json.RawMessage `json:"choices"`
			}
			if json.Unmarshal(data, &c) == nil && len(c.Choices) == 0 {
				return line, true
			}
		}
		return line, drop
	}
	if !rl.keepUsage {
		if i := bytes.Index(line, usageNull); i >= 0 {
			line = append(line[:i:i], line[i+len(usageNull):]...)
		}
	}
	return line, drop
}
