package gateway

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/semroute/semroute/intents"
	"github.com/semroute/semroute/router"
	"github.com/semroute/semroute/router/cache"
	"github.com/semroute/semroute/router/config"
	"github.com/semroute/semroute/router/judge"
	"github.com/semroute/semroute/router/judge/suggest"
)

// judgeCacheBytes bounds the in-process cache of the judge's answers: an
// answer with its 256-d embedding takes about 1.6 kB, so some 5,000 fit.
const judgeCacheBytes = 8 << 20

// newJudge is the routing judge of cfg, or nil without one. Its cache is
// Options.JudgeCache (PostgreSQL) or an in-process one that outlives
// reloads; answers are kept under the version of cfg's intents and judge
// model, so a change of either invalidates them.
func (s *Server) newJudge(st *state) *judge.Judge {
	cfg := st.cfg
	jc := cfg.Routing.Judge
	if jc == nil {
		return nil
	}
	opt := judge.FromConfig(cfg)
	opt.Cache = s.opt.JudgeCache
	if opt.Cache == nil {
		ttl := time.Duration(jc.CacheTTLS) * time.Second
		if st.judgeCache == nil || st.judgeTTL != ttl {
			st.judgeCache, st.judgeTTL = cache.New(judgeCacheBytes, ttl), ttl
		}
		opt.Cache = st.judgeCache
	}
	return judge.New(nil, opt) // each request gives it a caller: see judged
}

// judged asks the routing judge about d when it is unsure (judge.Needed),
// and returns the decision it makes; when its answer does not count, d
// stands. A prompt it placed in an intent becomes a suggested utterance.
func (s *Server) judged(c *gin.Context, st *state, d router.Decision, text string, vec []float32) router.Decision {
	j := st.judge.WithCompleter(judgeCaller{s: s, st: st, c: c})
	out, v, err := s.judgeRoute(c, st, j, d, text, vec)
	if out.Judge == nil {
		return out // not asked
	}
	result := "chose"
	switch {
	case err != nil:
		result = judge.ErrorKind(err)
		// The kind only: the error may quote the model's answer.
		s.log.Warn("the routing judge's answer does not count; the embedding decision stands", "model", st.cfg.Routing.Judge.Model, "why", result)
	case v.Intent == nil:
		result = "none"
	}
	if v.Cached != "" {
		result = "cache_" + v.Cached
	}
	s.m.judge.WithLabelValues(result).Inc()
	if v.Cached == "" {
		s.m.judgeLatency.Observe(v.Latency.Seconds())
	}
	if err == nil && v.Intent != nil {
		s.suggest(st, *v.Intent, text)
	}
	return out
}

// judgeHeader is the judge's report as the x-semroute-judge header:
// "model=M;choice=NAME|none;latency_ms=L;cost=C", then ";cache=exact" or
// ";error=KIND" when so.
func judgeHeader(r *router.JudgeReport) string {
	choice := "none"
	if r.Intent != nil {
		choice = *r.Intent
	}
	v := fmt.Sprintf("model=%s;choice=%s;latency_ms=%.1f;cost=%s", r.Model, choice, r.LatencyMS, strconv.FormatFloat(r.CostUSD, 'g', 6, 64))
	if r.Cache != "" {
		v += ";cache=" + r.Cache
	}
	if r.Error != "" {
		v += ";error=" + r.Error
	}
	return v
}

// judgeCaller makes the judge's call through the upstream pool, for the
// request's key: the budgets that cover the judge's model are checked
// first (at a cap the call is declined), and its cost is booked.
type judgeCaller struct {
	s  *Server
	st *state
	c  *gin.Context
}

func (jc judgeCaller) Complete(ctx context.Context, msgs []judge.Message) (judge.Completion, error) {
	model := jc.st.cfg.Routing.Judge.Model
	key, team := who(jc.c, jc.st.cfg)
	release, _, err := jc.s.reserve(jc.st, key, team, intents.Models{model})
	defer release()
	if err != nil {
		return judge.Completion{}, fmt.Errorf("%w: %v", judge.ErrDeclined, err)
	}
	res, err := judge.Call(ctx, jc.st.pool, model, msgs)
	if err != nil {
		return judge.Completion{}, err
	}
	jc.s.m.usage(res)
	out := judge.Completion{Text: answerText(res.Body), Model: res.Model, Cost: res.Cost}
	// Booked under the intent "judge": what the judge costs shows apart
	// in the spend report.
	if err := jc.s.bookAs(jc.st, key, team, "judge", exchangeOf(jc.c).id, res); err != nil {
		return out, fmt.Errorf("book the judge's cost: %w", err)
	}
	return out, nil
}

// suggestions opens the store of suggested utterances the first time:
// Options.Suggestions, or the log in the data directory. It outlives
// reloads.
func (s *Server) suggestions(cfg *config.Config) (suggest.Store, error) {
	s.opened.mu.Lock()
	defer s.opened.mu.Unlock()
	if s.opened.suggested == nil {
		if s.opt.Suggestions != nil {
			s.opened.suggested = s.opt.Suggestions
		} else {
			l, err := suggest.Open(filepath.Join(cfg.Index.DataDir, "suggestions.log"))
			if err != nil {
				return nil, err
			}
			s.opened.suggested = l
		}
	}
	return s.opened.suggested, nil
}

// suggest keeps a judged prompt as a suggested utterance of intent. A
// failure is logged and counted, not the request's: the decision stands.
func (s *Server) suggest(st *state, intent, text string) {
	text = strings.TrimSpace(text)
	if text == "" || len(text) > suggest.MaxText {
		s.m.suggestions.WithLabelValues("too_long").Inc()
		return
	}
	store, err := s.suggestions(st.cfg)
	if err == nil {
		err = store.Add(intent, text, time.Now(), st.cfg.Routing.Judge.MaxSuggestions)
	}
	if err != nil {
		s.m.suggestions.WithLabelValues("failed").Inc()
		s.log.Warn("a judged prompt could not be kept as a suggestion", "intent", intent, "err", err)
		return
	}
	s.m.suggestions.WithLabelValues("stored").Inc()
}

var _ judge.Completer = judgeCaller{}
