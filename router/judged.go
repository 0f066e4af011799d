package router

// Ranked is the prompt's best intents by score, best first (as many as
// Decision.Ranked holds).
func (s Scores) Ranked() []Alternative { return s.top }

// Judged returns d as the routing judge decided it: to the named intent,
// or, with intent nil (none fits), to the fallback. A name that is not one
// of the router's intents leaves d as it was.
func (r *Router) Judged(d Decision, intent *string) Decision {
	n := r.cfg.Routing.Alternatives
	if intent == nil {
		d.DecidedBy, d.Intent, d.Target, d.Fallback, d.Reason = DecidedByJudge, nil, r.cfg.Fallback, true, ReasonJudged
		d.Alternatives = append([]Alternative{}, d.ranked[:min(n, len(d.ranked))]...)
		return d
	}
	i := -1
	for k := range r.intents {
		if r.intents[k].Name == *intent {
			i = k
			break
		}
	}
	if i < 0 {
		return d
	}
	name := r.intents[i].Name
	d.DecidedBy, d.Intent, d.Target, d.Fallback, d.Reason = DecidedByJudge, &name, r.intents[i].Target, false, ""
	d.Alternatives = []Alternative{}
	for _, a := range d.ranked {
		if a.Intent != name && len(d.Alternatives) < n {
			d.Alternatives = append(d.Alternatives, a)
		}
	}
	return d
}
