package ragpg

import (
	"context"
	"errors"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/semroute/semroute/internal/postgres"
	"github.com/semroute/semroute/rag"
)

// Store coordinates the replicas' rag collections through the database.
type Store struct {
	db *postgres.DB
	// Keep is how many of each collection's latest versions the change
	// log keeps (0: DefaultKeep); set it before use.
	Keep int64

	mu        sync.Mutex
	failed    map[string]bool // collections whose last bump here failed
	failBumps bool            // tests: every bump fails (export_test.go)
}

var _ rag.Coordinator = (*Store)(nil)

// New returns db's coordinator.
func New(db *postgres.DB) *Store { return &Store{db: db} }

// channel is the NOTIFY channel of this schema's collections; a
// notification's payload is the collection's name.
func (s *Store) channel() string { return "semroute_rag." + s.db.SchemaName() }

// lockKey is the collection's advisory lock: a hash of the schema and the
// name (advisory locks are per database, shared by its schemas).
func (s *Store) lockKey(collection string) int64 {
	h := fnv.New64a()
	h.Write([]byte("semroute rag\x00" + s.db.SchemaName() + "\x00" + collection))
	return int64(h.Sum64())
}

// Lock takes the collection's write lock: a session advisory lock on a
// connection taken out of the pool until unlock, so that an ingest, which
// embeds while it writes and may take minutes, holds no transaction open.
// It waits for as long as ctx lets it. A replica that dies holding it
// releases it with its connection.
func (s *Store) Lock(ctx context.Context, collection string) (func(), error) {
	conn, err := s.db.Pool().Acquire(ctx)
	if err != nil {
		return nil, postgres.Wrap("lock rag collection", err)
	}
	key := s.lockKey(collection)
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", key); err != nil {
		discard(conn) // the lock may have been granted as the wait was cancelled
		return nil, postgres.Wrap("lock rag collection", err)
	}
	s.setFailed(collection, false)
	unlock := func() {
		ctx, cancel := s.db.Ctx(context.Background())
		defer cancel()
		if !s.hasFailed(collection) {
			// Bumped, or wrote nothing that needs one: not dirty. (A
			// failed bump leaves the mark; so does a holder that died.)
			conn.Exec(ctx, "UPDATE "+s.db.Schema()+".semroute_rag_versions SET dirty = false WHERE collection = $1", collection)
		}
		var ok bool
		if err := conn.QueryRow(ctx, "SELECT pg_advisory_unlock($1)", key).Scan(&ok); err != nil || !ok {
			discard(conn) // never back to the pool holding the lock
			return
		}
		conn.Release()
	}
	// A holder may write and then fail to bump (the database gone between
	// the two, or the process killed): its documents are stored but in no
	// version's log, and no replica was told. Each holder marks the
	// collection dirty until its bump; the next one to find the mark bumps
	// with its changes unknown, which sends every replica, itself
	// included, to read the whole manifest once.
	var was *bool
	err = conn.QueryRow(ctx, "WITH old AS (SELECT dirty FROM "+s.db.Schema()+".semroute_rag_versions WHERE collection = $1) "+
		"INSERT INTO "+s.db.Schema()+".semroute_rag_versions AS v (collection, version, logged_from, dirty) VALUES ($1, 0, 0, true) "+
		"ON CONFLICT (collection) DO UPDATE SET dirty = true RETURNING (SELECT dirty FROM old)", collection).Scan(&was)
	if err == nil && was != nil && *was {
		_, err = s.Bump(ctx, collection, nil)
	}
	if err != nil {
		unlock()
		return nil, postgres.Wrap("lock rag collection", err)
	}
	return unlock, nil
}

// discard closes a pooled connection, which ends its session and its
// advisory locks, and gives it back to the pool, which drops it.
func discard(conn *pgxpool.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	conn.Conn().Close(ctx)
	conn.Release()
}

// DefaultKeep is how many of a collection's latest versions the change
// log keeps by default: a replica further behind reads the whole manifest.
const DefaultKeep = 1000

// Bump adds one to the collection's version, logs the documents it
// changed (docs; nil: not known, which the log then cannot answer across),
// prunes the log to the latest Keep versions and notifies the other
// replicas, all in one transaction; it returns the new version.
func (s *Store) Bump(ctx context.Context, collection string, docs []string) (int64, error) {
	ctx, cancel := s.db.Ctx(ctx)
	defer cancel()
	keep := s.Keep
	if keep <= 0 {
		keep = DefaultKeep
	}
	var v, from int64
	err := pgx.BeginFunc(ctx, s.db.Pool(), func(tx pgx.Tx) error {
		if s.failBumps {
			return errors.New("bumps fail (a test's)")
		}
		err := tx.QueryRow(ctx, "INSERT INTO "+s.db.Schema()+".semroute_rag_versions AS v (collection, version, logged_from) "+
			"VALUES ($1, 1, CASE WHEN $2 THEN 0 ELSE 1 END) ON CONFLICT (collection) DO UPDATE SET version = v.version + 1, "+
			"logged_from = CASE WHEN $2 THEN greatest(v.logged_from, v.version + 1 - $3) ELSE v.version + 1 END, dirty = false "+
			"RETURNING version, logged_from", collection, docs != nil, keep).Scan(&v, &from)
		if err != nil {
			return err
		}
		if len(docs) > 0 {
			if _, err := tx.Exec(ctx, "INSERT INTO "+s.db.Schema()+".semroute_rag_changes (collection, version, doc) "+
				"SELECT $1, $2, unnest($3::text[]) ON CONFLICT DO NOTHING", collection, v, docs); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, "DELETE FROM "+s.db.Schema()+".semroute_rag_changes WHERE collection = $1 AND version <= $2", collection, from); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, "SELECT pg_notify($1, $2)", s.channel(), collection)
		return err
	})
	s.setFailed(collection, err != nil)
	return v, postgres.Wrap("bump rag collection version", err)
}

// Changed returns the documents the versions after since changed, read
// from the log in one statement; ok is false when the log cannot tell:
// since is older than the log keeps or newer than the collection's
// version (a database restored from an older backup), or a version after
// it logged no document (bumped by a build older than the log, during a
// rolling upgrade, or with its changes unknown).
func (s *Store) Changed(ctx context.Context, collection string, since int64) (docs []string, ok bool, err error) {
	ctx, cancel := s.db.Ctx(ctx)
	defer cancel()
	var v, from *int64
	var logged int64
	err = s.db.Pool().QueryRow(ctx, "WITH v AS (SELECT version, logged_from FROM "+s.db.Schema()+".semroute_rag_versions WHERE collection = $1), "+
		"c AS (SELECT version, doc FROM "+s.db.Schema()+".semroute_rag_changes WHERE collection = $1 AND version > $2) "+
		"SELECT (SELECT version FROM v), (SELECT logged_from FROM v), (SELECT count(DISTINCT version) FROM c), "+
		"ARRAY(SELECT DISTINCT doc FROM c)", collection, since).Scan(&v, &from, &logged, &docs)
	if err != nil {
		return nil, false, postgres.Wrap("read rag collection changes", err)
	}
	if v == nil { // never changed
		return nil, since == 0, nil
	}
	if since < *from || since > *v || logged != *v-since {
		return nil, false, nil
	}
	return docs, true, nil
}

// Version is the collection's version, 0 before its first change.
func (s *Store) Version(ctx context.Context, collection string) (int64, error) {
	ctx, cancel := s.db.Ctx(ctx)
	defer cancel()
	var v int64
	err := s.db.Pool().QueryRow(ctx, "SELECT version FROM "+s.db.Schema()+".semroute_rag_versions WHERE collection = $1", collection).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	return v, postgres.Wrap("read rag collection version", err)
}

// Watch calls changed with a collection's name whenever another replica
// may have changed it (on each notification), and with "" (every
// collection) when changes may have gone unheard: once it listens, after
// each reconnect and every resync interval (postgres.DB.Listen). It
// returns when ctx ends.
func (s *Store) Watch(ctx context.Context, resync time.Duration, log *slog.Logger, changed func(collection string)) {
	s.db.Listen(ctx, s.channel(), resync, log, "rag", changed)
}

func (s *Store) setFailed(collection string, failed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed == nil {
		s.failed = map[string]bool{}
	}
	s.failed[collection] = failed
}

func (s *Store) hasFailed(collection string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failed[collection]
}
