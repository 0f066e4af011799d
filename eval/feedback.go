package eval

import (
	"github.com/semroute/semroute/intents"
	"github.com/semroute/semroute/router/feedback"
)

// FeedbackRows are corrected routes as labeled rows, and what was left
// out.
type FeedbackRows struct {
	Rows []intents.Example
	// NoIntent is the feedback that names no intent (a rating alone);
	// NoPrompt the corrections whose prompt was not kept
	// (feedback.keep_prompts off); Repeats the requests corrected again
	// (their latest correction counts) and rows already listed.
	NoIntent, NoPrompt, Repeats int
}

// RowsFromFeedback turns each corrected request (its latest feedback that
// names an intent) into a row {text: its routed prompt, label: that
// intent}, in the order list has them.
func RowsFromFeedback(list []feedback.Feedback) FeedbackRows {
	var out FeedbackRows
	latest := map[string]int{} // request id → index of its latest correction
	for i, fb := range list {
		if fb.Intent == "" {
			out.NoIntent++
			continue
		}
		if j, ok := latest[fb.RequestID]; ok {
			out.Repeats++
			if !list[i].At.After(list[j].At) {
				continue
			}
		}
		latest[fb.RequestID] = i
	}
	seen := map[intents.Example]bool{}
	for i, fb := range list {
		if j, ok := latest[fb.RequestID]; !ok || j != i {
			continue
		}
		row := intents.Example{Text: fb.Route.Prompt, Label: fb.Intent}
		switch {
		case row.Text == "":
			out.NoPrompt++
		case seen[row]:
			out.Repeats++
		default:
			seen[row] = true
			out.Rows = append(out.Rows, row)
		}
	}
	return out
}
