package rag

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/semroute/semroute/internal/completion"
	"strings"
)

// Answer is a model's answer from retrieved passages.
type Answer struct {
	Text    string   `json:"answer"`
	Model   string   `json:"model,omitempty"`
	Sources []Source `json:"sources"`
	Cost    float64  `json:"cost_usd"`
}

// Source is a passage an answer may cite as [N].
type Source struct {
	N       int     `json:"n"`
	ChunkID string  `json:"chunk_id"`
	Doc     string  `json:"doc"`
	Title   string  `json:"title,omitempty"`
	Source  string  `json:"source,omitempty"`
	Score   float64 `json:"score"`
}

// SourcesOf numbers passages as an answer cites them.
func SourcesOf(ps []Passage) []Source {
	out := make([]Source, len(ps))
	for i, p := range ps {
		out[i] = Source{N: i + 1, ChunkID: p.ChunkID, Doc: p.Doc, Title: p.Title, Source: p.Source, Score: p.Score}
	}
	return out
}

const instructions = `Answer the question using only the numbered passages below. Cite the passages you use as [1], [2] after the sentences they support. If the passages do not contain the answer, say that you do not know; do not guess.`

// Message is one chat message of the prompt.
type Message struct {
	Role    string
	Content string
}

// Completer calls a model tier for a chat answer: the first model of tier
// that answers body, a whole OpenAI-format chat request whose messages have
// text contents. It returns the OpenAI-format response's body, the name of
// the model that answered and the cost in USD. *upstream.Pool is one
// (Pool.Complete): the interface sits here, at its consumer, so that rag
// imports nothing of router.
type Completer interface {
	Complete(ctx context.Context, tier []string, body map[string]json.RawMessage) (reply []byte, model string, cost float64, err error)
}

// Messages builds the prompt: the instructions and passages as the system
// message, the question as the user's.
func Messages(question string, ps []Passage) []Message {
	var b strings.Builder
	b.WriteString(instructions)
	b.WriteString("\n\n")
	for i, p := range ps {
		fmt.Fprintf(&b, "[%d] %s", i+1, p.Title)
		if p.Heading != "" {
			fmt.Fprintf(&b, " — %s", p.Heading)
		}
		fmt.Fprintf(&b, "\n%s\n\n", p.Text)
	}
	return []Message{{Role: "system", Content: b.String()}, {Role: "user", Content: question}}
}

// Answerer asks a model tier to answer from passages.
type Answerer struct {
	Pool   Completer // the models (an *upstream.Pool)
	Models []string
}

// Answer asks the model. extra are request fields to pass on (e.g. the
// client's temperature); messages and model are set here.
func (a *Answerer) Answer(ctx context.Context, question string, ps []Passage, extra map[string]json.RawMessage) (Answer, error) {
	msgs := Messages(question, ps)
	body := map[string]json.RawMessage{}
	for k, v := range extra {
		if k != "messages" && k != "model" && k != "stream" && k != "stream_options" {
			body[k] = v
		}
	}
	raw := make([]map[string]string, len(msgs))
	for i, m := range msgs {
		raw[i] = map[string]string{"role": m.Role, "content": m.Content}
	}
	body["messages"], _ = json.Marshal(raw)
	reply, model, cost, err := a.Pool.Complete(ctx, a.Models, body)
	if err != nil {
		return Answer{}, err
	}
	text, ok := completion.Text(reply)
	if !ok {
		return Answer{}, fmt.Errorf("rag: the model %s gave no answer", model)
	}
	return Answer{Text: text, Model: model, Sources: SourcesOf(ps), Cost: cost}, nil
}

// NoModel is the answer of a collection without a usable model: the
// passages with their sources, under a sentence that says why (default: no
// model is configured).
func NoModel(ps []Passage, why string) Answer {
	if why == "" {
		why = "No model is configured for this collection"
	}
	var b strings.Builder
	b.WriteString(why + ", so here are the most relevant passages as they are:\n")
	for i, p := range ps {
		fmt.Fprintf(&b, "\n[%d] %s: %s\n", i+1, p.Title, p.Text)
	}
	return Answer{Text: b.String(), Sources: SourcesOf(ps)}
}

// NothingFound is the answer when no passage clears the floor.
func NothingFound() Answer {
	return Answer{Text: "I found nothing relevant to this question in the documents.", Sources: []Source{}}
}
