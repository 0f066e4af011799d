package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/semroute/semroute/intents"
	"github.com/semroute/semroute/router/upstream"
)

// callModels answers a chat completion from a model tier. With output
// moderation on, a stream is buffered: the whole answer is fetched,
// checked, and then sent as one chunk.
func (s *Server) callModels(c *gin.Context, st *state, x *exchange, target intents.Target, req *chatRequest) {
	answered, keep := s.lookupCache(c, st, x, target, req)
	if answered {
		return
	}
	target, arm := s.chooseArm(c, st, x, req, target)
	var ok bool
	if target.Model, ok = s.limitTier(c, st, req, target.Model); !ok {
		return
	}
	target, release, ok := s.admit(c, st, target)
	if !ok {
		return
	}
	defer release()
	ctx, end := req.limits.start(c.Request.Context())
	defer end()
	if arm != "" {
		start := time.Now()
		defer func() { s.armDone(c, st, x, arm, time.Since(start)) }()
	}
	buffered := req.Stream && st.cfg.Moderation != nil && st.cfg.Moderation.Output
	if req.Stream && !buffered {
		s.stream(ctx, c, st, target, req)
		return
	}
	if buffered {
		unstream(req)
	}
	res, err := st.pool.Call(ctx, target.Model, &req.Request, nil)
	if err != nil {
		s.callFailed(ctx, c, req, err)
		return
	}
	if err := s.book(c, st, res); err != nil {
		fail(c, kindUnavailable, "", "", "the answer's cost could not be booked, so it is not sent: "+err.Error())
		return
	}
	s.sendModelAnswer(c, st, x, res, buffered, keep)
}

// sendModelAnswer sends a model's answer, post-moderated, and hands what
// the client got to keep (the response cache) when it is not nil.
func (s *Server) sendModelAnswer(c *gin.Context, st *state, x *exchange, res upstream.Result, buffered bool, keep func(upstream.Result)) {
	s.m.usage(res)
	s.seen.answered(res)
	x.model, x.cost = res.Model, res.Cost
	h := c.Writer.Header()
	h.Set("X-Semroute-Model", res.Model)
	h.Set("X-Semroute-Cost", strconv.FormatFloat(res.Cost, 'g', 6, 64))
	h.Set("X-Semroute-Attempts", strconv.Itoa(res.Attempts))
	if res.Usage.Estimated { // only then: a header more costs the common path a larger map
		h.Set("X-Semroute-Usage", "estimated")
	}
	body := s.moderateOutput(c, st, res.Body)
	if buffered {
		replay(c, res.Model, body)
	} else {
		h.Set("Content-Length", strconv.Itoa(len(body)))
		c.Data(http.StatusOK, "application/json", body)
	}
	if keep != nil { // what the client got, output moderation applied
		// After the answer is on its way: storing it is not the client's
		// wait.
		c.Writer.Flush()
		keep(upstream.Result{Body: body, Model: res.Model, Cost: res.Cost})
	}
}

// chooseArm puts the request in an experiment's arm, or else in a
// canary; an experiment's arms are not canaried.
func (s *Server) chooseArm(c *gin.Context, st *state, x *exchange, req *chatRequest, target intents.Target) (intents.Target, string) {
	target, arm := experiment(c, st.cfg, x, req, target)
	if arm == "" && len(target.Model) > 0 {
		var name string
		if target.Model, name = s.canary.route(st.cfg, target.Model); name != "" {
			arm = "canary:" + name
			c.Writer.Header().Set("X-Semroute-Arm", arm)
		}
	}
	return target, arm
}

// unstream turns a stream request into a plain one, for an answer that is
// fetched whole before it is sent (as one chunk).
func unstream(req *chatRequest) {
	req.Stream = false
	req.Body["stream"] = json.RawMessage("false")
	req.Raw = nil // the body changed
	delete(req.Body, "stream_options")
}

// usageSource says where an answer's token usage came from.
func usageSource(u upstream.Usage) string {
	if u.Estimated {
		return "estimated"
	}
	return "reported"
}

// sseWriter sends a stream to the client, committing the headers (with the
// answering model) on the first write.
type sseWriter struct {
	c        *gin.Context
	first    func() // called at the first byte
	model    string
	attempts int // so far: none follows the first byte
	started  bool
}

func (w *sseWriter) Attempting(model string) { w.model = model; w.attempts++ }
func (w *sseWriter) Started() bool           { return w.started }

func (w *sseWriter) Write(p []byte) error {
	if !w.started {
		w.started = true
		if w.first != nil {
			w.first()
		}
		h := w.c.Writer.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Semroute-Model", w.model)
		h.Set("X-Semroute-Attempts", strconv.Itoa(w.attempts))
		h.Set("Trailer", "X-Semroute-Cost, X-Semroute-Usage") // known once the stream is done
		exchangeOf(w.c).model = w.model
		w.c.Writer.WriteHeader(http.StatusOK)
	}
	if _, err := w.c.Writer.Write(p); err != nil {
		return err
	}
	w.c.Writer.Flush()
	return nil
}

// stream relays a streamed answer and books it, as a plain call is, once it
// is done: on the usage the upstream reported, asked for whether or not
// the client did, else on an estimate (X-Semroute-Usage: estimated, a
// trailer). A failure before the first byte is answered like any other;
// after it, what went out is booked on an estimate and the stream ends with
// an error event in OpenAI's format ({"error": {...}}) and no [DONE], so
// that no client takes half an answer for a whole one.
func (s *Server) stream(ctx context.Context, c *gin.Context, st *state, target intents.Target, req *chatRequest) {
	w := &sseWriter{c: c, first: req.limits.firstByte}
	res, err := st.pool.Call(ctx, target.Model, &req.Request, w)
	if res.Model != "" { // an answer, or the part of one that went out
		if err := s.book(c, st, res); err != nil {
			s.log.Error("a streamed answer's cost could not be booked", "model", res.Model, "err", err)
		}
		s.m.usage(res)
		exchangeOf(c).cost = res.Cost
		h := c.Writer.Header()
		h.Set("X-Semroute-Cost", strconv.FormatFloat(res.Cost, 'g', 6, 64))
		if res.Usage.Estimated {
			h.Set("X-Semroute-Usage", "estimated")
		}
	}
	if err == nil {
		s.seen.answered(res)
		return
	}
	if !w.started {
		s.callFailed(ctx, c, req, err)
		return
	}
	var ue *upstream.Error
	if errors.As(err, &ue) && ue.Kind == upstream.KindCanceled && !cutByLimit(ctx) {
		clientClosed(c) // nobody is left to read an error event
		return
	}
	s.log.Warn("stream broken after its first byte", "model", w.model, "err", err)
	ev, _ := json.Marshal(gin.H{"error": apiError{Message: "the upstream failed mid-stream; the answer above is incomplete: " + err.Error(),
		Type: typeUpstream, Code: strp("stream_interrupted")}})
	w.c.Writer.Write([]byte("data: " + string(ev) + "\n\n"))
	w.c.Writer.Flush()
}
