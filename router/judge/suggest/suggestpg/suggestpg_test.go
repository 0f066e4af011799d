package suggestpg_test

import (
	"testing"

	"github.com/semroute/semroute/internal/postgres"
	"github.com/semroute/semroute/internal/postgres/pgtest"
	"github.com/semroute/semroute/router/judge/suggest"
	"github.com/semroute/semroute/router/judge/suggest/suggestpg"
	"github.com/semroute/semroute/router/judge/suggest/suggesttest"
)

func TestSuggestionStore(t *testing.T) {
	var db *postgres.DB
	suggesttest.Run(t, func(t *testing.T) suggest.Store {
		db = pgtest.Open(t, postgres.Options{})
		return suggestpg.New(db)
	}, func(t *testing.T) suggest.Store { return suggestpg.New(db) })
}
