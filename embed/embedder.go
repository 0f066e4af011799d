package embed

import (
	"context"
	"errors"
	"fmt"
)

// Embedder turns texts into vectors of a fixed dimension. Implementations
// are safe for concurrent use and return one vector per text, in order.
type Embedder interface {
	Embed(ctx context.Context, texts []string) ([][]float32, error)
	Fingerprint() Fingerprint
}

// Fingerprint identifies the vector space an embedder produces. Anything
// fitted on vectors (thresholds, heads, stored exemplars) records it, and is
// refused when loaded next to an embedder with a different one.
type Fingerprint struct {
	Kind    string `json:"kind" yaml:"kind"`
	Model   string `json:"model" yaml:"model"`
	Dim     int    `json:"dim" yaml:"dim"`
	Version string `json:"version" yaml:"version"`
}

func (f Fingerprint) String() string {
	return fmt.Sprintf("%s/%s/d%d/%s", f.Kind, f.Model, f.Dim, f.Version)
}

// ErrFingerprintMismatch is returned when fitted data was made with another
// embedder than the one in use.
var ErrFingerprintMismatch = errors.New("embedder fingerprint mismatch")

// CheckFingerprint returns an error wrapping ErrFingerprintMismatch when got
// differs from want; what names the fitted thing for the message.
func CheckFingerprint(what string, got, want Fingerprint) error {
	if got != want {
		return fmt.Errorf("%s was made with embedder %s, but the configured embedder is %s: %w (fit again with this embedder)",
			what, got, want, ErrFingerprintMismatch)
	}
	return nil
}
