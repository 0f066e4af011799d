// Package suggesttest is the suite every suggest.Store passes: the log in
// the data directory and the PostgreSQL table run the same Run.
package suggesttest

import (
	"errors"
	"testing"
	"time"

	"github.com/semroute/semroute/router/judge/suggest"
)

// Run tests the stores open returns; open must return an empty store, and
// reopen (when not nil) the same store again after closing it, as a
// restart would.
func Run(t *testing.T, open func(t *testing.T) suggest.Store, reopen func(t *testing.T) suggest.Store) {
	s := open(t)
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	for _, add := range []struct {
		intent, text string
		min          int
	}{
		{"refund", "can I get my cash back", 0},
		{"refund", "can I get my cash back", 5},
		{"weather", "is it going to pour", 1},
		{"refund", "can I get my cash back", 9},
		{"weather", "can I get my cash back", 2}, // the same text judged to another intent is another suggestion
	} {
		if err := s.Add(add.intent, add.text, at(add.min), 10); err != nil {
			t.Fatal(err)
		}
	}
	list, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 {
		t.Fatalf("listed %d suggestions, want 3: %+v", len(list), list)
	}
	top := list[0]
	if top.Intent != "refund" || top.Text != "can I get my cash back" || top.Count != 3 ||
		!top.FirstSeen.Equal(at(0)) || !top.LastSeen.Equal(at(9)) || top.ID != suggest.ID("refund", "can I get my cash back") {
		t.Errorf("most seen: %+v", top)
	}
	if list[1].Intent != "weather" || list[1].Text != "can I get my cash back" { // seen once, at minute 2: more recent than minute 1
		t.Errorf("order: %+v", list)
	}
	got, err := s.Get(top.ID)
	if err != nil || got.Count != 3 {
		t.Errorf("get %+v %v", got, err)
	}
	if _, err := s.Get("S-nope"); !errors.Is(err, suggest.ErrNotFound) {
		t.Errorf("get unknown: %v, want ErrNotFound", err)
	}
	if err := s.Remove(list[2].ID); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(list[2].ID); !errors.Is(err, suggest.ErrNotFound) {
		t.Errorf("remove twice: %v, want ErrNotFound", err)
	}

	// The bound drops the least recently seen.
	for i := range 4 {
		if err := s.Add("music", "play song number "+string(rune('a'+i)), at(20+i), 3); err != nil {
			t.Fatal(err)
		}
	}
	list, _ = s.List()
	if len(list) != 3 || list[0].Intent != "music" || list[0].Text != "play song number d" {
		t.Errorf("bounded to 3: %+v", list)
	}
	for _, sg := range list {
		if sg.Intent != "music" || sg.Text == "play song number a" {
			t.Errorf("kept %+v past the bound: the least recently seen go first", sg)
		}
	}
	if reopen == nil {
		return
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	again := reopen(t)
	after, err := again.List()
	if err != nil || len(after) != 3 || !same(after[0], list[0]) {
		t.Errorf("after a restart %+v %v, want %+v", after, err, list)
	}
}

func same(a, b suggest.Suggestion) bool {
	return a.ID == b.ID && a.Intent == b.Intent && a.Text == b.Text && a.Count == b.Count &&
		a.FirstSeen.Equal(b.FirstSeen) && a.LastSeen.Equal(b.LastSeen)
}
