package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/semroute/semroute/router"
	"github.com/semroute/semroute/router/upstream"
)

// apiError is OpenAI's error object.
type apiError struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

// Error types, as OpenAI names them.
const (
	typeInvalid  = "invalid_request_error"
	typeAuth     = "authentication_error"
	typePerm     = "permission_error"
	typeNotFound = "not_found_error"
	typeServer   = "server_error"
	typeUpstream = "upstream_error"
	typeRate     = "rate_limit_error"
)

// kind is what went wrong with a request, in the terms of the steps that
// found it; httpStatus, the one place that knows HTTP, turns it into a
// status and an OpenAI error type.
type kind uint8

const (
	kindInternal         kind = iota // a bug or a broken build: 500
	kindInvalid                      // the request is wrong: 400
	kindTooLarge                     // the body is over the limit: 413
	kindUnauthorized                 // no or a wrong key: 401
	kindForbidden                    // the key may not do this: 403
	kindMissing                      // the body names nothing that exists (a model): 404, as OpenAI answers it
	kindNotFound                     // the URL names nothing that exists: 404
	kindMethod                       // 405
	kindConflict                     // 409
	kindRateLimited                  // 429
	kindUnavailable                  // a store, budget or build is down: 503
	kindUpstream                     // the upstream failed: 502
	kindUpstreamDown                 // every upstream's breaker is open: 503
	kindUpstreamTimeout              // 504
	kindUpstreamRejected             // the upstream refused the request: its own status
	kindLimit                        // the request's own limits leave no model: 422
)

// statuses maps each kind to its HTTP status and OpenAI error type.
var statuses = [...]struct {
	status int
	typ    string
}{
	kindInternal:         {http.StatusInternalServerError, typeServer},
	kindInvalid:          {http.StatusBadRequest, typeInvalid},
	kindTooLarge:         {http.StatusRequestEntityTooLarge, typeInvalid},
	kindUnauthorized:     {http.StatusUnauthorized, typeAuth},
	kindForbidden:        {http.StatusForbidden, typePerm},
	kindMissing:          {http.StatusNotFound, typeInvalid},
	kindNotFound:         {http.StatusNotFound, typeNotFound},
	kindMethod:           {http.StatusMethodNotAllowed, typeInvalid},
	kindConflict:         {http.StatusConflict, typeInvalid},
	kindRateLimited:      {http.StatusTooManyRequests, typeRate},
	kindUnavailable:      {http.StatusServiceUnavailable, typeServer},
	kindUpstream:         {http.StatusBadGateway, typeUpstream},
	kindUpstreamDown:     {http.StatusServiceUnavailable, typeUpstream},
	kindUpstreamTimeout:  {http.StatusGatewayTimeout, typeUpstream},
	kindUpstreamRejected: {http.StatusBadGateway, typeInvalid}, // status: the upstream's
	kindLimit:            {http.StatusUnprocessableEntity, typeInvalid},
}

// requestError is an error a step of a request answers with: its kind,
// and what the client is told.
type requestError struct {
	kind  kind
	param string
	code  string // OpenAI's error code, when there is one
	msg   string
	// upstream is the status an upstream refused the request with
	// (kindUpstreamRejected).
	upstream int
}

func (e *requestError) Error() string { return e.msg }

// status is the one place an error kind becomes an HTTP status.
func (e *requestError) status() int {
	if e.kind == kindUpstreamRejected && e.upstream != 0 {
		return e.upstream
	}
	return statuses[e.kind].status
}

func failure(k kind, code, param, msg string) *requestError {
	return &requestError{kind: k, code: code, param: param, msg: msg}
}

func bad(param, format string, args ...any) *requestError {
	return &requestError{kind: kindInvalid, param: param, msg: fmt.Sprintf(format, args...)}
}

// classify gives any error a step returns its kind: a requestError is one
// already; routing an empty prompt is the client's error (400); an
// upstream's failure has its own kinds; anything else is internal (500).
func classify(err error) *requestError {
	var re *requestError
	if errors.As(err, &re) {
		return re
	}
	if errors.Is(err, router.ErrEmptyPrompt) {
		return bad("input", "input is empty")
	}
	var ue *upstream.Error
	if errors.As(err, &ue) {
		return upstreamError(ue)
	}
	return failure(kindInternal, "", "", err.Error())
}

// upstreamError gives an upstream's failure its kind.
func upstreamError(ue *upstream.Error) *requestError {
	switch ue.Kind {
	case upstream.KindClient:
		return &requestError{kind: kindUpstreamRejected, code: "upstream_rejected", upstream: ue.Status,
			msg: fmt.Sprintf("model %s rejected the request (HTTP %d)", ue.Model, ue.Status)}
	case upstream.KindUnconfigured:
		return failure(kindUnavailable, "model_not_configured", "", ue.Err.Error())
	case upstream.KindRateLimited:
		return failure(kindRateLimited, "upstream_rate_limited", "", ue.Error())
	case upstream.KindBreakerOpen:
		return failure(kindUpstreamDown, "upstream_unavailable", "", ue.Error())
	case upstream.KindTimeout:
		return failure(kindUpstreamTimeout, "upstream_timeout", "", ue.Error())
	}
	return failure(kindUpstream, "upstream_error", "", ue.Error())
}

func strp(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// answerError answers err with an OpenAI-format error and stops the chain.
func answerError(c *gin.Context, err error) {
	re := classify(err)
	c.AbortWithStatusJSON(re.status(), gin.H{"error": apiError{Message: re.msg, Type: statuses[re.kind].typ, Param: strp(re.param), Code: strp(re.code)}})
}

// fail answers an error of kind k.
func fail(c *gin.Context, k kind, code, param, msg string) {
	answerError(c, failure(k, code, param, msg))
}

func badRequest(c *gin.Context, param, msg string) {
	fail(c, kindInvalid, "", param, msg)
}

// upstreamFailed answers a failed upstream call that sent nothing yet.
func upstreamFailed(c *gin.Context, err error) {
	var ue *upstream.Error
	if !errors.As(err, &ue) {
		answerError(c, failure(kindUpstream, "", "", err.Error()))
		return
	}
	exchangeOf(c).model = ue.Model
	switch ue.Kind {
	case upstream.KindCanceled:
		clientClosed(c)
		return
	case upstream.KindClient:
		// The upstream refused the request itself: pass its answer on.
		var e struct {
			Error json.RawMessage `json:"error"`
		}
		if json.Unmarshal(ue.Body, &e) == nil && len(e.Error) > 0 {
			c.Data(ue.Status, "application/json", ue.Body)
			c.Abort()
			return
		}
	case upstream.KindRateLimited:
		if ue.RetryAfter > 0 {
			c.Header("Retry-After", strconv.Itoa(int((ue.RetryAfter+time.Second-1)/time.Second)))
		}
	}
	answerError(c, upstreamError(ue))
}
