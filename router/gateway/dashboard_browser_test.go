package gateway

import (
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestDashboardInBrowser loads the cost dashboard in headless Chromium
// (chromedriver on loopback) against a service with fake upstreams and
// booked spend: a call to strong on 30 November; on the 11th two chats to
// fast, a cache hit and a cascade answered by its cheap stage. A wrong
// admin key shows a message; the right one draws the charts, whose bars
// and labels are read back from the SVG. SEMROUTE_SCREENSHOTS names a
// folder for the screenshot; without Chromium the test skips unless
// SEMROUTE_REQUIRE_BROWSER=1.
func TestDashboardInBrowser(t *testing.T) {
	chromium, driver := findBrowser(t, os.Getenv("SEMROUTE_REQUIRE_BROWSER") == "1")
	h := spendService(t)
	var clock atomic.Int64
	h.srv.bud.now = func() time.Time { return time.Unix(0, clock.Load()).UTC() }
	clock.Store(time.Date(2026, 11, 30, 14, 0, 0, 0, time.UTC).UnixNano())
	if code, _, body := h.do(t, "POST", "/v1/chat/completions", "app-secret", `{"model":"strong","messages":[{"role":"user","content":"write me a poem"}]}`); code != 200 {
		t.Fatalf("a call to strong: %d %v", code, body) // 100 × 10 + 50 × 20 per million: 0.002
	}
	clock.Store(time.Date(2026, 12, 11, 6, 0, 0, 0, time.UTC).UnixNano())
	h.chat(t, "will it rain tomorrow")        // fast: 0.0002
	h.chat(t, "how cold is it outside today") // fast: 0.0002
	h.chat(t, "will it rain tomorrow")        // the cache: 0.0002 saved
	h.chat(t, "play some jazz tonight")       // the cascade's fast stage: 0.0002 spent, 0.0018 saved

	b := startBrowser(t, chromium, driver)
	b.open(h.http.URL + "/dashboard")
	b.waitText("#status", "enter the admin key")

	t.Run("a wrong admin key", func(t *testing.T) {
		b.typeInto("#admin-key", "not-the-admin-key")
		b.click("#show")
		b.waitText("#message", "The admin key was refused")
		if b.text("#totals") != "" {
			t.Error("totals shown without the admin key")
		}
	})

	b.replace("#admin-key", "admin-secret")
	b.click("#show")
	b.waitText("#status", "connected")
	b.waitText("#sum-spent", "$0.0026")

	t.Run("totals", func(t *testing.T) {
		for sel, want := range map[string]string{"#sum-today": "$0.0006", "#sum-cache": "$0.0002", "#sum-cascade": "$0.0018", "#sum-now": "as of Dec 11 06:00 UTC"} {
			if got := b.text(sel); got != want {
				t.Errorf("%s says %q, want %q", sel, got, want)
			}
		}
		if got := b.text("#message") + b.text("#notice"); got != "" {
			t.Errorf("a message beside the charts: %q", got)
		}
	})

	t.Run("spend and savings by day", func(t *testing.T) {
		days := b.bars("#chart-days rect.bar", "day")
		if len(days) != 2 || !near(days["2026-11-30"], 0.002) || !near(days["2026-12-11"], 0.0006) {
			t.Errorf("spend by day %v: want 0.002 on 30 November, 0.0006 on 11 December", days)
		}
		if cache := b.bars(`#chart-saved rect.bar[data-series="cache"]`, "day"); len(cache) != 1 || !near(cache["2026-12-11"], 0.0002) {
			t.Errorf("saved by the cache %v", cache)
		}
		if cascade := b.bars(`#chart-saved rect.bar[data-series="cascade"]`, "day"); len(cascade) != 1 || !near(cascade["2026-12-11"], 0.0018) {
			t.Errorf("saved by cascades %v", cascade)
		}
		axis := b.text("#chart-days")
		for _, want := range []string{"Nov 13", "Dec 11", "$0.002", "$0.0006", "$0.00"} {
			if !strings.Contains(axis, want) {
				t.Errorf("the days chart's labels %q lack %q", axis, want)
			}
		}
	})

	t.Run("spend by model, intent, key and team", func(t *testing.T) {
		for _, tc := range []struct {
			chart string
			want  map[string]float64
		}{
			{"#chart-model", map[string]float64{"strong": 0.002, "fast": 0.0006}},
			{"#chart-intent", map[string]float64{"weather": 0.0004, "music": 0.0002}},
			{"#chart-key", map[string]float64{"app": 0.0026}},
			{"#chart-team", map[string]float64{"support": 0.0026}},
		} {
			got := b.bars(tc.chart+" rect.bar", "label")
			if len(got) != len(tc.want) {
				t.Errorf("%s: bars %v, want %v", tc.chart, got, tc.want)
			}
			for id, v := range tc.want {
				if !near(got[id], v) {
					t.Errorf("%s: %s is %v, want %v", tc.chart, id, got[id], v)
				}
				if text := b.text(tc.chart); !strings.Contains(text, id) || !strings.Contains(text, usdText(v)) {
					t.Errorf("%s says %q: want %s and %s", tc.chart, text, id, usdText(v))
				}
			}
		}
	})

	t.Run("budgets with their projections", func(t *testing.T) {
		team := b.text(`#budgets g.budget[data-name="support-daily"]`)
		for _, want := range []string{"team support, daily", "spent $0.0006 of $0.001 (60 %)", "projected $0.0024 by Dec 12 00:00 UTC", "reaches its limit Dec 11 10:00 UTC"} {
			if !strings.Contains(team, want) {
				t.Errorf("support-daily says %q, want %q", team, want)
			}
		}
		// 0.0006 in 10¼ days of December's 31 (November's 0.002 is last month's).
		month := b.text(`#budgets g.budget[data-name="all-monthly"]`)
		for _, want := range []string{"spent $0.0006 of $0.01 (6 %) since Dec 1 00:00 UTC", "projected $0.00181 by Jan 1 00:00 UTC", "stays under its limit"} {
			if !strings.Contains(month, want) {
				t.Errorf("all-monthly says %q, want %q", month, want)
			}
		}
		var widths []float64
		b.run(`const g = document.querySelector('#budgets g.budget[data-name="support-daily"]');
			return ['rect.spent', 'rect.projected', 'line.limit'].map(s => Number(g.querySelector(s).dataset.value));`, &widths)
		if len(widths) != 3 || !near(widths[0], 0.0006) || !near(widths[1], 0.0024) || !near(widths[2], 0.001) {
			t.Errorf("support-daily's spent, projected and limit marks: %v", widths)
		}
	})

	var height int // the whole page in the screenshot: its height and the window's frame
	b.run("return document.documentElement.scrollHeight + window.outerHeight - window.innerHeight + 8", &height)
	b.do("POST", b.session+"/window/rect", map[string]int{"width": 1280, "height": height}, nil)
	b.screenshot(os.Getenv("SEMROUTE_SCREENSHOTS"), "dashboard.png")

	t.Run("seven days", func(t *testing.T) {
		b.click(`#range option[value="7"]`)
		b.waitText("#sum-spent", "$0.0006")
		b.waitText("#sum-range", "Dec 5 – Dec 11")
		if days := b.bars("#chart-days rect.bar", "day"); len(days) != 1 {
			t.Errorf("last 7 days: %v", days)
		}
		if got := b.bars("#chart-model rect.bar", "label"); len(got) != 1 || !near(got["fast"], 0.0006) {
			t.Errorf("by model in the last 7 days: %v", got)
		}
	})

	for _, e := range b.consoleErrors() {
		if strings.Contains(e, "Content Security Policy") || strings.Contains(e, "Uncaught") {
			t.Errorf("browser console: %s", e)
		}
	}

	t.Run("a service that records no spend says so", func(t *testing.T) {
		quiet := start(t, "server:\n  api_keys:\n    - {name: ops, sha256: "+sha("admin-secret")+", scope: admin}\n")
		b.open(quiet.http.URL + "/dashboard")
		b.typeInto("#admin-key", "admin-secret")
		b.click("#show")
		b.waitText("#notice", "This service records no spend: spend is booked only when budgets or teams are configured")
		b.waitText("#chart-model", "No spend by model in these days.")
	})
}

// bars reads the SVG bars sel picks: data-value by data-<by>.
func (b *browser) bars(sel, by string) map[string]float64 {
	b.t.Helper()
	var out map[string]float64
	b.run(`const out = {};
		for (const r of document.querySelectorAll(arguments[0])) out[r.dataset[arguments[1]]] = Number(r.dataset.value);
		return out;`, &out, sel, by)
	return out
}

// usdText is how the page writes the amounts this test books.
func usdText(v float64) string {
	return map[float64]string{0.002: "$0.002", 0.0006: "$0.0006", 0.0004: "$0.0004", 0.0002: "$0.0002", 0.0026: "$0.0026"}[v]
}
