package moderation

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/semroute/semroute/embed"
	"github.com/semroute/semroute/intents"
	"github.com/semroute/semroute/router"
)

// Example is one labeled safety row: {"text", "label": "unsafe"|"safe",
// "category"}.
type Example struct {
	Text     string `json:"text"`
	Label    string `json:"label"`
	Category string `json:"category"`
	Line     int    `json:"-"`
}

// ParseExamples reads safety rows (JSONL), reporting bad lines by number.
func ParseExamples(data []byte) ([]Example, error) {
	var out []Example
	var bad []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for line := 1; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var ex Example
		switch err := json.Unmarshal(b, &ex); {
		case err != nil:
			bad = append(bad, fmt.Sprintf("line %d: not a JSON object: %v", line, err))
		case strings.TrimSpace(ex.Text) == "":
			bad = append(bad, fmt.Sprintf("line %d: missing text", line))
		case ex.Label != "safe" && ex.Label != "unsafe":
			bad = append(bad, fmt.Sprintf("line %d: label %q; want safe or unsafe", line, ex.Label))
		default:
			ex.Line = line
			out = append(out, ex)
		}
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("%d bad line(s):\n  %s", len(bad), strings.Join(bad[:min(len(bad), 20)], "\n  "))
	}
	return out, sc.Err()
}

// Flag is one finding: a category, how sure, and which detector.
type Flag struct {
	Category string  `json:"category"`
	Score    float64 `json:"score"`
	Source   string  `json:"source"` // rule, semantic or pii
}

// Categories of the semantic detector's exemplars and rules.
const (
	CategoryJailbreak = "jailbreak"
	CategoryPII       = "pii"
)

// jailbreakRules catch the wording of common jailbreaks, where a rule is
// more reliable than similarity.
var jailbreakRules = []*regexp.Regexp{
	regexp.MustCompile(`(?i)\b(ignore|disregard|forget)\b.{0,20}\b(all|any|the|your)?\s*(previous|prior|above|earlier|system)\b.{0,15}\b(instructions?|rules|prompts?|guidelines)`),
	regexp.MustCompile(`(?i)\b(you are|act as|pretend to be|you're)\s+(now\s+)?(DAN|AIM|an? (evil|unrestricted|unfiltered|jailbroken) (ai|assistant|model|chatbot))\b`),
	regexp.MustCompile(`(?i)\b(developer|god|jailbreak|unrestricted)\s+mode\b`),
	regexp.MustCompile(`(?i)\bdo anything now\b`),
	regexp.MustCompile(`(?i)\b(without|no|disable|bypass|turn off)\s+(any\s+)?(safety|content)?\s*(filters?|restrictions|guidelines|policies|censorship)\b.{0,40}\b(answer|respond|reply|tell)`),
	regexp.MustCompile(`(?i)\b(reveal|print|show)\b.{0,20}\b(system prompt|hidden instructions)`),
}

// Detector finds unsafe requests and jailbreak attempts: rules for the
// wordings they are reliable on, and a head fitted on exemplars of each
// category (the safe ones are its out-of-scope class), with a threshold
// per category fitted on held-out folds of the exemplars.
type Detector struct {
	r          *router.Router
	Thresholds map[string]float64 `json:"thresholds"`
}

// defaultThreshold is a category's when too few exemplars fit one.
const defaultThreshold = 0.3

// NewDetector fits the detector on exemplars.
func NewDetector(ctx context.Context, emb embed.Embedder, exs []Example) (*Detector, error) {
	r, err := build(ctx, emb, exs)
	if err != nil {
		return nil, err
	}
	d := &Detector{r: r, Thresholds: map[string]float64{}}
	// Thresholds from 5-fold cross-validation over the exemplars.
	type oof struct {
		gold, best string
		conf       float64
		oos        bool
	}
	var rows []oof
	for k := range 5 {
		var train, held []Example
		for i, ex := range exs {
			if i%5 == k {
				held = append(held, ex)
			} else {
				train = append(train, ex)
			}
		}
		fr, err := build(ctx, emb, train)
		if err != nil {
			return nil, err
		}
		names := intentNames(fr)
		for _, ex := range held {
			s, err := fr.Score(ctx, ex.Text)
			if err != nil {
				continue
			}
			gold := ex.Category
			if ex.Label == "safe" {
				gold = ""
			}
			best := ""
			if s.Best >= 0 {
				best = names[s.Best]
			}
			rows = append(rows, oof{gold, best, s.Confidence(), s.OOS > s.S1})
		}
	}
	for _, cat := range intentNames(r) {
		bestF, bestT := -1.0, defaultThreshold
		for t := 0.0; t <= 0.9; t += 0.02 {
			tp, fp, fn := 0, 0, 0
			for _, row := range rows {
				flagged := !row.oos && row.best == cat && row.conf >= t
				switch {
				case flagged && row.gold == cat:
					tp++
				case flagged:
					fp++
				case row.gold == cat:
					fn++
				}
			}
			if f := 2 * float64(tp) / float64(max(2*tp+fp+fn, 1)); f > bestF+1e-9 {
				bestF, bestT = f, t
			}
		}
		d.Thresholds[cat] = bestT
	}
	return d, nil
}

func build(ctx context.Context, emb embed.Embedder, exs []Example) (*router.Router, error) {
	cfg := router.Default()
	cfg.Routing.MinSimilarity = new(0.0)
	var labeled []intents.Example
	for _, ex := range exs {
		l := ex.Category
		if ex.Label == "safe" {
			l = intents.OOS
		}
		if l == "" {
			l = "unsafe"
		}
		labeled = append(labeled, intents.Example{Text: ex.Text, Label: l})
	}
	cfg.AddExamples(labeled)
	if len(cfg.Intents) == 0 {
		return nil, fmt.Errorf("moderation: no unsafe exemplars")
	}
	return router.New(ctx, cfg, router.Options{Embedder: emb})
}

func intentNames(r *router.Router) []string {
	var out []string
	for _, in := range r.Intents() {
		out = append(out, in.Name)
	}
	return out
}

// Check returns what the text is flagged for: jailbreak rules, the
// semantic categories, and PII. scale multiplies every semantic threshold
// (1 as fitted; the eval's sweep varies it).
func (d *Detector) Check(ctx context.Context, text string, scale float64) ([]Flag, []Span, error) {
	var flags []Flag
	for _, re := range jailbreakRules {
		if re.MatchString(text) {
			flags = append(flags, Flag{Category: CategoryJailbreak, Score: 1, Source: "rule"})
			break
		}
	}
	if strings.TrimSpace(text) != "" {
		s, err := d.r.Score(ctx, text)
		if err != nil && err != router.ErrEmptyPrompt {
			return nil, nil, err
		}
		if err == nil && s.Best >= 0 && s.OOS <= s.S1 {
			cat := intentNames(d.r)[s.Best]
			if s.Confidence() >= d.Thresholds[cat]*scale && !slices.ContainsFunc(flags, func(f Flag) bool { return f.Category == cat }) {
				flags = append(flags, Flag{Category: cat, Score: s.Confidence(), Source: "semantic"})
			}
		}
	}
	spans := FindPII(text)
	if len(spans) > 0 {
		flags = append(flags, Flag{Category: CategoryPII, Score: 1, Source: "pii"})
	}
	return flags, spans, nil
}

// Unsafe reports whether any flag is other than PII.
func Unsafe(flags []Flag) bool {
	return slices.ContainsFunc(flags, func(f Flag) bool { return f.Category != CategoryPII })
}
