package gateway

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPlaygroundInBrowser drives the page in headless Chromium through
// chromedriver, against the service on loopback: what a user types is
// routed, an utterance added with the admin key changes the decision, and
// bad input (an empty prompt, a 100 kB paste, a wrong key, a service that
// is gone) shows a message in the page. SEMROUTE_SCREENSHOTS names a
// folder for screenshots; without Chromium and chromedriver the test skips
// unless SEMROUTE_REQUIRE_BROWSER=1.
func TestPlaygroundInBrowser(t *testing.T) {
	chromium, driver := findBrowser(t, os.Getenv("SEMROUTE_REQUIRE_BROWSER") == "1")
	shots := os.Getenv("SEMROUTE_SCREENSHOTS")
	reports := filepath.Join(t.TempDir(), "reports")
	os.Mkdir(reports, 0o755)
	os.WriteFile(filepath.Join(reports, "report.html"), []byte("<!doctype html><title>eval</title><style>p{color:#333}</style><p>routing accuracy 0.912</p>"), 0o644)
	b := startBrowser(t, chromium, driver)

	t.Run("a service without keys as after make run", func(t *testing.T) {
		open := startPlaygroundWith(t, "  route_turns: 1\n")
		b.open(open.url + "/")
		b.waitText("#intents-message", "This service has no admin key")
		if got := b.text("#client-row"); got != "" {
			t.Errorf("the client key field is shown (%q), but the service has no keys", got)
		}
		b.waitText("#report-message", "No report is published")
		b.typeInto("#prompt", "where is my order")
		b.waitText("#d-intent", "order_status")
	})

	p := startPlayground(t, fmt.Sprintf("  playground: {reports_dir: %q}\n", reports))

	b.open(p.url + "/")
	b.waitText("#status", "connected")
	b.waitText("#message", "Type a prompt")
	if b.text("#client-key") != "" || b.text("#client-row") == "" {
		t.Errorf("the service has client keys: the page should show the client key field")
	}

	const prompt = "is the storm going to delay my parcel"
	t.Run("no key, then a wrong client key", func(t *testing.T) {
		b.typeInto("#prompt", prompt)
		b.waitText("#message", "This service needs a client key")
		b.typeInto("#client-key", "not-a-key")
		b.click("#use-keys")
		b.waitText("#message", "The client key was refused")
		b.screenshot(shots, "playground-bad-key.png")
	})

	t.Run("type a prompt, see the intent", func(t *testing.T) {
		b.replace("#client-key", pgClientKey)
		b.click("#use-keys")
		b.waitText("#d-intent", "order_status")
		if got := b.text("#d-matched"); !strings.Contains(got, "track my parcel") {
			t.Errorf("matched utterance %q", got)
		}
		if got := b.text("#d-alts"); !strings.Contains(got, "weather") {
			t.Errorf("runner-ups %q lack weather", got)
		}
		if got := b.text("#message"); got != "" {
			t.Errorf("message %q beside a decision", got)
		}
		b.replace("#prompt", "put the radio on")
		b.waitText("#d-intent", "fallback")
		b.waitText("#d-reason", "Fell back: its nearest utterance is only")
	})

	t.Run("a wrong admin key", func(t *testing.T) {
		b.typeInto("#admin-key", "not-the-admin-key")
		b.click("#use-keys")
		b.waitText("#intents-message", "The admin key was refused")
		var stored any
		b.run("return localStorage.getItem('semroute.playground.keys')", &stored)
		if stored != nil {
			t.Errorf("keys stored without remember: %v", stored)
		}
	})

	t.Run("add the prompt to another intent, see the decision change", func(t *testing.T) {
		b.replace("#admin-key", pgAdminKey)
		b.click("#use-keys")
		b.waitText("#intents-message", "4 intents")
		b.waitText("#intent-list", "order_status")
		b.replace("#prompt", prompt)
		b.waitText("#d-intent", "order_status")
		b.screenshot(shots, "playground.png")
		b.click(`#add-intent option[value="weather"]`)
		b.click("#add")
		b.waitText("#add-message", "The decision was order_status; now it is weather.")
		b.waitText("#d-intent", "weather")
		b.waitText("#d-matched", prompt)
		b.screenshot(shots, "playground-added.png")
	})

	t.Run("a prompt without words, refused as an utterance", func(t *testing.T) {
		b.replace("#prompt", "?!")
		b.waitText("#d-reason", "Fell back: it has no word the router knows.")
		b.click("#add")
		b.waitText("#add-message", "The service refused the request. (400: the change leaves the intents invalid")
	})

	t.Run("empty prompt", func(t *testing.T) {
		b.replace("#prompt", "")
		b.waitText("#message", "An empty prompt is not sent")
		if b.text("#decision") != "" {
			t.Error("a decision is still shown for an empty prompt")
		}
	})

	paste := strings.Repeat("where is my order ", 100000/18)
	pasteIt := func() {
		b.run("const e = document.getElementById('prompt'); e.value = arguments[0]; e.dispatchEvent(new Event('input'));", nil, paste)
	}
	t.Run("a 100 kB paste under the body limit is routed on its ends", func(t *testing.T) {
		pasteIt()
		b.waitText("#prompt-size", "routed on its first and last 256 words")
		b.waitText("#d-intent", "order_status")
	})

	t.Run("a 100 kB paste over the body limit: the server's 413 in words", func(t *testing.T) {
		cfg, _ := os.ReadFile(p.cfgPath)
		os.WriteFile(p.cfgPath, []byte(strings.Replace(string(cfg), "server:\n", "server:\n  max_body_bytes: 65536\n", 1)), 0o644)
		if err := p.srv.Reload(t.Context()); err != nil {
			t.Fatal(err)
		}
		b.replace("#prompt", "x")
		b.waitText("#d-intent", "fallback")
		pasteIt() // the page still has the old limit
		b.waitText("#message", "The prompt is too large for this service. (413: the request body is larger than 65536 bytes)")
	})

	t.Run("remembered keys; a 100 kB paste refused by the page", func(t *testing.T) {
		b.click("#remember")
		b.open(p.url + "/playground")
		b.waitText("#intents-message", "4 intents") // the admin key came back from localStorage
		pasteIt()
		b.waitText("#message", "over this service's limit of 65.5 kB (server.max_body_bytes). Nothing was sent")
		b.screenshot(shots, "playground-too-large.png")
	})

	t.Run("the eval report", func(t *testing.T) {
		b.waitText("#report-message", "report.html, written")
		var frame map[string]string
		b.do("POST", b.session+"/element", map[string]string{"using": "css selector", "value": "#report-frame"}, &frame)
		b.do("POST", b.session+"/frame", map[string]any{"id": frame}, nil)
		b.waitText("body", "routing accuracy 0.912")
		b.do("POST", b.session+"/frame/parent", map[string]any{}, nil)
	})

	// Failed requests (the 401s and the 413 above) are logged too; a
	// script error or a CSP violation is not expected.
	for _, e := range b.consoleErrors() {
		if strings.Contains(e, "Content Security Policy") || strings.Contains(e, "Uncaught") || strings.Contains(e, "favicon") {
			t.Errorf("browser console: %s", e)
		}
	}

	t.Run("the service is gone", func(t *testing.T) {
		p.close()
		b.replace("#prompt", "where is my order")
		b.waitText("#message", "Could not reach semroute")
	})
}
