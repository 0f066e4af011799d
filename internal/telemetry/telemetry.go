package telemetry

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Tracer is the instrumentation scope of semroute's spans.
const Tracer = "github.com/semroute/semroute"

// Settings say where spans go and which traces are kept. cmd makes them
// from the config's telemetry section and the OTEL_* variables.
type Settings struct {
	// Endpoint is the OTLP/HTTP traces URL spans are posted to
	// (http://collector:4318/v1/traces).
	Endpoint string
	// Sampler is an OTEL_TRACES_SAMPLER name (parentbased_traceidratio
	// when empty) and Ratio its argument, the share of new traces kept.
	Sampler string
	Ratio   float64
	// ServiceName is the resource's service.name (semroute when empty).
	ServiceName string
	// Headers are sent with every export (OTEL_EXPORTER_OTLP_HEADERS).
	Headers map[string]string
	// Timeout bounds one export (10 s when zero).
	Timeout time.Duration
}

// TracesURL is the traces URL of an OTLP/HTTP endpoint as
// OTEL_EXPORTER_OTLP_ENDPOINT gives it: a base URL, to which v1/traces is
// added. A URL with a path other than / is taken as it is, as the
// signal's own variable (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is.
func TracesURL(base string) (string, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%q is not an http(s) URL", base)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/v1/traces"
	}
	return u.String(), nil
}

// Sampler makes the sampler an OTEL_TRACES_SAMPLER name and its argument
// name: always_on, always_off, traceidratio and their parentbased_ forms
// (which follow a caller's sampled flag).
func Sampler(name string, ratio float64) (sdktrace.Sampler, error) {
	if ratio < 0 || ratio > 1 {
		return nil, fmt.Errorf("sampler argument %v is outside [0, 1]", ratio)
	}
	switch name {
	case "always_on":
		return sdktrace.AlwaysSample(), nil
	case "always_off":
		return sdktrace.NeverSample(), nil
	case "traceidratio":
		return sdktrace.TraceIDRatioBased(ratio), nil
	case "parentbased_always_on":
		return sdktrace.ParentBased(sdktrace.AlwaysSample()), nil
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample()), nil
	case "", "parentbased_traceidratio":
		return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio)), nil
	}
	return nil, fmt.Errorf("unknown sampler %q; want always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio", name)
}

// Start makes a tracer provider that batches spans to s.Endpoint over
// OTLP/HTTP (protobuf). Shutdown flushes what is left; call it on exit.
func Start(s Settings) (*sdktrace.TracerProvider, error) {
	u, err := url.Parse(s.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("start tracing: the OTLP endpoint %q is not an http(s) URL", s.Endpoint)
	}
	sampler, err := Sampler(s.Sampler, s.Ratio)
	if err != nil {
		return nil, fmt.Errorf("start tracing: %w", err)
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	// Every option the exporter would otherwise read from the environment
	// is given: cmd has read the variables (the library reads none itself
	// that it was handed).
	opts := []otlptracehttp.Option{otlptracehttp.WithEndpointURL(s.Endpoint), otlptracehttp.WithTimeout(timeout)}
	if len(s.Headers) > 0 {
		opts = append(opts, otlptracehttp.WithHeaders(s.Headers))
	}
	exp, err := otlptracehttp.New(context.Background(), opts...)
	if err != nil {
		return nil, fmt.Errorf("start tracing: %w", err)
	}
	name := s.ServiceName
	if name == "" {
		name = "semroute"
	}
	res := resource.NewSchemaless(attribute.String("service.name", name))
	return sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithSampler(sampler), sdktrace.WithResource(res)), nil
}

// ParseHeaders reads OTEL_EXPORTER_OTLP_HEADERS: key=value pairs separated
// by commas, values URL-encoded.
func ParseHeaders(s string) (map[string]string, error) {
	out := map[string]string{}
	for i, part := range strings.Split(s, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("header %d (%q) is not key=value", i+1, part)
		}
		dv, err := url.PathUnescape(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("header %q: %w", k, err)
		}
		out[k] = dv
	}
	return out, nil
}

// ParseRatio reads OTEL_TRACES_SAMPLER_ARG.
func ParseRatio(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return 0, errors.New("not a number")
	}
	if v < 0 || v > 1 {
		return 0, fmt.Errorf("%v is outside [0, 1]", v)
	}
	return v, nil
}
