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
		hc := &http.Client{Transport: l.pool.client.Transport}
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
	id := fmt.Sprintf("chatcmpl-semroute-%d", time.Now().UnixNano())
	created := time.Now().Unix()
	opts := options(req)
	var werr error // a failed write to the client
	if req.Stream {
		opts = append(opts, llms.WithStreamingFunc(func(ctx context.Context, chunk []byte) error {
			werr = s.Write(sseChunk(id, created, m.Model.Model, map[string]any{"content": string(chunk)}, nil, nil))
			return werr
		}))
	}
	resp, err := llm.GenerateContent(ctx, messages(req), opts...)
	if err != nil {
		if werr != nil {
			return nil, Usage{}, clientGone(werr)
		}
		if ctx.Err() != nil {
			return nil, Usage{}, classify(m.Name, d.BaseURL, ctx.Err())
		}
		return nil, Usage{}, &Error{Kind: KindProvider, Err: err}
	}
	if len(resp.Choices) == 0 {
		return nil, Usage{}, &Error{Kind: KindProvider, Err: fmt.Errorf("no choices in the answer")}
	}
	c := resp.Choices[0]
	u := usageOf(c.GenerationInfo)
	finish := finishReason(c.StopReason)
	if req.Stream {
		if !s.Started() && c.Content != "" { // the provider did not stream
			if err := s.Write(sseChunk(id, created, m.Model.Model, map[string]any{"role": "assistant", "content": c.Content}, nil, nil)); err != nil {
				return nil, u, clientGone(err)
			}
		}
		if err := s.Write(sseChunk(id, created, m.Model.Model, map[string]any{}, &finish, &u)); err != nil {
			return nil, u, clientGone(err)
		}
		if err := s.Write([]byte("data: [DONE]\n\n")); err != nil {
			return nil, u, clientGone(err)
		}
		return nil, u, nil
	}
	body, err := json.Marshal(map[string]any{
		"id": id, "object": "chat.completion", "created": created, "model": m.Model.Model,
		"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": c.Content}, "finish_reason": finish}},
		"usage":   map[string]int{"prompt_tokens": u.PromptTokens, "completion_tokens": u.CompletionTokens, "total_tokens": u.PromptTokens + u.CompletionTokens},
	})
	return body, u, err
}

func sseChunk(id string, created int64, model string, delta map[string]any, finish *string, u *Usage) []byte {
	chunk := map[string]any{"id": id, "object": "chat.completion.chunk", "created": created, "model": model,
		"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}}}
	if u != nil {
		chunk["usage"] = map[string]int{"prompt_tokens": u.PromptTokens, "completion_tokens": u.CompletionTokens, "total_tokens": u.PromptTokens + u.CompletionTokens}
	}
	b, _ := json.Marshal(chunk)
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
