package intentspg_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/semroute/semroute/intents"
	"github.com/semroute/semroute/intents/intentspg"
	"github.com/semroute/semroute/internal/postgres"
	"github.com/semroute/semroute/internal/postgres/pgtest"
)

// TestStore: nothing stored at first (the config's intents apply); a save
// is loaded back in order with the next version, by another replica too,
// which hears it through NOTIFY. (The gateway's TestReplicasShareIntents
// runs it under two servers.)
func TestStore(t *testing.T) {
	ctx := context.Background()
	db := pgtest.Open(t, postgres.Options{})
	s := intentspg.New(db)
	if list, v, ok, err := s.Load(ctx); err != nil || ok || v != 0 || len(list) != 0 {
		t.Fatalf("fresh: %v %d %v %v", list, v, ok, err)
	}
	other, err := postgres.Open(ctx, postgres.Options{DSN: pgtest.DSN(t), Schema: db.SchemaName()})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	heard := make(chan struct{}, 10)
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		intentspg.New(other).Watch(wctx, time.Hour, slog.New(slog.DiscardHandler), func() { heard <- struct{}{} })
		close(done)
	}()
	defer func() { cancel(); <-done }()
	want := []intents.Intent{
		{Name: "weather", Utterances: []string{"will it rain"}, Target: intents.Target{Model: intents.Models{"fast"}}},
		{Name: "billing", Utterances: []string{"refund my order"}, Target: intents.Target{Handoff: "billing"}},
	}
	// The watcher calls once it listens (what changed before is caught up
	// then); after that only a notification (or the hourly resync) calls.
	select {
	case <-heard:
	case <-time.After(10 * time.Second):
		t.Fatal("the watcher never started listening")
	}
	// Save until the watcher hears one.
	var saved int64
	for heardIt := false; !heardIt; {
		v, err := s.Save(ctx, want)
		if err != nil || v != saved+1 {
			t.Fatalf("save: version %d after %d, %v", v, saved, err)
		}
		saved = v
		select {
		case <-heard:
			heardIt = true
		case <-time.After(100 * time.Millisecond):
			if saved == 100 {
				t.Fatal("the other replica heard none of 100 changes")
			}
		}
	}
	list, v, ok, err := intentspg.New(other).Load(ctx)
	if err != nil || !ok || v != saved {
		t.Fatalf("load: version %d (saved %d), %v %v", v, saved, ok, err)
	}
	if d := cmp.Diff(want, list); d != "" {
		t.Errorf("loaded (-saved +loaded):\n%s", d)
	}
	if v, err := s.Save(ctx, want[:1]); err != nil || v != saved+1 {
		t.Errorf("another save: %d %v", v, err)
	}
	if v, err := intentspg.New(other).Version(ctx); err != nil || v != saved+1 {
		t.Errorf("version: %d %v, want %d", v, err, saved+1)
	}
}
