package gateway

import (
	"embed"

	"github.com/gin-gonic/gin"
)

// The cost dashboard is one page (HTML, JS and CSS embedded here, no build
// step, no chart library, nothing fetched from elsewhere) that draws GET
// /v1/spend as SVG: spend by day, model, intent, key and team, what the
// response cache and the cascades saved, and each budget against its limit
// with its projection. Like the playground it holds no privileges: its
// files are served to anyone, and the spend only to the admin key the user
// types into the page, which sends it as a Bearer token.
//
//go:embed dashboard/index.html dashboard/app.js dashboard/app.css
var dashboardFiles embed.FS

// dashboardCSP keeps the page on its origin, running its own script file
// only; nothing may frame it.
const dashboardCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'; object-src 'none'"

func (s *Server) dashboardRoutes(e *gin.Engine) {
	for _, f := range []struct{ path, name, contentType string }{
		{"/dashboard", "dashboard/index.html", "text/html; charset=utf-8"},
		{"/dashboard/app.js", "dashboard/app.js", "text/javascript; charset=utf-8"},
		{"/dashboard/app.css", "dashboard/app.css", "text/css; charset=utf-8"},
	} {
		e.GET(f.path, pageAsset(dashboardFiles, f.name, f.contentType, dashboardCSP))
	}
}
