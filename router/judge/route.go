package judge

import (
	"cmp"
	"context"
	"errors"
	"time"

	"github.com/semroute/semroute/router"
	"github.com/semroute/semroute/router/config"
)

// FromConfig is the options of cfg's judge (without a cache) for a router
// built from cfg: the model and intent set name its Version.
func FromConfig(cfg *config.Config) Options {
	j := cfg.Routing.Judge
	if j == nil {
		return Options{}
	}
	return Options{Model: j.Model, Timeout: time.Duration(j.TimeoutMS) * time.Millisecond, SemanticThreshold: j.SemanticThreshold,
		Version: Version(j.Model, cfg.Intents), Below: j.Below, TopK: j.TopK, Examples: j.Examples}
}

// Needed reports whether the judge is asked about d: its score is under
// Below, or it falls back for any reason but having no words to match.
func (j *Judge) Needed(d router.Decision) bool {
	if d.Reason == router.ReasonNoWords || len(d.Ranked()) == 0 {
		return false
	}
	return d.Fallback || d.Score < j.opt.Below
}

// Candidates are d's TopK best intents, each with its description and its
// first Examples utterances.
func (j *Judge) Candidates(r *router.Router, d router.Decision) []Candidate {
	byName := map[string]int{}
	list := r.Intents()
	for i, in := range list {
		byName[in.Name] = i
	}
	var out []Candidate
	for _, a := range d.Ranked() {
		i, ok := byName[a.Intent]
		if !ok || (j.opt.TopK > 0 && len(out) == j.opt.TopK) {
			continue
		}
		in := list[i]
		out = append(out, Candidate{Name: in.Name, Description: in.Description, Examples: in.Utterances[:min(j.opt.Examples, len(in.Utterances))]})
	}
	return out
}

// Route asks the judge about d when it is Needed, and returns the decision
// it makes: to its chosen intent, or with {"intent": null} to the fallback.
// When its answer does not count, d stands, with Judge.Error saying why.
// vec is text's unit embedding for the semantic cache (nil: exact only).
// The Verdict is the judge's (zero when it was not asked), and err why its
// answer did not count.
func (j *Judge) Route(ctx context.Context, r *router.Router, d router.Decision, text string, vec []float32) (router.Decision, Verdict, error) {
	if !j.Needed(d) {
		return d, Verdict{}, nil
	}
	v, err := j.ChooseVec(ctx, text, vec, j.Candidates(r, d))
	rep := &router.JudgeReport{Model: cmp.Or(v.Model, j.opt.Model), Intent: v.Intent, Cache: v.Cached,
		LatencyMS: float64(v.Latency.Microseconds()) / 1e3, CostUSD: v.Cost}
	if err != nil {
		rep.Error = ErrorKind(err)
		d.Judge = rep
		return d, v, err
	}
	d = r.Judged(d, v.Intent)
	d.Judge = rep
	return d, v, nil
}

// Kinds of failure, as JudgeReport.Error and metrics name them.
const (
	FailMalformed  = "malformed"
	FailNotOffered = "not_offered"
	FailTimeout    = "timeout"
	FailDeclined   = "declined"
	FailError      = "error"
)

// ErrDeclined is for a Completer to wrap when it declines to make the
// call (the gateway does when a budget is at its cap).
var ErrDeclined = errors.New("the call was declined")

// ErrorKind names why an answer did not count; never the answer itself,
// which may echo the user's text.
func ErrorKind(err error) string {
	switch {
	case errors.Is(err, ErrMalformed):
		return FailMalformed
	case errors.Is(err, ErrNotOffered):
		return FailNotOffered
	case errors.Is(err, context.DeadlineExceeded):
		return FailTimeout
	case errors.Is(err, ErrDeclined):
		return FailDeclined
	}
	return FailError
}
