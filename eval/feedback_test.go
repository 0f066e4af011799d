package eval

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/semroute/semroute/intents"
	"github.com/semroute/semroute/router/feedback"
)

func TestRowsFromFeedback(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	fb := func(id string, min int, intent, prompt string, rating int) feedback.Feedback {
		return feedback.Feedback{RequestID: id, At: t0.Add(time.Duration(min) * time.Minute), Intent: intent, Rating: rating,
			Route: feedback.Route{ID: id, Intent: "weather", Prompt: prompt}}
	}
	got := RowsFromFeedback([]feedback.Feedback{
		fb("a", 0, "billing", "where is my invoice", 0),
		fb("a", 5, "music", "where is my invoice", 0), // the latest correction of a counts
		fb("b", 1, "", "play jazz", 1),                // a rating alone
		fb("c", 2, "oos", "tell me a joke", -1),
		fb("d", 3, "music", "", 0),             // prompt not kept
		fb("e", 4, "oos", "tell me a joke", 0), // the same row again
	})
	want := []intents.Example{{Text: "where is my invoice", Label: "music"}, {Text: "tell me a joke", Label: "oos"}}
	if d := cmp.Diff(want, got.Rows); d != "" {
		t.Errorf("rows (-want +got):\n%s", d)
	}
	if got.NoIntent != 1 || got.NoPrompt != 1 || got.Repeats != 2 {
		t.Errorf("left out: %+v", got)
	}
}
