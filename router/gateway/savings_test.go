package gateway

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/semroute/semroute/intents"
	"github.com/semroute/semroute/internal/postgres"
	"github.com/semroute/semroute/internal/postgres/pgtest"
	"github.com/semroute/semroute/router/config"
	"github.com/semroute/semroute/router/spend/spendpg"
)

// spendService is a service that records spend (a team is configured),
// with an exact response cache, music answered by a cascade of fast then
// strong, and two budgets; its clock stands at 06:00 on 11 December 2026.
func spendService(t *testing.T) *harness {
	t.Helper()
	h := start(t, `server:
  api_keys:
    - {name: app, sha256: `+sha("app-secret")+`, scope: client}
    - {name: ops, sha256: `+sha("admin-secret")+`, scope: admin}
teams: {support: [app]}
cache: {}
budgets:
  - {name: all-monthly, scope: global, window: monthly, limit_usd: 0.01}
  - {name: support-daily, scope: team, id: support, window: daily, limit_usd: 0.001}
`)
	cfg, _ := config.Load(h.cfgPath)
	cfg.Intents[1].Target = intents.Target{Cascade: intents.Models{"fast", "strong"}} // music
	if err := h.srv.Load(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 11, 6, 0, 0, 0, time.UTC)
	h.srv.bud.now = func() time.Time { return now }
	return h
}

// chat asks prompt as app at temperature 0 (cacheable).
func (h *harness) chat(t *testing.T, prompt string) {
	t.Helper()
	if code, _, body := h.do(t, "POST", "/v1/chat/completions", "app-secret", `{"model":"auto","temperature":0,"messages":[{"role":"user","content":`+quote(prompt)+`}]}`); code != 200 {
		t.Fatalf("%q: %d %v", prompt, code, body)
	}
}

// TestSpendRecordsSavings: a cache hit books what its answer cost as saved
// by the cache, a cascade what it saved against its strongest stage, by
// day in GET /v1/spend beside the spend; each budget carries its
// projection to the window's end.
func TestSpendRecordsSavings(t *testing.T) {
	checkSavings(t, spendService(t))
}

// TestSpendRecordsSavingsInPostgreSQL: the same, with the ledger in
// PostgreSQL (spendpg), as replicas share it.
func TestSpendRecordsSavingsInPostgreSQL(t *testing.T) {
	h := spendService(t)
	h.srv.opt.Spend = spendpg.New(pgtest.Open(t, postgres.Options{})) // before the first booking opens the ledger
	checkSavings(t, h)
	if _, ok := h.srv.opened.ledger.(*spendpg.Store); !ok {
		t.Errorf("the ledger in use is a %T", h.srv.opened.ledger)
	}
}

func checkSavings(t *testing.T, h *harness) {
	t.Helper()
	h.chat(t, "will it rain tomorrow")  // fast: 100 × 1 + 50 × 2 per million = 0.0002
	h.chat(t, "will it rain tomorrow")  // the cache: 0.0002 saved
	h.chat(t, "play some jazz tonight") // the cascade's fast stage: 0.0002 spent, 0.002 − 0.0002 saved
	code, _, rep := h.do(t, "GET", "/v1/spend", "admin-secret", "")
	if code != 200 {
		t.Fatalf("GET /v1/spend: %d %v", code, rep)
	}
	day := rep["days"].(map[string]any)["2026-12-11"].(map[string]any)
	saved := day["saved"].(map[string]any)
	near := func(what string, got any, want float64) {
		t.Helper()
		if v, ok := got.(float64); !ok || math.Abs(v-want) > 1e-9 {
			t.Errorf("%s: %v, want %v", what, got, want)
		}
	}
	near("saved by the cache", saved["cache"], 0.0002)
	near("saved by the cascade", saved["cascade"], 0.0018)
	near("spent", day["global"].(map[string]any)["total"], 0.0004)
	near("spent by intent music", day["intent"].(map[string]any)["music"], 0.0002)
	if rep["recording"] != true || rep["now"] != "2026-12-11T06:00:00Z" || rep["projection_rule"] == "" {
		t.Errorf("recording %v, now %v, rule %v", rep["recording"], rep["now"], rep["projection_rule"])
	}
	budgets := rep["budgets"].([]any)
	month, team := budgets[0].(map[string]any), budgets[1].(map[string]any)
	// 0.0004 in 10¼ days of December's 31.
	near("the month's projection", month["projected_usd"], 0.0004*31/10.25)
	if month["reaches_limit_at"] != nil || month["window_start"] != "2026-12-01T00:00:00Z" {
		t.Errorf("the monthly budget: %v", month)
	}
	// 0.0004 in 6 hours: 0.0016 by midnight, the 0.001 limit at 15:00.
	near("the day's projection", team["projected_usd"], 0.0016)
	near("the team's spend", team["spent_usd"], 0.0004)
	if team["reaches_limit_at"] != "2026-12-11T15:00:00Z" {
		t.Errorf("the daily budget reaches its limit at %v, want 15:00", team["reaches_limit_at"])
	}
}

// TestSpendNotRecorded: without budgets or teams nothing is booked, not
// even a saving, and GET /v1/spend says so.
func TestSpendNotRecorded(t *testing.T) {
	h := start(t, "server:\n  api_keys:\n    - {name: ops, sha256: "+sha("admin-secret")+", scope: admin}\n    - {name: app, sha256: "+sha("app-secret")+", scope: client}\ncache: {}\n")
	h.chat(t, "will it rain tomorrow")
	h.chat(t, "will it rain tomorrow")
	code, _, rep := h.do(t, "GET", "/v1/spend", "admin-secret", "")
	if code != 200 || rep["recording"] != false || len(rep["days"].(map[string]any)) != 0 {
		t.Errorf("GET /v1/spend: %d %v", code, rep)
	}
}
