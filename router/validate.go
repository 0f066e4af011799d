package router

import (
	"fmt"
	"net/url"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/semroute/semroute/embed"
	"github.com/semroute/semroute/intents"
)

// Scorers of RoutingConfig.Scorer.
const (
	ScorerAuto = "auto"
	ScorerHead = "head"
	ScorerKNN  = "knn"
)

// Validate checks the config and returns a *ConfigError listing every
// problem, with the line of each in the YAML file, or nil. The values of
// the wrong type and unknown keys that Parse found are among them.
//
// A pgvector index may have no dsn here: the command takes
// $SEMROUTE_PG_DSN then, and checks with ValidateDSN that there is one.
func (c *Config) Validate() error { return c.validate(false, "") }

// ValidateDSN is Validate, also requiring a DSN for a pgvector index: in
// the config, else envDSN, the value of $SEMROUTE_PG_DSN that the command
// read (this package reads no environment variable).
func (c *Config) ValidateDSN(envDSN string) error { return c.validate(true, envDSN) }

func (c *Config) validate(needDSN bool, envDSN string) error {
	ps := &problems{c: c}
	if c.Version != 1 {
		ps.add("version", "version %d is not supported; this build reads version 1", c.Version)
	}
	c.validateEmbedder(ps)
	switch c.Index.Kind {
	case "memory":
	case "pgvector":
		if needDSN && c.Index.DSN == "" && envDSN == "" {
			ps.add("index.dsn", "missing; give the PostgreSQL DSN here or in SEMROUTE_PG_DSN")
		}
		if c.Index.EfSearch < 0 || c.Index.EfSearch > 1000 {
			ps.add("index.ef_search", "%d is outside [0, 1000]", c.Index.EfSearch)
		}
	default:
		ps.add("index.kind", "unknown index kind %q; want memory or pgvector", c.Index.Kind)
	}
	models := c.validateModels(ps)
	c.validateRouting(ps)
	c.validateJudge(ps, models)
	c.validateServer(ps, models)
	c.validatePlayground(ps)
	if len(c.Intents) == 0 {
		ps.add("intents", "no intents; define at least one (name, utterances, target) or pass --examples FILE")
	}
	rags := c.validateRAG(ps, models)
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
	keyNames := map[string]bool{}
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
	intentNames := map[string]bool{}
	for _, in := range c.Intents {
		intentNames[in.Name] = true
	}
	for i, sg := range c.Segments {
		f := fmt.Sprintf("segments[%d]", i)
		if sg.Name == "" {
			ps.add(f+".name", "missing")
		}
		if len(sg.Header) == 0 && sg.Team == "" && sg.Key == "" && sg.Intent == "" && sg.Language == "" {
			ps.add(f, "no condition: give header, team, key, intent or language")
		}
		switch sg.Language {
		case "", "en", "de", "fr", "es", "it", "pt", "nl", "ru", "zh", "ja", "ko", "ar", "he", "el", "hi", "th":
		default:
			ps.add(f+".language", "%q is not a language semroute detects; want en, de, fr, es, it, pt, nl, ru, zh, ja, ko, ar, he, el, hi or th", sg.Language)
		}
		if sg.Team != "" && c.Teams[sg.Team] == nil {
			ps.add(f+".team", "names team %q, which is not under teams", sg.Team)
		}
		if sg.Key != "" && !keyNames[sg.Key] {
			ps.add(f+".key", "names key %q, which is not under server.api_keys", sg.Key)
		}
		if sg.Intent != "" && !intentNames[sg.Intent] {
			ps.add(f+".intent", "names intent %q, which is not defined", sg.Intent)
		}
		checkTarget(ps, f+".target", sg.Target, models)
	}
	for i, e := range c.Experiments {
		f := fmt.Sprintf("experiments[%d]", i)
		if e.Name == "" || !intentNames[e.Intent] {
			ps.add(f, "needs a name and an intent that is defined (got %q)", e.Intent)
		}
		if len(e.Arms) < 2 {
			ps.add(f+".arms", "an experiment needs at least two arms")
		}
		for j, a := range e.Arms {
			if a.Name == "" || len(a.Model) == 0 || a.Weight < 0 {
				ps.add(fmt.Sprintf("%s.arms[%d]", f, j), "needs a name, a model and a weight ≥ 0")
			}
			for _, m := range a.Model {
				if !models[m] {
					ps.add(fmt.Sprintf("%s.arms[%d].model", f, j), "names model %q, which is not defined under models", m)
				}
			}
		}
	}
	for i, cn := range c.Canaries {
		f := fmt.Sprintf("canaries[%d]", i)
		if cn.Name == "" || !models[cn.Model] || !models[cn.Canary] || cn.Model == cn.Canary {
			ps.add(f, "needs a name and two different models defined under models (got %q and %q)", cn.Model, cn.Canary)
		}
		if cn.Percent <= 0 || cn.Percent > 100 {
			ps.add(f+".percent", "%v is outside (0, 100]", cn.Percent)
		}
		if cn.MaxErrorRate < 0 || cn.MaxErrorRate > 1 || cn.MaxP95MS < 0 {
			ps.add(f, "max_error_rate must be in [0, 1] and max_p95_ms not negative")
		}
	}
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
	for q, u := range c.Handoff.Webhooks {
		if err := checkURL(u); err != nil {
			ps.add("handoff.webhooks."+q, "%v", err)
		}
	}
	c.validateIntents(ps, models)
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
	if list := mergeProblems(c.decodeProblems, ps.list, c.moreProblems+ps.more); len(list) > 0 {
		return &ConfigError{File: c.path, Problems: list}
	}
	return nil
}

func (c *Config) validateEmbedder(ps *problems) {
	e := c.Embedder
	switch e.Kind {
	case "local":
		if e.BaseURL != "" || e.Model != "" {
			ps.add("embedder", "base_url and model are for kind openai; the local embedder takes only path")
		}
	case "openai":
		if e.BaseURL == "" {
			ps.add("embedder.base_url", "missing; the OpenAI-compatible endpoint, e.g. http://127.0.0.1:11434/v1")
		} else if err := checkURL(e.BaseURL); err != nil {
			ps.add("embedder.base_url", "%v", err)
		}
		if e.Model == "" {
			ps.add("embedder.model", "missing; the embedding model's name")
		}
	default:
		ps.add("embedder.kind", "unknown embedder kind %q; want local or openai", e.Kind)
	}
	if e.Batch < 0 || e.TimeoutMS < 0 || e.Retries < 0 {
		ps.add("embedder", "batch, timeout_ms and retries must not be negative")
	}
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL", s)
	}
	return nil
}

func (c *Config) validateModels(ps *problems) map[string]bool {
	names := map[string]bool{}
	for i, m := range c.Models {
		f := fmt.Sprintf("models[%d]", i)
		switch {
		case m.Name == "":
			ps.add(f+".name", "missing")
		case names[m.Name]:
			ps.add(f+".name", "model %q is defined twice", m.Name)
		}
		names[m.Name] = true
		switch {
		case m.BaseURL == "" && len(m.Deployments) == 0:
			ps.add(f+".base_url", "missing; give base_url or deployments")
		case m.BaseURL != "" && len(m.Deployments) > 0:
			ps.add(f+".base_url", "give base_url or deployments, not both")
		case m.BaseURL != "":
			if err := checkURL(m.BaseURL); err != nil {
				ps.add(f+".base_url", "%v", err)
			}
		}
		for j, d := range m.Deployments {
			if err := checkURL(d.BaseURL); err != nil {
				ps.add(fmt.Sprintf("%s.deployments[%d].base_url", f, j), "%v", err)
			}
			if d.Weight < 0 {
				ps.add(fmt.Sprintf("%s.deployments[%d].weight", f, j), "must not be negative")
			}
		}
		switch m.Balance {
		case "", "weight", "least_in_flight", "latency":
		default:
			ps.add(f+".balance", "unknown balance %q; want weight, least_in_flight or latency", m.Balance)
		}
		if m.Price.Input < 0 || m.Price.Output < 0 {
			ps.add(f+".price", "must not be negative")
		}
		if m.Model == "" {
			ps.add(f+".model", "missing; the upstream's model name")
		}
		switch m.Provider {
		case "", "openai", "anthropic", "ollama":
		default:
			ps.add(f+".provider", "unknown provider %q; want openai, anthropic or ollama", m.Provider)
		}
		if m.TimeoutMS < 0 {
			ps.add(f+".timeout_ms", "must not be negative")
		}
	}
	return names
}

func (c *Config) validateRAG(ps *problems, models map[string]bool) map[string]bool {
	names := map[string]bool{}
	for i, r := range c.RAG {
		f := fmt.Sprintf("rag[%d]", i)
		switch {
		case strings.TrimSpace(r.Name) == "":
			ps.add(f+".name", "missing")
		case names[r.Name]:
			ps.add(f+".name", "collection %q is defined twice", r.Name)
		}
		names[r.Name] = true
		for _, m := range r.Model {
			if !models[m] {
				ps.add(f+".model", "names model %q, which is not defined under models", m)
			}
		}
		switch r.Mode {
		case "", "hybrid", "vector", "bm25", "rrf":
		default:
			ps.add(f+".mode", "unknown mode %q; want hybrid, vector, bm25 or rrf", r.Mode)
		}
		switch r.BelowFloor {
		case "", "answer", "fallback":
		default:
			ps.add(f+".below_floor", "%q; want answer or fallback", r.BelowFloor)
		}
		if r.K < 0 || r.K > 50 || r.VectorWeight < 0 || r.MaxWords < 0 || r.OverlapWords < 0 {
			ps.add(f, "k must be in [1, 50]; vector_weight, max_words and overlap_words must not be negative")
		}
		for k := range r.Filter {
			if k != "doc" && k != "source" && k != "title" && k != "heading" {
				ps.add(f+".filter", "unknown key %q; want doc, source, title or heading", k)
			}
		}
		if r.Floor != nil && (*r.Floor < -1 || *r.Floor > 1) {
			ps.add(f+".floor", "%v is outside [-1, 1]", *r.Floor)
		}
	}
	return names
}

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

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, c := range strings.ToLower(s) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func (c *Config) validateRouting(ps *problems) {
	r := c.Routing
	if r.Threshold != nil && (*r.Threshold < 0 || *r.Threshold > 1) {
		ps.add("routing.threshold", "%v is outside [0, 1]", *r.Threshold)
	}
	if r.Margin != nil && (*r.Margin < 0 || *r.Margin > 1) {
		ps.add("routing.margin", "%v is outside [0, 1]", *r.Margin)
	}
	if r.MinSimilarity != nil && (*r.MinSimilarity < -1 || *r.MinSimilarity > 1) {
		ps.add("routing.min_similarity", "%v is outside [-1, 1]", *r.MinSimilarity)
	}
	if r.MaxWords != nil && (*r.MaxWords < 0 || (*r.MaxWords > 0 && *r.MaxWords < 16)) {
		ps.add("routing.max_words", "%d; want 0 (no cap) or at least 16", *r.MaxWords)
	}
	if r.Alternatives < 0 || r.Alternatives > 100 {
		ps.add("routing.alternatives", "%d is outside [0, 100]", r.Alternatives)
	}
	switch r.Scorer {
	case ScorerAuto, ScorerHead, ScorerKNN:
	default:
		ps.add("routing.scorer", "unknown scorer %q; want auto, head or knn", r.Scorer)
	}
}

func (c *Config) validateJudge(ps *problems, models map[string]bool) {
	j := c.Routing.Judge
	if j == nil {
		return
	}
	switch {
	case j.Model == "":
		ps.add("routing.judge.model", "missing; name the model (defined under models) that judges unsure decisions")
	case !models[j.Model]:
		ps.add("routing.judge.model", "names model %q, which is not defined under models", j.Model)
	}
	if j.Below <= 0 || j.Below > 1 {
		ps.add("routing.judge.below", "%v is outside (0, 1]; the judge is asked when a decision's score is under it", j.Below)
	}
	if j.TopK < 2 || j.TopK > 100 {
		ps.add("routing.judge.top_k", "%d is outside [2, 100]; the judge chooses among that many intents", j.TopK)
	}
	if j.TimeoutMS < 0 || j.CacheTTLS < 0 || j.MaxSuggestions < 0 {
		ps.add("routing.judge", "timeout_ms, cache_ttl_s and max_suggestions must not be negative")
	}
	if j.Examples < 0 || j.Examples > 20 {
		ps.add("routing.judge.examples", "%d is outside [0, 20]", j.Examples)
	}
	if j.SemanticThreshold < 0 || j.SemanticThreshold > 1 {
		ps.add("routing.judge.semantic_threshold", "%v is outside [0, 1]", j.SemanticThreshold)
	}
}

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
