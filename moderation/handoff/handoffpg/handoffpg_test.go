package handoffpg_test

import (
	"testing"

	"github.com/semroute/semroute/internal/postgres"
	"github.com/semroute/semroute/internal/postgres/pgtest"
	"github.com/semroute/semroute/moderation/handoff"
	"github.com/semroute/semroute/moderation/handoff/handoffpg"
	"github.com/semroute/semroute/moderation/handoff/handofftest"
)

func TestTicketQueue(t *testing.T) {
	handofftest.Run(t, func(t *testing.T) handoff.Queue { return handoffpg.New(pgtest.Open(t, postgres.Options{})) })
}
