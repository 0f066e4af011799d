package router

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"

	"github.com/semroute/semroute/embed"
	"github.com/semroute/semroute/internal/durable"
)

// Thresholds are fitted cut-offs (by `semroute eval --fit`), tied to the
// embedder and scorer whose scores they were fitted on.
type Thresholds struct {
	Embedder embed.Fingerprint `json:"embedder"`
	Scorer   string            `json:"scorer"`
	Global   float64           `json:"global"`
	Margin   float64           `json:"margin"`
	// MinSimilarity gates on the nearest example utterance's similarity.
	MinSimilarity float64            `json:"min_similarity"`
	PerIntent     map[string]float64 `json:"per_intent,omitempty"`
	Objective     string             `json:"objective,omitempty"`
}

// Default thresholds when nothing is configured or fitted, per scorer. The
// head's are probabilities; the knn scorer's are cosine similarities. The
// head's threshold is calibrated when the router is built (calibrate in
// calibrate.go); defaultHeadThreshold is for when that does not run.
const (
	defaultHeadThreshold = 0.15
	defaultHeadMargin    = 0.0
	defaultKNNThreshold  = 0.55
	defaultKNNMargin     = 0.0
	// defaultLocalMinSimilarity is for the embedded default's vectors, chosen
	// on CLINC150 val and the demo prompts: with few utterances per intent
	// it turns away prompts about other topics that the head scores high.
	// Other embedders' similarity scales differ, so they get no gate until
	// thresholds are fitted, unless they name their own (MinSimilarity: the
	// local embedder gives this value for GloVe and 0.3 for the trained
	// encoder, embed/local).
	defaultLocalMinSimilarity = 0.5
)

// LoadThresholds reads a thresholds file and refuses it when it was fitted
// with another embedder than fp.
func LoadThresholds(path string, fp embed.Fingerprint) (*Thresholds, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load thresholds: %w", err)
	}
	var t Thresholds
	if err := json.Unmarshal(data, &t); err != nil {
		return nil, fmt.Errorf("load thresholds %s: %w", path, err)
	}
	if t.Embedder == (embed.Fingerprint{}) {
		return nil, fmt.Errorf("load thresholds %s: no embedder fingerprint in the file", path)
	}
	if err := embed.CheckFingerprint("thresholds file "+path, t.Embedder, fp); err != nil {
		return nil, err
	}
	if t.Global < 0 || t.Global > 1 || t.Margin < 0 || t.Margin > 1 {
		return nil, fmt.Errorf("load thresholds %s: global %v or margin %v outside [0, 1]", path, t.Global, t.Margin)
	}
	for name, v := range t.PerIntent {
		if v < 0 || v > 1 {
			return nil, fmt.Errorf("load thresholds %s: intent %q: %v outside [0, 1]", path, name, v)
		}
	}
	return &t, nil
}

// Save writes t to path: a crash leaves the old file or the new one
// (durable.ReplaceFile).
func (t *Thresholds) Save(path string) error {
	data, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return err
	}
	err = durable.ReplaceFile(path, func(w *bufio.Writer) error {
		_, err := w.Write(append(data, '\n'))
		return err
	})
	if err != nil {
		return fmt.Errorf("save thresholds: %w", err)
	}
	return nil
}
