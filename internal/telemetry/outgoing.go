package telemetry

import (
	"context"
	"encoding/hex"
	"net/http"

	"go.opentelemetry.io/otel/trace"
)

type requestIDKey struct{}

// WithRequestID returns ctx carrying the request's id, which upstream
// calls made in ctx send as X-Request-Id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID is the request id ctx carries, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// Outgoing is what an upstream call made in a context sends on: the span
// context it is made in (invalid with tracing off) and the request id.
type Outgoing struct {
	Span      trace.SpanContext
	RequestID string
}

// OutgoingOf reads ctx's Outgoing.
func OutgoingOf(ctx context.Context) Outgoing {
	return Outgoing{Span: trace.SpanContextFromContext(ctx), RequestID: RequestID(ctx)}
}

// AppendHead appends o's header lines, each preceded by CRLF, for a
// hand-written HTTP/1.1 head: traceparent and tracestate when o has a
// valid span context, X-Request-Id when it has an id. It allocates only
// for a tracestate.
func (o Outgoing) AppendHead(dst []byte) []byte {
	if o.Span.IsValid() {
		dst = append(dst, "\r\nTraceparent: "...)
		dst = o.appendTraceparent(dst)
		if o.Span.TraceState().Len() > 0 {
			dst = append(dst, "\r\nTracestate: "...)
			dst = append(dst, o.Span.TraceState().String()...)
		}
	}
	if o.RequestID != "" {
		dst = append(dst, "\r\nX-Request-Id: "...)
		dst = append(dst, o.RequestID...)
	}
	return dst
}

// Set sets o's headers on h, as AppendHead writes them.
func (o Outgoing) Set(h http.Header) {
	if o.Span.IsValid() {
		h.Set("Traceparent", string(o.appendTraceparent(make([]byte, 0, 55))))
		if o.Span.TraceState().Len() > 0 {
			h.Set("Tracestate", o.Span.TraceState().String())
		}
	}
	if o.RequestID != "" {
		h.Set("X-Request-Id", o.RequestID)
	}
}

// appendTraceparent appends the W3C traceparent of o's span context:
// version 00, trace id, span id, flags.
func (o Outgoing) appendTraceparent(dst []byte) []byte {
	tid, sid := o.Span.TraceID(), o.Span.SpanID()
	dst = append(dst, "00-"...)
	dst = hex.AppendEncode(dst, tid[:])
	dst = append(dst, '-')
	dst = hex.AppendEncode(dst, sid[:])
	dst = append(dst, '-')
	return hex.AppendEncode(dst, []byte{byte(o.Span.TraceFlags())})
}
