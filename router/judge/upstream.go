package judge

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/semroute/semroute/internal/completion"

	"github.com/semroute/semroute/router/upstream"
)

// maxTokens bounds the judge's answer: {"intent": NAME} is short; a model
// that rambles instead is cut, and its answer does not count.
const maxTokens = "100"

// Call sends the judge's messages to model through pool (temperature 0,
// at most 100 tokens) and returns the call's result. The gateway books its
// cost; when ctx ends first the error wraps ctx's.
func Call(ctx context.Context, pool *upstream.Pool, model string, msgs []Message) (upstream.Result, error) {
	raw, err := json.Marshal(msgs)
	if err != nil {
		return upstream.Result{}, err
	}
	um := make([]upstream.Message, len(msgs))
	for i, m := range msgs {
		um[i] = upstream.Message{Role: m.Role, Content: m.Content}
	}
	res, err := pool.Call(ctx, []string{model}, &upstream.Request{Body: map[string]json.RawMessage{
		"messages": raw, "temperature": json.RawMessage("0"), "max_tokens": json.RawMessage(maxTokens)}, Messages: um}, nil)
	if err != nil && ctx.Err() != nil {
		return res, fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return res, err
}

// Upstream is a Completer that calls model through pool, as `semroute
// route` and the eval harness do; the service adds budgets and the spend
// ledger around Call instead.
func Upstream(pool *upstream.Pool, model string) Completer {
	return CompleterFunc(func(ctx context.Context, msgs []Message) (Completion, error) {
		res, err := Call(ctx, pool, model, msgs)
		if err != nil {
			return Completion{}, err
		}
		return Completion{Text: answerText(res.Body), Model: res.Model, Cost: res.Cost}, nil
	})
}

// answerText is a chat.completion's first message ("" when it has none).
func answerText(body []byte) string {
	text, _ := completion.Text(body)
	return text
}
