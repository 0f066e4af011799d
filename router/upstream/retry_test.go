package upstream

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/semroute/semroute/router/config"
)

// TestRetryGoesToAnotherDeployment: of a model's two deployments, one
// fails half its calls (a seeded draw); a retry goes to the other before it
// tries the failing one again, so none of 2,000 requests fails, under each
// balance policy. Before, with weights 3:1 toward the failing one, a
// request whose three tries all landed on it failed.
func TestRetryGoesToAnotherDeployment(t *testing.T) {
	for _, tc := range []struct {
		balance string
		weights [2]int
	}{{"weight", [2]int{3, 1}}, {"weight", [2]int{1, 1}}, {"least_in_flight", [2]int{1, 1}}, {"latency", [2]int{1, 1}}} {
		t.Run(fmt.Sprintf("%s_%d:%d", tc.balance, tc.weights[0], tc.weights[1]), func(t *testing.T) {
			var mu sync.Mutex
			rng := rand.New(rand.NewPCG(7, 11))
			flaky := newFake(t, "flaky", func(n int64, w http.ResponseWriter) bool {
				mu.Lock()
				fail := rng.IntN(2) == 0
				mu.Unlock()
				if fail {
					w.WriteHeader(http.StatusBadGateway)
				}
				return fail
			})
			healthy := newFake(t, "healthy", nil)
			cfg := poolConfig(config.Model{Name: "m", Model: "m", Deployments: []config.Deployment{
				{BaseURL: flaky.URL, Weight: tc.weights[0]}, {BaseURL: healthy.URL, Weight: tc.weights[1]}}})
			cfg.Models[0].Balance = tc.balance
			cfg.Upstream.BreakerFailures = 1 << 30 // the flaky one stays in the rotation
			p, slept, _ := testPool(t, cfg)
			if tc.balance == "latency" {
				p.nowFunc = time.Now
			}
			failed := 0
			for range 2000 {
				if _, err := p.Call(context.Background(), []string{"m"}, chatReq(""), nil); err != nil {
					failed++
				}
			}
			if failed != 0 {
				t.Errorf("%d of 2,000 requests failed", failed)
			}
			if len(*slept) != 0 {
				t.Errorf("%d retries waited for a backoff, though they went to another deployment", len(*slept))
			}
			t.Logf("flaky saw %d calls, healthy %d", flaky.hits.Load(), healthy.hits.Load())
		})
	}
}

// TestRetryComesBackAfterBackoff: when every deployment failed, a retry
// tries one that failed again, after the backoff.
func TestRetryComesBackAfterBackoff(t *testing.T) {
	down := func(n int64, w http.ResponseWriter) bool { w.WriteHeader(http.StatusServiceUnavailable); return true }
	a, b := newFake(t, "a", down), newFake(t, "b", down)
	cfg := poolConfig(config.Model{Name: "m", Model: "m", Deployments: []config.Deployment{{BaseURL: a.URL}, {BaseURL: b.URL}}})
	cfg.Upstream.Retries, cfg.Upstream.BreakerFailures = new(3), 100
	p, slept, _ := testPool(t, cfg)
	res, err := p.Call(context.Background(), []string{"m"}, chatReq(""), nil)
	if err == nil || res.Attempts != 4 || a.hits.Load() != 2 || b.hits.Load() != 2 {
		t.Errorf("err %v, %d attempts, a %d, b %d: want 4 attempts, 2 on each", err, res.Attempts, a.hits.Load(), b.hits.Load())
	}
	// The second try went to the other deployment at once; the third and
	// fourth, to ones that had failed, after their backoffs.
	if len(*slept) != 2 {
		t.Errorf("slept %v: want two backoffs", *slept)
	}
}
