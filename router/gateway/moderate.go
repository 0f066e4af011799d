package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/semroute/semroute/datasets"
	"github.com/semroute/semroute/intents"
	"github.com/semroute/semroute/moderation"
	"github.com/semroute/semroute/moderation/handoff"
	"github.com/semroute/semroute/router/config"
)

// detector fits the moderation detector once per exemplar file and set of
// intents.
func (s *Server) detector(ctx context.Context, m *config.ModerationConfig, ins []intents.Intent) (*moderation.Detector, error) {
	var own []moderation.Example
	if m.LearnIntents == nil || *m.LearnIntents {
		own = intentExamples(ins, maxIntentExamples)
	}
	if prev := s.st.Load(); prev != nil && prev.det != nil && prev.detKey == exampleKey(m, own) {
		return prev.det, nil // fitted on the same exemplars: reused across reloads
	}
	raw := datasets.Safety
	if m.Exemplars != "" {
		var err error
		if raw, err = os.ReadFile(m.Exemplars); err != nil {
			return nil, fmt.Errorf("moderation exemplars: %w", err)
		}
	}
	exs, err := moderation.ParseExamples(raw)
	if err != nil {
		return nil, fmt.Errorf("moderation exemplars %s: %w", m.Exemplars, err)
	}
	d, err := moderation.NewDetector(ctx, s.opt.Embedder, append(exs, own...))
	if err != nil {
		return nil, err
	}
	return d, nil
}

// detectorKey names what detector fits on for m and ins.
func detectorKey(m *config.ModerationConfig, ins []intents.Intent) uint64 {
	var own []moderation.Example
	if m.LearnIntents == nil || *m.LearnIntents {
		own = intentExamples(ins, maxIntentExamples)
	}
	return exampleKey(m, own)
}

func exampleKey(m *config.ModerationConfig, own []moderation.Example) uint64 {
	h := fnv.New64a()
	io.WriteString(h, m.Exemplars)
	for _, ex := range own {
		io.WriteString(h, "\x00"+ex.Text)
	}
	return h.Sum64()
}

// maxIntentExamples bounds the intents' utterances the detector learns as
// safe: fitting it (six heads, for 5-fold cross-validation) grows with the
// exemplars, and runs at every start and intent change.
const maxIntentExamples = 1000

// intentExamples takes up to n utterances of the intents whose target is
// not a moderation action, round-robin across intents, as safe exemplars.
func intentExamples(ins []intents.Intent, n int) []moderation.Example {
	var out []moderation.Example
	for k := 0; len(out) < n; k++ {
		added := false
		for _, in := range ins {
			if in.Target.Moderation != "" || k >= len(in.Utterances) || len(out) >= n {
				continue
			}
			out = append(out, moderation.Example{Text: in.Utterances[k], Label: "safe", Category: "safe"})
			added = true
		}
		if !added {
			break
		}
	}
	return out
}

// Actions in order of precedence.
var actionRank = map[string]int{"flag": 1, "redact": 2, "handoff": 3, "block": 4}

// verdict is what moderation decided about a text.
type verdict struct {
	action string // the strongest action, "" when nothing was found
	flags  []moderation.Flag
	reason string // the category that decided
}

func (s *Server) judge(ctx context.Context, st *state, texts ...string) (verdict, [][]moderation.Span, error) {
	m, d := st.cfg.Moderation, st.det
	var v verdict
	spans := make([][]moderation.Span, len(texts))
	for i, t := range texts {
		flags, sp, err := d.Check(ctx, t, 1)
		if err != nil {
			return verdict{}, nil, err
		}
		if e := m.External; e != nil {
			ext := &moderation.External{BaseURL: e.BaseURL, Model: e.Model, APIKey: s.getenv(e.APIKeyEnv), Timeout: time.Duration(e.TimeoutMS) * time.Millisecond}
			xf, err := ext.Check(ctx, t)
			switch {
			case err != nil && e.OnError == "closed":
				s.log.Warn("external moderation failed; blocking (on_error: closed)", "err", err)
				flags = append(flags, moderation.Flag{Category: "external_unavailable", Score: 1, Source: "external"})
			case err != nil:
				s.log.Warn("external moderation failed; going on with semroute's own findings", "err", err)
			default:
				flags = moderation.Combine(flags, xf, e.Combine)
			}
		}
		spans[i] = sp
		for _, f := range flags {
			v.flags = append(v.flags, f)
			a := m.Action(f.Category)
			s.m.moderation.WithLabelValues(f.Category, a).Inc()
			if actionRank[a] > actionRank[v.action] {
				v.action, v.reason = a, f.Category
			}
		}
	}
	return v, spans, nil
}

func (v verdict) header() string {
	var parts []string
	for _, f := range v.flags {
		parts = append(parts, f.Category)
	}
	return strings.Join(parts, ",") + ";action=" + v.action
}

// moderateInput applies the policy to the user's messages before routing.
// It answers the request itself (block, handoff) and returns false, or
// returns true to go on, with PII redacted when the policy says so.
func (s *Server) moderateInput(c *gin.Context, st *state, x *exchange, req *chatRequest) bool {
	m := st.cfg.Moderation
	if m == nil || !*m.Input {
		return true
	}
	var idx []int
	var texts []string
	for i, msg := range req.Messages {
		if msg.Role == "user" {
			idx, texts = append(idx, i), append(texts, msg.Content)
		}
	}
	v, spans, err := s.moderate(c, st, spanModerationIn, texts...)
	if err != nil {
		fail(c, kindInternal, "", "", "moderation: "+err.Error())
		return false
	}
	if v.action == "" {
		return true
	}
	x.findings = v
	c.Writer.Header().Set("X-Semroute-Moderation", v.header())
	switch v.action {
	case "block":
		writeAnswer(c, req.Stream, "semroute-moderation", m.Refusal, gin.H{"moderation": gin.H{"action": "block", "flags": v.flags}})
		return false
	case "handoff":
		s.chatHandoff(c, st, m.HandoffQueue, req, handoff.Decision{Reason: v.reason})
		return false
	case "redact":
		for k, i := range idx {
			if len(spans[k]) > 0 {
				req.Messages[i].Content = moderation.Redact(req.Messages[i].Content, spans[k])
			}
		}
		if err := rewriteMessages(req); err != nil {
			fail(c, kindInternal, "", "", "moderation: "+err.Error())
			return false
		}
	}
	return true
}

// rewriteMessages puts the (redacted) message texts back into the body
// that goes upstream; array contents become their joined text.
func rewriteMessages(req *chatRequest) error {
	var msgs []map[string]json.RawMessage
	if err := json.Unmarshal(req.Body["messages"], &msgs); err != nil {
		return err
	}
	for i := range msgs {
		if i < len(req.Messages) && msgs[i]["content"] != nil && string(msgs[i]["content"]) != "null" {
			msgs[i]["content"], _ = json.Marshal(req.Messages[i].Content)
		}
	}
	raw, err := json.Marshal(msgs)
	if err != nil {
		return err
	}
	req.Body["messages"] = raw
	req.Raw = nil // the body changed
	return nil
}

// moderateOutput checks a model's answer: block replaces it with the
// refusal, redact masks its PII. It returns the body to send.
func (s *Server) moderateOutput(c *gin.Context, st *state, body []byte) []byte {
	m := st.cfg.Moderation
	if m == nil || !m.Output {
		return body
	}
	var resp map[string]json.RawMessage
	var choices []map[string]json.RawMessage
	if json.Unmarshal(body, &resp) != nil || json.Unmarshal(resp["choices"], &choices) != nil {
		return body
	}
	changed := false
	for _, ch := range choices {
		var msg map[string]json.RawMessage
		var content string
		if json.Unmarshal(ch["message"], &msg) != nil || json.Unmarshal(msg["content"], &content) != nil {
			continue
		}
		v, spans, err := s.moderate(c, st, spanModerationOut, content)
		if err != nil || v.action == "" {
			continue
		}
		exchangeOf(c).output = v
		c.Writer.Header().Set("X-Semroute-Output-Moderation", v.header())
		switch v.action {
		case "block", "handoff":
			content = m.Refusal
		case "redact":
			content = moderation.Redact(content, spans[0])
		default:
			continue
		}
		msg["content"], _ = json.Marshal(content)
		ch["message"], _ = json.Marshal(msg)
		changed = true
	}
	if !changed {
		return body
	}
	resp["choices"], _ = json.Marshal(choices)
	out, err := json.Marshal(resp)
	if err != nil {
		return body
	}
	return out
}
