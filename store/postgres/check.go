package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// CheckResult is what CheckDatabase found.
type CheckResult struct {
	// Version is the database's schema version: 0 before the first start, at most
	// SchemaVersion for this binary to run on it.
	Version int
}

// CheckDatabase connects to the database at rawURL, reads its schema version and makes a write
// that it rolls back, changing nothing, for revokebot check. Unlike Open it does not migrate, so
// a newer binary can check the database of an older one still running. Its errors never show
// the URL's password.
func CheckDatabase(ctx context.Context, rawURL string) (CheckResult, error) {
	var r CheckResult
	cfg, err := pgx.ParseConfig(rawURL)
	if err != nil {
		return r, fmt.Errorf("%s cannot be parsed as a PostgreSQL URL", Redact(rawURL))
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return r, fmt.Errorf("cannot connect to %s: %w", Redact(rawURL), err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	tx, err := conn.Begin(ctx)
	if err != nil {
		return r, fmt.Errorf("begin a transaction: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	r.Version, err = readVersion(ctx, tx)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "42P01" { // undefined_table: never migrated
		r.Version, err = 0, nil
		// The failed statement ended the transaction's usefulness; start another for the write.
		tx.Rollback(ctx)
		if tx, err = conn.Begin(ctx); err != nil {
			return r, fmt.Errorf("begin a transaction: %w", err)
		}
		defer tx.Rollback(context.WithoutCancel(ctx))
	}
	if err != nil {
		return r, err
	}
	if r.Version > len(migrations) {
		return r, fmt.Errorf("schema version %d, this revokebot knows %d: %w", r.Version, len(migrations), ErrNewerSchema)
	}
	// A table of a name revokebot never uses, created and rolled back: it proves the user may
	// create tables, which the first start's migration needs, and leaves nothing.
	if _, err := tx.Exec(ctx, `CREATE TABLE revokebot_check_write (x INTEGER)`); err != nil {
		return r, fmt.Errorf("cannot write: %w", err)
	}
	if r.Version > 0 {
		if _, err := tx.Exec(ctx, `UPDATE meta SET value = value WHERE key = 'heartbeat'`); err != nil {
			return r, fmt.Errorf("cannot write to the store's tables: %w", err)
		}
	}
	return r, nil
}
