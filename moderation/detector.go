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
	"github.com/semroute/semroute/intents/classify"
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
// category, with the safe exemplars as its out-of-scope class. A text's
// score is 1 − P(safe), times the coverage of its likeliest unsafe
// category (the share of the text's words and n-grams seen in that
// category's exemplars); its category is that likeliest unsafe one. The
// threshold per category is fitted on held-out folds of the exemplars.
//
// 1 − P(safe) sums the unsafe categories, so a request whose probability
// is split between two of them (fraud and privacy abuse, say) still
// counts: gating on the single likeliest class instead caught at most 51 %
// of the held-out unsafe exemplars at any threshold, against 76 % at a
// false-positive rate of 0.05 (TestDetectorScore). Coverage keeps everyday
// requests that resemble no unsafe exemplar from being flagged by a head
// that must put their probability somewhere: it halves the share of
// CLINC150's everyday validation prompts flagged (5.7 % to 3.2 %,
// TestEverydayTraffic).
type Detector struct {
	c          *classifier
	score      func(classify.Scores) float64
	Thresholds map[string]float64 `json:"thresholds"`
}

// targetFPR is the share of held-out safe exemplars the fitted thresholds
// may flag. Half the safe exemplars are look-alikes ("how do I kill a
// process"), half everyday requests.
const targetFPR = 0.05

// NewDetector fits the detector on exemplars. The thresholds come from
// 5-fold cross-validation: each category's maximizes caught unsafe minus
// λ × flagged safe exemplars among the held-out rows it is the likeliest
// category of, with one λ for all, the smallest that keeps the flagged
// share of all safe rows within targetFPR. That spends the false positives
// where they buy the most recall.
func NewDetector(ctx context.Context, emb embed.Embedder, exs []Example) (*Detector, error) {
	return newDetector(ctx, emb, exs, unsafeScore)
}

// newDetector fits a detector that scores texts with score.
func newDetector(ctx context.Context, emb embed.Embedder, exs []Example, score func(classify.Scores) float64) (*Detector, error) {
	c, err := build(ctx, emb, exs)
	if err != nil {
		return nil, err
	}
	rows, err := crossValidate(ctx, emb, exs, 5, score)
	if err != nil {
		return nil, err
	}
	return &Detector{c: c, score: score, Thresholds: fitThresholds(rows, c.names, targetFPR)}, nil
}

// unsafeScore is the probability that the text is not safe, times the
// share of its words and n-grams seen in its likeliest unsafe category's
// exemplars (see Detector).
func unsafeScore(s classify.Scores) float64 { return (1 - s.OOS) * s.Coverage }

// heldOut is one exemplar scored by a detector fitted without it.
type heldOut struct {
	unsafe bool
	cat    string // the likeliest unsafe category
	score  float64
}

func crossValidate(ctx context.Context, emb embed.Embedder, exs []Example, folds int, score func(classify.Scores) float64) ([]heldOut, error) {
	var rows []heldOut
	for k := range folds {
		var train, held []Example
		for i, ex := range exs {
			if i%folds == k {
				held = append(held, ex)
			} else {
				train = append(train, ex)
			}
		}
		fc, err := build(ctx, emb, train)
		if err != nil {
			return nil, err
		}
		for _, ex := range held {
			s, err := fc.Score(ctx, ex.Text)
			if err != nil {
				continue
			}
			rows = append(rows, heldOut{ex.Label == "unsafe", fc.names[s.Best], score(s)})
		}
	}
	return rows, nil
}

// fitThresholds fits a threshold per category (see NewDetector).
func fitThresholds(rows []heldOut, cats []string, fpr float64) map[string]float64 {
	byCat := map[string][]heldOut{}
	safe := 0
	for _, row := range rows {
		byCat[row.cat] = append(byCat[row.cat], row)
		if !row.unsafe {
			safe++
		}
	}
	var ths map[string]float64
	for lambda := 0.25; lambda <= 64; lambda *= 1.25 {
		ths = map[string]float64{}
		fp := 0
		for _, cat := range cats {
			t, n := bestThreshold(byCat[cat], lambda)
			ths[cat], fp = t, fp+n
		}
		if float64(fp) <= fpr*float64(safe) {
			break
		}
	}
	return ths
}

// bestThreshold maximizes caught unsafe − λ × flagged safe rows over
// thresholds 0.05 to 0.95 and returns the threshold with its flagged safe
// rows; 1 (flag nothing) when no threshold gains.
func bestThreshold(rows []heldOut, lambda float64) (float64, int) {
	bestGain, bestT, bestFP := 0.0, 1.0, 0
	for pct := 5; pct <= 95; pct++ {
		t, tp, fp := float64(pct)/100, 0, 0
		for _, row := range rows {
			if row.score >= t {
				if row.unsafe {
					tp++
				} else {
					fp++
				}
			}
		}
		if g := float64(tp) - lambda*float64(fp); g > bestGain+1e-9 {
			bestGain, bestT, bestFP = g, t, fp
		}
	}
	return bestT, bestFP
}

// classifier is the detector's head with its categories' names.
type classifier struct {
	*classify.Classifier
	names []string // the categories, in class order
}

// build fits the head on the exemplars: a class per category, in order of
// first appearance, and the safe exemplars as the out-of-scope class.
func build(ctx context.Context, emb embed.Embedder, exs []Example) (*classifier, error) {
	c := &classifier{}
	pos := map[string]int{}
	var classes [][]string
	var safe []string
	for _, ex := range exs {
		l := ex.Category
		if l == "" {
			l = "unsafe"
		}
		// Labeled as routing's examples are (config.AddExamples).
		if l = strings.TrimSpace(l); ex.Label == "safe" || l == intents.OOS {
			safe = append(safe, ex.Text)
			continue
		}
		i, ok := pos[l]
		if !ok {
			i = len(classes)
			pos[l] = i
			classes = append(classes, nil)
			c.names = append(c.names, l)
		}
		classes[i] = append(classes[i], ex.Text)
	}
	if len(classes) == 0 {
		return nil, fmt.Errorf("moderation: no unsafe exemplars")
	}
	// The sparse head alone, as the thresholds above were fitted for; the
	// detector fits its own thresholds, so no calibration either. Every
	// word is read: a harmful request can hide in the middle of a long
	// text.
	var err error
	c.Classifier, err = classify.New(ctx, emb, classes, safe, classify.HeadOptions{Blend: -1, NoCalibration: true})
	if err != nil {
		return nil, fmt.Errorf("moderation: %w", err)
	}
	return c, nil
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
		s, err := d.c.Score(ctx, text)
		if err != nil && err != classify.ErrNoWords {
			return nil, nil, err
		}
		if err == nil {
			cat, score := d.c.names[s.Best], d.score(s)
			if score >= d.Thresholds[cat]*scale && !slices.ContainsFunc(flags, func(f Flag) bool { return f.Category == cat }) {
				flags = append(flags, Flag{Category: cat, Score: score, Source: "semantic"})
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
