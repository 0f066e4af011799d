package gateway

import (
	"context"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/semroute/semroute/router"
	"github.com/semroute/semroute/router/config"
	"github.com/semroute/semroute/router/feedback"
)

// feedbackSide is the feedback store and its recorder, opened on first use
// (Options.Feedback, or logs in data_dir/feedback) and kept across
// reloads; a reload changes only their retention.
type feedbackSide struct {
	mu     sync.Mutex // guards the opening
	opened atomic.Pointer[feedbackOpened]
}

type feedbackOpened struct {
	store feedback.Store
	rec   *feedback.Recorder
	keep  [2]int // days: routes, feedback
}

// feedbackStore returns the store and recorder, opening them the first
// time; cfg.Feedback must be set.
func (s *Server) feedbackStore(cfg *config.Config) (*feedbackOpened, error) {
	fc := cfg.Feedback
	keep := [2]int{fc.KeepDays, fc.FeedbackKeepDays}
	if o := s.fb.opened.Load(); o != nil && o.keep == keep {
		return o, nil
	}
	s.fb.mu.Lock()
	defer s.fb.mu.Unlock()
	o := s.fb.opened.Load()
	if o == nil {
		store := s.opt.Feedback
		if store == nil {
			l, err := feedback.Open(filepath.Join(cfg.Index.DataDir, "feedback"), nil)
			if err != nil {
				return nil, err
			}
			store = l
		}
		o = &feedbackOpened{store: store, keep: keep}
		o.rec = feedback.NewRecorder(store, feedback.RecorderOptions{KeepRoutes: days(keep[0]), KeepFeedback: days(keep[1]),
			OnError: func(err error) { s.log.Warn("feedback: a write no request waits for failed", "err", err) }})
	} else if o.keep != keep {
		o.rec.SetRetention(days(keep[0]), days(keep[1]))
		o = &feedbackOpened{store: o.store, rec: o.rec, keep: keep}
	}
	s.fb.opened.Store(o)
	return o, nil
}

func days(n int) time.Duration { return time.Duration(n) * 24 * time.Hour }

// closeFeedback writes what the recorder holds and closes a store it
// opened itself; Serve calls it once the requests are drained.
func (s *Server) closeFeedback() {
	o := s.fb.opened.Swap(nil)
	if o == nil {
		return
	}
	o.rec.Close()
	if s.opt.Feedback == nil {
		o.store.Close()
	}
}

// record queues the record of a routed request, when feedback is on, and
// holds the answer's first byte until the record is durable: the write
// overlaps the upstream call, and a request id a client holds always
// finds its record. A record that cannot be written does not fail the
// request: its answer says X-Semroute-Feedback: unrecorded.
func (s *Server) record(c *gin.Context, st *state, x *exchange, d router.Decision, text string) {
	fc := st.cfg.Feedback
	if fc == nil {
		return
	}
	o, err := s.feedbackStore(st.cfg)
	if err != nil {
		s.unrecorded(c, err)
		return
	}
	rt := feedback.Route{ID: x.id, At: time.Now().UTC(), Key: x.key, Intent: x.intent, Score: d.Score,
		DecidedBy: d.DecidedBy, Target: d.Target.String()}
	if fc.KeepPrompts {
		rt.Prompt = text
	}
	c.Writer = &recordedWriter{ResponseWriter: c.Writer, s: s, c: c, x: x, rec: o.rec, pending: o.rec.Record(rt)}
}

func (s *Server) unrecorded(c *gin.Context, err error) {
	s.m.recordFailures.Inc()
	s.log.Error("feedback: a routed request's record was not written", "request_id", exchangeOf(c).id, "err", err)
	c.Writer.Header().Set("X-Semroute-Feedback", "unrecorded")
}

// recordedWriter waits for the request's record before the first byte of
// the answer goes out, then queues the model that answered.
type recordedWriter struct {
	gin.ResponseWriter
	s       *Server
	c       *gin.Context
	x       *exchange
	rec     *feedback.Recorder
	pending *feedback.Pending
	settled bool
}

func (w *recordedWriter) settle() {
	if w.settled {
		return
	}
	w.settled = true
	ctx := context.WithoutCancel(w.c.Request.Context())
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := w.pending.Wait(ctx); err != nil {
		w.s.unrecorded(w.c, err)
		return
	}
	if w.x.model != "" {
		w.rec.Answered(w.x.id, w.x.model)
	}
}

func (w *recordedWriter) WriteHeaderNow() { w.settle(); w.ResponseWriter.WriteHeaderNow() }

func (w *recordedWriter) Write(b []byte) (int, error) {
	w.settle()
	return w.ResponseWriter.Write(b)
}

func (w *recordedWriter) WriteString(str string) (int, error) {
	w.settle()
	return w.ResponseWriter.WriteString(str)
}

func (w *recordedWriter) Flush() { w.settle(); w.ResponseWriter.Flush() }
