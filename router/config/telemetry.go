package config

// TelemetryConfig turns on OpenTelemetry traces: one span per step of a
// request, posted over OTLP/HTTP (README "Traces"). Without it, and
// without the OTEL_* variables that cmd reads, nothing is traced.
type TelemetryConfig struct {
	// OTLPEndpoint is the collector's OTLP/HTTP endpoint: a base URL
	// (http://collector:4318, to which /v1/traces is added) or the full
	// traces URL.
	OTLPEndpoint string `yaml:"otlp_endpoint,omitempty"`
	// Sample is the share of new traces recorded, in [0, 1] (default 1); a
	// caller's traceparent's sampled flag is followed either way.
	Sample *float64 `yaml:"sample,omitempty"`
	// ServiceName is the spans' service.name (default semroute).
	ServiceName string `yaml:"service_name,omitempty"`
}

// validateTelemetry checks the telemetry section: an http(s) endpoint and
// a sampled share in [0, 1].
func (c *Config) validateTelemetry(ps *problems) {
	t := c.Telemetry
	if t == nil {
		return
	}
	if t.OTLPEndpoint == "" {
		ps.add("telemetry.otlp_endpoint", "missing: the collector's OTLP/HTTP endpoint, e.g. http://127.0.0.1:4318 (or leave telemetry out and set OTEL_EXPORTER_OTLP_ENDPOINT)")
	} else if err := checkURL(t.OTLPEndpoint); err != nil {
		ps.add("telemetry.otlp_endpoint", "%v; want the collector's OTLP/HTTP endpoint, e.g. http://127.0.0.1:4318", err)
	}
	if t.Sample != nil && (*t.Sample < 0 || *t.Sample > 1) {
		ps.add("telemetry.sample", "%v is outside [0, 1]; the share of traces to record (0.1 records one in ten)", *t.Sample)
	}
}
