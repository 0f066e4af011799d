package upstream

import (
	"context"
	"encoding/json"
	"fmt"
)

// Complete calls tier for a chat answer on body, a whole OpenAI-format
// request whose messages have text contents, and returns the response's
// body, the model that answered and the cost in USD. It is Call for the
// callers that keep to plain types: rag.Completer and expand.Completer are
// what it satisfies, so that rag and intents import nothing of router.
func (p *Pool) Complete(ctx context.Context, tier []string, body map[string]json.RawMessage) ([]byte, string, float64, error) {
	var msgs []Message
	if raw, ok := body["messages"]; ok {
		var list []struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		}
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, "", 0, fmt.Errorf("complete: read messages: %w", err)
		}
		msgs = make([]Message, len(list))
		for i, m := range list {
			msgs[i] = Message{Role: m.Role, Content: m.Content}
		}
	}
	res, err := p.Call(ctx, tier, &Request{Body: body, Messages: msgs}, nil)
	if err != nil {
		return nil, res.Model, 0, err
	}
	return res.Body, res.Model, res.Cost, nil
}
