package ragpg_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/semroute/semroute/embed/local/localtest"
	"github.com/semroute/semroute/index"
	"github.com/semroute/semroute/index/pgvector"
	"github.com/semroute/semroute/index/pgvector/pgtest"
	"github.com/semroute/semroute/rag"
	"github.com/semroute/semroute/rag/ragpg"
)

// replica is one semroute's view of the database: its own store (its own
// connections) and coordinator.
type replica struct {
	store *counting
	co    *ragpg.Store
}

// counting is a pgvector store that counts its Lists, and keeps the IDs
// of the manifest entries it was asked to Get, to show what a Sync reads.
type counting struct {
	*pgvector.Store
	lists    atomic.Int32
	mu       sync.Mutex
	manifest []string // the IDs of manifest Gets
}

func (c *counting) List(ctx context.Context, name string) ([]index.Record, error) {
	c.lists.Add(1)
	return c.Store.List(ctx, name)
}

func (c *counting) Get(ctx context.Context, name string, ids ...string) ([]index.Record, error) {
	if strings.HasSuffix(name, ".docs") {
		c.mu.Lock()
		c.manifest = append(c.manifest, ids...)
		c.mu.Unlock()
	}
	return c.Store.Get(ctx, name, ids...)
}

// gotten returns the manifest entries asked for since the last call,
// sorted.
func (c *counting) gotten() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := slices.Sorted(slices.Values(c.manifest))
	c.manifest = nil
	return out
}

// replicas opens two replicas of one fresh schema.
func replicas(t *testing.T) (a, b replica) {
	t.Helper()
	first := pgtest.Open(t, pgvector.Options{}) // drops the schema at the end
	second, err := pgvector.Open(context.Background(), pgvector.Options{DSN: pgtest.DSN(t), Schema: first.DB().SchemaName()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { second.Close() })
	return replica{&counting{Store: first}, ragpg.New(first.DB())}, replica{&counting{Store: second}, ragpg.New(second.DB())}
}

func (r replica) open(t *testing.T, name string) *rag.Collection {
	t.Helper()
	c, err := rag.Open(context.Background(), name, rag.Options{Index: r.store, Embedder: localtest.Open(t), Coordinator: r.co})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// found returns the documents and texts of c's passages for q in mode.
func found(t *testing.T, c *rag.Collection, mode, q string) string {
	t.Helper()
	ps, err := c.Search(context.Background(), rag.Query{Text: q, K: 10, Mode: mode})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range ps {
		out = append(out, p.Doc+": "+p.Text)
	}
	return strings.Join(out, "\n")
}

var modes = []string{rag.ModeBM25, rag.ModeVector, rag.ModeHybrid}

// TestVersionAndLock: versions start at 0 and count bumps, per
// collection; the lock excludes another replica's until released, also
// after a wait for it was given up, and locks one collection only.
func TestVersionAndLock(t *testing.T) {
	ctx := context.Background()
	a, b := replicas(t)
	if v, err := b.co.Version(ctx, "kb"); err != nil || v != 0 {
		t.Fatalf("fresh version: %d %v", v, err)
	}
	for want := int64(1); want <= 2; want++ {
		if v, err := a.co.Bump(ctx, "kb", []string{"d"}); err != nil || v != want {
			t.Fatalf("bump: %d %v, want %d", v, err, want)
		}
	}
	if v, err := b.co.Version(ctx, "kb"); err != nil || v != 2 {
		t.Errorf("version read by the other replica: %d %v, want 2", v, err)
	}
	if v, err := b.co.Version(ctx, "other"); err != nil || v != 0 {
		t.Errorf("another collection's version: %d %v, want 0", v, err)
	}
	unlock, err := a.co.Lock(ctx, "kb")
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	if _, err := b.co.Lock(short, "kb"); err == nil {
		t.Fatal("B took the lock A holds")
	}
	cancel()
	generous, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	other, err := b.co.Lock(generous, "other")
	if err != nil {
		t.Fatalf("another collection's lock waited on kb's: %v", err)
	}
	other()
	unlock()
	// B's abandoned wait left no lock behind in its pool.
	again, err := b.co.Lock(generous, "kb")
	if err != nil {
		t.Fatalf("B could not lock kb once A released it: %v", err)
	}
	again()
	if again, err := a.co.Lock(generous, "kb"); err != nil {
		t.Fatalf("A could not lock kb once B released it: %v", err)
	} else {
		again()
	}
}

// TestSyncFollowsAnotherReplica: B opened the collection before A's
// changes; each Sync brings it what A ingested, replaced and deleted, in
// every mode, reading the changed documents' manifest entries (named by
// the change log) and chunks alone, and nothing at all when the version
// did not move. B deletes what
// A ingested, and not what A deleted; B writing over a version A replaced
// leaves no orphan.
func TestSyncFollowsAnotherReplica(t *testing.T) {
	ctx := context.Background()
	ra, rb := replicas(t)
	a, b := ra.open(t, "kb"), rb.open(t, "kb")
	kettle := rag.Document{ID: "kettle", Title: "Kettle", Text: "The kettle boils a litre of water in four minutes."}
	desk := rag.Document{ID: "desk", Title: "Desk", Text: "The standing desk rises from 65 to 130 centimetres."}
	if _, err := a.Ingest(ctx, []rag.Document{kettle, desk}); err != nil {
		t.Fatal(err)
	}
	// sync has B Sync after A changed the documents want: it reads their
	// manifest entries alone, named by the change log, and lists nothing.
	sync := func(want ...string) {
		t.Helper()
		before := rb.store.lists.Load()
		rb.store.gotten()
		if err := b.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if n := rb.store.lists.Load() - before; n != 0 {
			t.Errorf("a sync after a change listed %d collections, want none (the change log names the documents)", n)
		}
		if got := rb.store.gotten(); !slices.Equal(got, want) {
			t.Errorf("a sync read the manifest entries %v, want %v", got, want)
		}
	}
	sync("desk", "kettle")
	for _, mode := range modes {
		if got := found(t, b, mode, "how long does the kettle take to boil"); !strings.HasPrefix(got, "kettle: The kettle boils a litre") {
			t.Errorf("B, %s, after A's ingest:\n%s", mode, got)
		}
	}
	if b.Documents() != 2 || b.Chunks() != a.Chunks() {
		t.Errorf("B has %d documents in %d chunks, A %d in %d", b.Documents(), b.Chunks(), a.Documents(), a.Chunks())
	}
	before := rb.store.lists.Load()
	if err := b.Sync(ctx); err != nil || rb.store.lists.Load() != before {
		t.Errorf("a sync with the version unchanged listed %d collections (%v), want none", rb.store.lists.Load()-before, err)
	}

	kettle2 := kettle
	kettle2.Text = "The new kettle boils a litre of water in two minutes."
	if _, err := a.Ingest(ctx, []rag.Document{kettle2}); err != nil {
		t.Fatal(err)
	}
	sync("kettle")
	for _, mode := range modes {
		got := found(t, b, mode, "how long does the kettle take to boil")
		if !strings.Contains(got, "two minutes") || strings.Contains(got, "four minutes") {
			t.Errorf("B, %s, after A replaced the kettle:\n%s", mode, got)
		}
	}

	if err := a.Delete(ctx, "desk"); err != nil {
		t.Fatal(err)
	}
	sync("desk")
	if b.Documents() != 1 || b.Chunks() != a.Chunks() {
		t.Errorf("after A deleted the desk, B has %d documents in %d chunks, A %d in %d", b.Documents(), b.Chunks(), a.Documents(), a.Chunks())
	}
	for _, mode := range modes {
		if got := found(t, b, mode, "standing desk height centimetres"); strings.Contains(got, "desk: ") {
			t.Errorf("B, %s, after A deleted the desk:\n%s", mode, got)
		}
	}
	if err := b.Delete(ctx, "desk"); !errors.Is(err, rag.ErrNotFound) {
		t.Errorf("B deleting what A deleted: %v, want ErrNotFound", err)
	}

	// Without a Sync of its own, B deletes what A ingested since, and
	// replaces what A replaced since: its writes start from the store's
	// manifest.
	lamp := rag.Document{ID: "lamp", Title: "Lamp", Text: "The lamp has three brightness settings."}
	if _, err := a.Ingest(ctx, []rag.Document{lamp}); err != nil {
		t.Fatal(err)
	}
	if err := b.Delete(ctx, "lamp"); err != nil {
		t.Errorf("B deleting what A ingested: %v", err)
	}
	kettle3 := kettle
	kettle3.Text = "The third kettle boils a litre of water in ninety seconds."
	if _, err := a.Ingest(ctx, []rag.Document{kettle3}); err != nil {
		t.Fatal(err)
	}
	kettle4 := kettle
	kettle4.Text = "The fourth kettle boils a litre of water in one minute."
	if _, err := b.Ingest(ctx, []rag.Document{kettle4}); err != nil {
		t.Fatal(err)
	}
	checkConsistent(t, ra.store, "kb", 1)
	if err := a.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*rag.Collection{a, b} {
		if got := found(t, c, rag.ModeHybrid, "how long does the kettle take to boil"); got != "kettle: "+kettle4.Text {
			t.Errorf("after B replaced the kettle A had replaced:\n%s", got)
		}
	}
}

// checkConsistent checks the store's collection: every manifest entry has
// all its chunks, no chunk is an orphan, and there are docs documents.
func checkConsistent(t *testing.T, idx index.Index, name string, docs int) map[string]bool {
	t.Helper()
	st, err := rag.Verify(context.Background(), idx, name)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Orphans)+len(st.Missing) > 0 {
		t.Errorf("orphan chunks %v; the manifest points to chunks not stored: %v", st.Orphans, st.Missing)
	}
	if st.Documents != docs {
		t.Errorf("%d documents in the manifest, want %d", st.Documents, docs)
	}
	return st.Live
}

// TestWritersAtOnce: two replicas ingest new versions of the same
// documents and delete them, at once, round after round. The store ends
// consistent, and after a Sync both hold exactly its chunks.
func TestWritersAtOnce(t *testing.T) {
	ctx := context.Background()
	ra, rb := replicas(t)
	cols := []*rag.Collection{ra.open(t, "kb"), rb.open(t, "kb")}
	const rounds = 8
	var wg sync.WaitGroup
	for i, c := range cols {
		wg.Go(func() {
			for round := range rounds {
				var docs []rag.Document
				for d := range 4 {
					docs = append(docs, rag.Document{ID: fmt.Sprint("doc", d), Title: fmt.Sprint("Doc ", d),
						Text: fmt.Sprintf("Replica %d wrote this in round %d.\n\n%s", i, round, strings.Repeat(fmt.Sprintf("The kettle boils in %d minutes. ", round+d), 40*(1+d%2)))})
				}
				if _, err := c.Ingest(ctx, docs); err != nil {
					t.Errorf("replica %d, round %d: %v", i, round, err)
					return
				}
				if err := c.Delete(ctx, fmt.Sprint("doc", (i+round)%4)); err != nil && !errors.Is(err, rag.ErrNotFound) {
					t.Errorf("replica %d, round %d: delete: %v", i, round, err)
				}
			}
		})
	}
	wg.Wait()
	manifest, err := ra.store.List(ctx, "rag.kb.docs")
	if err != nil {
		t.Fatal(err)
	}
	live := checkConsistent(t, ra.store, "kb", len(manifest))
	for i, c := range cols {
		if err := c.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if c.Documents() != len(manifest) || c.Chunks() != len(live) {
			t.Errorf("replica %d holds %d documents in %d chunks, the store %d in %d", i, c.Documents(), c.Chunks(), len(manifest), len(live))
		}
		ps, err := c.Search(ctx, rag.Query{Text: "which replica wrote this round kettle", K: 50, Mode: rag.ModeBM25})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, p := range ps {
			ids = append(ids, p.ChunkID)
			if !live[p.ChunkID] {
				t.Errorf("replica %d returned chunk %s, not in the store", i, p.ChunkID)
			}
		}
		if len(ids) != min(50, len(live)) || len(slices.Compact(slices.Sorted(slices.Values(ids)))) != len(ids) {
			t.Errorf("replica %d returned %d chunks, the store has %d", i, len(ids), len(live))
		}
	}
}

// TestWatchHearsChanges: a replica that Syncs on Watch's calls finds
// another's ingest soon after it, without a Sync of its own.
func TestWatchHearsChanges(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	ra, rb := replicas(t)
	a, b := ra.open(t, "kb"), rb.open(t, "kb")
	done := make(chan struct{})
	go func() {
		rb.co.Watch(ctx, time.Hour, slog.New(slog.DiscardHandler), func(name string) {
			if name == "" || name == "kb" {
				b.Sync(ctx)
			}
		})
		close(done)
	}()
	defer func() { cancel(); <-done }()
	doc := rag.Document{ID: "kettle", Title: "Kettle", Text: "The kettle boils a litre of water in four minutes."}
	start := time.Now()
	if _, err := a.Ingest(ctx, []rag.Document{doc}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if found(t, b, rag.ModeBM25, "kettle boils") != "" {
			t.Logf("B found A's document %v after A's ingest returned", time.Since(start).Round(time.Millisecond))
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("B never found A's document")
		}
	}
}

// paused is a store whose first write of a manifest entry waits until
// released: an ingest caught between its chunks and its manifest entry.
type paused struct {
	*pgvector.Store
	reached, release chan struct{}
	once             sync.Once
}

func (p *paused) Upsert(ctx context.Context, name string, recs []index.Record) error {
	if strings.HasSuffix(name, ".docs") {
		p.once.Do(func() { close(p.reached); <-p.release })
	}
	return p.Store.Upsert(ctx, name, recs)
}

// TestOpenSparesAnIngestInFlight: a replica opening the collection while
// another's ingest has written its chunks but not yet its manifest entry
// takes them for orphans of a crashed ingest; it must not delete them
// (the manifest would then point to nothing), and it does not: it
// deletes orphans under the write lock, after reading the manifest again.
func TestOpenSparesAnIngestInFlight(t *testing.T) {
	ctx := context.Background()
	ra, rb := replicas(t)
	p := &paused{Store: ra.store.Store, reached: make(chan struct{}), release: make(chan struct{})}
	a, err := rag.Open(ctx, "kb", rag.Options{Index: p, Embedder: localtest.Open(t), Coordinator: ra.co})
	if err != nil {
		t.Fatal(err)
	}
	ingested := make(chan error, 1)
	go func() {
		_, err := a.Ingest(ctx, []rag.Document{{ID: "kettle", Title: "Kettle", Text: "The kettle boils a litre of water in four minutes."}})
		ingested <- err
	}()
	<-p.reached
	opened := make(chan error, 1)
	go func() {
		_, err := rag.Open(ctx, "kb", rag.Options{Index: rb.store, Embedder: localtest.Open(t), Coordinator: rb.co})
		opened <- err
	}()
	for rb.store.lists.Load() < 2 { // B has read the manifest and the chunks
		time.Sleep(time.Millisecond)
	}
	close(p.release)
	if err := <-ingested; err != nil {
		t.Fatal(err)
	}
	if err := <-opened; err != nil {
		t.Fatal(err)
	}
	checkConsistent(t, ra.store, "kb", 1)
}

// TestChangeLog: Changed names the documents the bumps after a version
// changed, once each; it cannot tell for a version older than the log
// keeps, for one newer than the collection's, or across a bump that did
// not say what it changed or did not log (an older build's).
func TestChangeLog(t *testing.T) {
	ctx := context.Background()
	a, b := replicas(t)
	a.co.Keep = 3
	changed := func(since int64, want []string, wantOK bool) {
		t.Helper()
		docs, ok, err := b.co.Changed(ctx, "kb", since)
		if err != nil {
			t.Fatal(err)
		}
		if slices.Sort(docs); ok != wantOK || !slices.Equal(docs, want) {
			t.Errorf("changed since %d: %v %v, want %v %v", since, docs, ok, want, wantOK)
		}
	}
	changed(0, nil, true) // never changed
	changed(1, nil, false)
	for _, docs := range [][]string{{"a", "b"}, {"b"}, {"c"}, {"d", "a"}, {"e"}} { // versions 1–5
		if _, err := a.co.Bump(ctx, "kb", docs); err != nil {
			t.Fatal(err)
		}
	}
	changed(2, []string{"a", "c", "d", "e"}, true)
	changed(4, []string{"e"}, true)
	changed(5, []string{}, true)
	changed(1, nil, false)                               // pruned: the log keeps versions 3–5
	changed(6, nil, false)                               // newer than the collection
	if _, err := a.co.Bump(ctx, "kb", nil); err != nil { // version 6, changes unknown
		t.Fatal(err)
	}
	changed(5, nil, false)
	changed(6, []string{}, true)
	if _, err := a.co.Bump(ctx, "kb", []string{"f"}); err != nil {
		t.Fatal(err)
	}
	changed(6, []string{"f"}, true)
	// A replica of a build older than the log bumps the version alone.
	if _, err := a.store.DB().Pool().Exec(ctx, "UPDATE "+a.store.DB().Schema()+".semroute_rag_versions SET version = version + 1 WHERE collection = 'kb'"); err != nil {
		t.Fatal(err)
	}
	changed(6, nil, false)
	changed(8, []string{}, true)
	var rows int
	if err := a.store.DB().Pool().QueryRow(ctx, "SELECT count(*) FROM "+a.store.DB().Schema()+".semroute_rag_changes").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 1 {
		t.Errorf("the log holds %d rows, want 1 (version 7's; the bump of unknown changes pruned the rest)", rows)
	}
}

// TestSyncPastTheLog: a replica further behind than the change log keeps
// reads the whole manifest, and catches up, deleted documents included;
// the next change it follows through the log again.
func TestSyncPastTheLog(t *testing.T) {
	ctx := context.Background()
	ra, rb := replicas(t)
	ra.co.Keep = 2
	a, b := ra.open(t, "kb"), rb.open(t, "kb")
	doc := func(id, text string) rag.Document { return rag.Document{ID: id, Title: id, Text: text} }
	if _, err := a.Ingest(ctx, []rag.Document{doc("kettle", "The kettle boils a litre of water in four minutes."), doc("desk", "The standing desk rises to 130 centimetres.")}); err != nil {
		t.Fatal(err)
	}
	if err := b.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	for _, d := range []rag.Document{doc("lamp", "The lamp has three brightness settings."), doc("kettle", "The new kettle boils a litre of water in two minutes."), doc("bulb", "The bulb is warm white.")} {
		if _, err := a.Ingest(ctx, []rag.Document{d}); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Delete(ctx, "desk"); err != nil {
		t.Fatal(err)
	}
	before := rb.store.lists.Load()
	if err := b.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if n := rb.store.lists.Load() - before; n != 1 {
		t.Errorf("a sync past the log listed %d collections, want the manifest", n)
	}
	if b.Documents() != 3 || b.Chunks() != a.Chunks() {
		t.Errorf("B has %d documents in %d chunks, A %d in %d", b.Documents(), b.Chunks(), a.Documents(), a.Chunks())
	}
	if got := found(t, b, rag.ModeBM25, "standing desk centimetres"); strings.Contains(got, "desk: ") {
		t.Errorf("B still finds the desk A deleted:\n%s", got)
	}
	if got := found(t, b, rag.ModeHybrid, "how long does the kettle take to boil"); !strings.Contains(got, "two minutes") || strings.Contains(got, "four minutes") {
		t.Errorf("B after A replaced the kettle:\n%s", got)
	}
	if err := a.Delete(ctx, "lamp"); err != nil {
		t.Fatal(err)
	}
	before = rb.store.lists.Load()
	if err := b.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if n := rb.store.lists.Load() - before; n != 0 || b.Documents() != 2 {
		t.Errorf("the next sync listed %d collections and left %d documents, want none and 2", n, b.Documents())
	}
}

// TestWriteWithoutItsBump: A stores a document and fails to bump, so no
// version names it. B's next write finds the collection marked dirty and
// bumps it unknown first, so B itself and a third replica that follows
// the log find A's document too, not only B's.
func TestWriteWithoutItsBump(t *testing.T) {
	ctx := context.Background()
	ra, rb := replicas(t)
	c := ra.open(t, "kb")
	b, follower := rb.open(t, "kb"), rb.open(t, "kb")
	ragpg.FailBumps(ra.co, true)
	if _, err := c.Ingest(ctx, []rag.Document{{ID: "kettle", Text: "The kettle boils a litre of water in four minutes."}}); err == nil {
		t.Fatal("the ingest whose bump failed reported no error")
	}
	if _, err := b.Ingest(ctx, []rag.Document{{ID: "desk", Text: "The standing desk rises from 65 to 130 centimetres."}}); err != nil {
		t.Fatal(err)
	}
	if err := follower.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]*rag.Collection{"the writer after": b, "a follower": follower} {
		if r.Documents() != 2 || !strings.Contains(found(t, r, rag.ModeBM25, "kettle boils"), "kettle") {
			t.Errorf("%s holds %d documents and finds %q for the kettle, want both documents", name, r.Documents(), found(t, r, rag.ModeBM25, "kettle boils"))
		}
	}
}

// TestLockWithoutWriteLeavesNoMark: an ingest that changes nothing takes
// the lock and writes nothing; the next write is one version, not a bump
// with its changes unknown first.
func TestLockWithoutWriteLeavesNoMark(t *testing.T) {
	ctx := context.Background()
	ra, _ := replicas(t)
	c := ra.open(t, "kb")
	doc := rag.Document{ID: "kettle", Text: "The kettle boils a litre of water in four minutes."}
	for range 2 { // the second changes nothing
		if _, err := c.Ingest(ctx, []rag.Document{doc}); err != nil {
			t.Fatal(err)
		}
	}
	before, _ := ra.co.Version(ctx, "kb")
	if _, err := c.Ingest(ctx, []rag.Document{{ID: "desk", Text: "The standing desk rises."}}); err != nil {
		t.Fatal(err)
	}
	if after, _ := ra.co.Version(ctx, "kb"); after != before+1 {
		t.Errorf("version %d after one write from %d, want %d", after, before, before+1)
	}
	if docs, ok, err := ra.co.Changed(ctx, "kb", before); err != nil || !ok || fmt.Sprint(docs) != "[desk]" {
		t.Errorf("the log since %d: %v %v %v, want [desk] from the log", before, docs, ok, err)
	}
}
