package feedbackpg_test

import (
	"testing"
	"time"

	"github.com/semroute/semroute/internal/postgres"
	"github.com/semroute/semroute/internal/postgres/pgtest"
	"github.com/semroute/semroute/router/feedback"
	"github.com/semroute/semroute/router/feedback/feedbackpg"
	"github.com/semroute/semroute/router/feedback/feedbacktest"
)

func TestStore(t *testing.T) {
	var db *postgres.DB
	feedbacktest.Run(t, func(t *testing.T, _ func() time.Time) feedback.Store {
		if db == nil {
			db = pgtest.Open(t, postgres.Options{})
		}
		return feedbackpg.New(db)
	})
}
