package gateway

import (
	"time"

	"github.com/gin-gonic/gin"

	"github.com/semroute/semroute/router/config"
	"github.com/semroute/semroute/router/spend"
)

// recording reports whether the gateway books spend: when budgets or
// teams are configured. Each booking is an fsync of the ledger (or a
// PostgreSQL transaction): in BenchmarkChatSpend a chat took 4× as long
// recorded as not, and a cache hit 2.7× (BENCHMARKS.md, Recording
// spend), so a service that asks for neither does not pay for it.
func recording(cfg *config.Config) bool {
	return len(cfg.Budgets) > 0 || len(cfg.Teams) > 0
}

// bookSaving records what a request did not spend thanks to source (a
// cache hit, a cascade), for GET /v1/spend and the cost dashboard. A
// saving that cannot be booked is logged and the answer still goes out:
// no money was spent that a budget would miss.
func (s *Server) bookSaving(c *gin.Context, st *state, model string, saved float64, source string) {
	if !recording(st.cfg) {
		return
	}
	ledger, err := s.spendLedger(st.cfg)
	if err == nil {
		key, team := who(c, st.cfg)
		x := exchangeOf(c)
		err = ledger.Book(spend.Booking{At: s.bud.now(), Key: key, Team: team, Model: model, Intent: x.intent,
			RequestID: x.id, Saved: saved, Source: source})
	}
	if err != nil {
		s.log.Warn("a saving could not be booked", "source", source, "request_id", exchangeOf(c).id, "err", err)
	}
}

// spendBudget is a budget's state in GET /v1/spend: what it spent and
// has reserved in its window, and where the window is projected to end
// (spend.Project).
func spendBudget(b config.Budget, spent, reserved float64, now time.Time) gin.H {
	p := spend.Project(spent, b.LimitUSD, b.Window, now)
	var reaches any // null: not before the window ends
	if !p.Reaches.IsZero() {
		reaches = p.Reaches.Format(time.RFC3339)
	}
	return gin.H{"name": b.Name, "scope": b.Scope, "id": b.ID, "window": b.Window, "limit_usd": b.LimitUSD,
		"spent_usd": spent, "reserved_usd": reserved, "resets_at": spend.Reset(b.Window, now),
		"window_start": p.Start, "projected_usd": p.Projected, "reaches_limit_at": reaches}
}
