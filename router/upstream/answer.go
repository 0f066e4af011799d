package upstream

import "encoding/json"

// AnswerText is the first message of a chat.completion body, and whether
// the body had one. The routing judge, the cascade's verifier, utterance
// expansion and the handoff's streamed answer each read a model's answer
// this way.
func AnswerText(body []byte) (string, bool) {
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
