package gateway

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/semroute/semroute/embed/local/localtest"
)

// Keys of the playground's test service.
const (
	pgClientKey = "client-key-for-the-playground"
	pgAdminKey  = "admin-key-for-the-playground"
)

const pgIntents = `
intents:
  - name: weather
    target: {model: fast}
    utterances: [what is the weather today, will it rain tomorrow, is it going to be sunny this weekend, how cold is it outside, do I need an umbrella]
  - name: music
    target: {model: fast}
    utterances: [play some jazz, put on my workout playlist, skip this song, turn the music up, play the new album]
  - name: order_status
    target: {model: fast}
    utterances: [where is my order, track my parcel, has my package shipped yet, when will my order arrive, my delivery is late]
  - name: human
    target: {handoff: agents}
    utterances: [I want to talk to a human, connect me with a real person, can I speak to an agent please]
fallback: {model: fast}
`

// playgroundService is a service on loopback with a client and an admin
// key; server is YAML put under server: (indented two spaces).
type playgroundService struct {
	srv     *Server
	url     string
	close   func()
	dir     string
	cfgPath string
}

func startPlayground(t *testing.T, server string) *playgroundService {
	t.Helper()
	keys := fmt.Sprintf("  api_keys:\n    - {name: c, sha256: %s, scope: client}\n    - {name: a, sha256: %s, scope: admin}\n",
		sha(pgClientKey), sha(pgAdminKey))
	return startPlaygroundWith(t, keys+server)
}

// startPlaygroundWith is startPlayground without the keys.
func startPlaygroundWith(t *testing.T, server string) *playgroundService {
	t.Helper()
	p := &playgroundService{dir: t.TempDir()}
	p.cfgPath = filepath.Join(p.dir, "config.yaml")
	yaml := fmt.Sprintf("version: 1\nindex: {kind: memory, data_dir: %q}\n"+
		"models:\n  - {name: fast, base_url: http://127.0.0.1:1/v1, model: small-1}\n"+
		"server:\n%s%s", filepath.Join(p.dir, "data"), server, pgIntents)
	if err := os.WriteFile(p.cfgPath, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, idx := openIndex(t, p.cfgPath)
	p.srv = New(Options{LookupEnv: os.LookupEnv, ConfigPath: p.cfgPath, Embedder: localtest.Open(t), Index: idx, Logger: testLogger(t)})
	if err := p.srv.Load(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(p.srv.Handler()) // on 127.0.0.1
	t.Cleanup(hs.Close)
	p.url, p.close = hs.URL, hs.Close
	return p
}

func (p *playgroundService) get(t *testing.T, path string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(p.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestPlaygroundPage: the page is served at / and /playground with a CSP
// that keeps it on its origin, runs only its own script file, and every
// file it refers to is served from this origin.
func TestPlaygroundPage(t *testing.T) {
	p := startPlayground(t, "")
	for _, path := range []string{"/", "/playground"} {
		resp, body := p.get(t, path)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		csp := resp.Header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("GET %s: CSP %q lacks %q", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: headers %v", path, resp.Header)
		}
		if regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`).MatchString(body) || regexp.MustCompile(`\son[a-z]+=`).MatchString(body) {
			t.Errorf("GET %s: inline script or event handler attributes, which the CSP would block", path)
		}
		if regexp.MustCompile(`(?i)(src|href)="(https?:)?//`).MatchString(body) {
			t.Errorf("GET %s: refers to another origin", path)
		}
		refs := regexp.MustCompile(`(?:src|rel="stylesheet" href)="(/playground/[^"]+)"`).FindAllStringSubmatch(body, -1)
		if len(refs) != 2 {
			t.Fatalf("GET %s: the page loads %v, want its script and its style", path, refs)
		}
		for _, ref := range refs {
			r, asset := p.get(t, ref[1])
			if r.StatusCode != 200 || asset == "" {
				t.Errorf("GET %s (from %s): %d", ref[1], path, r.StatusCode)
			}
		}
	}
	resp, _ := p.get(t, "/playground/app.js")
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/javascript") {
		t.Errorf("app.js served as %q", ct)
	}
}

// TestPlaygroundInfo: the page learns the body limit and which keys the
// service asks for, and nothing secret.
func TestPlaygroundInfo(t *testing.T) {
	p := startPlayground(t, "  max_body_bytes: 65536\n")
	resp, body := p.get(t, "/playground/info")
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	for _, want := range []string{`"max_body_bytes":65536`, `"client_key":true`, `"admin_key":true`, `"report":null`, `"reports_dir":false`, `"max_words":512`} {
		if !strings.Contains(body, want) {
			t.Errorf("info %s lacks %s", body, want)
		}
	}
	if strings.Contains(body, sha(pgAdminKey)) || strings.Contains(body, sha(pgClientKey)) {
		t.Errorf("info shows a key's hash: %s", body)
	}
}

// TestPlaygroundReport: report.html from server.playground.reports_dir is
// served read-only at /playground/report, and nothing else from there or
// beside it, whatever the path or query says.
func TestPlaygroundReport(t *testing.T) {
	p := startPlayground(t, "")
	if resp, body := p.get(t, "/playground/report"); resp.StatusCode != 404 || !strings.Contains(body, "server.playground.reports_dir") {
		t.Errorf("without reports_dir: %d %s", resp.StatusCode, body)
	}

	reports := filepath.Join(t.TempDir(), "reports")
	os.Mkdir(reports, 0o755)
	os.WriteFile(filepath.Join(reports, "report.json"), []byte(`{"secret-json": 1}`), 0o644)
	os.WriteFile(filepath.Join(filepath.Dir(reports), "beside.txt"), []byte("secret-beside"), 0o644)
	p = startPlayground(t, fmt.Sprintf("  playground: {reports_dir: %q}\n", reports))
	if resp, body := p.get(t, "/playground/report"); resp.StatusCode != 404 || !strings.Contains(body, "no report.html") {
		t.Errorf("before eval wrote one: %d %s", resp.StatusCode, body)
	}
	if _, body := p.get(t, "/playground/info"); !strings.Contains(body, `"report":null`) || !strings.Contains(body, `"reports_dir":true`) {
		t.Errorf("info before the report: %s", body)
	}

	os.WriteFile(filepath.Join(reports, "report.html"), []byte("<!doctype html><title>eval</title><p>accuracy 0.91</p>"), 0o644)
	resp, body := p.get(t, "/playground/report")
	if resp.StatusCode != 200 || !strings.Contains(body, "accuracy 0.91") {
		t.Fatalf("the report: %d %s", resp.StatusCode, body)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "sandbox") || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("report CSP %q: want no script, no fetches", csp)
	}
	if _, body := p.get(t, "/playground/info"); !strings.Contains(body, `"url":"/playground/report"`) {
		t.Errorf("info after the report: %s", body)
	}
	for _, path := range []string{
		"/playground/report/../report.json", "/playground/report/..%2freport.json", "/playground/report?file=report.json",
		"/playground/report/report.json", "/playground/report.json", "/playground/..%2f..%2fbeside.txt",
		"/playground/report/%2e%2e/%2e%2e/beside.txt", "/playground/report?file=../beside.txt",
	} {
		resp, body := p.get(t, path)
		if strings.Contains(body, "secret") {
			t.Errorf("GET %s served another file: %d %s", path, resp.StatusCode, body)
		}
		if resp.StatusCode == 200 && !strings.Contains(body, "accuracy 0.91") {
			t.Errorf("GET %s: 200 %s", path, body)
		}
	}

	// A symbolic link in the folder does not lead out of it.
	os.Remove(filepath.Join(reports, "report.html"))
	if err := os.Symlink(filepath.Join(filepath.Dir(reports), "beside.txt"), filepath.Join(reports, "report.html")); err != nil {
		t.Fatal(err)
	}
	if resp, body := p.get(t, "/playground/report"); resp.StatusCode == 200 || strings.Contains(body, "secret") {
		t.Errorf("report.html linking out of the folder: %d %s", resp.StatusCode, body)
	}
}
