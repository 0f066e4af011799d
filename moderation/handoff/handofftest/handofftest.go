// Package handofftest is the suite every handoff.Queue passes: the log
// store and the PostgreSQL queue run the same Run.
package handofftest

import (
	"errors"
	"testing"
	"time"

	"github.com/semroute/semroute/moderation/handoff"
)

// Run tests the queue open returns; open must return an empty queue.
func Run(t *testing.T, open func(t *testing.T) handoff.Queue) {
	q := open(t)
	created := make(chan string, 2)
	q.SetOnCreate(func(tk handoff.Ticket) { created <- tk.ID })
	conv := []handoff.Message{{Role: "user", Content: "I was charged twice"}}
	a, err := q.Create("billing", conv, handoff.Decision{Intent: "payment_problem", Score: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	b, err := q.Create("safety", nil, handoff.Decision{Reason: "self_harm"})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		select {
		case <-created:
		case <-time.After(5 * time.Second):
			t.Fatal("OnCreate was not called")
		}
	}
	if a.State != handoff.StateOpen || a.ID == b.ID || a.Created.IsZero() {
		t.Errorf("created %+v", a)
	}
	if _, err := q.Claim(a.ID, "ana"); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Claim(a.ID, "bo"); !errors.Is(err, handoff.ErrState) {
		t.Errorf("claiming a claimed ticket: %v, want ErrState", err)
	}
	if _, err := q.Reply(a.ID, "ana", "Refunded the second charge."); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Resolve(a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Resolve(a.ID); !errors.Is(err, handoff.ErrState) {
		t.Errorf("resolving twice: %v", err)
	}
	if _, err := q.Claim("T-nope", "ana"); !errors.Is(err, handoff.ErrNotFound) {
		t.Errorf("unknown ticket: %v, want ErrNotFound", err)
	}
	got, err := q.Get(a.ID)
	if err != nil || got.State != handoff.StateResolved || got.Reply != "Refunded the second charge." || got.Agent != "ana" ||
		len(got.Conversation) != 1 || got.Decision.Intent != "payment_problem" || got.Queue != "billing" {
		t.Errorf("get %+v %v", got, err)
	}
	if _, err := q.Get("T-nope"); !errors.Is(err, handoff.ErrNotFound) {
		t.Errorf("get unknown: %v", err)
	}
	open1, err := q.List("", handoff.StateOpen)
	if err != nil || len(open1) != 1 || open1[0].ID != b.ID {
		t.Errorf("open tickets %+v %v", open1, err)
	}
	all, _ := q.List("", "")
	billing, _ := q.List("billing", "")
	if len(all) != 2 || all[0].ID != a.ID || len(billing) != 1 {
		t.Errorf("list all %d (first %s), billing %d", len(all), all[0].ID, len(billing))
	}
	ages, err := q.OldestOpen(time.Now().Add(time.Minute))
	if err != nil || ages["safety"] < 59*time.Second || ages["billing"] != 0 {
		t.Errorf("oldest open %v %v", ages, err)
	}
}
