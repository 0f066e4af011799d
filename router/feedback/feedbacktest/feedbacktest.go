// Package feedbacktest is the suite every feedback.Store passes: the logs
// in the data directory and the PostgreSQL tables run the same Run.
package feedbacktest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/semroute/semroute/router/feedback"
)

// Opener opens the store under test on a clock (the file store names its
// day logs by it). The first call must give an empty store; later calls
// the same store again after Close, as a restart would.
type Opener func(t *testing.T, now func() time.Time) feedback.Store

// Day1 is the suite's first day.
var Day1 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

// Run tests the stores open returns.
func Run(t *testing.T, open Opener) {
	ctx := context.Background()
	now := Day1
	clock := func() time.Time { return now }
	s := open(t, clock)
	if _, err := s.Route(ctx, "req-a"); !errors.Is(err, feedback.ErrUnknown) {
		t.Fatalf("an empty store's route: %v, want ErrUnknown", err)
	}
	a := feedback.Route{ID: "req-a", At: Day1, Key: "app", Intent: "weather", Score: 0.61, DecidedBy: "embedding", Target: "model:fast,strong", Prompt: "will it pour on sunday"}
	b := feedback.Route{ID: "req-b", At: Day1.Add(time.Second), Intent: feedback.OOS, Score: 0.2, DecidedBy: "embedding", Target: "model:strong"}
	if err := s.Record(ctx, []feedback.Route{a, b}); err != nil {
		t.Fatal(err)
	}
	mustRoute(t, s, a)
	mustRoute(t, s, b)
	b.Intent, b.Score = "music", 0.7 // a client reusing its request id: the later record wins
	if err := s.Record(ctx, []feedback.Route{b}); err != nil {
		t.Fatal(err)
	}
	mustRoute(t, s, b)
	if err := s.Answered(ctx, map[string]string{"req-a": "fast", "req-gone": "strong"}); err != nil {
		t.Fatalf("answered (an unknown id is skipped): %v", err)
	}
	a.Model = "fast"
	mustRoute(t, s, a)
	if _, err := s.Route(ctx, "req-gone"); !errors.Is(err, feedback.ErrUnknown) {
		t.Errorf("answered made a record for an unknown id: %v", err)
	}

	f1 := feedback.Feedback{RequestID: "req-a", At: Day1.Add(time.Minute), Key: "app", Intent: "music", Route: a}
	f2 := feedback.Feedback{RequestID: "req-b", At: Day1.Add(2 * time.Minute), Rating: -1, Comment: "wrong & slow", Route: b}
	for _, fb := range []feedback.Feedback{f1, f2} {
		if err := s.Add(ctx, fb); err != nil {
			t.Fatal(err)
		}
	}
	checkLists(t, s, f1, f2)

	// Two days on: a new record, then pruning drops day 1's records and
	// the feedback older than a day.
	now = Day1.AddDate(0, 0, 2)
	c := feedback.Route{ID: "req-c", At: now, Intent: "weather", Score: 0.9, DecidedBy: "judge", Target: "model:fast"}
	f3 := feedback.Feedback{RequestID: "req-c", At: now, Rating: 1, Route: c}
	if err := s.Record(ctx, []feedback.Route{c}); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(ctx, f3); err != nil {
		t.Fatal(err)
	}
	if err := s.Prune(ctx, time.Time{}, time.Time{}); err != nil {
		t.Fatalf("prune nothing: %v", err)
	}
	mustRoute(t, s, a)
	if err := s.Prune(ctx, now.Add(-12*time.Hour), now.Add(-24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Route(ctx, "req-a"); !errors.Is(err, feedback.ErrUnknown) {
		t.Errorf("day 1's record after pruning: %v, want ErrUnknown", err)
	}
	mustRoute(t, s, c)
	list, err := s.List(ctx, feedback.Filter{})
	if err != nil || len(list) != 1 || list[0].RequestID != "req-c" {
		t.Errorf("feedback after pruning: %+v %v, want req-c's only", list, err)
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, clock)
	defer s.Close()
	mustRoute(t, s, c)
	if list, err := s.List(ctx, feedback.Filter{}); err != nil || len(list) != 1 || !same(list[0], f3) {
		t.Errorf("after a restart: %+v %v", list, err)
	}
}

func checkLists(t *testing.T, s feedback.Store, f1, f2 feedback.Feedback) {
	t.Helper()
	for _, tc := range []struct {
		name string
		f    feedback.Filter
		want []feedback.Feedback
	}{
		{"all, newest first", feedback.Filter{}, []feedback.Feedback{f2, f1}},
		{"by the intent it names", feedback.Filter{Intent: "music"}, []feedback.Feedback{f2, f1}}, // f2 was routed to music
		{"by the routed intent", feedback.Filter{Intent: "weather"}, []feedback.Feedback{f1}},
		{"since", feedback.Filter{Since: f2.At}, []feedback.Feedback{f2}},
		{"by request", feedback.Filter{RequestID: "req-a"}, []feedback.Feedback{f1}},
		{"limit", feedback.Filter{Limit: 1}, []feedback.Feedback{f2}},
		{"none", feedback.Filter{Intent: "nope"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.List(context.Background(), tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d, want %d: %+v", len(got), len(tc.want), got)
			}
			for i := range got {
				if !same(got[i], tc.want[i]) {
					t.Errorf("%d: %s", i, cmp.Diff(tc.want[i], got[i]))
				}
			}
		})
	}
}

func mustRoute(t *testing.T, s feedback.Store, want feedback.Route) {
	t.Helper()
	got, err := s.Route(context.Background(), want.ID)
	if err != nil {
		t.Fatalf("route %s: %v", want.ID, err)
	}
	if !got.At.Equal(want.At) {
		t.Errorf("route %s at %v, want %v", want.ID, got.At, want.At)
	}
	got.At = want.At
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("route %s (-want +got):\n%s", want.ID, d)
	}
}

func same(a, b feedback.Feedback) bool {
	if !a.At.Equal(b.At) || !a.Route.At.Equal(b.Route.At) {
		return false
	}
	a.At, a.Route.At = b.At, b.Route.At
	return cmp.Equal(a, b)
}
