package upstream

import (
	"context"
	"errors"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/semroute/semroute/router/config"
)

// held holds the requests of a fake that hold picks until release is
// called (deferred by the test, so before the fake's Close, which waits for
// its handlers): a call to it lasts until its caller gives up. arrived
// hears of each held request.
func held(hold func(n int64) bool) (next func(n int64, w http.ResponseWriter) bool, arrived chan struct{}, release func()) {
	done := make(chan struct{})
	arrived = make(chan struct{}, 16)
	return func(n int64, w http.ResponseWriter) bool {
		if !hold(n) {
			return false
		}
		arrived <- struct{}{}
		<-done
		return true
	}, arrived, func() { close(done) }
}

// callCancelled calls p and cancels the call's context once the upstream
// has the request.
func callCancelled(p *Pool, model string, arrived chan struct{}) error {
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-arrived; cancel() }()
	_, err := p.Call(ctx, []string{model}, chatReq(""), nil)
	cancel()
	return err
}

// TestCancelledCallIsNeitherSuccessNorFailure: callers that give up count
// neither against the deployment's breaker nor in its latency, and are not
// retried; a real timeout (timeout_ms) still counts.
func TestCancelledCallIsNeitherSuccessNorFailure(t *testing.T) {
	next, arrived, release := held(func(n int64) bool { return n <= 3 })
	defer release()
	up := newFake(t, "a", next)
	cfg := poolConfig(config.Model{Name: "a", Model: "m", Deployments: []config.Deployment{{BaseURL: up.URL}}})
	cfg.Models[0].Balance = "latency"
	cfg.Upstream.BreakerFailures = 1 // one failure would open it
	p, _, _ := testPool(t, cfg)
	p.nowFunc = time.Now
	for i := range 3 {
		err := callCancelled(p, "a", arrived)
		var ue *Error
		if !errors.As(err, &ue) || ue.Kind != KindCanceled || ue.Retryable() {
			t.Fatalf("cancelled call %d: %v, want a %s error that is not retried", i, err, KindCanceled)
		}
	}
	d := p.Model("a").deps[0]
	if up.hits.Load() != 3 {
		t.Errorf("the upstream saw %d requests for 3 cancelled calls: a cancelled call was retried", up.hits.Load())
	}
	if d.latency.Load() != 0 {
		t.Errorf("a cancelled call left a latency sample of %v s", math.Float64frombits(d.latency.Load()))
	}
	res, err := p.Call(context.Background(), []string{"a"}, chatReq(""), nil)
	if err != nil || res.Model != "a" {
		t.Fatalf("after 3 cancelled calls with breaker_failures 1: %v", err)
	}
	if d.latency.Load() == 0 {
		t.Error("a call that answered left no latency sample")
	}

	// timeout_ms is the deployment's failure: it opens the breaker.
	slow := newFake(t, "slow", func(n int64, w http.ResponseWriter) bool { time.Sleep(200 * time.Millisecond); return false })
	cfg = poolConfig(config.Model{Name: "slow", BaseURL: slow.URL, Model: "m"})
	cfg.Models[0].TimeoutMS = 20
	cfg.Upstream.BreakerFailures, cfg.Upstream.Retries = 1, new(0)
	p, _, _ = testPool(t, cfg)
	_, err = p.Call(context.Background(), []string{"slow"}, chatReq(""), nil)
	var ue *Error
	if !errors.As(err, &ue) || ue.Kind != KindTimeout {
		t.Fatalf("timed-out call: %v", err)
	}
	_, err = p.Call(context.Background(), []string{"slow"}, chatReq(""), nil)
	if !errors.As(err, &ue) || ue.Kind != KindBreakerOpen {
		t.Errorf("after a timeout with breaker_failures 1: %v, want the breaker open", err)
	}
}

// TestHalfOpenTrialReleasedOnCancel: when the one trial a half-open breaker
// lets through is cancelled by its caller, the next request is the trial,
// rather than the breaker staying shut for good.
func TestHalfOpenTrialReleasedOnCancel(t *testing.T) {
	next, arrived, release := held(func(n int64) bool { return n == 2 })
	defer release()
	up := newFake(t, "a", func(n int64, w http.ResponseWriter) bool {
		if n == 1 {
			w.WriteHeader(http.StatusInternalServerError)
			return true
		}
		return next(n, w)
	})
	cfg := poolConfig(config.Model{Name: "a", BaseURL: up.URL, Model: "m"})
	cfg.Upstream.BreakerFailures, cfg.Upstream.BreakerCooldownMS, cfg.Upstream.Retries = 1, 10_000, new(0)
	p, _, now := testPool(t, cfg)
	if _, err := p.Call(context.Background(), []string{"a"}, chatReq(""), nil); err == nil {
		t.Fatal("the failing call succeeded")
	}
	*now = now.Add(11 * time.Second) // the cooldown is over: one trial
	var ue *Error
	if err := callCancelled(p, "a", arrived); !errors.As(err, &ue) || ue.Kind != KindCanceled {
		t.Fatalf("the cancelled trial: %v", err)
	}
	res, err := p.Call(context.Background(), []string{"a"}, chatReq(""), nil)
	if err != nil || res.Model != "a" || up.hits.Load() != 3 {
		t.Errorf("after the trial was cancelled: %v (%d hits): want the next request to be the trial, and to close the breaker", err, up.hits.Load())
	}
}

// TestHalfOpenTrialReleasedOnClientError: a trial the upstream refuses with
// a 4xx (the request's fault, not the deployment's) gives the trial to the
// next request too.
func TestHalfOpenTrialReleasedOnClientError(t *testing.T) {
	up := newFake(t, "a", func(n int64, w http.ResponseWriter) bool {
		switch n {
		case 1:
			w.WriteHeader(http.StatusInternalServerError)
		case 2:
			w.WriteHeader(http.StatusBadRequest)
		default:
			return false
		}
		return true
	})
	cfg := poolConfig(config.Model{Name: "a", BaseURL: up.URL, Model: "m"})
	cfg.Upstream.BreakerFailures, cfg.Upstream.BreakerCooldownMS, cfg.Upstream.Retries = 1, 10_000, new(0)
	p, _, now := testPool(t, cfg)
	p.Call(context.Background(), []string{"a"}, chatReq(""), nil) // opens the breaker
	*now = now.Add(11 * time.Second)
	var ue *Error
	if _, err := p.Call(context.Background(), []string{"a"}, chatReq(""), nil); !errors.As(err, &ue) || ue.Kind != KindClient {
		t.Fatalf("the trial: %v, want the 400", err)
	}
	if _, err := p.Call(context.Background(), []string{"a"}, chatReq(""), nil); err != nil || up.hits.Load() != 3 {
		t.Errorf("after a trial answered 400: %v (%d hits), want the next request to be the trial", err, up.hits.Load())
	}
}
