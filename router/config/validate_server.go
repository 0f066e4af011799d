package config

import "fmt"

func (c *Config) validateServer(ps *problems, models map[string]bool) {
	s, u := c.Server, c.Upstream
	if (u.Retries != nil && *u.Retries < 0) || u.BackoffMS < 0 || u.MaxBackoffMS < 0 || u.BreakerFailures < 0 || u.BreakerCooldownMS < 0 {
		ps.add("upstream", "retries, backoff_ms, max_backoff_ms, breaker_failures and breaker_cooldown_ms must not be negative")
	}
	for i, a := range s.AutoModels {
		if models[a] {
			ps.add(fmt.Sprintf("server.auto_models[%d]", i), "%q is also a model's name; a request for it would be ambiguous", a)
		}
	}
	if s.RouteTurns < 0 || s.MaxBodyBytes < 0 || s.ShutdownMS < 0 {
		ps.add("server", "route_turns, max_body_bytes and shutdown_ms must not be negative")
	}
	if s.MemoryLimitMB != nil && (*s.MemoryLimitMB < 0 || *s.MemoryLimitMB > 1<<24) {
		ps.add("server.memory_limit_mb", "%d MiB is outside 0 (no limit) to 16777216", *s.MemoryLimitMB)
	}
	for i, k := range s.APIKeys {
		f := fmt.Sprintf("server.api_keys[%d]", i)
		if k.Scope != "client" && k.Scope != "admin" {
			ps.add(f+".scope", "%q; want client or admin", k.Scope)
		}
		switch {
		case (k.SHA256 == "") == (k.Env == ""):
			ps.add(f, "give exactly one of sha256 (the key's SHA-256 in hex) and env (the variable that holds the key)")
		case k.SHA256 != "" && !isHex(k.SHA256, 64):
			ps.add(f+".sha256", "want 64 hex digits: the SHA-256 of the key, e.g. from `printf %%s KEY | sha256sum`")
		}
	}
}

// validateTeams checks that teams name keys under server.api_keys, and
// returns the keys' names.
func (c *Config) validateTeams(ps *problems) (keyNames map[string]bool) {
	keyNames = map[string]bool{}
	for _, k := range c.Server.APIKeys {
		keyNames[k.Name] = true
	}
	for team, keys := range c.Teams {
		for _, k := range keys {
			if !keyNames[k] {
				ps.add("teams."+team, "names key %q, which is not under server.api_keys", k)
			}
		}
	}
	return keyNames
}

// validateBudgets checks budgets: unique names, a scope naming a key, team
// or model that exists, the window, the limit and its fractions, the webhook.
func (c *Config) validateBudgets(ps *problems, keyNames, models map[string]bool) {
	budgetNames := map[string]bool{}
	for i, b := range c.Budgets {
		f := fmt.Sprintf("budgets[%d]", i)
		if b.Name == "" || budgetNames[b.Name] {
			ps.add(f+".name", "missing or duplicate name %q", b.Name)
		}
		budgetNames[b.Name] = true
		switch b.Scope {
		case "global":
		case "key":
			if !keyNames[b.ID] {
				ps.add(f+".id", "names key %q, which is not under server.api_keys", b.ID)
			}
		case "team":
			if _, ok := c.Teams[b.ID]; !ok {
				ps.add(f+".id", "names team %q, which is not under teams", b.ID)
			}
		case "model":
			if !models[b.ID] {
				ps.add(f+".id", "names model %q, which is not defined under models", b.ID)
			}
		default:
			ps.add(f+".scope", "%q; want key, team, model or global", b.Scope)
		}
		if b.Window != "daily" && b.Window != "monthly" {
			ps.add(f+".window", "%q; want daily or monthly", b.Window)
		}
		if b.LimitUSD <= 0 {
			ps.add(f+".limit_usd", "must be positive")
		}
		if b.DowngradeAt < 0 || b.DowngradeAt >= 1 && b.DowngradeAt != 0 {
			ps.add(f+".downgrade_at", "%v; want a fraction of the limit in (0, 1), or 0 for never", b.DowngradeAt)
		}
		for _, a := range b.Alerts {
			if a <= 0 || a > 1.5 {
				ps.add(f+".alerts", "%v; want fractions of the limit such as 0.5, 0.8, 1", a)
			}
		}
		if b.Webhook != "" {
			if err := checkURL(b.Webhook); err != nil {
				ps.add(f+".webhook", "%v", err)
			}
		}
	}
}
