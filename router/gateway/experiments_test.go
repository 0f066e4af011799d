package gateway

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestSegmentsExperimentsCanary(t *testing.T) {
	h := start(t, `segments:
  - {name: premium, header: {x-user-tier: premium}, target: {model: strong}}
  - {name: german, language: de, target: {model: strong}}
experiments:
  - name: music-ab
    intent: music
    arms: [{name: a, model: fast, weight: 3}, {name: b, model: strong, weight: 1}]
canaries:
  - {name: fast-to-strong, model: fast, canary: strong, percent: 50, window_s: 60, min_requests: 5, max_error_rate: 0.2}
`)
	send := func(content string, hdr ...string) (int, http.Header) {
		req, _ := http.NewRequest("POST", h.http.URL+"/v1/chat/completions", strings.NewReader(`{"model":"auto","messages":[{"role":"user","content":`+quote(content)+`}]}`))
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header
	}
	// A segment overrides the routed target.
	if code, hd := send("will it rain tomorrow", "x-user-tier", "premium"); code != 200 || hd.Get("x-semroute-segment") != "premium" || hd.Get("x-semroute-model") != "strong" {
		t.Errorf("premium segment: %d %v", code, hd)
	}
	if _, hd := send("Wird es morgen regnen? Ich brauche das für die Reise"); hd.Get("x-semroute-segment") != "german" {
		t.Errorf("language segment: %v", hd)
	}
	// A/B: sticky by user, split by weight across users.
	arms := map[string]int{}
	for u := range 400 {
		_, hd := send("play some jazz", "x-semroute-user", fmt.Sprint("user-", u))
		arms[hd.Get("x-semroute-arm")]++
	}
	if a := arms["music-ab:a"]; a < 260 || a > 340 || arms["music-ab:a"]+arms["music-ab:b"] != 400 {
		t.Errorf("arms %v: want about 3:1", arms)
	}
	first := ""
	for range 20 {
		_, hd := send("play some jazz", "x-semroute-user", "alice")
		if first == "" {
			first = hd.Get("x-semroute-arm")
		}
		if hd.Get("x-semroute-arm") != first {
			t.Fatalf("alice moved from %s to %s", first, hd.Get("x-semroute-arm"))
		}
	}
	// Canary: strong fails as fast's canary; it is rolled back, and then
	// every request goes to fast again.
	h.strong.setFault(func(n int64, w http.ResponseWriter, r *http.Request) bool {
		w.WriteHeader(http.StatusInternalServerError)
		return true
	})
	canaried := 0
	for range 60 {
		if _, hd := send("will it rain tomorrow"); hd.Get("x-semroute-arm") == "canary:fast-to-strong" {
			canaried++
		}
	}
	if canaried < 5 || canaried > 15 {
		t.Errorf("%d of 60 requests went to the canary before the rollback: want it stopped soon after 5", canaried)
	}
	for range 20 {
		if code, hd := send("will it rain tomorrow"); code != 200 || hd.Get("x-semroute-arm") != "" {
			t.Fatalf("after the rollback: %d %v", code, hd)
		}
	}
}
