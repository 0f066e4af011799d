package feedback

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Recorder writes route records off the request path with a group
// commit: Record queues a record and returns at once; one goroutine
// writes everything queued meanwhile in one Store.Record (one fsync, or
// one transaction), and marks each record's Pending done. A request waits
// for its Pending only before its answer's first byte (the gateway's
// answer overlaps the write with the upstream call), so that a request id
// a client holds always has its record.
//
// It also prunes the store on start and every PruneEvery.
type Recorder struct {
	store Store
	opt   RecorderOptions

	mu      sync.Mutex
	queue   []Route
	waiting []*Pending
	models  map[string]string
	closed  bool
	keep    [2]time.Duration // routes, feedback

	wake chan struct{}
	done chan struct{}
}

// RecorderOptions tune a Recorder.
type RecorderOptions struct {
	// KeepRoutes and KeepFeedback are how long route records and feedback
	// are kept; 0 keeps them for ever.
	KeepRoutes, KeepFeedback time.Duration
	// PruneEvery is how often the store is pruned; 0 means an hour.
	PruneEvery time.Duration
	// OnError hears the errors no caller waits for (Answered, Prune).
	OnError func(error)
	Now     func() time.Time
}

// Pending is one queued record: Wait returns once it is durable.
type Pending struct {
	done chan struct{}
	err  error
}

// Wait waits until the record is durable, or ctx ends.
func (p *Pending) Wait(ctx context.Context) error {
	select {
	case <-p.done:
		return p.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ErrClosed is what records queued after Close get.
var ErrClosed = errors.New("the feedback recorder is closed")

// NewRecorder starts a recorder writing to store.
func NewRecorder(store Store, opt RecorderOptions) *Recorder {
	if opt.PruneEvery <= 0 {
		opt.PruneEvery = time.Hour
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.OnError == nil {
		opt.OnError = func(error) {}
	}
	r := &Recorder{store: store, opt: opt, models: map[string]string{},
		keep: [2]time.Duration{opt.KeepRoutes, opt.KeepFeedback},
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	go r.run()
	return r
}

// SetRetention changes how long records are kept (a config reload).
func (r *Recorder) SetRetention(routes, feedback time.Duration) {
	r.mu.Lock()
	r.keep = [2]time.Duration{routes, feedback}
	r.mu.Unlock()
}

// Record queues rt; its Pending is done once rt is durable.
func (r *Recorder) Record(rt Route) *Pending {
	p := &Pending{done: make(chan struct{})}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		p.err = ErrClosed
		close(p.done)
		return p
	}
	r.queue = append(r.queue, rt)
	r.waiting = append(r.waiting, p)
	r.mu.Unlock()
	r.poke()
	return p
}

// Answered queues the model that answered request id; nobody waits for it.
func (r *Recorder) Answered(id, model string) {
	r.mu.Lock()
	if !r.closed {
		r.models[id] = model
	}
	r.mu.Unlock()
	r.poke()
}

func (r *Recorder) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *Recorder) run() {
	defer close(r.done)
	r.prune()
	tick := time.NewTicker(r.opt.PruneEvery)
	defer tick.Stop()
	for {
		select {
		case <-r.wake:
		case <-tick.C:
			r.prune()
			continue
		}
		if stop := r.flush(); stop {
			return
		}
	}
}

// flush writes what is queued; it reports whether the recorder closed.
func (r *Recorder) flush() bool {
	r.mu.Lock()
	queue, waiting, models, closed := r.queue, r.waiting, r.models, r.closed
	r.queue, r.waiting, r.models = nil, nil, map[string]string{}
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if len(queue) > 0 {
		err := r.store.Record(ctx, queue)
		for _, p := range waiting {
			p.err = err
			close(p.done)
		}
	}
	if len(models) > 0 {
		if err := r.store.Answered(ctx, models); err != nil {
			r.opt.OnError(err)
		}
	}
	return closed
}

func (r *Recorder) prune() {
	r.mu.Lock()
	keep := r.keep
	r.mu.Unlock()
	now := r.opt.Now()
	var routes, fb time.Time
	if keep[0] > 0 {
		routes = now.Add(-keep[0])
	}
	if keep[1] > 0 {
		fb = now.Add(-keep[1])
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := r.store.Prune(ctx, routes, fb); err != nil {
		r.opt.OnError(err)
	}
}

// Close writes what is queued and stops; records queued later get
// ErrClosed. It does not close the store.
func (r *Recorder) Close() {
	r.mu.Lock()
	already := r.closed
	r.closed = true
	r.mu.Unlock()
	if !already {
		r.poke()
	}
	<-r.done
}
