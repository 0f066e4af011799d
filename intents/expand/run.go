package expand

import (
	"context"
	"sync"

	"github.com/semroute/semroute/intents"
)

// Result is one intent's outcome: the paraphrases kept and the ones
// dropped by reason, or the error that failed it.
type Result struct {
	Intent  string
	Texts   []string
	Dropped map[string]int
	Cost    float64 // USD, from the model's price
	Err     error
}

// Options of Run.
type Options struct {
	Model    string // a model of the config
	Per      int    // paraphrases wanted per intent
	Parallel int    // calls at once (default 4)
}

// Run asks for paraphrases of every intent, opt.Parallel calls at once,
// and filters the answers in the intents' order against seen (which
// should hold every known utterance, out-of-scope ones included), so the
// outcome does not depend on which call finished first. One intent's
// failure does not stop the others.
func Run(ctx context.Context, c Completer, list []intents.Intent, seen Seen, opt Options) []Result {
	if opt.Parallel <= 0 {
		opt.Parallel = 4
	}
	answers := make([][]string, len(list))
	out := make([]Result, len(list))
	sem := make(chan struct{}, opt.Parallel)
	var wg sync.WaitGroup
	for i, in := range list {
		out[i].Intent = in.Name
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			answers[i], out[i].Cost, out[i].Err = Ask(ctx, c, opt.Model, in, opt.Per)
		})
	}
	wg.Wait()
	for i := range out {
		if out[i].Err == nil {
			out[i].Texts, out[i].Dropped = Filter(answers[i], seen, opt.Per)
		}
	}
	return out
}
