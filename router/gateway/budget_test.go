package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/semroute/semroute/router"
)

func TestBudgets(t *testing.T) {
	t.Setenv("SEMROUTE_TEST_APP_KEY", "app-secret")
	var alerts []map[string]any
	var amu sync.Mutex
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var a map[string]any
		json.NewDecoder(r.Body).Decode(&a)
		amu.Lock()
		alerts = append(alerts, a)
		amu.Unlock()
	}))
	defer hook.Close()
	h := start(t, `server:
  api_keys:
    - {name: app, env: SEMROUTE_TEST_APP_KEY, scope: client}
    - {name: ops, sha256: `+sha("admin-secret")+`, scope: admin}
teams: {support: [app]}
budgets:
  - {name: app-daily, scope: key, id: app, window: daily, limit_usd: 0.005, downgrade_at: 0.5, alerts: [0.5, 1], webhook: `+hook.URL+`}
  - {name: fast-monthly, scope: model, id: fast, window: monthly, limit_usd: 100}
`)
	// The weather tier leads with the expensive model, so a downgrade shows.
	cfg, _ := router.Load(h.cfgPath)
	cfg.Intents[0].Target.Model = []string{"strong", "fast"}
	if err := h.srv.Load(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	var clock atomic.Int64
	clock.Store(day.UnixNano())
	h.srv.bud.now = func() time.Time { return time.Unix(0, clock.Load()).UTC() }
	ask := func() (int, http.Header, map[string]any) {
		return h.do(t, "POST", "/v1/chat/completions", "app-secret", `{"model":"auto","messages":[{"role":"user","content":"will it rain tomorrow"}]}`)
	}
	var models []string
	var last map[string]any
	var lastHdr http.Header
	for range 20 {
		code, hd, body := ask()
		if code != 200 {
			last, lastHdr = body, hd
			if code != 429 {
				t.Fatalf("status %d: %v", code, body)
			}
			break
		}
		models = append(models, hd.Get("x-semroute-model"))
	}
	// 0.002 + 0.002 reach the 0.0025 downgrade mark; then fast at 0.0002 until 0.005.
	if strings.Join(models[:3], ",") != "strong,strong,fast" || len(models) != 7 {
		t.Errorf("answered by %v: want strong twice, then fast until the cap (7 in all)", models)
	}
	msg := errorOf(t, last)
	if !strings.Contains(msg, "app-daily") || !strings.Contains(msg, "2026-11-30T00:00:00Z") || lastHdr.Get("Retry-After") != "50400" {
		t.Errorf("429: %q, Retry-After %q", msg, lastHdr.Get("Retry-After"))
	}
	code, _, rep := h.do(t, "GET", "/v1/spend", "admin-secret", "")
	d := rep["days"].(map[string]any)["2026-11-29"].(map[string]any)
	if code != 200 || d["team"].(map[string]any)["support"].(float64) < 0.00499 || d["model"].(map[string]any)["strong"].(float64) < 0.0039 {
		t.Errorf("spend: %d %v", code, rep)
	}

	// A restart keeps the spend: still refused, no false reset.
	h.http.Close()
	h.srv.opened.ledger.Close()
	srv2, again := h.open(t)
	srv2.bud.now = h.srv.bud.now
	if err := srv2.Load(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	h.http, h.srv = again, srv2
	if code, _, _ := ask(); code != 429 {
		t.Errorf("after a restart: %d, want the cap to hold", code)
	}
	// The next day the window resets: no stale spend, no false 429.
	clock.Store(day.Add(24 * time.Hour).UnixNano())
	if code, hd, body := ask(); code != 200 || hd.Get("x-semroute-model") != "strong" {
		t.Errorf("the next day: %d %v %v", code, hd, body)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		amu.Lock()
		n := len(alerts)
		amu.Unlock()
		if n >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	amu.Lock()
	defer amu.Unlock()
	if len(alerts) != 2 || alerts[0]["mark"] != 0.5 || alerts[1]["mark"] != 1.0 {
		t.Errorf("alerts %v: want the 50%% and 100%% marks once each", alerts)
	}
}

// TestBudgetHoldsUnderConcurrency: with the cost of a request known, 50
// concurrent requests against room for 9 more get exactly 9 answers, and
// the booked spend is exactly theirs.
func TestBudgetHoldsUnderConcurrency(t *testing.T) {
	t.Setenv("SEMROUTE_TEST_APP_KEY", "app-secret")
	h := start(t, `server:
  api_keys:
    - {name: app, env: SEMROUTE_TEST_APP_KEY, scope: client}
    - {name: ops, sha256: `+sha("admin-secret")+`, scope: admin}
budgets:
  - {name: cap, scope: global, window: monthly, limit_usd: 0.002}
`)
	body := `{"model":"fast","messages":[{"role":"user","content":"hello"}]}`
	if code, _, _ := h.do(t, "POST", "/v1/chat/completions", "app-secret", body); code != 200 { // learns the cost: 0.0002
		t.Fatal(code)
	}
	var ok, refused atomic.Int64
	var wg sync.WaitGroup
	h.fast.setFault(func(n int64, w http.ResponseWriter, r *http.Request) bool {
		time.Sleep(20 * time.Millisecond) // all of them in flight at once
		return false
	})
	for range 50 {
		wg.Go(func() {
			switch code, _, _ := h.do(t, "POST", "/v1/chat/completions", "app-secret", body); code {
			case 200:
				ok.Add(1)
			case 429:
				refused.Add(1)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 9 || refused.Load() != 41 {
		t.Errorf("%d answered, %d refused: want 9 and 41", ok.Load(), refused.Load())
	}
	_, _, rep := h.do(t, "GET", "/v1/spend", "admin-secret", "")
	b := rep["budgets"].([]any)[0].(map[string]any)
	if spent := b["spent_usd"].(float64); spent > 0.002+1e-12 || spent < 0.002-1e-12 || b["reserved_usd"].(float64) != 0 || ok.Load()+1 != 10 {
		t.Errorf("budget %v: want exactly 0.002 spent and nothing reserved", b)
	}
}

// TestThousandConcurrentRequestsBookExactly: 1,000 concurrent requests
// book exactly their summed cost.
func TestThousandConcurrentRequestsBookExactly(t *testing.T) {
	t.Setenv("SEMROUTE_TEST_APP_KEY", "app-secret")
	h := start(t, `server:
  api_keys:
    - {name: app, env: SEMROUTE_TEST_APP_KEY, scope: client}
    - {name: ops, sha256: `+sha("admin-secret")+`, scope: admin}
teams: {support: [app]}
`)
	var wg sync.WaitGroup
	var failed atomic.Int64
	work := make(chan int)
	for range 64 {
		wg.Go(func() {
			for range work {
				if code, _, _ := h.do(t, "POST", "/v1/chat/completions", "app-secret", `{"model":"fast","messages":[{"role":"user","content":"hello"}]}`); code != 200 {
					failed.Add(1)
				}
			}
		})
	}
	for i := range 1000 {
		work <- i
	}
	close(work)
	wg.Wait()
	_, _, rep := h.do(t, "GET", "/v1/spend", "admin-secret", "")
	var total float64
	for _, day := range rep["days"].(map[string]any) {
		total += day.(map[string]any)["team"].(map[string]any)["support"].(float64)
	}
	if failed.Load() != 0 || total < 0.2-1e-9 || total > 0.2+1e-9 {
		t.Errorf("%d failed; booked %v, want exactly 1,000 × 0.0002 = 0.2", failed.Load(), total)
	}
}
