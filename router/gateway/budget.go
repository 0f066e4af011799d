package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/semroute/semroute/intents"
	"github.com/semroute/semroute/router/config"
	"github.com/semroute/semroute/router/spend"
	"github.com/semroute/semroute/router/upstream"
)

// budgets holds what is spent but not yet booked: each admitted request
// reserves its estimated cost until it is booked, so that concurrent
// requests cannot pass a cap together.
type budgets struct {
	mu       sync.Mutex
	reserved map[string]float64 // by budget name
	estimate map[string]float64 // by model: the largest cost seen
	fired    map[string]bool    // budget|period|mark alerts sent
	now      func() time.Time
}

func (s *Server) spendLedger(cfg *config.Config) (spend.Store, error) {
	s.opened.mu.Lock()
	defer s.opened.mu.Unlock()
	if s.opened.ledger == nil {
		if s.opt.Spend != nil {
			s.opened.ledger = s.opt.Spend
		} else {
			l, err := spend.Open(filepath.Join(cfg.Index.DataDir, "spend.log"))
			if err != nil {
				return nil, err
			}
			s.opened.ledger = l
		}
	}
	return s.opened.ledger, nil
}

// who are the request's key and team.
func who(c *gin.Context, cfg *config.Config) (key, team string) {
	key = exchangeOf(c).key
	for t, keys := range cfg.Teams {
		for _, k := range keys {
			if k == key && key != "" {
				return key, t
			}
		}
	}
	return key, ""
}

// applies reports whether budget b covers a request of key/team to tier.
func applies(b config.Budget, key, team string, tier intents.Models) bool {
	switch b.Scope {
	case "global":
		return true
	case "key":
		return key != "" && b.ID == key
	case "team":
		return team != "" && b.ID == team
	case "model":
		for _, m := range tier {
			if m == b.ID {
				return true
			}
		}
	}
	return false
}

func dimOf(scope string) string {
	if scope == "global" {
		return spend.Global
	}
	return scope
}

// admit checks the budgets before a model call: at a cap it answers 429
// and returns false; near one it narrows the tier to its cheapest model.
// release must be called once the request is booked or has failed.
func (s *Server) admit(c *gin.Context, st *state, target intents.Target) (intents.Target, func(), bool) {
	key, team := who(c, st.cfg)
	release, downgrade, err := s.reserve(st, key, team, target.Model)
	var over *overBudget
	switch {
	case errors.As(err, &over):
		c.Header("Retry-After", strconv.Itoa(int(math.Ceil(over.reset.Sub(over.now).Seconds()))))
		fail(c, kindRateLimited, "budget_exceeded", "", over.Error())
		return target, release, false
	case err != nil:
		fail(c, kindUnavailable, "", "", err.Error())
		return target, release, false
	}
	if downgrade != "" && len(target.Model) > 1 {
		cheapest := target.Model[0]
		for _, m := range target.Model {
			if price(st.cfg, m) < price(st.cfg, cheapest) {
				cheapest = m
			}
		}
		target = intents.Target{Model: intents.Models{cheapest}}
		c.Writer.Header().Set("X-Semroute-Budget", "downgraded:"+downgrade)
	}
	return target, release, true
}

// overBudget is a budget at its cap.
type overBudget struct {
	b          config.Budget
	spent      float64
	now, reset time.Time
}

func (e *overBudget) Error() string {
	return fmt.Sprintf("budget %s (%s %s) has reached its %s limit of %.2f USD (%.4f spent); it resets at %s",
		e.b.Name, e.b.Scope, e.b.ID, e.b.Window, e.b.LimitUSD, e.spent, e.reset.Format(time.RFC3339))
}

// reserve checks the budgets that cover a call of key and team to tier,
// and reserves the call's estimated cost against them until release is
// called. It fails with *overBudget when one is at its cap; downgrade
// names a budget past its downgrade mark.
func (s *Server) reserve(st *state, key, team string, tier intents.Models) (release func(), downgrade string, err error) {
	release = func() {}
	if len(st.cfg.Budgets) == 0 {
		return release, "", nil
	}
	ledger, err := s.spendLedger(st.cfg)
	if err != nil {
		return release, "", fmt.Errorf("the spend ledger is unavailable: %w", err)
	}
	now := s.bud.now()
	s.bud.mu.Lock()
	defer s.bud.mu.Unlock()
	est := 0.0
	for _, m := range tier {
		est = math.Max(est, s.bud.estimate[m])
	}
	var mine []string
	for _, b := range st.cfg.Budgets {
		if !applies(b, key, team, tier) {
			continue
		}
		booked, err := ledger.Spent(dimOf(b.Scope), b.ID, b.Window, now)
		if err != nil {
			return release, "", fmt.Errorf("budget %s: the spend could not be read: %w", b.Name, err)
		}
		spent := booked + s.bud.reserved[b.Name]
		if spent >= b.LimitUSD-centEpsilon {
			return release, "", &overBudget{b: b, spent: spent, now: now, reset: spend.Reset(b.Window, now)}
		}
		if b.DowngradeAt > 0 && spent >= b.DowngradeAt*b.LimitUSD && downgrade == "" {
			downgrade = b.Name
		}
		mine = append(mine, b.Name)
	}
	for _, name := range mine {
		s.bud.reserved[name] += est
	}
	release = func() {
		s.bud.mu.Lock()
		defer s.bud.mu.Unlock()
		for _, name := range mine {
			if s.bud.reserved[name] -= est; s.bud.reserved[name] < centEpsilon {
				s.bud.reserved[name] = 0 // no float residue
			}
		}
	}
	return release, downgrade, nil
}

// centEpsilon absorbs float sums: 0.004 + 5 × 0.0002 is a hair under 0.005.
const centEpsilon = 1e-9

func price(cfg *config.Config, model string) float64 {
	for _, m := range cfg.Models {
		if m.Name == model {
			return m.Price.Input + m.Price.Output
		}
	}
	return math.Inf(1)
}

// book records a successful call's cost before its answer goes out, then
// fires the alerts whose marks it crossed. The ledger runs when budgets or
// teams are configured (recording).
func (s *Server) book(c *gin.Context, st *state, res upstream.Result) error {
	key, team := who(c, st.cfg)
	x := exchangeOf(c)
	return s.bookAs(st, key, team, x.intent, x.id, res)
}

// bookAs is book for a call of key and team, counted to intent, made for
// the request with id reqID.
func (s *Server) bookAs(st *state, key, team, intent, reqID string, res upstream.Result) error {
	if !recording(st.cfg) {
		return nil
	}
	ledger, err := s.spendLedger(st.cfg)
	if err != nil {
		return err
	}
	now := s.bud.now()
	before := map[string]float64{}
	for _, b := range st.cfg.Budgets {
		before[b.Name], _ = ledger.Spent(dimOf(b.Scope), b.ID, b.Window, now)
	}
	if err := ledger.Book(spend.Booking{At: now, Key: key, Team: team, Model: res.Model, Intent: intent, RequestID: reqID, Cost: res.Cost}); err != nil {
		return err
	}
	s.m.spend.WithLabelValues(key, team, res.Model).Add(res.Cost)
	s.bud.mu.Lock()
	s.bud.estimate[res.Model] = math.Max(s.bud.estimate[res.Model], res.Cost)
	var alerts []gin.H
	var hooks []string
	for _, b := range st.cfg.Budgets {
		if !applies(b, key, team, intents.Models{res.Model}) && !(b.Scope == "model" && b.ID == res.Model) {
			continue
		}
		after, _ := ledger.Spent(dimOf(b.Scope), b.ID, b.Window, now)
		for _, mark := range b.Alerts {
			id := b.Name + "|" + spend.Period(b.Window, now) + "|" + strconv.FormatFloat(mark, 'g', -1, 64)
			if threshold := mark*b.LimitUSD - centEpsilon; before[b.Name] < threshold && after >= threshold && !s.bud.fired[id] && b.Webhook != "" {
				s.bud.fired[id] = true
				alerts = append(alerts, gin.H{"budget": b.Name, "scope": b.Scope, "id": b.ID, "window": b.Window, "mark": mark,
					"limit_usd": b.LimitUSD, "spent_usd": after, "resets_at": spend.Reset(b.Window, now)})
				hooks = append(hooks, b.Webhook)
			}
		}
	}
	s.bud.mu.Unlock()
	for i, a := range alerts {
		go s.post(hooks[i], a)
	}
	return nil
}

// post sends a JSON body to a webhook, retrying with backoff.
func (s *Server) post(url string, v any) {
	body, _ := json.Marshal(v)
	wait := 200 * time.Millisecond
	for attempt := 1; attempt <= 5; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		cancel()
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode < 300 {
				return
			}
			err = fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		s.log.Warn("webhook failed", "url", url, "attempt", attempt, "err", err)
		time.Sleep(wait)
		wait *= 2
	}
}

// spendReport answers GET /v1/spend: spend and savings by day and
// dimension, and each budget's state with its projection (spendBudget).
func (s *Server) spendReport(c *gin.Context) {
	st := s.st.Load()
	ledger, err := s.spendLedger(st.cfg)
	if err != nil {
		fail(c, kindUnavailable, "", "", err.Error())
		return
	}
	now := s.bud.now()
	var bs []gin.H
	s.bud.mu.Lock()
	for _, b := range st.cfg.Budgets {
		spent, _ := ledger.Spent(dimOf(b.Scope), b.ID, b.Window, now)
		bs = append(bs, spendBudget(b, spent, s.bud.reserved[b.Name], now))
	}
	s.bud.mu.Unlock()
	days, err := ledger.Days()
	if err != nil {
		fail(c, kindUnavailable, "", "", err.Error())
		return
	}
	c.JSON(http.StatusOK, gin.H{"days": days, "budgets": bs, "now": now.UTC().Format(time.RFC3339),
		"recording": recording(st.cfg), "projection_rule": spend.ProjectionRule})
}
