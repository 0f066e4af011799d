package upstream

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/tmc/langchaingo/llms"
	"github.com/tmc/langchaingo/llms/anthropic"
	"github.com/tmc/langchaingo/llms/ollama"
)

// langchainProvider calls Anthropic and Ollama through langchaingo and
// answers in OpenAI's format.
type langchainProvider struct{ pool *Pool }

func (l langchainProvider) client(m *Model, d *Deployment) (llms.Model, error) {
	d.llmOnce.Do(func() {
		hc := &http.Client{Transport: outgoingTransport{l.pool.client.Transport}}
		switch m.Provider {
		case "anthropic":
			d.llm, d.llmErr = anthropic.New(anthropic.WithBaseURL(d.BaseURL), anthropic.WithToken(d.apiKey),
				anthropic.WithModel(m.Model.Model), anthropic.WithHTTPClient(hc))
		case "ollama":
			d.llm, d.llmErr = ollama.New(ollama.WithServerURL(d.BaseURL), ollama.WithModel(m.Model.Model), ollama.WithHTTPClient(hc))
		default:
			d.llmErr = fmt.Errorf("provider %q is not served through langchaingo", m.Provider)
		}
	})
	if d.llmErr != nil {
		return nil, d.llmErr
	}
	return d.llm.(llms.Model), nil
}

// options maps the OpenAI request fields langchaingo understands.
func options(req *Request) []llms.CallOption {
	var opts []llms.CallOption
	var f float64
	var n int
	var stop []string
	if v, ok := req.Body["temperature"]; ok && json.Unmarshal(v, &f) == nil {
		opts = append(opts, llms.WithTemperature(f))
	}
	if v, ok := req.Body["top_p"]; ok && json.Unmarshal(v, &f) == nil {
		opts = append(opts, llms.WithTopP(f))
	}
	for _, k := range []string{"max_completion_tokens", "max_tokens"} {
		if v, ok := req.Body[k]; ok && json.Unmarshal(v, &n) == nil {
			opts = append(opts, llms.WithMaxTokens(n))
			break
		}
	}
	if v, ok := req.Body["stop"]; ok && json.Unmarshal(v, &stop) == nil {
		opts = append(opts, llms.WithStopWords(stop))
	}
	return opts
}

func messages(req *Request) []llms.MessageContent {
	out := make([]llms.MessageContent, 0, len(req.Messages))
	for _, m := range req.Messages {
		role := llms.ChatMessageTypeHuman
		switch m.Role {
		case "system", "developer":
			role = llms.ChatMessageTypeSystem
		case "assistant":
			role = llms.ChatMessageTypeAI
		}
		out = append(out, llms.TextParts(role, m.Content))
	}
	return out
}

func (l langchainProvider) chat(ctx context.Context, m *Model, d *Deployment, req *Request, s Stream) ([]byte, Usage, error) {
	llm, err := l.client(m, d)
	if err != nil {
		return nil, Usage{}, &Error{Kind: KindUnconfigured, Err: err}
	}
	ctx, cancel := context.WithTimeout(ctx, time.Duration(m.TimeoutMS)*time.Millisecond)
	defer cancel()
	h := chunkHead{fmt.Sprintf("chatcmpl-semroute-%d", time.Now().UnixNano()), time.Now().Unix(), m.Model.Model}
	opts := options(req)
	var werr error // a failed write to the client
	streamed := 0  // bytes of answer text streamed
	if req.Stream {
		opts = append(opts, llms.WithStreamingFunc(func(ctx context.Context, chunk []byte) error {
			streamed += len(chunk)
			werr = s.Write(sseChunk(h, map[string]any{"content": string(chunk)}, nil))
			return werr
		}))
	}
	resp, err := llm.GenerateContent(ctx, messages(req), opts...)
	if err != nil {
		var u Usage
		if req.Stream && s.Started() { // what went out is booked on an estimate
			u = estimate(req, streamed)
		}
		if werr != nil {
			return nil, u, clientGone(werr)
		}
		if ctx.Err() != nil {
			return nil, u, classify(m.Name, d.BaseURL, ctx.Err())
		}
		return nil, u, &Error{Kind: KindProvider, Err: err}
	}
	return answer(req, s, h, resp, streamed)
}

// chunkHead is what every chunk of an answer repeats.
type chunkHead struct {
	id      string
	created int64
	model   string
}

// answer writes langchaingo's answer in OpenAI's format: a stream's last
// chunks (the usage chunk only if the client asked for it), or a
// chat.completion. Usage the provider did not report is estimated from
// the answer's text.
func answer(req *Request, s Stream, h chunkHead, resp *llms.ContentResponse, streamed int) ([]byte, Usage, error) {
	if len(resp.Choices) == 0 {
		return nil, Usage{}, &Error{Kind: KindProvider, Err: fmt.Errorf("no choices in the answer")}
	}
	c := resp.Choices[0]
	u := usageOf(c.GenerationInfo)
	if u == (Usage{}) {
		u = estimate(req, max(streamed, len(c.Content)))
	}
	finish := finishReason(c.StopReason)
	if req.Stream {
		chunks := [][]byte{sseChunk(h, map[string]any{}, &finish)}
		if !s.Started() && c.Content != "" { // the provider did not stream
			chunks = append([][]byte{sseChunk(h, map[string]any{"role": "assistant", "content": c.Content}, nil)}, chunks...)
		}
		if req.clientWantsUsage() {
			chunks = append(chunks, usageChunk(h, u))
		}
		for _, b := range append(chunks, []byte("data: [DONE]\n\n")) {
			if err := s.Write(b); err != nil {
				return nil, u, clientGone(err)
			}
		}
		return nil, u, nil
	}
	body, err := json.Marshal(map[string]any{
		"id": h.id, "object": "chat.completion", "created": h.created, "model": h.model,
		"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": c.Content}, "finish_reason": finish}},
		"usage":   usageJSON(u),
	})
	return body, u, err
}

func usageJSON(u Usage) map[string]int {
	return map[string]int{"prompt_tokens": u.PromptTokens, "completion_tokens": u.CompletionTokens, "total_tokens": u.PromptTokens + u.CompletionTokens}
}

func sseChunk(h chunkHead, delta map[string]any, finish *string) []byte {
	return sseData(map[string]any{"id": h.id, "object": "chat.completion.chunk", "created": h.created, "model": h.model,
		"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}}})
}

// usageChunk is OpenAI's last chunk of a stream with include_usage: no
// choices, the usage.
func usageChunk(h chunkHead, u Usage) []byte {
	return sseData(map[string]any{"id": h.id, "object": "chat.completion.chunk", "created": h.created, "model": h.model,
		"choices": []any{}, "usage": usageJSON(u)})
}

func sseData(v any) []byte {
	b, _ := json.Marshal(v)
	return append(append([]byte("data: "), b...), '\n', '\n')
}

// usageOf reads token counts from langchaingo's generation info (Anthropic
// says InputTokens/OutputTokens, Ollama PromptTokens/CompletionTokens).
func usageOf(info map[string]any) Usage {
	num := func(keys ...string) int {
		for _, k := range keys {
			switch v := info[k].(type) {
			case int:
				return v
			case int64:
				return int(v)
			case float64:
				return int(v)
			}
		}
		return 0
	}
	return Usage{PromptTokens: num("InputTokens", "PromptTokens"), CompletionTokens: num("OutputTokens", "CompletionTokens")}
}

func finishReason(stop string) string {
	switch stop {
	case "max_tokens", "length":
		return "length"
	default:
		return "stop"
	}
}
