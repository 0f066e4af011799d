package config

import "fmt"

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

// validateSegments checks segments: a name, at least one condition, and
// that what each condition and the target name exists.
func (c *Config) validateSegments(ps *problems, keyNames, intentNames, models map[string]bool) {
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
}

// validateExperiments checks experiments: a defined intent and at least two
// arms, each with a name, defined models and a weight ≥ 0.
func (c *Config) validateExperiments(ps *problems, intentNames, models map[string]bool) {
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
}

// validateCanaries checks canaries: two different defined models, the
// percent, and the limits that roll a canary back.
func (c *Config) validateCanaries(ps *problems, models map[string]bool) {
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
}
