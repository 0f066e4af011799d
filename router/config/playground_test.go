package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidatePlayground(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "reports"), 0o755)
	os.WriteFile(filepath.Join(dir, "file"), []byte("x"), 0o644)
	base := "models: [{name: m, base_url: http://127.0.0.1:1/v1, model: x}]\nintents: [{name: a, utterances: [hi], target: {model: m}}]\nfallback: {model: m}\n"
	tests := []struct {
		name, extra, want string
	}{
		{"absent", "", ""},
		{"relative to the config", "server: {playground: {reports_dir: reports}}\n", ""},
		{"empty", "server: {playground: {}}\n", "line 4: server.playground.reports_dir: missing"},
		{"missing folder", "server: {playground: {reports_dir: nope}}\n", "server.playground.reports_dir: stat " + filepath.Join(dir, "nope")},
		{"a file", "server: {playground: {reports_dir: file}}\n", "is not a folder"},
		{"unknown key", "server: {playground: {reports: reports}}\n", "reports"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(base+tc.extra), filepath.Join(dir, "c.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			err = c.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("valid config refused: %v", err)
				}
				if p := c.Server.Playground; p != nil && p.ReportsDir != filepath.Join(dir, "reports") {
					t.Errorf("reports_dir = %q, want it resolved against the config's folder", p.ReportsDir)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}
