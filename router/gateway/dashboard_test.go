package gateway

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// TestDashboardPage: the page and its files are served without a key,
// with a CSP that keeps the page on its origin and runs only its own
// script file; every file it refers to is served from this origin. The
// spend it draws needs the admin key.
func TestDashboardPage(t *testing.T) {
	h := spendService(t)
	get := func(path string) (*http.Response, string) {
		resp, err := http.Get(h.http.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, body := get("/dashboard")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /dashboard: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("headers %v", resp.Header)
	}
	if regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`).MatchString(body) || regexp.MustCompile(`\son[a-z]+=`).MatchString(body) {
		t.Error("inline script or event handler attributes, which the CSP would block")
	}
	if regexp.MustCompile(`(?i)(src|href)="(https?:)?//`).MatchString(body) {
		t.Error("the page refers to another origin")
	}
	refs := regexp.MustCompile(`(?:src|rel="stylesheet" href)="(/dashboard/[^"]+)"`).FindAllStringSubmatch(body, -1)
	if len(refs) != 2 {
		t.Fatalf("the page loads %v, want its script and its style", refs)
	}
	for _, ref := range refs {
		if r, asset := get(ref[1]); r.StatusCode != 200 || asset == "" {
			t.Errorf("GET %s: %d", ref[1], r.StatusCode)
		}
	}
	if r, _ := get("/dashboard/app.js"); !strings.HasPrefix(r.Header.Get("Content-Type"), "text/javascript") {
		t.Errorf("app.js served as %q", r.Header.Get("Content-Type"))
	}
	if code, _, _ := h.do(t, "GET", "/v1/spend", "", ""); code != 401 {
		t.Errorf("GET /v1/spend without a key: %d, want 401", code)
	}
	if code, _, _ := h.do(t, "GET", "/v1/spend", "app-secret", ""); code != 403 {
		t.Errorf("GET /v1/spend with a client key: %d, want 403", code)
	}
	// A service without keys: the dashboard's page says what to configure.
	open := start(t, "")
	if code, _, body := open.do(t, "GET", "/v1/spend", "", ""); code != 403 || !strings.Contains(errorOf(t, body), "this service has none: add one under server.api_keys") {
		t.Errorf("GET /v1/spend on a service without keys: %d %v", code, body)
	}
}
