package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/semroute/semroute/intents"
	"github.com/semroute/semroute/moderation"
	"github.com/semroute/semroute/moderation/handoff"
	"github.com/semroute/semroute/router"
)

// decide routes text and records the decision in metrics and the log
// fields (the intent only, never the text). keepVec keeps the embedding
// routing computes, for the semantic cache (see routedVec). With a
// routing judge, an unsure decision is the judge's (see judged).
func (s *Server) decide(c *gin.Context, st *state, x *exchange, text string, keepVec bool) (router.Decision, error) {
	var d router.Decision
	var err error
	if s.tr != nil {
		d, err = s.routeTraced(c, st, x, text, keepVec)
	} else if keepVec || st.judge != nil {
		var vec []float32
		d, vec, err = st.router.RouteVec(c.Request.Context(), text, nil)
		if keepVec {
			x.routed = routed{text, vec}
		}
		if err == nil && st.judge != nil {
			d = s.judged(c, st, d, text, vec)
		}
	} else {
		d, err = st.router.Route(c.Request.Context(), text)
	}
	if err != nil {
		return d, err
	}
	intent := intents.OOS
	if d.Intent != nil {
		intent = *d.Intent
	}
	s.m.routed.Inc()
	s.m.routeLatency.Observe(d.LatencyUS / 1e6)
	s.m.decisions.WithLabelValues(intent, d.Target.String(), d.DecidedBy).Inc()
	if d.Fallback {
		s.m.outOfScope.Inc()
	}
	x.intent = intent
	s.record(c, st, x, d, text)
	if s.opt.Debug {
		s.log.Debug("routed", "prompt", text, "intent", intent, "score", d.Score)
	}
	return d, nil
}

func (s *Server) route(c *gin.Context) {
	body, err := readBody(c.Request.Body)
	if err != nil {
		answerError(c, err)
		return
	}
	var req struct {
		Input *string `json:"input"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		badRequest(c, "", fmt.Sprintf("the request body is not a JSON object like {\"input\": \"...\"}: %v", err))
		return
	}
	if req.Input == nil {
		badRequest(c, "input", "missing input: the prompt to route")
		return
	}
	d, err := s.decide(c, s.st.Load(), exchangeOf(c), *req.Input, false)
	if err != nil {
		answerError(c, err)
		return
	}
	c.JSON(http.StatusOK, d)
}

func (s *Server) models(c *gin.Context) {
	st := s.st.Load()
	var data []gin.H
	for _, a := range st.cfg.Server.AutoModels {
		data = append(data, gin.H{"id": a, "object": "model", "created": 0, "owned_by": "semroute"})
	}
	for _, m := range st.cfg.Models {
		data = append(data, gin.H{"id": m.Name, "object": "model", "created": 0, "owned_by": m.Provider})
	}
	c.JSON(http.StatusOK, gin.H{"object": "list", "data": data})
}

// chat answers a chat completion. Its steps read in order; each one that
// ends the request answers it and returns false.
func (s *Server) chat(c *gin.Context) {
	st, x := s.st.Load(), exchangeOf(c)
	req, err := readChat(c)
	if err != nil {
		answerError(c, err)
		return
	}
	_ = s.moderateInput(c, st, x, req) &&
		s.decideChat(c, st, x, req) &&
		s.chooseTarget(c, st, x, req) &&
		s.answer(c, st, x, req)
}

// readChat reads and decodes a chat completion's body.
func readChat(c *gin.Context) (*chatRequest, error) {
	body, err := readBody(c.Request.Body)
	if err != nil {
		return nil, err
	}
	req, err := decodeChat(body)
	if err != nil {
		return nil, err
	}
	req.limits, err = readLimits(c.Request.Header, req)
	return req, err
}

// decideChat sets x's decision and target: for an auto model, where the
// router (and, when unsure, the judge) sends the conversation; for a
// configured model, that model.
func (s *Server) decideChat(c *gin.Context, st *state, x *exchange, req *chatRequest) bool {
	if !st.auto[req.Model] {
		if st.pool.Model(req.Model) == nil {
			fail(c, kindMissing, "model_not_found", "model",
				fmt.Sprintf("the model %q does not exist; use one of the auto models %v or a model from GET /v1/models", req.Model, st.cfg.Server.AutoModels))
			return false
		}
		x.target = intents.Target{Model: intents.Models{req.Model}}
		return true
	}
	text := routingText(req.Messages, st.cfg.Server.RouteTurns)
	if strings.TrimSpace(text) == "" {
		badRequest(c, "messages", "no user message with text to route on")
		return false
	}
	d, err := s.decide(c, st, x, text, semanticLookup(st.cfg.Cache, req, text))
	if errors.Is(err, router.ErrEmptyPrompt) {
		err = bad("messages", "no user message with text to route on")
	}
	if err != nil { // 400 for a prompt the router refuses, 500 for its own failure (was 500 for both)
		answerError(c, err)
		return false
	}
	x.decision, x.target = &d, d.Target
	h := c.Writer.Header()
	h.Set("X-Semroute-Intent", x.intent)
	h.Set("X-Semroute-Score", strconv.FormatFloat(d.Score, 'f', 4, 64))
	h.Set("X-Semroute-Decided-By", d.DecidedBy)
	if d.Judge != nil {
		h.Set("X-Semroute-Judge", judgeHeader(d.Judge))
	}
	return true
}

// chooseTarget applies the segments to x's target, then the action of a
// moderation intent: block and handoff answer, flag and redact go on to
// the fallback.
func (s *Server) chooseTarget(c *gin.Context, st *state, x *exchange, req *chatRequest) bool {
	c.Writer.Header().Set("X-Semroute-Target", x.target.String())
	x.target = segment(c, st.cfg, x, lastUser(req))
	if a := x.target.Moderation; a != "" {
		if !s.moderationTarget(c, st, x, a, req) {
			return false
		}
		x.target = st.cfg.Fallback // flag or redact: the prompt goes on
	}
	return true
}

// answer answers from x's target: a collection, a cascade, a person or a
// model tier; the answer is post-moderated there.
func (s *Server) answer(c *gin.Context, st *state, x *exchange, req *chatRequest) bool {
	target := x.target
	switch {
	case target.RAG != "":
		s.chatRAG(c, st, target.RAG, req, routingText(req.Messages, st.cfg.Server.RouteTurns))
	case len(target.Cascade) > 0:
		s.chatCascade(c, st, target.Cascade, req)
	case target.Handoff != "":
		d := handoff.Decision{Intent: x.intent}
		if x.decision != nil {
			d.Score = x.decision.Score
		}
		s.chatHandoff(c, st, target.Handoff, req, d)
	case len(target.Model) > 0:
		s.callModels(c, st, x, target, req)
	default: // a fallback that is flag or redact itself, which validation refuses
		fail(c, kindInternal, "", "", fmt.Sprintf("this prompt routes to %s, which gives no answer", target.String()))
	}
	return true
}

// moderationTarget applies the action of an intent whose target is a
// moderation action: block and handoff answer (false); flag and redact
// mark the request and let it go on to the fallback (true).
func (s *Server) moderationTarget(c *gin.Context, st *state, x *exchange, action string, req *chatRequest) bool {
	c.Writer.Header().Set("X-Semroute-Moderation", x.intent+";action="+action)
	switch action {
	case "block":
		refusal := "I can't help with that request."
		if st.cfg.Moderation != nil {
			refusal = st.cfg.Moderation.Refusal
		}
		writeAnswer(c, req.Stream, "semroute-moderation", refusal, gin.H{"moderation": gin.H{"action": "block", "intent": x.intent}})
		return false
	case "handoff":
		queue := "safety"
		if st.cfg.Moderation != nil {
			queue = st.cfg.Moderation.HandoffQueue
		}
		s.chatHandoff(c, st, queue, req, handoff.Decision{Intent: x.intent, Reason: "moderation intent"})
		return false
	case "redact":
		for i, m := range req.Messages {
			req.Messages[i].Content = moderation.Redact(m.Content, moderation.FindPII(m.Content))
		}
		if err := rewriteMessages(req); err != nil {
			fail(c, kindInternal, "", "", err.Error())
			return false
		}
	}
	return true
}

// statusClientClosed is the status logged for a request whose client went
// away before its answer was whole (nginx's 499, "client closed request").
const statusClientClosed = 499

// clientClosed records that the client gave up on the request: the access
// log and the request metric say 499, even when a stream's 200 went out.
func clientClosed(c *gin.Context) {
	exchangeOf(c).closed = true
	if c.Writer.Written() {
		c.Abort()
		return
	}
	c.AbortWithStatus(statusClientClosed)
}

// status is the status a request is logged with.
func status(c *gin.Context) int {
	if exchangeOf(c).closed {
		return statusClientClosed
	}
	return c.Writer.Status()
}
