package config

import (
	"strings"

	"github.com/semroute/semroute/intents"
)

// AddExamples merges labeled examples into the config's intents: a label
// naming an intent adds utterances to it, a new label becomes an intent with
// Routing.ExamplesTarget (default: the fallback target). Examples labeled
// intents.OOS join OutOfScope, and are returned too.
func (c *Config) AddExamples(exs []intents.Example) (oos []intents.Example) {
	target := c.Fallback
	if c.Routing.ExamplesTarget != nil {
		target = *c.Routing.ExamplesTarget
	}
	pos := map[string]int{}
	for i, in := range c.Intents {
		pos[in.Name] = i
	}
	for _, ex := range exs {
		label := strings.TrimSpace(ex.Label)
		if label == intents.OOS {
			oos = append(oos, ex)
			c.OutOfScope = append(c.OutOfScope, ex.Text)
			continue
		}
		i, ok := pos[label]
		if !ok {
			i = len(c.Intents)
			pos[label] = i
			c.Intents = append(c.Intents, intents.Intent{Name: label, Target: target})
		}
		c.Intents[i].Utterances = append(c.Intents[i].Utterances, ex.Text)
	}
	return oos
}
