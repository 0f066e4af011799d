package upstream

import (
	"context"
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/semroute/semroute/internal/telemetry"
)

// Span names and attributes of an upstream attempt (README "Traces").
const (
	spanAttempt   = "upstream.attempt"
	attrModel     = "semroute.model"
	attrDeploy    = "semroute.deployment"
	attrAttempt   = "semroute.attempt"
	attrRetry     = "semroute.retry"
	attrFallback  = "semroute.fallback"
	attrErrorKind = "error.type"
	attrStatus    = "http.response.status_code"
	attrRequestID = "semroute.request_id"
)

// startAttempt starts the span of one attempt when the call is traced:
// ctx's span records (the gateway made it with a tracer). Otherwise it
// returns ctx and nil, at the cost of one context lookup. The attempt's
// request carries the new span's traceparent.
func startAttempt(ctx context.Context, m *Model, d *Deployment, attempt, try int, fallback bool) (context.Context, trace.Span) {
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return ctx, nil
	}
	return parent.TracerProvider().Tracer(telemetry.Tracer).Start(ctx, spanAttempt,
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(
			attribute.String(attrModel, m.Name),
			attribute.String(attrDeploy, d.BaseURL),
			attribute.Int(attrAttempt, attempt),
			attribute.Bool(attrRetry, try > 0),
			attribute.Bool(attrFallback, fallback),
			attribute.String(attrRequestID, telemetry.RequestID(ctx)),
		))
}

// endAttempt ends an attempt's span with its outcome: the upstream's
// status (200 for an answer) or the error's kind.
func endAttempt(sp trace.Span, err *Error) {
	if sp == nil {
		return
	}
	switch {
	case err == nil:
		sp.SetAttributes(attribute.Int(attrStatus, http.StatusOK))
	default:
		if err.Status != 0 {
			sp.SetAttributes(attribute.Int(attrStatus, err.Status))
		}
		sp.SetAttributes(attribute.String(attrErrorKind, err.Kind))
		sp.SetStatus(codes.Error, err.Kind)
	}
	sp.End()
}

// outgoingTransport sets the trace context and request id of each
// request's context (see telemetry.Outgoing) on the requests that
// langchaingo's clients send.
type outgoingTransport struct{ next http.RoundTripper }

func (t outgoingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	out := telemetry.OutgoingOf(r.Context())
	if out.Span.IsValid() || out.RequestID != "" {
		r = r.Clone(r.Context()) // a RoundTripper must not change its request
		out.Set(r.Header)
	}
	return t.next.RoundTrip(r)
}
