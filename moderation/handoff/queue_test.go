package handoff_test

import (
	"path/filepath"
	"testing"

	"github.com/semroute/semroute/moderation/handoff"
	"github.com/semroute/semroute/moderation/handoff/handofftest"
)

func TestQueue(t *testing.T) {
	handofftest.Run(t, func(t *testing.T) handoff.Queue {
		s, err := handoff.Open(filepath.Join(t.TempDir(), "handoff.log"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
