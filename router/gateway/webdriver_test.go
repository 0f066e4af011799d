package gateway

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A WebDriver client for the playground's browser test: plain HTTP and
// JSON to chromedriver on loopback (the W3C WebDriver protocol), so that
// the test needs no module beyond the standard library.

// elementKey is the W3C name of an element reference in JSON.
const elementKey = "element-6066-11e4-a52e-4f735466cecf"

// WebDriver key codes.
const (
	keyBackspace = "\uE003"
	keyControl   = "\uE009"
)

type browser struct {
	t       *testing.T
	base    string // chromedriver's URL
	session string
}

// chromiumFlags: headless on a machine without internet or GPU; without
// the background-networking flags Chromium keeps dialling Google services
// and logging the refused connections.
var chromiumFlags = []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-proxy-server",
	"--disable-dev-shm-usage", "--window-size=1280,1000"}

// findBrowser returns the paths of Chromium and chromedriver, skipping the
// test when either is missing, or failing it when required is set.
func findBrowser(t *testing.T, required bool) (chromium, driver string) {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			chromium = p
			break
		}
	}
	driver, _ = exec.LookPath("chromedriver")
	if chromium == "" || driver == "" {
		msg := fmt.Sprintf("no headless browser (chromium %q, chromedriver %q): apt-get install chromium chromium-driver", chromium, driver)
		if required {
			t.Fatal(msg + " (SEMROUTE_REQUIRE_BROWSER is set)")
		}
		t.Skip("skipping: " + msg)
	}
	return chromium, driver
}

// startBrowser starts chromedriver on a free loopback port and opens a
// session in a fresh profile; both end with the test.
func startBrowser(t *testing.T, chromium, driver string) *browser {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	logPath := filepath.Join(t.TempDir(), "chromedriver.log")
	cmd := exec.Command(driver, fmt.Sprintf("--port=%d", port), "--allowed-ips=127.0.0.1", "--log-path="+logPath)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start chromedriver: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	b := &browser{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", port)}
	if !b.poll(func() bool { return b.try("GET", "/status", nil, nil) == nil }) {
		log, _ := os.ReadFile(logPath)
		t.Fatalf("chromedriver did not answer on port %d; its log:\n%s", port, tail(log))
	}
	args := append(chromiumFlags, "--user-data-dir="+t.TempDir())
	caps := map[string]any{"capabilities": map[string]any{"alwaysMatch": map[string]any{
		"browserName":        "chrome",
		"goog:chromeOptions": map[string]any{"binary": chromium, "args": args},
		"goog:loggingPrefs":  map[string]string{"browser": "ALL"},
	}}}
	var out struct {
		SessionID string `json:"sessionId"`
	}
	if err := b.try("POST", "/session", caps, &out); err != nil {
		log, _ := os.ReadFile(logPath)
		t.Fatalf("open a browser session: %v; chromedriver's log:\n%s", err, tail(log))
	}
	b.session = "/session/" + out.SessionID
	t.Cleanup(func() { b.try("DELETE", b.session, nil, nil) })
	return b
}

func tail(b []byte) string {
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// try sends one WebDriver command and decodes its value into out.
func (b *browser) try(method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, b.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var env struct {
		Value json.RawMessage `json:"value"`
	}
	data, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(data, &env); err != nil {
		return fmt.Errorf("%s %s: %d, not WebDriver JSON: %.300s", method, path, resp.StatusCode, data)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %d %.500s", method, path, resp.StatusCode, env.Value)
	}
	if out != nil {
		return json.Unmarshal(env.Value, out)
	}
	return nil
}

// do is try that fails the test on an error.
func (b *browser) do(method, path string, body, out any) {
	b.t.Helper()
	if err := b.try(method, path, body, out); err != nil {
		b.t.Fatal(err)
	}
}

// poll calls ok until it returns true, for up to 20 seconds: a bound on
// waiting for the page, not a measure of its speed.
func (b *browser) poll(ok func() bool) bool {
	for end := time.Now().Add(20 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if ok() {
			return true
		}
	}
	return false
}

func (b *browser) open(url string) {
	b.t.Helper()
	b.do("POST", b.session+"/url", map[string]string{"url": url}, nil)
}

// find returns the element a CSS selector picks.
func (b *browser) find(css string) string {
	b.t.Helper()
	var el map[string]string
	b.do("POST", b.session+"/element", map[string]string{"using": "css selector", "value": css}, &el)
	return el[elementKey]
}

func (b *browser) typeInto(css, text string) {
	b.t.Helper()
	b.do("POST", b.session+"/element/"+b.find(css)+"/value", map[string]string{"text": text}, nil)
}

// replace selects what is in a field and types text over it, as a user
// would (an empty text leaves the field empty).
func (b *browser) replace(css, text string) {
	b.t.Helper()
	b.typeInto(css, keyControl+"a"+keyControl+keyBackspace+text)
}

func (b *browser) click(css string) {
	b.t.Helper()
	b.do("POST", b.session+"/element/"+b.find(css)+"/click", map[string]any{}, nil)
}

// text is an element's rendered text ("" when hidden).
func (b *browser) text(css string) string {
	b.t.Helper()
	var s string
	b.do("GET", b.session+"/element/"+b.find(css)+"/text", nil, &s)
	return s
}

// run runs script in the page and decodes its result into out.
func (b *browser) run(script string, out any, args ...any) {
	b.t.Helper()
	if args == nil {
		args = []any{}
	}
	b.do("POST", b.session+"/execute/sync", map[string]any{"script": script, "args": args}, out)
}

// waitText waits until the element's text contains want and returns it.
func (b *browser) waitText(css, want string) string {
	b.t.Helper()
	var got string
	if !b.poll(func() bool { got = b.text(css); return strings.Contains(got, want) }) {
		b.t.Fatalf("%s says %q, want %q", css, got, want)
	}
	return got
}

// screenshot saves a PNG of the page as dir/name, when dir is set.
func (b *browser) screenshot(dir, name string) {
	b.t.Helper()
	if dir == "" {
		return
	}
	var enc string
	b.do("GET", b.session+"/screenshot", nil, &enc)
	png, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		b.t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// consoleErrors returns the browser console's errors since the last call
// (chromedriver's log endpoint), such as a CSP violation or a script error.
func (b *browser) consoleErrors() []string {
	b.t.Helper()
	var entries []struct {
		Level   string `json:"level"`
		Message string `json:"message"`
	}
	if err := b.try("POST", b.session+"/se/log", map[string]string{"type": "browser"}, &entries); err != nil {
		b.t.Logf("the browser's console log is not available: %v", err)
		return nil
	}
	var errs []string
	for _, e := range entries {
		if e.Level == "SEVERE" {
			errs = append(errs, e.Message)
		}
	}
	return errs
}
