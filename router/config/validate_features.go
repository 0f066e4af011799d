package config

import "os"

// validateModeration checks moderation: the actions, the external
// moderator, and that the exemplars file exists.
func (c *Config) validateModeration(ps *problems) {
	if m := c.Moderation; m != nil {
		for cat, a := range m.Actions {
			switch a {
			case "block", "redact", "flag", "handoff":
			default:
				ps.add("moderation.actions."+cat, "unknown action %q; want block, redact, flag or handoff", a)
			}
		}
		if e := m.External; e != nil {
			if err := checkURL(e.BaseURL); err != nil {
				ps.add("moderation.external.base_url", "%v", err)
			}
			if e.Combine != "any" && e.Combine != "both" {
				ps.add("moderation.external.combine", "%q; want any or both", e.Combine)
			}
			if e.OnError != "open" && e.OnError != "closed" {
				ps.add("moderation.external.on_error", "%q; want open or closed", e.OnError)
			}
		}
		if m.Exemplars != "" {
			if _, err := os.Stat(m.Exemplars); err != nil {
				ps.add("moderation.exemplars", "%v", err)
			}
		}
	}
}

// validateCache checks cascade's verifier model and the response cache's
// sizes and thresholds.
func (c *Config) validateCache(ps *problems, models map[string]bool) {
	if cc := c.Cascade; cc != nil && cc.Verifier != "" && !models[cc.Verifier] {
		ps.add("cascade.verifier", "names model %q, which is not defined under models", cc.Verifier)
	}
	if cc := c.Cache; cc != nil {
		if cc.MaxBytes < 0 || cc.TTLS < 0 {
			ps.add("cache", "max_bytes and ttl_s must not be negative")
		}
		if cc.SemanticThreshold < 0 || cc.SemanticThreshold > 1 {
			ps.add("cache.semantic_threshold", "%v is outside [0, 1]", cc.SemanticThreshold)
		}
		for name, v := range cc.PerIntent {
			if v < 0 || v > 1 {
				ps.add("cache.per_intent."+name, "%v is outside [0, 1]", v)
			}
		}
	}
}

// validateHandoff checks the handoff queues' webhook URLs.
func (c *Config) validateHandoff(ps *problems) {
	for q, u := range c.Handoff.Webhooks {
		if err := checkURL(u); err != nil {
			ps.add("handoff.webhooks."+q, "%v", err)
		}
	}
}
