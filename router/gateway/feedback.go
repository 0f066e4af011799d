package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/semroute/semroute/intents"
	"github.com/semroute/semroute/router/config"
	"github.com/semroute/semroute/router/feedback"
)

// feedbackBody is POST /v1/feedback's body.
type feedbackBody struct {
	RequestID *string  `json:"request_id"`
	Intent    *string  `json:"intent"`
	Rating    *float64 `json:"rating"`
	Comment   *string  `json:"comment"`
}

const feedbackShape = `{"request_id", "intent"?, "rating"? (-1 or 1), "comment"?}`

// decodeJSON decodes body into v, refusing unknown fields; an error names
// the field that is wrong.
func decodeJSON(body []byte, v any, shape string) *requestError {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		return nil
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return bad(te.Field, "%s must be a %s, not a JSON %s; send %s", te.Field, jsonType(te.Type.String()), te.Value, shape)
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		f, _ = strconv.Unquote(f)
		return bad(f, "unknown field %q; send %s", f, shape)
	}
	return bad("", "the body is not a JSON object %s: %v", shape, err)
}

func jsonType(goType string) string {
	switch strings.TrimPrefix(goType, "*") {
	case "string":
		return "string"
	case "float64", "int":
		return "number"
	}
	return goType
}

// feedbackOn returns the config's feedback section, or answers 404.
func feedbackOn(c *gin.Context, cfg *config.Config) (*config.FeedbackConfig, bool) {
	if cfg.Feedback == nil {
		fail(c, kindNotFound, "feedback_off", "", "feedback is off: add a feedback section to the config (see README, Feedback)")
		return nil, false
	}
	return cfg.Feedback, true
}

// postFeedback answers POST /v1/feedback: what a client says about a
// request it made. The request must have a record (it was routed, within
// feedback.keep_days, under the same key).
func (s *Server) postFeedback(c *gin.Context) {
	st, x := s.st.Load(), exchangeOf(c)
	fc, ok := feedbackOn(c, st.cfg)
	if !ok {
		return
	}
	fb, rerr := readFeedback(c, st, fc)
	if rerr != nil {
		answerError(c, rerr)
		return
	}
	o, err := s.feedbackStore(st.cfg)
	var route feedback.Route
	if err == nil {
		route, err = o.store.Route(c.Request.Context(), fb.RequestID)
	}
	if errors.Is(err, feedback.ErrUnknown) || (err == nil && route.Key != x.key) { // another key's request is not shown either
		fail(c, kindMissing, "request_not_found", "request_id", fmt.Sprintf(
			"no routed request %q is known to this key: ids come from the X-Request-Id of an answer routed by an auto model within the last %d days", fb.RequestID, fc.KeepDays))
		return
	}
	if err != nil {
		fail(c, kindUnavailable, "", "", "the feedback store is unavailable: "+err.Error())
		return
	}
	fb.At, fb.Key, fb.Route = time.Now().UTC(), x.key, route
	if err := o.store.Add(c.Request.Context(), fb); err != nil {
		fail(c, kindUnavailable, "", "", "the feedback could not be stored: "+err.Error())
		return
	}
	rating := "none"
	if fb.Rating != 0 {
		rating = strconv.Itoa(fb.Rating)
	}
	s.m.feedback.WithLabelValues(route.Intent, rating).Inc()
	fb.Route.Prompt = "" // the client sent it; it needs no copy back
	c.JSON(http.StatusCreated, gin.H{"object": "feedback", "feedback": fb})
}

// readFeedback reads and checks POST /v1/feedback's body.
func readFeedback(c *gin.Context, st *state, fc *config.FeedbackConfig) (feedback.Feedback, *requestError) {
	body, err := readBody(c.Request.Body)
	if err != nil {
		return feedback.Feedback{}, classify(err)
	}
	return parseFeedback(body, st.cfg.Intents, fc.MaxComment)
}

// parseFeedback decodes and checks a feedback body; the error names the
// field that is wrong.
func parseFeedback(body []byte, list []intents.Intent, maxComment int) (feedback.Feedback, *requestError) {
	var fb feedback.Feedback
	var req feedbackBody
	if rerr := decodeJSON(body, &req, feedbackShape); rerr != nil {
		return fb, rerr
	}
	switch {
	case req.RequestID == nil || *req.RequestID == "":
		return fb, bad("request_id", "missing request_id: the X-Request-Id of the answer the feedback is about")
	case !safeRequestID(*req.RequestID):
		return fb, bad("request_id", "request_id %q is not a request id (1–%d letters, digits and -_.:/+=@)", *req.RequestID, maxRequestID)
	case req.Intent == nil && req.Rating == nil:
		return fb, bad("", "give intent (the intent the request should have gone to, or %q) or rating (-1 or 1), or both", intents.OOS)
	case req.Rating != nil && *req.Rating != 1 && *req.Rating != -1:
		return fb, bad("rating", "rating must be -1 or 1, not %v", *req.Rating)
	case req.Comment != nil && utf8.RuneCountInString(*req.Comment) > maxComment:
		return fb, bad("comment", "comment has %d characters; at most %d (feedback.max_comment)", utf8.RuneCountInString(*req.Comment), maxComment)
	}
	fb.RequestID = *req.RequestID
	if req.Intent != nil {
		if rerr := knownIntent(list, *req.Intent); rerr != nil {
			return fb, rerr
		}
		fb.Intent = *req.Intent
	}
	if req.Rating != nil {
		fb.Rating = int(*req.Rating)
	}
	if req.Comment != nil {
		fb.Comment = *req.Comment
	}
	return fb, nil
}

// knownIntent checks that name is one of list's intents or oos.
func knownIntent(list []intents.Intent, name string) *requestError {
	if name == intents.OOS || findIntent(list, name) >= 0 {
		return nil
	}
	names := make([]string, 0, len(list)+1)
	for _, in := range list {
		names = append(names, in.Name)
	}
	slices.Sort(names)
	if len(names) > 20 {
		names = append(names[:20], "…")
	}
	return bad("intent", "intent %q is not an intent of this router; give one of %s or %q", name, strings.Join(names, ", "), intents.OOS)
}
