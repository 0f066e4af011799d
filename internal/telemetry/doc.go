// Package telemetry sets up OpenTelemetry tracing for semroute and carries
// what a request's upstream calls must send on: the W3C trace context
// (traceparent, tracestate) of the span they are made in, and the request
// id (X-Request-Id).
//
// It sits beneath every step of the data path (it imports none): cmd reads
// the config and the OTEL_* variables and calls Start with the Settings
// they give; the gateway starts a span per step with the provider it is
// handed and puts the request id in the context (WithRequestID); the
// upstream clients read both back (Outgoing) when they write a request.
// With tracing off there is no provider: the gateway makes no span, and an
// upstream call carries only the request id.
package telemetry
