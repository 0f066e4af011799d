package pgvector_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/semroute/semroute/index"
	"github.com/semroute/semroute/index/indextest"
	"github.com/semroute/semroute/index/pgvector"
	"github.com/semroute/semroute/index/pgvector/pgtest"
	"github.com/semroute/semroute/internal/postgres"
)

func TestConformance(t *testing.T) {
	indextest.Run(t, func(t *testing.T) index.Index { return pgtest.Open(t, pgvector.Options{}) })
}

func TestConformanceHalfVec(t *testing.T) {
	indextest.Run(t, func(t *testing.T) index.Index { return pgtest.Open(t, pgvector.Options{HalfVec: true}) })
}

// TestReplicasMigrateAtOnce: four replicas open the same fresh schema
// together; the advisory lock lets one migrate and the rest find it done.
func TestReplicasMigrateAtOnce(t *testing.T) {
	dsn := pgtest.DSN(t)
	schema := pgtest.Schema()
	errs := make(chan error, 4)
	stores := make(chan *pgvector.Store, 4)
	for range 4 {
		go func() {
			s, err := pgvector.Open(context.Background(), pgvector.Options{DSN: dsn, Schema: schema})
			errs <- err
			stores <- s
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
		if s := <-stores; s != nil {
			defer s.Close()
			if v, err := s.DB().Version(context.Background()); err != nil || v != postgres.SchemaVersion {
				t.Errorf("version %d, %v; want %d", v, err, postgres.SchemaVersion)
			}
		}
	}
	s := pgtest.Open(t, pgvector.Options{Schema: schema}) // drops the schema at the end
	// Two replicas creating the same collection at once agree on it.
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() {
			if err := s.Upsert(context.Background(), "shared", []index.Record{{ID: fmt.Sprint(i), Vector: []float32{1, float32(i), 0}}}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	other, _ := pgvector.Open(context.Background(), pgvector.Options{DSN: dsn, Schema: schema})
	defer other.Close()
	if recs, err := other.List(context.Background(), "shared"); err != nil || len(recs) != 2 {
		t.Errorf("records %v, %v", recs, err)
	}
}

// proxy forwards TCP to the database until cut.
type proxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
	down  bool
}

func newProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			if p.down {
				p.mu.Unlock()
				c.Close()
				continue
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				p.mu.Unlock()
				c.Close()
				continue
			}
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
	t.Cleanup(func() { ln.Close(); p.cut() })
	return p
}

// cut drops every connection and refuses new ones until restore.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *proxy) restore() {
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
}

// TestConnectionLoss: with the database unreachable, calls fail within the
// timeout with ErrUnavailable; once it is back, they work again.
func TestConnectionLoss(t *testing.T) {
	dsn := pgtest.DSN(t)
	u, _ := url.Parse(dsn)
	p := newProxy(t, u.Host)
	u.Host = p.ln.Addr().String()
	s := pgtest.Open(t, pgvector.Options{DSN: u.String(), Timeout: 500 * time.Millisecond})
	ctx := context.Background()
	if err := s.Upsert(ctx, "c", []index.Record{{ID: "a", Vector: []float32{1, 0}}}); err != nil {
		t.Fatal(err)
	}
	p.cut()
	start := time.Now()
	_, err := s.Search(ctx, "c", []float32{1, 0}, 1)
	if !errors.Is(err, pgvector.ErrUnavailable) {
		t.Errorf("search with the database gone: %v, want ErrUnavailable", err)
	}
	if err := s.Ping(ctx); !errors.Is(err, pgvector.ErrUnavailable) {
		t.Errorf("ping: %v", err)
	}
	t.Logf("failed after %v (timeout 500ms)", time.Since(start).Round(time.Millisecond))
	p.restore()
	var hits []index.Hit
	for range 20 { // the pool replaces its broken connections
		if hits, err = s.Search(ctx, "c", []float32{1, 0}, 1); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil || len(hits) != 1 {
		t.Errorf("after the database came back: %v %v", hits, err)
	}
}
