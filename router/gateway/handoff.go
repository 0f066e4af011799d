package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/semroute/semroute/moderation/handoff"
	"github.com/semroute/semroute/router/config"
)

// tickets opens the handoff queue the first time: Options.Tickets, or the
// log in the data directory. It outlives reloads.
func (s *Server) tickets(cfg *config.Config) (handoff.Queue, error) {
	s.opened.mu.Lock()
	defer s.opened.mu.Unlock()
	if s.opened.tickets != nil {
		return s.opened.tickets, nil
	}
	st := s.opt.Tickets
	if st == nil {
		var err error
		if st, err = handoff.Open(filepath.Join(cfg.Index.DataDir, "handoff.log")); err != nil {
			return nil, err
		}
	}
	st.SetOnCreate(func(t handoff.Ticket) {
		s.m.tickets.WithLabelValues(t.Queue, "created").Inc()
		if cur := s.st.Load(); cur != nil {
			if url := cur.cfg.Handoff.Webhooks[t.Queue]; url != "" {
				s.notify(url, t)
			}
		}
	})
	s.m.reg.MustRegister(oldestOpen{st})
	s.opened.tickets = st
	return st, nil
}

// notify posts a new ticket to its queue's webhook, retrying with backoff;
// the ticket is already durable, so a failing webhook loses nothing.
func (s *Server) notify(url string, t handoff.Ticket) { s.post(url, t) }

// oldestOpen reports the age of each queue's oldest open ticket.
type oldestOpen struct{ st handoff.Queue }

var oldestDesc = prometheus.NewDesc("semroute_handoff_oldest_open_seconds", "Age of the oldest open ticket, by queue.", []string{"queue"}, nil)

func (o oldestOpen) Describe(ch chan<- *prometheus.Desc) { ch <- oldestDesc }
func (o oldestOpen) Collect(ch chan<- prometheus.Metric) {
	ages, _ := o.st.OldestOpen(time.Now())
	for q, age := range ages {
		ch <- prometheus.MustNewConstMetric(oldestDesc, prometheus.GaugeValue, age.Seconds(), q)
	}
}

// chatHandoff answers a chat completion routed to a queue: a ticket with
// the conversation and the decision, and an OpenAI-format answer that says
// a person will follow up.
func (s *Server) chatHandoff(c *gin.Context, st *state, queue string, req *chatRequest, d handoff.Decision) {
	store, err := s.tickets(st.cfg)
	if err != nil {
		fail(c, kindUnavailable, "", "", "the handoff queue is unavailable: "+err.Error())
		return
	}
	conv := make([]handoff.Message, len(req.Messages))
	for i, m := range req.Messages {
		conv[i] = handoff.Message{Role: m.Role, Content: m.Content}
	}
	d.RequestID = exchangeOf(c).id
	t, err := store.Create(queue, conv, d)
	if err != nil {
		fail(c, kindUnavailable, "", "", "the ticket could not be stored: "+err.Error())
		return
	}
	text := strings.ReplaceAll(st.cfg.Handoff.Message, "{ticket}", t.ID)
	c.Writer.Header().Set("X-Semroute-Ticket", t.ID)
	writeAnswer(c, req.Stream, "semroute-handoff:"+queue, text, gin.H{"ticket": gin.H{"id": t.ID, "queue": t.Queue, "state": t.State}})
}

// writeAnswer sends a complete answer of semroute's own in OpenAI's
// format, as one message or, for a stream, one chunk; extra fields go on
// the message object (or the last chunk).
func writeAnswer(c *gin.Context, stream bool, model, text string, extra gin.H) {
	id, created := fmt.Sprintf("chatcmpl-semroute-%d", time.Now().UnixNano()), time.Now().Unix()
	if stream {
		h := c.Writer.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-cache")
		c.Status(http.StatusOK)
		last := gin.H{"id": id, "object": "chat.completion.chunk", "created": created, "model": model,
			"choices": []gin.H{{"index": 0, "delta": gin.H{}, "finish_reason": "stop"}}}
		for k, v := range extra {
			last[k] = v
		}
		for _, chunk := range []gin.H{
			{"id": id, "object": "chat.completion.chunk", "created": created, "model": model,
				"choices": []gin.H{{"index": 0, "delta": gin.H{"role": "assistant", "content": text}, "finish_reason": nil}}},
			last,
		} {
			b, _ := json.Marshal(chunk)
			c.Writer.Write([]byte("data: " + string(b) + "\n\n"))
		}
		c.Writer.Write([]byte("data: [DONE]\n\n"))
		return
	}
	out := gin.H{"id": id, "object": "chat.completion", "created": created, "model": model,
		"choices": []gin.H{{"index": 0, "message": gin.H{"role": "assistant", "content": text}, "finish_reason": "stop"}}}
	for k, v := range extra {
		out[k] = v
	}
	c.JSON(http.StatusOK, out)
}

func (s *Server) ticketStore(c *gin.Context) (handoff.Queue, bool) {
	store, err := s.tickets(s.st.Load().cfg)
	if err != nil {
		fail(c, kindUnavailable, "", "", err.Error())
		return nil, false
	}
	return store, true
}

func (s *Server) listTickets(c *gin.Context) {
	store, ok := s.ticketStore(c)
	if !ok {
		return
	}
	list, err := store.List(c.Query("queue"), c.Query("state"))
	if err != nil {
		fail(c, kindUnavailable, "", "", err.Error())
		return
	}
	c.JSON(http.StatusOK, gin.H{"object": "list", "data": list})
}

func (s *Server) getTicket(c *gin.Context) {
	store, ok := s.ticketStore(c)
	if !ok {
		return
	}
	t, err := store.Get(c.Param("id"))
	if errors.Is(err, handoff.ErrNotFound) {
		fail(c, kindNotFound, "ticket_not_found", "id", "no ticket "+c.Param("id"))
		return
	}
	if err != nil {
		fail(c, kindUnavailable, "", "", err.Error())
		return
	}
	c.JSON(http.StatusOK, t)
}

// changeTicket applies claim, reply or resolve.
func (s *Server) changeTicket(c *gin.Context) {
	store, ok := s.ticketStore(c)
	if !ok {
		return
	}
	var body struct {
		Agent string `json:"agent"`
		Text  string `json:"text"`
	}
	if b, err := readBody(c.Request.Body); err != nil {
		answerError(c, err)
		return
	} else if len(bytes.TrimSpace(b)) > 0 {
		if err := json.Unmarshal(b, &body); err != nil {
			badRequest(c, "", "send {\"agent\": \"...\", \"text\": \"...\"}: "+err.Error())
			return
		}
	}
	id := c.Param("id")
	var t handoff.Ticket
	var err error
	switch c.Param("action") {
	case "claim":
		if body.Agent == "" {
			badRequest(c, "agent", "missing agent: who claims the ticket")
			return
		}
		t, err = store.Claim(id, body.Agent)
	case "reply":
		if strings.TrimSpace(body.Text) == "" {
			badRequest(c, "text", "missing text: the reply")
			return
		}
		t, err = store.Reply(id, body.Agent, body.Text)
	case "resolve":
		t, err = store.Resolve(id)
	default:
		fail(c, kindNotFound, "unknown_url", "", "unknown action "+c.Param("action")+"; want claim, reply or resolve")
		return
	}
	switch {
	case errors.Is(err, handoff.ErrNotFound):
		fail(c, kindNotFound, "ticket_not_found", "id", err.Error())
	case errors.Is(err, handoff.ErrState):
		fail(c, kindConflict, "ticket_state", "", err.Error())
	case err != nil:
		fail(c, kindUnavailable, "", "", err.Error())
	default:
		s.m.tickets.WithLabelValues(t.Queue, map[string]string{"claim": "claimed", "reply": "replied", "resolve": "resolved"}[c.Param("action")]).Inc()
		c.JSON(http.StatusOK, t)
	}
}

// replay sends a complete chat.completion body as a stream of one chunk:
// for answers that were cached, buffered for moderation, or picked by a
// cascade.
func replay(c *gin.Context, model string, body []byte) {
	writeAnswer(c, true, model, answerText(body), nil)
}
