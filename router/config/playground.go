package config

import "os"

// PlaygroundConfig sets up the page `semroute serve` answers at / and
// /playground (router/gateway/playground.go).
type PlaygroundConfig struct {
	// ReportsDir is the folder `semroute eval --out DIR` writes into: its
	// report.html is served, read-only, at /playground/report and shown on
	// the page. A relative path is relative to the config file.
	ReportsDir string `yaml:"reports_dir,omitempty"`
}

// validatePlayground checks server.playground: reports_dir must name an
// existing folder, so that a typo is caught at start and not shown as "no
// report yet". The report itself may come later.
func (c *Config) validatePlayground(ps *problems) {
	p := c.Server.Playground
	if p == nil {
		return
	}
	const f = "server.playground.reports_dir"
	if p.ReportsDir == "" {
		ps.add(f, "missing: the folder `semroute eval --out DIR` writes report.html into")
		return
	}
	fi, err := os.Stat(p.ReportsDir)
	switch {
	case err != nil:
		ps.add(f, "%v; create the folder or run `semroute eval --out %s` first", err, p.ReportsDir)
	case !fi.IsDir():
		ps.add(f, "%s is not a folder; give the folder that holds report.html", p.ReportsDir)
	}
}
