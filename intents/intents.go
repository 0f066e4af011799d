package intents

import (
	"encoding/json"
	"fmt"
	"strings"
)

// OOS is the label that marks out-of-scope examples in labeled files: they
// never become an intent, they measure and fit out-of-scope detection.
const OOS = "oos"

// Intent is one routing destination, defined by example utterances.
type Intent struct {
	Name        string   `yaml:"name" json:"name"`
	Description string   `yaml:"description,omitempty" json:"description,omitempty"`
	Utterances  []string `yaml:"utterances" json:"utterances"`
	// Threshold overrides the fitted or default score threshold.
	Threshold *float64 `yaml:"threshold,omitempty" json:"threshold,omitempty"`
	Target    Target   `yaml:"target" json:"target"`
}

// Target is where a decision sends a prompt: exactly one field is set.
type Target struct {
	// Model is a tier: the first model, then the others in order as
	// fallbacks.
	Model      Models `yaml:"model,omitempty" json:"model,omitempty"`
	RAG        string `yaml:"rag,omitempty" json:"rag,omitempty"`
	Moderation string `yaml:"moderation,omitempty" json:"moderation,omitempty"`
	Handoff    string `yaml:"handoff,omitempty" json:"handoff,omitempty"`
	// Cascade answers with the first model, escalating to the next while
	// the confidence is below the fitted threshold.
	Cascade Models `yaml:"cascade,omitempty" json:"cascade,omitempty"`
}

// Kinds of target.
const (
	KindModel      = "model"
	KindRAG        = "rag"
	KindModeration = "moderation"
	KindHandoff    = "handoff"
	KindCascade    = "cascade"
)

// Kinds lists which target fields are set, in a fixed order.
func (t Target) Kinds() []string {
	var k []string
	if len(t.Model) > 0 {
		k = append(k, KindModel)
	}
	if t.RAG != "" {
		k = append(k, KindRAG)
	}
	if t.Moderation != "" {
		k = append(k, KindModeration)
	}
	if len(t.Cascade) > 0 {
		k = append(k, KindCascade)
	}
	if t.Handoff != "" {
		k = append(k, KindHandoff)
	}
	return k
}

// String is a short form for logs and headers: "model:fast,strong",
// "rag:handbook", "handoff:support".
func (t Target) String() string {
	switch {
	case len(t.Model) > 0:
		return "model:" + strings.Join(t.Model, ",")
	case t.RAG != "":
		return "rag:" + t.RAG
	case t.Moderation != "":
		return "moderation:" + t.Moderation
	case t.Handoff != "":
		return "handoff:" + t.Handoff
	case len(t.Cascade) > 0:
		return "cascade:" + strings.Join(t.Cascade, ",")
	}
	return "none"
}

// Models is a model name or an ordered list of them. In YAML and JSON it is
// written as a plain string when it names one model.
type Models []string

// UnmarshalYAML accepts `model: fast` and `model: [fast, strong]`.
func (m *Models) UnmarshalYAML(unmarshal func(any) error) error {
	var one string
	if err := unmarshal(&one); err == nil {
		*m = Models{one}
		return nil
	}
	var list []string
	if err := unmarshal(&list); err != nil {
		return fmt.Errorf("model must be a name or a list of names")
	}
	*m = list
	return nil
}

// MarshalJSON writes one model as a string, more as a list.
func (m Models) MarshalJSON() ([]byte, error) {
	if len(m) == 1 {
		return json.Marshal(m[0])
	}
	return json.Marshal([]string(m))
}

// UnmarshalJSON accepts a string or a list of strings.
func (m *Models) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*m = Models{one}
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return fmt.Errorf("model must be a name or a list of names")
	}
	*m = list
	return nil
}
