package gateway

import (
	"context"
	"fmt"
	"time"

	"github.com/semroute/semroute/moderation"
	"github.com/semroute/semroute/rag"
	"github.com/semroute/semroute/router"
	"github.com/semroute/semroute/router/cache"
	"github.com/semroute/semroute/router/config"
	"github.com/semroute/semroute/router/judge"
	"github.com/semroute/semroute/router/upstream"
)

// state is what a config builds; requests read the current one without a
// lock, and reloads and intent changes (serialised by Server.changes.mu) build a
// new one and swap it in. What is costly to build (the detector's fit, the
// cascade's embeddings, open collections, caches) is taken over from the
// state it replaces when its inputs did not change.
type state struct {
	base    *config.Config // as loaded, before stored intents replaced its own
	version int64          // of the stored intents in use
	store   IntentStore    // where the intents API's changes go
	cfg     *config.Config
	router  *router.Router
	pool    *upstream.Pool
	keys    *keyset
	auto    map[string]bool
	det     *moderation.Detector // nil without moderation
	detKey  uint64               // what det was fitted on (detectorKey)
	judge   *judge.Judge         // nil without routing.judge
	cascade *cascadeModel        // nil without cascade.file
	space   string               // the embedder's fingerprint, for the semantic cache's keys

	// Kept across reloads, whatever the config says.
	rags       map[string]*rag.Collection // open collections, by name
	cache      *cache.Cache               // the in-process response cache, once one was configured
	cacheCfg   config.CacheConfig         // cache's bounds
	judgeCache *cache.Cache               // the judge's, in process, without Options.JudgeCache
	judgeTTL   time.Duration
}

// build makes cfg's state. It runs under s.changes.mu, so the current state is the
// one it replaces.
func (s *Server) build(ctx context.Context, cfg *config.Config) (*state, error) {
	prev := s.st.Load()
	if prev == nil {
		prev = &state{}
	}
	keys, err := newKeyset(cfg.Server.APIKeys, s.opt.LookupEnv)
	if err != nil {
		return nil, err
	}
	r, err := s.newRouter(ctx, cfg)
	if err != nil {
		return nil, err
	}
	st := &state{cfg: cfg, router: r, pool: upstream.NewPool(cfg, observers{s.m, &s.seen}, s.opt.LookupEnv), keys: keys, auto: map[string]bool{},
		cache: prev.cache, cacheCfg: prev.cacheCfg, judgeCache: prev.judgeCache, judgeTTL: prev.judgeTTL,
		space: r.Embedder().Fingerprint().String()}
	if st.rags, err = s.collections(ctx, prev.rags, cfg.RAG); err != nil {
		return nil, err
	}
	if m := cfg.Moderation; m != nil {
		if st.det, err = s.detector(ctx, m, cfg.Intents); err != nil {
			return nil, err
		}
		st.detKey = detectorKey(m, cfg.Intents)
	}
	if st.cascade, err = s.cascadeModel(ctx, prev.cascade, cfg.Cascade); err != nil {
		return nil, err
	}
	st.judge = s.newJudge(st)
	s.keepResponseCache(st)
	for _, a := range cfg.Server.AutoModels {
		st.auto[a] = true
	}
	for _, m := range cfg.Models {
		if v := st.pool.Model(m.Name).Unconfigured(); v != "" {
			s.log.Warn("model not configured: chat completions for it answer 503", "model", m.Name, "set", v)
		}
	}
	if len(cfg.Server.APIKeys) == 0 {
		s.log.Warn("no API keys configured: the client endpoints are open and the intents API is closed")
	}
	return st, nil
}

// newRouter builds cfg's router, with its thresholds file when it has one.
func (s *Server) newRouter(ctx context.Context, cfg *config.Config) (*router.Router, error) {
	var th *router.Thresholds
	if f := cfg.Routing.ThresholdsFile; f != "" {
		var err error
		if th, err = router.LoadThresholds(f, s.opt.Embedder.Fingerprint()); err != nil {
			return nil, err
		}
	}
	return router.New(ctx, cfg, router.Options{Embedder: s.opt.Embedder, Index: s.opt.Index, Thresholds: th, Logger: s.log})
}

// collections opens the collections of rcs that are not open yet (loading
// their chunks from the index); open ones carry over, so collections
// outlive reloads.
func (s *Server) collections(ctx context.Context, open map[string]*rag.Collection, rcs []config.RAGCollection) (map[string]*rag.Collection, error) {
	out := make(map[string]*rag.Collection, len(open)+len(rcs))
	for name, c := range open {
		out[name] = c
	}
	for _, rc := range rcs {
		if _, ok := out[rc.Name]; ok {
			continue
		}
		if s.opt.Index == nil {
			return nil, fmt.Errorf("rag collection %q needs an index", rc.Name)
		}
		o := rag.OptionsOf(&rc, s.opt.Index, s.opt.Embedder)
		o.Coordinator = s.opt.RAGSync
		c, err := rag.Open(ctx, rc.Name, o)
		if err != nil {
			return nil, err
		}
		out[rc.Name] = c
	}
	return out, nil
}

// keepResponseCache gives st the in-process response cache, made anew
// when its bounds change.
func (s *Server) keepResponseCache(st *state) {
	cc := st.cfg.Cache
	if cc == nil || s.opt.Cache != nil {
		return
	}
	if st.cache == nil || st.cacheCfg.MaxBytes != cc.MaxBytes || st.cacheCfg.TTLS != cc.TTLS {
		st.cache = cache.New(cc.MaxBytes, time.Duration(cc.TTLS)*time.Second)
		st.cacheCfg = *cc
	}
}

// responseCache is the response cache st's requests use.
func (s *Server) responseCache(st *state) ResponseCache {
	if s.opt.Cache != nil {
		return s.opt.Cache
	}
	return st.cache
}
