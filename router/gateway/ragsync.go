package gateway

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/semroute/semroute/rag"
)

// collectionWatcher is a rag coordinator that hears other replicas'
// changes of the collections (rag/ragpg).
type collectionWatcher interface {
	Watch(ctx context.Context, resync time.Duration, log *slog.Logger, changed func(collection string))
}

// ragSyncs runs each collection's Syncs one at a time, off the watcher's
// loop: a collection busy with a long ingest here (its Sync waits for it)
// holds up no other collection's. A change heard while one runs makes one
// more run after it, however many were heard.
type ragSyncs struct {
	watching atomic.Bool // set once Watch follows the collections' changes
	mu       sync.Mutex
	running  map[*rag.Collection]bool
	again    map[*rag.Collection]bool
}

// watchCollections has the open collections catch up with other
// replicas' ingests and deletes until ctx ends: within milliseconds of a
// change's notification, and every Resync without one. Searches never
// wait on the database for it: each reads the copy in memory as it is.
func (s *Server) watchCollections(ctx context.Context) {
	w, ok := s.opt.RAGSync.(collectionWatcher)
	if !ok || !s.catchup.watching.CompareAndSwap(false, true) {
		return
	}
	go w.Watch(ctx, Resync, s.log, func(name string) {
		st := s.st.Load()
		for n, c := range st.rags {
			if name == "" || n == name {
				s.syncCollection(ctx, n, c)
			}
		}
	})
}

// syncCollection catches c up, now or after the Sync running. A
// collection that fails keeps serving its copy and tries again at the
// next change or resync.
func (s *Server) syncCollection(ctx context.Context, name string, c *rag.Collection) {
	rs := &s.catchup
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.running == nil {
		rs.running, rs.again = map[*rag.Collection]bool{}, map[*rag.Collection]bool{}
	}
	if rs.running[c] {
		rs.again[c] = true
		return
	}
	rs.running[c] = true
	go func() {
		for {
			sctx, cancel := context.WithTimeout(ctx, time.Minute)
			err := c.Sync(sctx)
			cancel()
			if err != nil && ctx.Err() == nil {
				s.log.Warn("rag: catching up with other replicas' changes failed; the collection keeps its copy until the next try", "collection", name, "err", err)
			}
			rs.mu.Lock()
			if !rs.again[c] || ctx.Err() != nil {
				delete(rs.running, c)
				delete(rs.again, c)
				rs.mu.Unlock()
				return
			}
			delete(rs.again, c)
			rs.mu.Unlock()
		}
	}()
}
