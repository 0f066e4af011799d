package feedback_test

import (
	"testing"
	"time"

	"github.com/semroute/semroute/router/feedback"
	"github.com/semroute/semroute/router/feedback/feedbacktest"
)

func TestLog(t *testing.T) {
	dir := t.TempDir()
	feedbacktest.Run(t, func(t *testing.T, now func() time.Time) feedback.Store {
		l, err := feedback.Open(dir, now)
		if err != nil {
			t.Fatal(err)
		}
		return l
	})
}
