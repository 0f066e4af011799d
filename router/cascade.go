package router

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/semroute/semroute/embed"
)

// Cascade is a fitted cascade (`semroute eval cascade --target-quality`
// or `--budget`): answer with the cheapest model whose quality, predicted
// from the prompt's K nearest training prompts, reaches Threshold. It
// carries those training prompts and the embedder fingerprint their
// neighbours were computed with.
type Cascade struct {
	Embedder  embed.Fingerprint `json:"embedder"`
	Models    []string          `json:"models"`
	Threshold float64           `json:"threshold"`
	K         int               `json:"k"`
	Objective string            `json:"objective"`
	// Train are the prompts the confidence is read from, each with the
	// quality of every model but the last (0 to 1).
	Train []CascadeExample `json:"train,omitempty"`
}

// CascadeExample is one training prompt of a cascade.
type CascadeExample struct {
	Query   string    `json:"query"`
	Quality []float64 `json:"quality"`
}

// LoadCascade reads a fitted cascade and refuses it when it was fitted
// with another embedder than fp.
func LoadCascade(path string, fp embed.Fingerprint) (*Cascade, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load cascade: %w", err)
	}
	var c Cascade
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("load cascade %s: %w", path, err)
	}
	if c.Embedder == (embed.Fingerprint{}) || len(c.Models) < 2 || c.K <= 0 {
		return nil, fmt.Errorf("load cascade %s: missing embedder fingerprint, models or k", path)
	}
	if err := embed.CheckFingerprint("cascade file "+path, c.Embedder, fp); err != nil {
		return nil, err
	}
	for i, ex := range c.Train {
		if len(ex.Quality) != len(c.Models)-1 {
			return nil, fmt.Errorf("load cascade %s: training prompt %d has %d qualities for %d cheaper models", path, i, len(ex.Quality), len(c.Models)-1)
		}
	}
	return &c, nil
}
