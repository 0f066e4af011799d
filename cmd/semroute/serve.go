package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/semroute/semroute/index/pgvector"
	"github.com/semroute/semroute/intents/intentspg"
	"github.com/semroute/semroute/moderation/handoff/handoffpg"
	"github.com/semroute/semroute/rag/ragpg"
	"github.com/semroute/semroute/router/cache/cachepg"
	"github.com/semroute/semroute/router/feedback/feedbackpg"
	"github.com/semroute/semroute/router/gateway"
	"github.com/semroute/semroute/router/judge/suggest/suggestpg"
	"github.com/semroute/semroute/router/spend/spendpg"
)

func runServe(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("serve", stderr)
	config := fs.String("config", "", "the YAML config (required)")
	addr := fs.String("addr", "", "listen address (default: the config's server.addr, else 127.0.0.1:8080)")
	debug := fs.Bool("debug", false, "debug logging, prompts included (off by default: no prompt text or keys in logs)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*config, "")
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if *debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if cfg.Server.GCFloorMB != nil {
		log.Warn("server.gc_floor_mb is deprecated and ignored: server.memory_limit_mb bounds memory instead", "memory_limit_mb", *cfg.Server.MemoryLimitMB)
	}
	emb, closeEmb, err := openEmbedder(ctx, cfg.Embedder)
	if err != nil {
		return err
	}
	defer closeEmb()
	idx, err := openIndex(ctx, cfg.Index)
	if err != nil {
		return err
	}
	defer idx.Close()
	opt := gateway.Options{ConfigPath: *config, Embedder: emb, Index: idx, Logger: log, Debug: *debug,
		KeepMemoryLimit: envMemoryLimitSet(), LookupEnv: lookupEnv} // the runtime read it; it wins over memory_limit_mb
	tp, stopTracing, err := startTracing(cfg.Telemetry, log)
	if err != nil {
		return err
	}
	defer stopTracing()
	if tp != nil {
		opt.Tracer = tp
	}
	if pg, ok := idx.(*pgvector.Store); ok {
		opt.Intents = intentspg.New(pg.DB()) // replicas share the intents and tickets through the database
		opt.Tickets = handoffpg.New(pg.DB())
		opt.RAGSync = ragpg.New(pg.DB()) // and the rag collections: writers lock, readers catch up on NOTIFY
		opt.Spend = spendpg.New(pg.DB())
		if cfg.Cache != nil {
			opt.Cache = cachepg.New(pg.DB(), time.Duration(cfg.Cache.TTLS)*time.Second)
		}
		// The routing judge's suggestions and cached answers too (the
		// answers in the response cache's table, under keys of their own).
		opt.Suggestions = suggestpg.New(pg.DB())
		opt.Feedback = feedbackpg.New(pg.DB()) // a feedback POST finds the record whichever replica routed it
		judgeTTL := 24 * time.Hour
		if j := cfg.Routing.Judge; j != nil {
			judgeTTL = time.Duration(j.CacheTTLS) * time.Second
		}
		opt.JudgeCache = cachepg.New(pg.DB(), judgeTTL)
	}
	srv := gateway.New(opt)
	if *addr == "" {
		*addr = cfg.Server.Addr
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	fmt.Fprintf(stderr, "semroute serve: listening on http://%s (readyz answers 200 once the router is built)\n", ln.Addr())
	if err := srv.Load(ctx, cfg); err != nil {
		cancel()
		<-served
		return err
	}
	log.Info("ready", "intents", len(cfg.Intents), "addr", ln.Addr().String())
	return <-served
}
