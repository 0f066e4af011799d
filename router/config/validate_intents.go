package config

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/semroute/semroute/embed"
	"github.com/semroute/semroute/intents"
)

func (c *Config) validateIntents(ps *problems, models map[string]bool) {
	seen := map[string]int{}
	for i, in := range c.Intents {
		f := fmt.Sprintf("intents[%d]", i)
		name := strings.TrimSpace(in.Name)
		switch {
		case name == "":
			ps.add(f+".name", "missing")
		case name == intents.OOS:
			ps.add(f+".name", "%q marks out-of-scope examples and cannot be an intent", intents.OOS)
		case seen[name] > 0:
			ps.add(f+".name", "duplicate intent name %q (first defined at line %d)", name, c.lineOf(fmt.Sprintf("intents[%d].name", seen[name]-1)))
		default:
			seen[name] = i + 1
		}
		if len(in.Utterances) == 0 {
			ps.add(f+".utterances", "no utterances; give at least one example of what users say")
		}
		for j, u := range in.Utterances {
			checkUtterance(ps, fmt.Sprintf("%s.utterances[%d]", f, j), u)
		}
		if d := in.Description; !utf8.ValidString(d) || len(d) > maxDescription {
			ps.add(f+".description", "want valid UTF-8 of at most %d bytes (it is shown to the routing judge); got %d bytes", maxDescription, len(d))
		}
		if in.Threshold != nil && (*in.Threshold < 0 || *in.Threshold > 1) {
			ps.add(f+".threshold", "%v is outside [0, 1]", *in.Threshold)
		}
		checkTarget(ps, f+".target", in.Target, models)
	}
}

// validateTargets checks the RAG collections that intents and the fallback
// name, the out-of-scope utterances, and the fallback.
func (c *Config) validateTargets(ps *problems, rags, models map[string]bool) {
	for i, in := range c.Intents {
		if len(in.Target.Kinds()) == 1 && in.Target.RAG != "" && !rags[in.Target.RAG] {
			ps.add(fmt.Sprintf("intents[%d].target.rag", i), "names collection %q, which is not defined under rag", in.Target.RAG)
		}
	}
	if c.Fallback.RAG != "" && !rags[c.Fallback.RAG] {
		ps.add("fallback.rag", "names collection %q, which is not defined under rag", c.Fallback.RAG)
	}
	for j, u := range c.OutOfScope {
		checkUtterance(ps, fmt.Sprintf("out_of_scope[%d]", j), u)
	}
	if len(c.Fallback.Kinds()) == 0 {
		ps.add("fallback", "missing; say where out-of-scope prompts go, e.g. fallback: {model: NAME}")
	} else {
		checkTarget(ps, "fallback", c.Fallback, models)
		if a := c.Fallback.Moderation; a == "flag" || a == "redact" {
			ps.add("fallback.moderation", "%s sends a prompt on to the fallback, so the fallback cannot be %s; give a model, cascade, rag, handoff, or block", a, a)
		}
	}
}

// maxDescription bounds an intent's description, which every judge prompt
// that offers the intent carries.
const maxDescription = 1000

func checkUtterance(ps *problems, f, u string) {
	switch {
	case strings.TrimSpace(u) == "":
		ps.add(f, "empty utterance")
	case len(embed.AppendFeatures(nil, u)) == 0:
		ps.add(f, "%q has no words to match", u)
	case !utf8.ValidString(u):
		ps.add(f, "not valid UTF-8")
	}
}

func checkTarget(ps *problems, f string, t intents.Target, models map[string]bool) {
	kinds := t.Kinds()
	switch len(kinds) {
	case 0:
		ps.add(f, "missing; give exactly one of model, cascade, rag, moderation, handoff")
		return
	case 1:
	default:
		ps.add(f, "has %s; give exactly one of model, cascade, rag, moderation, handoff", strings.Join(kinds, " and "))
		return
	}
	for _, m := range t.Model {
		if !models[m] {
			ps.add(f+".model", "names model %q, which is not defined under models", m)
		}
	}
	for _, m := range t.Cascade {
		if !models[m] {
			ps.add(f+".cascade", "names model %q, which is not defined under models", m)
		}
	}
	if len(t.Cascade) == 1 {
		ps.add(f+".cascade", "a cascade needs at least two models, cheapest first")
	}
	switch t.Moderation {
	case "", "block", "redact", "flag", "handoff":
	default:
		ps.add(f+".moderation", "unknown action %q; want block, redact, flag or handoff", t.Moderation)
	}
}
