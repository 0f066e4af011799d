package config

// Budget caps spend in a window. Near the cap (DowngradeAt of the limit)
// requests go to the cheapest model of their tier; at the cap they are
// refused with a 429 until the window resets.
type Budget struct {
	Name        string    `yaml:"name"`
	Scope       string    `yaml:"scope"`        // key, team, model or global
	ID          string    `yaml:"id,omitempty"` // the key's name, team or model
	Window      string    `yaml:"window"`       // daily or monthly (UTC)
	LimitUSD    float64   `yaml:"limit_usd"`
	DowngradeAt float64   `yaml:"downgrade_at,omitempty"` // fraction of the limit; 0 never
	Alerts      []float64 `yaml:"alerts,omitempty"`       // fractions that call the webhook once per window
	Webhook     string    `yaml:"webhook,omitempty"`
}
