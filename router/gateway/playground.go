package gateway

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/semroute/semroute/router/config"
)

// The playground is one page (HTML, JS and CSS embedded here, no build
// step and nothing fetched from elsewhere) that routes what a user types
// through /v1/route, lists the intents and adds utterances through the
// intents API with the keys the user types into it. It holds no
// privileges of its own: every call it makes is an ordinary API call from
// the browser, with the browser's key.
//
//go:embed playground/index.html playground/app.js playground/app.css
var playgroundFiles embed.FS

// The page talks to its own origin only, runs no inline script and may
// not be framed; the report may be framed by the page and runs no script
// at all (its charts are inline SVG, its style inline).
const (
	playgroundCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"connect-src 'self'; frame-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'; object-src 'none'"
	reportCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; base-uri 'none'; form-action 'none'; sandbox"
)

// reportFile is the only file served from server.playground.reports_dir.
const reportFile = "report.html"

func (s *Server) playgroundRoutes(e *gin.Engine) {
	asset := func(name, contentType string) gin.HandlerFunc {
		return pageAsset(playgroundFiles, name, contentType, playgroundCSP)
	}
	page := asset("playground/index.html", "text/html; charset=utf-8")
	e.GET("/", page)
	e.GET("/playground", page)
	e.GET("/playground/app.js", asset("playground/app.js", "text/javascript; charset=utf-8"))
	e.GET("/playground/app.css", asset("playground/app.css", "text/css; charset=utf-8"))
	e.GET("/playground/info", s.playgroundInfo)
	e.GET("/playground/report", s.playgroundReport)
}

func pageHeaders(h http.Header, csp string) {
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
}

// pageAsset serves one embedded file of a page (the playground's, the
// dashboard's) with the page's headers.
func pageAsset(files fs.FS, name, contentType, csp string) gin.HandlerFunc {
	data, err := fs.ReadFile(files, name)
	if err != nil {
		panic("gateway: embedded file missing: " + name) // a build defect, caught by every test
	}
	return func(c *gin.Context) {
		pageHeaders(c.Writer.Header(), csp)
		c.Header("X-Frame-Options", "DENY")
		c.Data(http.StatusOK, contentType, data)
	}
}

// playgroundInfo tells the page what it needs to word its messages: the
// body limit (so it refuses a paste that would be refused anyway), the
// routing cut-offs and which keys the service asks for. Nothing secret.
func (s *Server) playgroundInfo(c *gin.Context) {
	st := s.st.Load()
	if st == nil {
		fail(c, kindUnavailable, "not_ready", "", "semroute is still building its router; retry shortly")
		return
	}
	cfg := st.cfg
	keys, admin := len(st.keys.hashes) > 0, false
	for _, a := range st.keys.admin {
		admin = admin || a
	}
	gate := st.router.Gate()
	info := gin.H{
		"max_body_bytes": cfg.Server.MaxBodyBytes,
		"max_words":      *cfg.Routing.MaxWords,
		"margin":         gate.Margin,
		"min_similarity": gate.MinSimilarity,
		"scorer":         st.router.Scorer(),
		"client_key":     keys,
		"admin_key":      admin,
		"judge":          st.judge != nil,
		"reports_dir":    cfg.Server.Playground != nil,
		"report":         nil,
	}
	if mod, ok := s.reportModified(cfg.Server.Playground); ok {
		info["report"] = gin.H{"url": "/playground/report", "modified": mod.UTC().Format(time.RFC3339)}
	}
	pageHeaders(c.Writer.Header(), playgroundCSP)
	c.JSON(http.StatusOK, info)
}

// openReport opens report.html in the reports folder: that name only,
// through os.OpenInRoot, so that not even a symbolic link in the folder
// leads out of it.
func openReport(p *config.PlaygroundConfig) (*os.File, fs.FileInfo, error) {
	if p == nil {
		return nil, nil, errNoReportsDir
	}
	f, err := os.OpenInRoot(p.ReportsDir, reportFile)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("open %s: not a regular file", reportFile)
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

var errNoReportsDir = errors.New("no reports folder configured")

func (s *Server) reportModified(p *config.PlaygroundConfig) (time.Time, bool) {
	f, fi, err := openReport(p)
	if err != nil {
		return time.Time{}, false
	}
	f.Close()
	return fi.ModTime(), true
}

// playgroundReport serves the last eval report, read-only and without a
// key: an operator who sets server.playground.reports_dir publishes it.
func (s *Server) playgroundReport(c *gin.Context) {
	st := s.st.Load()
	if st == nil {
		fail(c, kindUnavailable, "not_ready", "", "semroute is still building its router; retry shortly")
		return
	}
	f, fi, err := openReport(st.cfg.Server.Playground)
	switch {
	case errors.Is(err, errNoReportsDir):
		fail(c, kindNotFound, "no_reports_dir", "",
			"no eval report is published: set server.playground.reports_dir to the folder `semroute eval --out DIR` writes")
		return
	case errors.Is(err, fs.ErrNotExist):
		fail(c, kindNotFound, "no_report", "",
			"no report.html in server.playground.reports_dir yet: run `semroute eval --out DIR` with that folder")
		return
	case err != nil:
		s.log.Error("playground: reading the eval report failed", "err", err)
		fail(c, kindInternal, "", "", "the eval report cannot be read; the server log says why")
		return
	}
	defer f.Close()
	pageHeaders(c.Writer.Header(), reportCSP)
	c.Header("X-Frame-Options", "SAMEORIGIN")
	c.Header("Content-Type", "text/html; charset=utf-8")
	http.ServeContent(c.Writer, c.Request, reportFile, fi.ModTime(), f)
}
