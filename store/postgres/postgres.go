// Package postgres is the shared Store: one PostgreSQL database that any number of revokebot
// replicas use at once (DATABASE_URL). Every rule of store.Store is one statement or one
// transaction here, so replicas racing on a decision, a claim or a revocation cannot both win.
// It also keeps what replicas must share besides the store: the background lease (lease.go),
// click de-duplication (clicks.go) and the AccessOwl budget (budget.go).
package postgres

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"revokebot/store"
	"revokebot/store/internal/sqlrows"
)

// maxConns bounds each replica's connections: the bot's 12 workers, its background loops and a
// probe, with room to spare, while ten replicas stay well under PostgreSQL's default of 100.
const maxConns = 8

// Store is a store.Store kept in a PostgreSQL database.
type Store struct {
	pool *pgxpool.Pool
}

var _ store.Store = (*Store)(nil)

// Option changes how Open connects.
type Option func(*pgxpool.Config)

// OnQuery has fn told of every round trip the store makes: each statement, BEGIN and COMMIT
// included, and each batch of statements sent together (as "BATCH"). Tests use it to measure
// what the bot's work costs.
func OnQuery(fn func(sql string)) Option {
	return func(c *pgxpool.Config) { c.ConnConfig.Tracer = queryHook(fn) }
}

// queryHook is a pgx.QueryTracer that calls itself with each statement.
type queryHook func(sql string)

func (h queryHook) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	h(data.SQL)
	return ctx
}

func (h queryHook) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (h queryHook) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	h("BATCH")
	return ctx
}

func (h queryHook) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

func (h queryHook) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// Open connects to the database at rawURL, brings its schema up to date and proves that it can
// write there. Replicas starting at once migrate one after the other (migrate takes an advisory
// lock); a schema newer than this binary knows is refused.
func Open(ctx context.Context, rawURL string, opts ...Option) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		// pgx's parse errors quote the URL, password included: say only what kind of error.
		return nil, fmt.Errorf("DATABASE_URL %s: cannot be parsed as a PostgreSQL URL", Redact(rawURL))
	}
	cfg.MaxConns = maxConns
	for _, opt := range opts {
		opt(cfg)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", Redact(rawURL), err)
	}
	s := &Store{pool: pool}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("migrate %s: %w", Redact(rawURL), err)
	}
	if err := s.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("%s: %w", Redact(rawURL), err)
	}
	return s, nil
}

// Redact returns rawURL with its password, if any, replaced, so that it can be logged.
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(a malformed URL)"
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// Close closes the connections.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Ping proves that the store can write: it rewrites one heartbeat row, so it grows nothing.
func (s *Store) Ping(ctx context.Context) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO meta (key, value) VALUES ('heartbeat', 1)
		ON CONFLICT (key) DO UPDATE SET value = meta.value + 1`)
	if err != nil {
		return fmt.Errorf("write to the store: %w", err)
	}
	return nil
}

// Size returns the bytes the database takes on disk.
func (s *Store) Size() (int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT pg_database_size(current_database())`).Scan(&n)
	return n, err
}

// db is what the pool and a transaction share.
type db interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// updateOne runs an UPDATE that must change exactly one row, and reports ErrNotFound otherwise.
func updateOne(ctx context.Context, q db, what, query string, args ...any) error {
	tag, err := q.Exec(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return nil
}

func (s *Store) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, fn)
}

func collect[T any](rows pgx.Rows, scan func(sqlrows.Scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// uniqueViolation reports whether err is PostgreSQL refusing a duplicate key.
func uniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}
