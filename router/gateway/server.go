package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/trace"

	"github.com/semroute/semroute/embed"
	"github.com/semroute/semroute/index"
	"github.com/semroute/semroute/intents"
	"github.com/semroute/semroute/moderation/handoff"
	"github.com/semroute/semroute/rag"
	"github.com/semroute/semroute/router/cache"
	"github.com/semroute/semroute/router/config"
	"github.com/semroute/semroute/router/feedback"
	"github.com/semroute/semroute/router/judge"
	"github.com/semroute/semroute/router/judge/suggest"
	"github.com/semroute/semroute/router/spend"
)

// Options are a server's collaborators.
type Options struct {
	// ConfigPath is reread on Reload (SIGHUP).
	ConfigPath string
	Embedder   embed.Embedder
	// Index stores the intents' exemplars; it must stay the same across
	// reloads.
	Index  index.Index
	Logger *slog.Logger
	// Debug logs prompt text; off by default.
	Debug bool
	// Spend keeps the spend ledger and Cache the response cache; nil
	// means a log in data_dir and an in-process cache.
	Spend spend.Store
	Cache ResponseCache
	// Tickets keeps handoff tickets; nil means a log in the config's
	// data_dir.
	Tickets handoff.Queue
	// Intents keeps the intents API's changes; nil means a file in the
	// config's data_dir. With a store that can Watch (PostgreSQL), replicas
	// pick up each other's changes.
	Intents IntentStore
	// RAGSync keeps the rag collections of replicas that share the index
	// in step (rag/ragpg with pgvector): writers lock and bump a version,
	// and, when it can Watch, each replica catches up on the others'
	// changes. Nil: the collections are this process's alone.
	RAGSync rag.Coordinator
	// Suggestions keeps the routing judge's suggested utterances and
	// JudgeCache its answers; nil means a log in the config's data_dir
	// and an in-process cache.
	Suggestions suggest.Store
	JudgeCache  judge.Cache
	// Feedback keeps route records and feedback; nil means logs in the
	// config's data_dir (used only with a feedback section).
	Feedback feedback.Store
	// KeepMemoryLimit leaves Go's memory limit as it is instead of setting
	// server.memory_limit_mb: cmd sets it when GOMEMLIMIT is in the
	// environment, which wins.
	KeepMemoryLimit bool
	// Tracer, when not nil, traces each request: a span per step
	// (README "Traces"); cmd makes it from the config's telemetry and the
	// OTEL_* variables. Nil traces nothing and costs nothing.
	Tracer trace.TracerProvider
	// LookupEnv reads the variables the config names (api_key_env of
	// models and of the external moderator, env of server.api_keys), on
	// every load and reload; cmd passes its own (the library reads no
	// variable itself). Nil finds none: models without keys, no env keys.
	LookupEnv func(string) (string, bool)
}

// IntentStore keeps the intents as changed through the API.
type IntentStore interface {
	// Load returns the stored intents and their version; ok is false when
	// none were ever stored.
	Load(ctx context.Context) (list []intents.Intent, version int64, ok bool, err error)
	// Save stores them durably and returns the new version.
	Save(ctx context.Context, list []intents.Intent) (int64, error)
	Version(ctx context.Context) (int64, error)
}

// ResponseCache stores answers for the response cache.
type ResponseCache interface {
	Get(k cache.Key, threshold float64) (cache.Entry, string, bool)
	Put(k cache.Key, e cache.Entry)
}

// watcher is an IntentStore that hears other replicas' changes.
type watcher interface {
	Watch(ctx context.Context, resync time.Duration, log *slog.Logger, changed func())
}

// pinger is an index that can tell whether its database is up.
type pinger interface {
	Ping(ctx context.Context) error
}

// Resync is how often a watching server rereads the intents even without a
// notification.
const Resync = 30 * time.Second

// Server is the HTTP service.
type Server struct {
	opt     Options
	log     *slog.Logger
	st      atomic.Pointer[state]
	changes changes
	m       *metrics
	engine  *gin.Engine
	opened  opened
	writer  cacheWriter // answers stored off the request path
	bud     budgets
	canary  canaries
	tr      trace.Tracer // nil: tracing off
	seen    observed     // each model's latency and output, for per-request limits
	fb      feedbackSide // route records and feedback
	catchup ragSyncs     // the rag collections' catching up with other replicas
}

// changes are how the config and intents change: mu serialises reloads,
// intent changes and the builds they make; watching is set once Watch
// follows other replicas' changes.
type changes struct {
	mu       sync.Mutex
	watching atomic.Bool
}

// opened are the stores opened on first use (Options' or logs in
// data_dir) that outlive reloads. mu guards only their opening; each
// store does its own locking.
type opened struct {
	mu        sync.Mutex
	ledger    spend.Store
	tickets   handoff.Queue
	suggested suggest.Store
}

func init() { gin.SetMode(gin.ReleaseMode) }

// New makes a server that answers /healthz at once and the rest once Load
// has built a router.
func New(opt Options) *Server {
	if opt.LookupEnv == nil {
		opt.LookupEnv = func(string) (string, bool) { return "", false }
	}
	s := &Server{opt: opt, log: opt.Logger, m: newMetrics(),
		bud:    budgets{reserved: map[string]float64{}, estimate: map[string]float64{}, fired: map[string]bool{}, now: time.Now},
		canary: canaries{results: map[string][]outcome{}, stopped: map[string]string{}, now: time.Now}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.tr = tracerOf(opt.Tracer)
	s.engine = s.routes()
	return s
}

// Handler is the server's http.Handler.
func (s *Server) Handler() http.Handler { return s.engine }

// Load builds cfg's router and upstreams and makes them current. Intents
// changed through the API (kept in the data directory) replace the
// config's.
func (s *Server) Load(ctx context.Context, cfg *config.Config) error {
	s.changes.mu.Lock()
	defer s.changes.mu.Unlock()
	return s.load(ctx, cfg)
}

func (s *Server) load(ctx context.Context, cfg *config.Config) error {
	if old := s.st.Load(); old != nil && (old.cfg.Index != cfg.Index) {
		return fmt.Errorf("the index settings changed (%+v → %+v); that needs a restart", old.cfg.Index, cfg.Index)
	}
	store := s.opt.Intents
	if store == nil {
		store = &fileStore{path: intentsPath(cfg)}
	}
	base := cfg
	stored, version, ok, err := store.Load(ctx)
	if err != nil {
		return err
	}
	if ok {
		cfg = cfg.Clone()
		cfg.Intents = stored
		if err := cfg.Validate(); err != nil {
			return fmt.Errorf("the intents saved through the intents API: %w", err)
		}
	}
	st, err := s.build(ctx, cfg)
	if err != nil {
		return err
	}
	st.base, st.version = base, version
	st.store = store
	s.st.Store(st)
	return nil
}

// resync reloads the stored intents when another replica changed them.
func (s *Server) resync() {
	s.changes.mu.Lock()
	defer s.changes.mu.Unlock()
	st := s.st.Load()
	if st == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	v, err := st.store.Version(ctx)
	if err != nil || v == st.version {
		if err != nil {
			s.log.Warn("intents: reading the version failed", "err", err)
		}
		return
	}
	if err := s.load(ctx, st.base); err != nil {
		s.log.Error("intents: another replica's change could not be applied; the old intents keep serving", "err", err)
		return
	}
	s.log.Info("intents: applied another replica's change", "version", v)
}

// Watch follows other replicas' intent changes until ctx ends, when the
// intent store can (PostgreSQL), and their rag collections' changes, when
// Options.RAGSync can; Serve calls it.
func (s *Server) Watch(ctx context.Context) {
	st := s.st.Load()
	if st == nil {
		return
	}
	s.watchCollections(ctx)
	w, ok := st.store.(watcher)
	if !ok || !s.changes.watching.CompareAndSwap(false, true) {
		return
	}
	go w.Watch(ctx, Resync, s.log, s.resync)
}

// Reload rereads the config file and swaps it in; on any error the old
// config keeps serving. So it does on a panic, which is logged with its
// stack as the handlers' are: a reload must not take the service down.
func (s *Server) Reload(ctx context.Context) (err error) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("panic while reloading", "err", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("reload: internal error: %v", r)
		}
	}()
	cfg, err := config.Load(s.opt.ConfigPath)
	if err != nil {
		return err
	}
	return s.Load(ctx, cfg)
}

// Ready reports whether a router is loaded.
func (s *Server) Ready() bool { return s.st.Load() != nil }

func (s *Server) routes() *gin.Engine {
	e := gin.New()
	e.Use(gin.CustomRecoveryWithWriter(nil, func(c *gin.Context, err any) {
		s.log.Error("panic while serving", "path", c.FullPath(), "err", err, "stack", string(debug.Stack()))
		fail(c, kindInternal, "", "", "internal error")
	}), s.accessLog, s.traceRequest, s.limitBody)
	e.NoRoute(func(c *gin.Context) {
		fail(c, kindNotFound, "unknown_url", "", fmt.Sprintf("no such endpoint: %s %s", c.Request.Method, c.Request.URL.Path))
	})
	e.NoMethod(func(c *gin.Context) {
		fail(c, kindMethod, "method_not_allowed", "", fmt.Sprintf("%s is not allowed on %s", c.Request.Method, c.Request.URL.Path))
	})
	e.HandleMethodNotAllowed = true
	e.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", gin.WrapH(promhttp.HandlerFor(s.m.reg, promhttp.HandlerOpts{})))

	v1 := e.Group("/v1", s.needState)
	client := v1.Group("", s.authorize(false))
	client.POST("/route", s.route)
	client.POST("/chat/completions", s.chat)
	client.GET("/models", s.models)
	client.POST("/embeddings", s.embeddings)
	admin := v1.Group("/intents", s.authorize(true))
	admin.GET("/suggestions", s.listSuggestions)
	admin.POST("/suggestions/:id/:action", s.changeSuggestion)
	admin.GET("", s.listIntents)
	admin.POST("", s.createIntent)
	admin.GET("/:name", s.getIntent)
	admin.PUT("/:name", s.replaceIntent)
	admin.DELETE("/:name", s.deleteIntent)
	admin.POST("/:name/utterances", s.addUtterances)
	admin.DELETE("/:name/utterances", s.removeUtterances)
	docs := v1.Group("/rag/:collection/documents", s.authorize(true))
	docs.POST("", s.ragAddDocuments)
	docs.DELETE("/:id", s.ragDeleteDocument)
	client.POST("/rag/:collection/query", s.ragQuery)
	client.GET("/handoff/tickets/:id", s.getTicket) // the client fetches its answer
	v1.GET("/spend", s.authorize(true), s.spendReport)
	agents := v1.Group("/handoff/tickets", s.authorize(true))
	agents.GET("", s.listTickets)
	agents.POST("/:id/:action", s.changeTicket)
	client.POST("/feedback", s.postFeedback)
	fbAdmin := v1.Group("/feedback", s.authorize(true))
	fbAdmin.GET("", s.listFeedback)
	fbAdmin.POST("/:id/apply", s.applyFeedback)
	s.playgroundRoutes(e)
	s.dashboardRoutes(e)
	return e
}

func (s *Server) readyz(c *gin.Context) {
	if !s.Ready() {
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "loading", "router": false})
		return
	}
	st := s.st.Load()
	body := gin.H{"status": "ready", "router": true, "intents": len(st.router.Intents()),
		"exemplars": st.router.Exemplars(), "embedder": st.router.Embedder().Fingerprint().String()}
	if p, ok := s.opt.Index.(pinger); ok {
		ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
		defer cancel()
		if err := p.Ping(ctx); err != nil {
			body["status"], body["database"] = "database unavailable", err.Error()
			c.JSON(http.StatusServiceUnavailable, body)
			return
		}
		body["database"] = "ok"
	}
	c.JSON(http.StatusOK, body)
}

func (s *Server) needState(c *gin.Context) {
	if !s.Ready() {
		fail(c, kindUnavailable, "not_ready", "", "semroute is still building its router; retry shortly")
	}
}

func (s *Server) limitBody(c *gin.Context) {
	limit := int64(1 << 20)
	if st := s.st.Load(); st != nil {
		limit = st.cfg.Server.MaxBodyBytes
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
}

// accessLog logs one line a request, without prompts or keys.
func (s *Server) accessLog(c *gin.Context) {
	start := time.Now()
	x := exchangeOf(c)
	x.id = requestID(c.GetHeader("X-Request-Id"))
	c.Writer.Header().Set("X-Request-Id", x.id)
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	code := status(c)
	s.m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
	s.log.Info("request", "request_id", x.id, "method", c.Request.Method, "route", route, "status", code,
		"took", time.Since(start).Round(time.Microsecond), "intent", x.intent, "model", x.model)
}

// Serve answers on ln until ctx ends, then drains in-flight requests for up
// to the config's shutdown_ms. SIGHUP reloads the config.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{Handler: s.engine, ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) }}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	watching := false
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if !watching && s.Ready() { // the store is known once loaded
			s.Watch(ctx)
			watching = true
			s.setMemoryLimit()
		}
		select {
		case <-tick.C:
		case err := <-errc:
			return err
		case <-hup:
			if err := s.Reload(ctx); err != nil {
				s.log.Error("reload refused; the old config keeps serving", "err", err)
			} else {
				s.log.Info("config reloaded", "path", s.opt.ConfigPath)
				s.setMemoryLimit()
			}
		case <-ctx.Done():
			wait := 15 * time.Second
			if st := s.st.Load(); st != nil {
				wait = time.Duration(st.cfg.Server.ShutdownMS) * time.Millisecond
			}
			sctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			s.log.Info("shutting down: draining in-flight requests", "within", wait)
			if err := hs.Shutdown(sctx); err != nil {
				return fmt.Errorf("shutdown: %w", err)
			}
			if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			s.flushCacheWrites()
			s.closeFeedback()
			return nil
		}
	}
}
