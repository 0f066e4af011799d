package main

import (
	"github.com/semroute/semroute/index"
	"github.com/semroute/semroute/internal/dirlock"
)

// lockedIndex is the in-process index with its data_dir held for this
// process (internal/dirlock); Close releases both. serve, ingest and route
// open the index through openIndex, so each of them holds data_dir while
// it may write there (the index log, and for serve the spend ledger, the
// handoff queue and the intents file).
type lockedIndex struct {
	index.Index
	lock *dirlock.Lock
}

func (l lockedIndex) Close() error {
	err := l.Index.Close()
	l.lock.Release()
	return err
}
