package router

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/semroute/semroute/embed"
	"github.com/semroute/semroute/index"
	"github.com/semroute/semroute/index/flat"
	"github.com/semroute/semroute/intents"
	"github.com/semroute/semroute/intents/classify"
	"github.com/semroute/semroute/router/config"
)

// Collection is the index collection that holds the intents' exemplars.
const Collection = "intents"

// ErrEmptyPrompt is returned for a prompt with nothing but white space.
var ErrEmptyPrompt = errors.New("empty prompt")

// Options are a router's collaborators.
type Options struct {
	Embedder embed.Embedder
	// Index is the store of record for exemplars and their vectors; nil
	// keeps them in memory only.
	Index index.Index
	// Thresholds, when set, are fitted thresholds to use.
	Thresholds *Thresholds
	Head       HeadOptions
	Logger     *slog.Logger
}

// HeadOptions steer fitting the head (see classify.HeadOptions).
type HeadOptions = classify.HeadOptions

// Calibration is what cross-validation on the utterances chose when the
// router was built (see classify.Calibration).
type Calibration = classify.Calibration

// Router turns prompts into decisions. It is immutable once built.
type Router struct {
	cfg     *config.Config
	emb     embed.Embedder
	in      classify.Input // the prompt's vector and features
	intents []intents.Intent
	// classes is len(intents), plus one when the config has out-of-scope
	// examples: they are the last class.
	classes int
	// Exemplars are grouped by class in the slab: class i owns the rows
	// ranges[i] ≤ row < ranges[i+1].
	ranges []int
	texts  []string
	slab   *flat.Slab
	owner  []int32        // slab row → class
	head   *classify.Head // nil with the knn scorer
	// cal is what cross-validation on the utterances chose at build time
	// (calibrated false when it did not run; see Calibration).
	cal        Calibration
	calibrated bool
	scorer     string
	gate       Gate
	global     float64 // the threshold of intents that have none of their own
	// ranks is how many best intents a prompt's scores keep: the best and
	// its alternatives, or the judge's top_k when it is more.
	ranks int
	pool  *sync.Pool
}

// scratch is one routing call's working memory, pooled.
type scratch struct {
	vec   []float32
	feats []embed.Feature
	head  classify.Scratch
	probs []float32
	hits  []flat.Result
	flat  flat.Scratch
}

// New builds a router for cfg (which must have passed Validate).
func New(ctx context.Context, cfg *config.Config, opt Options) (*Router, error) {
	if opt.Embedder == nil {
		return nil, errors.New("build router: no embedder")
	}
	start := time.Now()
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Router{cfg: cfg, emb: opt.Embedder, intents: cfg.Intents}
	r.ranks = cfg.Routing.Alternatives + 1
	if j := cfg.Routing.Judge; j != nil {
		r.ranks = max(r.ranks, j.TopK)
	}
	dim := opt.Embedder.Fingerprint().Dim
	r.in = classify.NewInput(opt.Embedder, dim)

	set := classify.Set{Ranges: make([]int, 0, len(cfg.Intents)+2)}
	for _, in := range cfg.Intents {
		set.Add(in.Utterances)
	}
	if len(set.Texts) == 0 {
		return nil, errors.New("build router: no utterances")
	}
	if len(cfg.OutOfScope) > 0 {
		set.Add(cfg.OutOfScope)
	}
	set.Close()
	r.texts, r.owner, r.ranges, r.classes = set.Texts, set.Owner, set.Ranges, set.Classes

	vecs, err := r.vectors(ctx, opt.Index)
	if err != nil {
		return nil, fmt.Errorf("build router: %w", err)
	}
	r.slab = flat.New(dim, vecs)
	r.slab.Quantize() // for the nearest utterance of the best intent, in Score
	r.scorer = chooseScorer(cfg.Routing.Scorer, len(r.texts), len(cfg.Intents))
	if r.scorer == config.ScorerHead {
		unit := make([][]float32, len(r.texts))
		for i := range unit {
			unit[i] = r.slab.Vector(i)
		}
		r.head, r.cal, r.calibrated = classify.Fit(r.in.Examples(&set, unit), r.classes, len(cfg.OutOfScope) > 0,
			dim, classify.DenseHi(opt.Embedder, dim), opt.Head, r.defaultMinSimilarity())
	}
	r.setThresholds(opt.Thresholds)
	r.pool = &sync.Pool{New: func() any {
		return &scratch{vec: make([]float32, dim), probs: make([]float32, r.classes, classify.Padded(r.classes))}
	}}
	log.Info("router built", "intents", len(cfg.Intents), "exemplars", len(r.texts), "scorer", r.scorer,
		"embedder", opt.Embedder.Fingerprint().String(), "blend", r.cal.Blend, "calibrated", r.calibrated,
		"default_threshold", r.defaultThreshold(), "took", time.Since(start).Round(time.Millisecond))
	return r, nil
}

// maxHeadWork bounds exemplars × intents for the head: past it (e.g. 10,000
// intents of one utterance each) fitting would take minutes, and the knn
// scorer is used instead.
const maxHeadWork = 40_000_000

func chooseScorer(want string, exemplars, classes int) string {
	if classes > math.MaxUint16 { // the head's sparse index stores classes in 16 bits
		return config.ScorerKNN
	}
	if want == config.ScorerAuto {
		if exemplars*classes > maxHeadWork {
			return config.ScorerKNN
		}
		return config.ScorerHead
	}
	return want
}

// className is intent c's name, or intents.OOS for the out-of-scope class.
func (r *Router) className(c int32) string {
	if int(c) == len(r.intents) {
		return intents.OOS
	}
	return r.intents[c].Name
}

// WithThresholds returns a router that shares r's exemplars and head but
// decides with t (nil: the config's and the defaults).
func (r *Router) WithThresholds(t *Thresholds) *Router {
	c := *r
	c.setThresholds(t)
	return &c
}

// Thresholds are the cut-offs in use, per-intent ones where they differ
// from the global threshold.
func (r *Router) Thresholds() Thresholds {
	t := Thresholds{Embedder: r.emb.Fingerprint(), Scorer: r.scorer, Global: r.global,
		Margin: r.gate.Margin, MinSimilarity: r.gate.MinSimilarity}
	for i, v := range r.gate.Threshold {
		if v != r.global {
			if t.PerIntent == nil {
				t.PerIntent = map[string]float64{}
			}
			t.PerIntent[r.intents[i].Name] = v
		}
	}
	return t
}

// Gate returns a copy of the cut-offs in use.
func (r *Router) Gate() Gate {
	g := r.gate
	g.Threshold = slices.Clone(g.Threshold)
	return g
}

// defaultThreshold is the global threshold when neither the config nor a
// thresholds file sets one: the calibrated one, else the scorer's default.
func (r *Router) defaultThreshold() float64 {
	switch {
	case r.scorer == config.ScorerKNN:
		return defaultKNNThreshold
	case r.calibrated:
		return r.cal.Threshold
	}
	return defaultHeadThreshold
}

// defaultMinSimilarity is min_similarity when no thresholds file sets it:
// the config's, else the embedder's default.
func (r *Router) defaultMinSimilarity() float64 {
	if v := r.cfg.Routing.MinSimilarity; v != nil {
		return *v
	}
	return r.embedderMinSimilarity()
}

// embedderMinSimilarity is the gate the embedder's vectors want: its own
// when it says (the local embedder: GloVe's or the trained encoder's),
// else defaultLocalMinSimilarity for the local kind, else none.
func (r *Router) embedderMinSimilarity() float64 {
	if g, ok := r.emb.(interface{ MinSimilarity() float64 }); ok {
		return g.MinSimilarity()
	}
	if r.emb.Fingerprint().Kind == "local" {
		return defaultLocalMinSimilarity
	}
	return 0
}

func (r *Router) setThresholds(t *Thresholds) {
	global, margin := r.defaultThreshold(), defaultHeadMargin
	if r.scorer == config.ScorerKNN {
		margin = defaultKNNMargin
	}
	minSim := r.embedderMinSimilarity()
	if t != nil && t.Scorer == r.scorer {
		global, margin, minSim = t.Global, t.Margin, t.MinSimilarity
	}
	if v := r.cfg.Routing.MinSimilarity; v != nil {
		minSim = *v
	}
	if v := r.cfg.Routing.Threshold; v != nil {
		global = *v
	}
	if v := r.cfg.Routing.Margin; v != nil {
		margin = *v
	}
	r.global = global
	r.gate = Gate{Threshold: make([]float64, len(r.intents)), Margin: margin, MinSimilarity: minSim}
	for i, in := range r.intents {
		r.gate.Threshold[i] = global
		if t != nil && t.Scorer == r.scorer {
			if v, ok := t.PerIntent[in.Name]; ok {
				r.gate.Threshold[i] = v
			}
		}
		if in.Threshold != nil {
			r.gate.Threshold[i] = *in.Threshold
		}
	}
}

// exemplarID names an exemplar by its intent and text, so that an unchanged
// utterance keeps its stored vector across restarts.
func exemplarID(intent, text string) string {
	h := sha256.Sum256([]byte(intent + "\x00" + text))
	return hex.EncodeToString(h[:12])
}

// vectors returns a vector per exemplar: those already in the index under
// the same embedder fingerprint are reused, the rest are embedded and
// stored, and records of utterances no longer configured are deleted.
func (r *Router) vectors(ctx context.Context, idx index.Index) ([][]float32, error) {
	fp := r.emb.Fingerprint().String()
	stored := map[string][]float32{}
	var stale []string
	if idx != nil {
		recs, err := idx.List(ctx, Collection)
		if err != nil {
			return nil, err
		}
		for _, rec := range recs {
			if rec.Metadata["embedder"] == fp {
				stored[rec.ID] = rec.Vector
			} else {
				stale = append(stale, rec.ID)
			}
		}
	}
	vecs := make([][]float32, len(r.texts))
	var todo []int
	for i, t := range r.texts {
		id := exemplarID(r.className(r.owner[i]), t)
		if v, ok := stored[id]; ok {
			vecs[i] = v
			delete(stored, id)
		} else {
			todo = append(todo, i)
		}
	}
	for id := range stored {
		stale = append(stale, id)
	}
	if len(todo) > 0 {
		texts := make([]string, len(todo))
		for j, i := range todo {
			texts[j] = r.texts[i]
		}
		got, err := r.emb.Embed(ctx, texts)
		if err != nil {
			return nil, fmt.Errorf("embed %d utterances: %w", len(texts), err)
		}
		recs := make([]index.Record, len(todo))
		for j, i := range todo {
			vecs[i] = got[j]
			name := r.className(r.owner[i])
			recs[j] = index.Record{ID: exemplarID(name, r.texts[i]), Text: r.texts[i], Vector: got[j],
				Metadata: map[string]string{"intent": name, "embedder": fp}}
		}
		if idx != nil {
			if err := idx.Upsert(ctx, Collection, recs); err != nil {
				return nil, err
			}
		}
	}
	if idx != nil && len(stale) > 0 {
		if err := idx.Delete(ctx, Collection, stale...); err != nil {
			return nil, err
		}
	}
	return vecs, nil
}

// Intents returns the intents routed to, in config order.
func (r *Router) Intents() []intents.Intent { return r.intents }

// Calibration is what cross-validation on the utterances chose when the
// router was built; ok is false when it did not run (the knn scorer, one
// intent, fewer than two utterances an intent on average, or
// HeadOptions.NoCalibration).
func (r *Router) Calibration() (c Calibration, ok bool) { return r.cal, r.calibrated }

// Scorer is the scorer in use: head or knn.
func (r *Router) Scorer() string { return r.scorer }

// Exemplars is the number of distinct example utterances, out-of-scope ones
// included.
func (r *Router) Exemplars() int { return len(r.texts) }

// Embedder is the router's embedder.
func (r *Router) Embedder() embed.Embedder { return r.emb }

// Config is the config the router was built from.
func (r *Router) Config() *config.Config { return r.cfg }
