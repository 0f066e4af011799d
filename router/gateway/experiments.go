package gateway

import (
	"encoding/json"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/semroute/semroute/intents"
	"github.com/semroute/semroute/router"
)

// segment applies the first matching segment rule: it replaces the target.
func segment(c *gin.Context, cfg *router.Config, x *exchange, text string) intents.Target {
	key, team := who(c, cfg)
	lang := ""
	for _, sg := range cfg.Segments {
		if sg.Language != "" && lang == "" {
			lang = detectLanguage(text)
		}
		ok := (sg.Team == "" || sg.Team == team) && (sg.Key == "" || sg.Key == key) && (sg.Intent == "" || sg.Intent == x.intent) &&
			(sg.Language == "" || sg.Language == lang)
		for h, v := range sg.Header {
			ok = ok && strings.EqualFold(strings.TrimSpace(c.GetHeader(h)), v)
		}
		if ok {
			c.Writer.Header().Set("X-Semroute-Segment", sg.Name)
			c.Writer.Header().Set("X-Semroute-Target", sg.Target.String())
			return sg.Target
		}
	}
	return x.target
}

// userOf is the id a split sticks to: the x-semroute-user header, else the
// request's user field; "" when neither is given.
func userOf(c *gin.Context, req *chatRequest) string {
	if u := c.GetHeader("X-Semroute-User"); u != "" {
		return u
	}
	var u string
	json.Unmarshal(req.Body["user"], &u)
	return u
}

// pick chooses by weight: by a hash of user when there is one (the same user
// always lands on the same arm), else at random.
func pick(weights []int, salt, user string) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	if total == 0 {
		return 0
	}
	var x int
	if user != "" {
		h := fnv.New64a()
		h.Write([]byte(salt + "\x00" + user))
		x = int(h.Sum64() % uint64(total))
	} else {
		x = rand.IntN(total)
	}
	for i, w := range weights {
		if x < w {
			return i
		}
		x -= w
	}
	return len(weights) - 1
}

// experiment assigns the request to an arm of the routed intent's
// experiment; the arm's name goes to the header and the metrics.
func experiment(c *gin.Context, cfg *router.Config, x *exchange, req *chatRequest, target intents.Target) (intents.Target, string) {
	for _, e := range cfg.Experiments {
		if e.Intent != x.intent || len(target.Model) == 0 {
			continue
		}
		ws := make([]int, len(e.Arms))
		for i, a := range e.Arms {
			ws[i] = a.Weight
		}
		a := e.Arms[pick(ws, e.Name, userOf(c, req))]
		arm := e.Name + ":" + a.Name
		c.Writer.Header().Set("X-Semroute-Arm", arm)
		return intents.Target{Model: a.Model}, arm
	}
	return target, ""
}

// canaries tracks each canary's recent outcomes and rolls it back.
type canaries struct {
	mu      sync.Mutex
	results map[string][]outcome // by canary name
	stopped map[string]string    // name → why it was rolled back
	now     func() time.Time
}

type outcome struct {
	at      time.Time
	failed  bool
	latency time.Duration
}

// route replaces a tier's model by its canary for the canary's share of
// calls, unless the canary was rolled back. It returns the canary's name
// when it applied.
func (cs *canaries) route(cfg *router.Config, tier intents.Models) (intents.Models, string) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	for _, cn := range cfg.Canaries {
		i := slices.Index(tier, cn.Model)
		if i < 0 || cs.stopped[cn.Name] != "" || rand.Float64()*100 >= cn.Percent {
			continue
		}
		out := slices.Clone(tier)
		out[i] = cn.Canary
		return out, cn.Name
	}
	return tier, ""
}

// record notes a canary call, and rolls the canary back when its window
// breaks a bound. It returns the reason when it did so now.
func (cs *canaries) record(cfg *router.Config, name string, failed bool, latency time.Duration) string {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	var cn router.Canary
	for _, c := range cfg.Canaries {
		if c.Name == name {
			cn = c
		}
	}
	now := cs.now()
	window := time.Duration(cn.WindowS) * time.Second
	rs := append(cs.results[name], outcome{now, failed, latency})
	for len(rs) > 0 && now.Sub(rs[0].at) > window {
		rs = rs[1:]
	}
	cs.results[name] = rs
	if cs.stopped[name] != "" || len(rs) < cn.MinRequests {
		return ""
	}
	fails := 0
	lat := make([]time.Duration, len(rs))
	for i, r := range rs {
		if r.failed {
			fails++
		}
		lat[i] = r.latency
	}
	slices.Sort(lat)
	p95 := lat[(len(lat)*95+99)/100-1]
	why := ""
	switch {
	case cn.MaxErrorRate > 0 && float64(fails)/float64(len(rs)) > cn.MaxErrorRate:
		why = "error rate over the bound"
	case cn.MaxP95MS > 0 && p95 > time.Duration(cn.MaxP95MS)*time.Millisecond:
		why = "p95 latency over the bound"
	}
	if why != "" {
		cs.stopped[name] = why
	}
	return why
}

// armDone records an arm's outcome; a canary's feeds its rollback check.
func (s *Server) armDone(c *gin.Context, st *state, x *exchange, arm string, took time.Duration) {
	if x.closed { // the client went away: says nothing about the arm
		return
	}
	failed := c.Writer.Status() >= 500
	outcome := "ok"
	if failed {
		outcome = "error"
	}
	s.m.armRequests.WithLabelValues(arm, outcome).Inc()
	s.m.armLatency.WithLabelValues(arm).Observe(took.Seconds())
	s.m.armCost.WithLabelValues(arm).Add(x.cost)
	if name, ok := strings.CutPrefix(arm, "canary:"); ok {
		if why := s.canary.record(st.cfg, name, failed, took); why != "" {
			s.m.canaryState.WithLabelValues(name).Set(1)
			s.log.Warn("canary rolled back", "canary", name, "why", why)
		}
	}
}
