package feedback

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/semroute/semroute/internal/jsonlog"
)

// Log keeps route records and feedback in append-only logs
// (internal/jsonlog) in a folder of the data directory:
//
//   - routes-YYYYMMDD.log, one a day (UTC), of route records and the
//     models that answered them. Retention drops whole days, so nothing is
//     rewritten on the write path; a lookup goes through an in-memory map
//     of request id hash → byte offset (8+8 bytes and the map's overhead a
//     request; the prompt stays on disk). Of two kept ids with the same
//     64-bit hash (odds about n²/2⁶⁵ for n kept) the older one is no longer
//     found: Route checks the id it reads and answers ErrUnknown.
//   - feedback.log, the feedback, kept in memory too (it grows with what
//     people say, not with traffic), rewritten when Prune drops some.
//
// It is safe for concurrent use.
type Log struct {
	mu   sync.Mutex
	dir  string
	seed maphash.Seed
	segs []*segment // oldest first; the last one takes appends
	fb   *jsonlog.Log
	list []Feedback // oldest first
	now  func() time.Time
}

var _ Store = (*Log)(nil)

// segment is one day's routes log.
type segment struct {
	day    string
	read   *os.File
	app    *jsonlog.Log     // open for appends: the newest segment only
	routes map[uint64]int64 // id hash → offset of its latest route record
	models map[uint64]int64 // id hash → offset of its latest model record
}

// entry is one record of a routes log.
type entry struct {
	Op    string `json:"op"` // route, model
	Route *Route `json:"route,omitempty"`
	ID    string `json:"id,omitempty"`
	Model string `json:"model,omitempty"`
}

// fbEntry is one record of feedback.log.
type fbEntry struct {
	Op       string    `json:"op"` // add
	Feedback *Feedback `json:"feedback"`
}

const dayFormat = "20060102"

// FeedbackFile is the name of the feedback log in Open's folder.
const FeedbackFile = "feedback.log"

// Open opens (or creates) the logs in dir and replays them. now is the
// clock that names the day's log (nil: time.Now).
func Open(dir string, now func() time.Time) (*Log, error) {
	if now == nil {
		now = time.Now
	}
	l := &Log{dir: dir, seed: maphash.MakeSeed(), now: now}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("open feedback: %w", err)
	}
	names, err := filepath.Glob(filepath.Join(dir, "routes-*.log"))
	if err != nil {
		return nil, fmt.Errorf("open feedback: %w", err)
	}
	sort.Strings(names)
	for i, name := range names {
		day := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(name), "routes-"), ".log")
		if _, err := time.Parse(dayFormat, day); err != nil {
			continue // not one of ours
		}
		seg, err := l.openSegment(day, i == len(names)-1)
		if err != nil {
			l.Close()
			return nil, err
		}
		l.segs = append(l.segs, seg)
	}
	l.fb, err = jsonlog.Open(filepath.Join(dir, FeedbackFile), func(body []byte) error {
		var e fbEntry
		if err := json.Unmarshal(body, &e); err != nil || e.Feedback == nil {
			return fmt.Errorf("not a feedback record: %v", err)
		}
		l.list = append(l.list, *e.Feedback)
		return nil
	})
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("open feedback: %w", err)
	}
	return l, nil
}

// openSegment replays a day's log into its maps; the newest stays open
// for appends.
func (l *Log) openSegment(day string, appendTo bool) (*segment, error) {
	seg := &segment{day: day, routes: map[uint64]int64{}, models: map[uint64]int64{}}
	path := filepath.Join(l.dir, "routes-"+day+".log")
	app, err := jsonlog.OpenOffsets(path, func(body []byte, off int64) error {
		var e entry
		if err := json.Unmarshal(body, &e); err != nil {
			return err
		}
		l.index(seg, e, off)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("open feedback routes: %w", err)
	}
	if !appendTo {
		app.Close()
		app = nil
	}
	if seg.read, err = os.Open(path); err != nil {
		if app != nil {
			app.Close()
		}
		return nil, fmt.Errorf("open feedback routes: %w", err)
	}
	seg.app = app
	return seg, nil
}

func (l *Log) index(seg *segment, e entry, off int64) {
	switch {
	case e.Op == "route" && e.Route != nil:
		seg.routes[maphash.String(l.seed, e.Route.ID)] = off
	case e.Op == "model":
		seg.models[maphash.String(l.seed, e.ID)] = off
	}
}

// today returns the segment that takes today's appends, opening a new
// one when the day changed. The caller holds mu.
func (l *Log) today() (*segment, error) {
	day := l.now().UTC().Format(dayFormat)
	if n := len(l.segs); n > 0 && l.segs[n-1].day >= day {
		return l.segs[n-1], nil
	}
	if n := len(l.segs); n > 0 && l.segs[n-1].app != nil {
		l.segs[n-1].app.Close()
		l.segs[n-1].app = nil
	}
	seg, err := l.openSegment(day, true)
	if err != nil {
		return nil, err
	}
	l.segs = append(l.segs, seg)
	return seg, nil
}

// appendEntries writes es to today's log with one fsync and indexes them.
func (l *Log) appendEntries(es []entry) error {
	seg, err := l.today()
	if err != nil {
		return err
	}
	vs := make([]any, len(es))
	for i := range es {
		vs[i] = es[i]
	}
	offs, err := seg.app.AppendAll(vs)
	if err != nil {
		return err
	}
	for i, e := range es {
		l.index(seg, e, offs[i])
	}
	return nil
}

// Record appends routes to today's log, durably (one fsync for all).
func (l *Log) Record(_ context.Context, routes []Route) error {
	es := make([]entry, len(routes))
	for i := range routes {
		es[i] = entry{Op: "route", Route: &routes[i]}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.appendEntries(es); err != nil {
		return fmt.Errorf("record routes: %w", err)
	}
	return nil
}

// Answered appends the models of the requests still kept.
func (l *Log) Answered(_ context.Context, models map[string]string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var es []entry
	for id, m := range models {
		if _, _, ok := l.find(id, func(s *segment) map[uint64]int64 { return s.routes }); ok {
			es = append(es, entry{Op: "model", ID: id, Model: m})
		}
	}
	if len(es) == 0 {
		return nil
	}
	if err := l.appendEntries(es); err != nil {
		return fmt.Errorf("record answering models: %w", err)
	}
	return nil
}

// find returns the newest segment and offset the map which picks holds
// for id. The caller holds mu.
func (l *Log) find(id string, which func(*segment) map[uint64]int64) (*segment, int64, bool) {
	h := maphash.String(l.seed, id)
	for i := len(l.segs) - 1; i >= 0; i-- {
		if off, ok := which(l.segs[i])[h]; ok {
			return l.segs[i], off, true
		}
	}
	return nil, 0, false
}

// read reads the entry at off of seg.
func read(seg *segment, off int64) (entry, error) {
	var e entry
	body, err := jsonlog.ReadAt(seg.read, off)
	if err == nil {
		err = json.Unmarshal(body, &e)
	}
	return e, err
}

// Route returns a request's record with the model that answered it.
func (l *Log) Route(_ context.Context, id string) (Route, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	seg, off, ok := l.find(id, func(s *segment) map[uint64]int64 { return s.routes })
	if !ok {
		return Route{}, fmt.Errorf("%w: %s", ErrUnknown, id)
	}
	e, err := read(seg, off)
	if err != nil {
		return Route{}, fmt.Errorf("read route %s: %w", id, err)
	}
	if e.Route == nil || e.Route.ID != id { // a hash collision: the other id won
		return Route{}, fmt.Errorf("%w: %s", ErrUnknown, id)
	}
	rt := *e.Route
	if seg, off, ok := l.find(id, func(s *segment) map[uint64]int64 { return s.models }); ok {
		if m, err := read(seg, off); err == nil && m.ID == id {
			rt.Model = m.Model
		}
	}
	return rt, nil
}

// Add appends fb to the feedback log, durably.
func (l *Log) Add(_ context.Context, fb Feedback) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.fb.Append(fbEntry{Op: "add", Feedback: &fb}); err != nil {
		return fmt.Errorf("add feedback: %w", err)
	}
	l.list = append(l.list, fb)
	return nil
}

// List returns the feedback f selects, newest first.
func (l *Log) List(_ context.Context, f Filter) ([]Feedback, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := []Feedback{}
	for i := len(l.list) - 1; i >= 0 && (f.Limit <= 0 || len(out) < f.Limit); i-- {
		if f.Match(l.list[i]) {
			out = append(out, l.list[i])
		}
	}
	return out, nil
}

// Prune deletes the days of routes wholly before routes (today's log is
// always kept), and rewrites the feedback log without what is from before
// feedback. A zero time prunes nothing.
func (l *Log) Prune(_ context.Context, routes, feedback time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var errs []error
	for !routes.IsZero() && len(l.segs) > 1 {
		seg := l.segs[0]
		day, _ := time.Parse(dayFormat, seg.day)
		if day.AddDate(0, 0, 1).After(routes) {
			break
		}
		seg.read.Close()
		if err := os.Remove(filepath.Join(l.dir, "routes-"+seg.day+".log")); err != nil {
			errs = append(errs, err)
		}
		l.segs = l.segs[1:]
	}
	if !feedback.IsZero() {
		errs = append(errs, l.pruneFeedback(feedback))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("prune feedback: %w", err)
	}
	return nil
}

func (l *Log) pruneFeedback(before time.Time) error {
	keep := slices.DeleteFunc(slices.Clone(l.list), func(fb Feedback) bool { return fb.At.Before(before) })
	if len(keep) == len(l.list) {
		return nil
	}
	err := l.fb.Replace(func(add func(v any) error) error {
		for i := range keep {
			if err := add(fbEntry{Op: "add", Feedback: &keep[i]}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	l.list = keep
	return nil
}

// Close closes the logs.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, seg := range l.segs {
		seg.read.Close()
		if seg.app != nil {
			seg.app.Close()
		}
	}
	l.segs = nil
	if l.fb != nil {
		return l.fb.Close()
	}
	return nil
}
