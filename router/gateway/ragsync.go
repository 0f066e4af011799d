package gateway

import (
	"context"
	"log/slog"
	"time"
)

// collectionWatcher is a rag coordinator that hears other replicas'
// changes of the collections (rag/ragpg).
type collectionWatcher interface {
	Watch(ctx context.Context, resync time.Duration, log *slog.Logger, changed func(collection string))
}

// watchCollections has the open collections catch up with other
// replicas' ingests and deletes until ctx ends: within milliseconds of a
// change's notification, and every Resync without one. Searches never
// wait on the database for it: each reads the copy in memory as it is.
func (s *Server) watchCollections(ctx context.Context) {
	w, ok := s.opt.RAGSync.(collectionWatcher)
	if !ok || !s.changes.watchingRAG.CompareAndSwap(false, true) {
		return
	}
	go w.Watch(ctx, Resync, s.log, func(name string) { s.syncCollections(ctx, name) })
}

// syncCollections catches up the open collection called name, or every
// open one for "". A collection that fails keeps serving its copy and
// tries again at the next change or resync.
func (s *Server) syncCollections(ctx context.Context, name string) {
	st := s.st.Load()
	if st == nil {
		return
	}
	for n, c := range st.rags {
		if name != "" && n != name {
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, time.Minute)
		err := c.Sync(sctx)
		cancel()
		if err != nil && ctx.Err() == nil {
			s.log.Warn("rag: catching up with other replicas' changes failed; the collection keeps its copy until the next try", "collection", n, "err", err)
		}
	}
}
