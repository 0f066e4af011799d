package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/semroute/semroute/router/upstream"
)

// A chat request may carry its own limits (README, "Per-request limits"):
// metadata.max_cost_usd and metadata.max_latency_ms in the body, or the
// headers x-semroute-max-cost and x-semroute-max-latency-ms. Each value is
// a JSON number or, since OpenAI's metadata is a map of strings, a string
// holding one. Given both ways, the stricter value holds: a header a proxy
// adds as policy cannot be loosened by the body. The two keys are taken out
// of metadata before the body goes upstream (OpenAI refuses metadata values
// that are not strings).

// Where the limits are read from.
const (
	metaCost       = "max_cost_usd"
	metaLatency    = "max_latency_ms"
	headerCost     = "X-Semroute-Max-Cost"
	headerLatency  = "X-Semroute-Max-Latency-Ms"
	maxLatencyMS   = 24 * 60 * 60 * 1000 // a day: past that it is no limit
	codeLimit      = "request_limit"
	codeLatencyCut = "max_latency_exceeded"
)

// limits are a request's own limits; zero values are unset. A request
// without any has none (nil), so the common path carries no more.
type limits struct {
	costUSD    float64 // valid when hasCost; 0 allows only free models
	hasCost    bool
	latency    time.Duration
	deadline   *deadline // the running max_latency_ms, once the calls start
	costFrom   string    // the field the cost limit came from, for messages
	latencyMS  float64
	latencyFmt string
}

// readLimits reads the limits of req (whose headers are h), nil when it
// has none, and takes them out of its metadata.
func readLimits(h http.Header, req *chatRequest) (*limits, error) {
	l, err := parseLimits(h, req)
	if err != nil || !l.hasCost && l.latency == 0 {
		return nil, err
	}
	return &l, nil
}

func parseLimits(h http.Header, req *chatRequest) (limits, error) {
	var l limits
	meta, err := takeMetadata(req)
	if err != nil {
		return l, err
	}
	if raw, ok := meta[metaCost]; ok {
		if err := l.addCost(raw, "metadata."+metaCost); err != nil {
			return l, err
		}
	}
	if raw, ok := meta[metaLatency]; ok {
		if err := l.addLatency(raw, "metadata."+metaLatency); err != nil {
			return l, err
		}
	}
	for _, v := range h[headerCost] { // sent twice: the stricter holds too
		if err := l.addCost(json.RawMessage(strconv.Quote(v)), strings.ToLower(headerCost)); err != nil {
			return l, err
		}
	}
	for _, v := range h[headerLatency] {
		if err := l.addLatency(json.RawMessage(strconv.Quote(v)), strings.ToLower(headerLatency)); err != nil {
			return l, err
		}
	}
	return l, nil
}

// takeMetadata returns the limit keys of req's metadata and deletes them
// from its body. A metadata that is not an object is left to the upstream.
func takeMetadata(req *chatRequest) (map[string]json.RawMessage, error) {
	raw, ok := req.Body["metadata"]
	if !ok {
		return nil, nil
	}
	var meta map[string]json.RawMessage
	if json.Unmarshal(raw, &meta) != nil || meta == nil {
		return nil, nil
	}
	mine := map[string]json.RawMessage{}
	for _, k := range []string{metaCost, metaLatency} {
		if v, ok := meta[k]; ok {
			mine[k] = v
			delete(meta, k)
		}
	}
	if len(mine) == 0 {
		return nil, nil
	}
	if len(meta) == 0 {
		delete(req.Body, "metadata")
	} else {
		b, err := json.Marshal(meta)
		if err != nil {
			return nil, fmt.Errorf("rewrite metadata: %w", err)
		}
		req.Body["metadata"] = b
	}
	req.Raw = nil // the body changed
	return mine, nil
}

// number reads a limit's value: a JSON number, or a string holding one.
func number(raw json.RawMessage, field string) (float64, error) {
	text := strings.TrimSpace(string(raw))
	var s string
	if json.Unmarshal(raw, &s) == nil {
		text = strings.TrimSpace(s)
	}
	var f float64
	if text == "" || text[0] == '"' || json.Unmarshal([]byte(text), &f) != nil {
		return 0, bad(field, "%s must be a number, or a string holding one (like 0.01 or \"0.01\"); got %s", field, quoteValue(raw))
	}
	return f, nil
}

// quoteValue shows a client's value in a message, cut short.
func quoteValue(raw json.RawMessage) string {
	s := string(raw)
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return s
}

func (l *limits) addCost(raw json.RawMessage, field string) error {
	f, err := number(raw, field)
	if err != nil {
		return err
	}
	if f < 0 {
		return bad(field, "%s must be a cost in US dollars of 0 or more; got %s", field, quoteValue(raw))
	}
	if !l.hasCost || f < l.costUSD { // the stricter holds
		l.costUSD, l.hasCost, l.costFrom = f, true, field
	}
	return nil
}

func (l *limits) addLatency(raw json.RawMessage, field string) error {
	f, err := number(raw, field)
	if err != nil {
		return err
	}
	if f <= 0 || f > maxLatencyMS {
		return bad(field, "%s must be milliseconds above 0 and at most %d; got %s", field, maxLatencyMS, quoteValue(raw))
	}
	if l.latency == 0 || f < l.latencyMS {
		l.latencyMS, l.latencyFmt = f, strconv.FormatFloat(f, 'g', -1, 64)
		l.latency = time.Duration(math.Round(f * float64(time.Millisecond)))
	}
	return nil
}

// header is x-semroute-limit's value when a limit changed the choice:
// the limits and the models they skipped.
func (l *limits) header(skipped []string) string {
	var parts []string
	if l.hasCost {
		parts = append(parts, metaCost+"="+strconv.FormatFloat(l.costUSD, 'g', -1, 64))
	}
	if l.latency > 0 {
		parts = append(parts, metaLatency+"="+l.latencyFmt)
	}
	return strings.Join(append(parts, "skipped="+strings.Join(skipped, ",")), ";")
}

// errLatencyLimit is the cause of a call cut at the request's
// max_latency_ms.
var errLatencyLimit = errors.New("the request's max_latency_ms passed")

// deadline is max_latency_ms running: it cancels the calls' context when
// it passes, unless stopped first (a stream's first byte).
type deadline struct {
	timer  *time.Timer
	cancel context.CancelCauseFunc
}

// start starts max_latency_ms, if set, on parent: the context the calls
// get, and end, to call once they are done.
func (l *limits) start(parent context.Context) (ctx context.Context, end func()) {
	if l == nil || l.latency <= 0 {
		return parent, func() {}
	}
	ctx, cancel := context.WithCancelCause(parent)
	l.deadline = &deadline{cancel: cancel, timer: time.AfterFunc(l.latency, func() { cancel(errLatencyLimit) })}
	return ctx, func() {
		l.deadline.timer.Stop()
		cancel(nil)
	}
}

// firstByte stops max_latency_ms for a stream whose first byte is out: an
// answer the client reads as it comes is not cut.
func (l *limits) firstByte() {
	if l != nil && l.deadline != nil {
		l.deadline.timer.Stop()
	}
}

// cutByLimit reports whether ctx ended at the request's max_latency_ms
// (not because its client went away).
func cutByLimit(ctx context.Context) bool {
	return errors.Is(context.Cause(ctx), errLatencyLimit)
}

// callFailed answers a failed call to a model tier that sent nothing yet
// (see answerFailed). A call cut at the request's max_latency_ms counts as
// a sample of that latency for the model cut: a model that never answers
// within a limit would otherwise never be measured, and be tried first
// again.
func (s *Server) callFailed(ctx context.Context, c *gin.Context, req *chatRequest, err error) {
	var ue *upstream.Error
	if cutByLimit(ctx) && errors.As(err, &ue) {
		s.seen.latency(ue.Model, req.limits.latency)
	}
	answerFailed(ctx, c, req, err)
}

// answerFailed answers a failed call that sent nothing yet: 504
// max_latency_exceeded when it was cut at the request's max_latency_ms.
func answerFailed(ctx context.Context, c *gin.Context, req *chatRequest, err error) {
	var ue *upstream.Error
	if !cutByLimit(ctx) || !errors.As(err, &ue) {
		upstreamFailed(c, err)
		return
	}
	exchangeOf(c).model = ue.Model
	answerError(c, failure(kindUpstreamTimeout, codeLatencyCut, metaLatency,
		fmt.Sprintf("no answer within the request's max_latency_ms of %s: the call to model %s was cut", req.limits.latencyFmt, ue.Model)))
}
