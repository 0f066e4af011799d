package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/semroute/semroute/internal/telemetry"
	"github.com/semroute/semroute/router/config"
)

// The OTEL_* variables serve reads for tracing (README "Traces"), by the
// OpenTelemetry specification's names. The config's telemetry section
// wins where it sets a value; the variables fill in the rest, so that a
// platform that sets them for every service traces semroute with no
// config change.
const (
	envOTelDisabled       = "OTEL_SDK_DISABLED"
	envOTelExporter       = "OTEL_TRACES_EXPORTER"
	envOTelEndpoint       = "OTEL_EXPORTER_OTLP_ENDPOINT"
	envOTelTracesEndpoint = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	envOTelProtocol       = "OTEL_EXPORTER_OTLP_PROTOCOL"
	envOTelTracesProtocol = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
	envOTelHeaders        = "OTEL_EXPORTER_OTLP_HEADERS"
	envOTelTracesHeaders  = "OTEL_EXPORTER_OTLP_TRACES_HEADERS"
	envOTelTimeout        = "OTEL_EXPORTER_OTLP_TIMEOUT"
	envOTelTracesTimeout  = "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT"
	envOTelSampler        = "OTEL_TRACES_SAMPLER"
	envOTelSamplerArg     = "OTEL_TRACES_SAMPLER_ARG"
	envOTelServiceName    = "OTEL_SERVICE_NAME"
)

// getenv reads a variable for the tracing settings (os.Getenv).
var getenv = os.Getenv

// telemetrySettings are the tracing settings of the config's telemetry
// section (nil when absent) and the OTEL_* variables getenv reads. on is
// false when neither names an endpoint, or when OTEL_SDK_DISABLED=true or
// OTEL_TRACES_EXPORTER=none turns tracing off.
func telemetrySettings(tc *config.TelemetryConfig, getenv func(string) string) (s telemetry.Settings, on bool, err error) {
	if strings.EqualFold(getenv(envOTelDisabled), "true") {
		return s, false, nil
	}
	switch exp := getenv(envOTelExporter); exp {
	case "", "otlp":
	case "none":
		return s, false, nil
	default:
		return s, false, fmt.Errorf("%s=%s: semroute exports traces over otlp only (or none)", envOTelExporter, exp)
	}
	if tc == nil {
		tc = &config.TelemetryConfig{}
	}
	if s.Endpoint, err = endpoint(tc, getenv); err != nil || s.Endpoint == "" {
		return s, false, err
	}
	if p := firstEnv(getenv, envOTelTracesProtocol, envOTelProtocol); p.value != "" && p.value != "http/protobuf" {
		return s, false, fmt.Errorf("%s=%s: semroute exports over OTLP/HTTP only; want http/protobuf", p.name, p.value)
	}
	if err := sampler(&s, tc, getenv); err != nil {
		return s, false, err
	}
	s.ServiceName = tc.ServiceName
	if s.ServiceName == "" {
		s.ServiceName = getenv(envOTelServiceName)
	}
	if h := firstEnv(getenv, envOTelTracesHeaders, envOTelHeaders); h.value != "" {
		if s.Headers, err = telemetry.ParseHeaders(h.value); err != nil {
			return s, false, fmt.Errorf("%s: %w", h.name, err)
		}
	}
	if v := firstEnv(getenv, envOTelTracesTimeout, envOTelTimeout); v.value != "" {
		ms, err := strconv.Atoi(v.value)
		if err != nil || ms <= 0 {
			return s, false, fmt.Errorf("%s=%s: want a timeout in milliseconds", v.name, v.value)
		}
		s.Timeout = time.Duration(ms) * time.Millisecond
	}
	return s, true, nil
}

// endpoint is the traces URL: telemetry.otlp_endpoint, else
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as it is, else
// OTEL_EXPORTER_OTLP_ENDPOINT with /v1/traces added; "" with none.
func endpoint(tc *config.TelemetryConfig, getenv func(string) string) (string, error) {
	if tc.OTLPEndpoint != "" {
		return telemetry.TracesURL(tc.OTLPEndpoint)
	}
	if v := getenv(envOTelTracesEndpoint); v != "" {
		if _, err := telemetry.TracesURL(v); err != nil {
			return "", fmt.Errorf("%s: %w", envOTelTracesEndpoint, err)
		}
		return v, nil
	}
	if v := getenv(envOTelEndpoint); v != "" {
		if _, err := telemetry.TracesURL(v); err != nil {
			return "", fmt.Errorf("%s: %w", envOTelEndpoint, err)
		}
		return strings.TrimSuffix(v, "/") + "/v1/traces", nil
	}
	return "", nil
}

// sampler sets s's sampler: telemetry.sample as the share of new traces
// (a caller's sampled flag followed), else OTEL_TRACES_SAMPLER and _ARG,
// else every trace (parentbased_always_on, the specification's default).
func sampler(s *telemetry.Settings, tc *config.TelemetryConfig, getenv func(string) string) error {
	if tc.Sample != nil {
		s.Sampler, s.Ratio = "parentbased_traceidratio", *tc.Sample
		return nil
	}
	s.Sampler, s.Ratio = getenv(envOTelSampler), 1
	if s.Sampler == "" {
		s.Sampler = "parentbased_always_on"
	}
	if arg := getenv(envOTelSamplerArg); arg != "" {
		r, err := telemetry.ParseRatio(arg)
		if err != nil {
			return fmt.Errorf("%s=%s: %v; want the share of traces to keep, in [0, 1]", envOTelSamplerArg, arg, err)
		}
		s.Ratio = r
	}
	if _, err := telemetry.Sampler(s.Sampler, s.Ratio); err != nil {
		return fmt.Errorf("%s: %w", envOTelSampler, err)
	}
	return nil
}

type namedValue struct{ name, value string }

// firstEnv is the first of the variables that is set.
func firstEnv(getenv func(string) string, names ...string) namedValue {
	for _, n := range names {
		if v := getenv(n); v != "" {
			return namedValue{n, v}
		}
	}
	return namedValue{}
}

// startTracing starts the tracer provider the settings ask for, or returns
// nil with tracing off. stop flushes the spans still buffered: serve calls
// it on the way out.
func startTracing(tc *config.TelemetryConfig, log *slog.Logger) (tp *sdktrace.TracerProvider, stop func(), err error) {
	s, on, err := telemetrySettings(tc, getenv)
	if err != nil {
		return nil, func() {}, fmt.Errorf("telemetry: %w", err)
	}
	if !on {
		return nil, func() {}, nil
	}
	if tp, err = telemetry.Start(s); err != nil {
		return nil, func() {}, err
	}
	log.Info("tracing on", "endpoint", s.Endpoint, "sampler", s.Sampler, "ratio", s.Ratio)
	return tp, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tp.Shutdown(ctx); err != nil {
			log.Warn("tracing: the last spans could not be sent", "err", err)
		}
	}, nil
}
