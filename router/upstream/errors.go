package upstream

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"
)

// Kinds of Error, also the "kind" label of the upstream error metric.
const (
	KindTimeout      = "timeout"
	KindConnection   = "connection"
	KindServer       = "server_error" // 5xx
	KindRateLimited  = "rate_limited" // 429
	KindClient       = "client_error" // 4xx other than 429: not retried
	KindBreakerOpen  = "breaker_open"
	KindUnconfigured = "unconfigured" // the API key's variable is not set
	KindStream       = "stream_broken"
	KindProvider     = "provider_error"
	// KindCanceled is a call the caller gave up on (its context is done, or
	// its stream could not be written to): neither a success nor a failure
	// of the deployment, and not retried.
	KindCanceled = "canceled"
)

// Error is a failed upstream call.
type Error struct {
	Model      string
	Deployment string // base URL
	Kind       string
	Status     int // the upstream's HTTP status, 0 when there was none
	RetryAfter time.Duration
	// Body is the upstream's error body (bounded), passed on to the client
	// for a client_error.
	Body []byte
	Err  error
}

func (e *Error) Error() string {
	s := fmt.Sprintf("model %s", e.Model)
	if e.Deployment != "" {
		s += " at " + e.Deployment
	}
	if e.Status != 0 {
		s += fmt.Sprintf(": HTTP %d", e.Status)
	}
	s += " (" + e.Kind + ")"
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether another attempt may succeed.
func (e *Error) Retryable() bool {
	switch e.Kind {
	case KindClient, KindUnconfigured, KindCanceled:
		return false
	}
	return true
}

// classify turns a transport error into an *Error.
func classify(model, dep string, err error) *Error {
	kind := KindConnection
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		kind = KindTimeout
	}
	return &Error{Model: model, Deployment: dep, Kind: kind, Err: err}
}

func statusError(model, dep string, status int, h http.Header, body []byte) *Error {
	e := &Error{Model: model, Deployment: dep, Status: status, Body: body}
	switch {
	case status == http.StatusTooManyRequests:
		e.Kind = KindRateLimited
		e.RetryAfter = retryAfter(h.Get("Retry-After"))
	case status >= 500:
		e.Kind = KindServer
		e.RetryAfter = retryAfter(h.Get("Retry-After"))
	default:
		e.Kind = KindClient
	}
	return e
}

// retryAfter reads a Retry-After value: seconds, or an HTTP date.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}
