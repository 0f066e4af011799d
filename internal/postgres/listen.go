package postgres

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// Listen calls heard with the payload of each notification on channel,
// and with "" whenever something may have changed unheard: once it
// listens (at first and after each reconnect, since a change made before
// sent nothing this connection hears) and every resync interval without a
// notification, a safety net for ones lost. It holds a connection of its
// own (a LISTENing connection must not go back to the pool), reconnects
// after errors, backing off up to 10 s and logging what it watches, and
// returns when ctx ends. The replicas watch the intents and the RAG
// collections this way.
func (db *DB) Listen(ctx context.Context, channel string, resync time.Duration, log *slog.Logger, what string, heard func(payload string)) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := db.listen(ctx, channel, resync, heard)
		if ctx.Err() != nil {
			return
		}
		log.Warn(what+": listening for other replicas' changes failed; retrying", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}

func (db *DB) listen(ctx context.Context, channel string, resync time.Duration, heard func(string)) error {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	c := conn.Hijack()
	defer c.Close(context.Background())
	if _, err := c.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		return err
	}
	heard("")
	for {
		wctx, cancel := context.WithTimeout(ctx, resync)
		n, err := c.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			heard(n.Payload)
		case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
			heard("") // the periodic resync
		default:
			return err
		}
	}
}
