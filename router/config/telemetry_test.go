package config

import (
	"strings"
	"testing"
)

// TestValidateTelemetry: the telemetry section's problems name the field
// and its line; an unknown key in it is refused with the keys it takes.
func TestValidateTelemetry(t *testing.T) {
	base := "models: [{name: m, base_url: http://127.0.0.1:1/v1, model: x}]\nintents: [{name: a, utterances: [hi], target: {model: m}}]\nfallback: {model: m}\n"
	tests := []struct{ name, extra, want string }{
		{"ok", "telemetry: {otlp_endpoint: http://127.0.0.1:4318, sample: 0.1}\n", ""},
		{"ok with service name", "telemetry: {otlp_endpoint: https://otel.example/v1/traces, service_name: edge}\n", ""},
		{"no endpoint", "telemetry: {sample: 0.5}\n", "line 4: telemetry.otlp_endpoint: missing"},
		{"not a URL", "telemetry: {otlp_endpoint: collector:4318}\n", `telemetry.otlp_endpoint: "collector:4318" is not an http(s) URL`},
		{"sample above 1", "telemetry: {otlp_endpoint: http://127.0.0.1:4318, sample: 10}\n", "telemetry.sample: 10 is outside [0, 1]"},
		{"sample below 0", "telemetry: {otlp_endpoint: http://127.0.0.1:4318, sample: -0.1}\n", "telemetry.sample: -0.1 is outside [0, 1]"},
		{"sample not a number", "telemetry: {otlp_endpoint: http://127.0.0.1:4318, sample: often}\n", `telemetry.sample: want a number, got "often"`},
		{"unknown key", "telemetry: {otlp_endpoint: http://127.0.0.1:4318, sampling: 0.1}\n", `telemetry.sampling: unknown field "sampling"; want one of otlp_endpoint, sample, service_name`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(base+tc.extra), "c.yaml")
			if err != nil {
				t.Fatal(err)
			}
			err = c.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("valid config refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}
