package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/semroute/semroute/intents"
	"github.com/semroute/semroute/router/feedback"
)

// maxFeedbackList bounds what GET /v1/feedback returns at once.
const maxFeedbackList = 10000

// listFeedback answers GET /v1/feedback?intent=&since=&limit= (admin):
// the feedback, newest first. intent matches the routed intent or the one
// the feedback names; since is an RFC 3339 time or a duration back from
// now (24h).
func (s *Server) listFeedback(c *gin.Context) {
	st := s.st.Load()
	if _, ok := feedbackOn(c, st.cfg); !ok {
		return
	}
	f, rerr := feedbackFilter(c)
	if rerr != nil {
		answerError(c, rerr)
		return
	}
	o, err := s.feedbackStore(st.cfg)
	var list []feedback.Feedback
	if err == nil {
		list, err = o.store.List(c.Request.Context(), f)
	}
	if err != nil {
		fail(c, kindUnavailable, "", "", "the feedback store is unavailable: "+err.Error())
		return
	}
	c.JSON(http.StatusOK, gin.H{"object": "list", "data": list})
}

func feedbackFilter(c *gin.Context) (feedback.Filter, *requestError) {
	f := feedback.Filter{Intent: c.Query("intent"), Limit: 1000}
	if v := c.Query("since"); v != "" {
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			f.Since = t
		} else if d, err := time.ParseDuration(v); err == nil && d > 0 {
			f.Since = time.Now().Add(-d)
		} else {
			return f, bad("since", "since=%q is neither an RFC 3339 time (2026-12-01T00:00:00Z) nor a positive duration (24h)", v)
		}
	}
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxFeedbackList {
			return f, bad("limit", "limit=%q is not a number in 1…%d", v, maxFeedbackList)
		}
		f.Limit = n
	}
	return f, nil
}

// applyFeedback answers POST /v1/feedback/{request_id}/apply (admin): the
// request's routed prompt becomes an utterance of the intent its latest
// correcting feedback names (or the body's {"intent"}), through the
// intents API's validated, durable change. It needs the prompt, kept only
// with feedback.keep_prompts.
func (s *Server) applyFeedback(c *gin.Context) {
	st := s.st.Load()
	if _, ok := feedbackOn(c, st.cfg); !ok {
		return
	}
	id := c.Param("id")
	var req struct {
		Intent string `json:"intent"`
	}
	if body, err := readBody(c.Request.Body); err != nil {
		answerError(c, err)
		return
	} else if len(body) > 0 {
		if rerr := decodeJSON(body, &req, `{"intent"?}`); rerr != nil {
			answerError(c, rerr)
			return
		}
	}
	o, err := s.feedbackStore(st.cfg)
	if err != nil {
		fail(c, kindUnavailable, "", "", "the feedback store is unavailable: "+err.Error())
		return
	}
	intent, prompt, rerr := correction(c, o.store, id, req.Intent)
	if rerr != nil {
		answerError(c, rerr)
		return
	}
	_, ok := s.applyChange(c, func(list []intents.Intent) ([]intents.Intent, *requestError) {
		i := findIntent(list, intent)
		if i < 0 {
			return nil, &requestError{kind: kindConflict, param: "intent", msg: fmt.Sprintf("intent %q does not exist (any more)", intent)}
		}
		if !slices.Contains(list[i].Utterances, prompt) {
			list[i].Utterances = append(list[i].Utterances, prompt)
		}
		return list, nil
	})
	if ok {
		c.JSON(http.StatusOK, gin.H{"request_id": id, "intent": intent, "utterance": prompt, "added": true})
	}
}

// correction finds the intent request id should have gone to (want, else
// its latest feedback naming one) and its kept prompt (the route record,
// else the copy the feedback holds).
func correction(c *gin.Context, store feedback.Store, id, want string) (string, string, *requestError) {
	ctx := c.Request.Context()
	fbs, err := store.List(ctx, feedback.Filter{RequestID: id})
	if err != nil {
		return "", "", failure(kindUnavailable, "", "", "the feedback store is unavailable: "+err.Error())
	}
	route, err := store.Route(ctx, id)
	if err != nil && !errors.Is(err, feedback.ErrUnknown) {
		return "", "", failure(kindUnavailable, "", "", "the feedback store is unavailable: "+err.Error())
	}
	for _, fb := range fbs { // newest first
		if want == "" && fb.Intent != "" {
			want = fb.Intent
		}
		if route.Prompt == "" {
			route.Prompt = fb.Route.Prompt
		}
	}
	switch {
	case err != nil && len(fbs) == 0:
		return "", "", &requestError{kind: kindNotFound, code: "request_not_found", param: "request_id", msg: fmt.Sprintf("no record of request %q and no feedback on it", id)}
	case want == "":
		return "", "", &requestError{kind: kindConflict, param: "intent", msg: fmt.Sprintf("no feedback on request %q names an intent; send {\"intent\": NAME}", id)}
	case want == intents.OOS:
		return "", "", &requestError{kind: kindConflict, param: "intent", msg: fmt.Sprintf("request %q should have been out of scope: add its prompt under out_of_scope in the config (the intents API changes intents only)", id)}
	case route.Prompt == "":
		return "", "", &requestError{kind: kindConflict, code: "prompt_not_kept", msg: fmt.Sprintf("the prompt of request %q was not kept (feedback.keep_prompts was off when it was routed); add the utterance with POST /v1/intents/%s/utterances", id, want)}
	}
	return want, route.Prompt, nil
}
