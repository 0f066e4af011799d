package upstream

import (
	"bytes"
	"encoding/json"
)

// An answer's token usage is what its upstream reported. A stream to an
// OpenAI-compatible upstream always asks for it (stream_options.
// include_usage), and the usage chunk reaches the client only if the
// client asked too. An upstream that reports none (or a stream cut short
// before its usage chunk) is booked on an estimate, Usage.Estimated:
//
//   - prompt: for each message, its text's UTF-8 bytes / 4, rounded up,
//     plus 4 for the message's framing;
//   - completion: the answer's text's UTF-8 bytes / 4, rounded up, where
//     the text is every string value of a content, reasoning_content,
//     refusal or arguments (tool call) key, as escaped JSON.
//
// Four bytes a token is OpenAI's rule of thumb for English; text in other
// scripts takes 2 to 3 bytes a character in UTF-8 and about one token, so
// the estimate errs low there by up to a third.

// bytesPerToken is the estimate's rate.
const bytesPerToken = 4

// messageOverhead is the estimate's tokens for a message's framing (role,
// separators).
const messageOverhead = 4

func tokensOf(n int) int { return (n + bytesPerToken - 1) / bytesPerToken }

// estimate is the usage of an answer whose upstream reported none: the
// prompt's from req, the completion's from textBytes of answer text.
func estimate(req *Request, textBytes int) Usage {
	return Usage{PromptTokens: PromptTokens(req.Messages), CompletionTokens: tokensOf(textBytes), Estimated: true}
}

// PromptTokens is the estimate's prompt tokens for msgs (see above); the
// gateway's per-request cost limits estimate a prompt with it too.
func PromptTokens(msgs []Message) int {
	n := 0
	for _, m := range msgs {
		n += tokensOf(len(m.Content)) + messageOverhead
	}
	return n
}

// textKeys are the keys whose string values are an answer's text, in a
// chat.completion or a chunk of one.
var textKeys = [][]byte{[]byte(`"content"`), []byte(`"reasoning_content"`), []byte(`"refusal"`), []byte(`"arguments"`)}

// textBytes is the length of the string values of textKeys in b, as
// escaped JSON. A key inside a string cannot match: its quotes would be
// escaped.
func textBytes(b []byte) int {
	n := 0
	for _, key := range textKeys {
		for rest := b; ; {
			i := bytes.Index(rest, key)
			if i < 0 {
				break
			}
			rest = skipSpace(rest[i+len(key):])
			if len(rest) == 0 || rest[0] != ':' {
				continue
			}
			rest = skipSpace(rest[1:])
			if len(rest) == 0 || rest[0] != '"' {
				continue
			}
			end := stringEnd(rest)
			if end < 0 {
				break
			}
			n += end - 2 // without the quotes
			rest = rest[end:]
		}
	}
	return n
}

func skipSpace(b []byte) []byte { return bytes.TrimLeft(b, " \t\r\n") }

// stringEnd is the length of the JSON string b starts with, its quotes
// included, or -1 when it does not end in b.
func stringEnd(b []byte) int {
	for i := 1; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
}

// clientWantsUsage reports whether the client's own body asks for a
// stream's usage chunk.
func (r *Request) clientWantsUsage() bool {
	raw, ok := r.Body["stream_options"]
	if !ok {
		return false
	}
	var o struct {
		IncludeUsage bool `json:"include_usage"`
	}
	return json.Unmarshal(raw, &o) == nil && o.IncludeUsage
}

// includeUsage is what a stream's body gets so that the upstream reports
// its usage.
var includeUsage = []byte(`"stream_options":{"include_usage":true}`)

// streamBody is the body of a stream to an OpenAI-compatible upstream,
// model replaced, that asks for the usage chunk: include_usage merged into
// the client's stream_options (a stream_options that is not an object is
// left for the upstream to refuse). asked reports whether it was added.
func streamBody(req *Request, model string) (body []byte, added bool, err error) {
	body, err = upstreamBody(req, model)
	if err != nil || req.clientWantsUsage() {
		return body, false, err
	}
	raw, ok := req.Body["stream_options"]
	if !ok {
		// The key spliced in after the body's opening brace; the body
		// holds model at least, so a comma follows.
		i := bytes.IndexByte(body, '{')
		if i < 0 {
			return body, false, nil
		}
		out := make([]byte, 0, len(body)+len(includeUsage)+1)
		out = append(append(append(out, body[:i+1]...), includeUsage...), ',')
		return append(out, body[i+1:]...), true, nil
	}
	opts := map[string]json.RawMessage{}
	if string(bytes.TrimSpace(raw)) != "null" && json.Unmarshal(raw, &opts) != nil {
		return body, false, nil
	}
	opts["include_usage"] = json.RawMessage("true")
	merged, err := json.Marshal(opts)
	if err != nil {
		return nil, false, err
	}
	name, err := json.Marshal(model)
	if err != nil {
		return nil, false, err
	}
	fields := make(map[string]json.RawMessage, len(req.Body)+1)
	for k, v := range req.Body {
		fields[k] = v
	}
	fields["model"], fields["stream_options"] = name, merged
	body, err = json.Marshal(fields)
	return body, true, err
}
