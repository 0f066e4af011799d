// Package completion reads a model's answer out of an OpenAI-format
// chat.completion body. Every caller of a model needs it: the routing
// judge, the cascade's verifier and the handoff's streamed answer in the
// router, RAG's answers and utterance expansion, which call their model
// through a small interface of their own and import no router package. It
// sits under internal/ because it belongs to none of those steps.
package completion

import "encoding/json"

// Text is the first message of a chat.completion body, and whether the
// body had one.
func Text(body []byte) (string, bool) {
	var out struct {
		Choices []struct {
			Message struct {
				Content string `json:"content"`
			} `json:"message"`
		} `json:"choices"`
	}
	if json.Unmarshal(body, &out) != nil || len(out.Choices) == 0 {
		return "", false
	}
	return out.Choices[0].Message.Content, true
}
