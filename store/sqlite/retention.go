package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"revokebot/store"
	"revokebot/store/internal/sqlrows"
)

// finishedBefore selects the IDs of finished requests last active before the cutoff (the first
// and second arguments, both the cutoff), oldest first, up to the third argument; see
// store.Retention. Every time a request's rows hold is compared, so an old request that saw a
// click, a submission or a status check lately is not finished yet by age.
const finishedBefore = `SELECT id FROM requests r
	WHERE r.created_at < ?1 AND r.decided_at < ?1
	AND (r.state IN ('rejected', 'expired') OR (r.state = 'approved' AND NOT EXISTS (
		SELECT 1 FROM items i WHERE i.request_id = r.id AND i.refusal = '' AND i.status NOT IN ('revoked', 'rejected'))))
	AND NOT EXISTS (SELECT 1 FROM items i WHERE i.request_id = r.id AND (i.submitted_at >= ?1 OR i.updated_at >= ?1))
	AND NOT EXISTS (SELECT 1 FROM posts p WHERE p.request_id = r.id AND (p.posted_ts = '' OR p.claimed_at >= ?1))
	ORDER BY r.created_at, r.id LIMIT ?2`

// DeleteFinishedBefore deletes up to limit finished requests last active before cutoff, oldest
// first, with their items, replies and asks, in one transaction.
func (s *Store) DeleteFinishedBefore(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	var n int
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, finishedBefore, sqlrows.Micros(cutoff), limit)
		if err != nil {
			return err
		}
		ids, err := collect(rows, func(row scanner) (id string, err error) { return id, row.Scan(&id) })
		if err != nil || len(ids) == 0 {
			return err
		}
		in := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ") + ")"
		args := make([]any, len(ids))
		for i, id := range ids {
			args[i] = id
		}
		// Children first: items, posts and asks refer to their request.
		for _, table := range []string{"asks", "posts", "items"} {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE request_id IN `+in, args...); err != nil {
				return fmt.Errorf("%s: %w", table, err)
			}
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM requests WHERE id IN `+in, args...)
		if err != nil {
			return err
		}
		deleted, err := res.RowsAffected()
		n = int(deleted)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("delete finished requests before %s: %w", cutoff.Format(time.RFC3339), err)
	}
	return n, nil
}

// DeleteAuditBefore deletes up to limit audit records made before cutoff, oldest first.
func (s *Store) DeleteAuditBefore(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM audit WHERE seq IN (
		SELECT seq FROM audit WHERE at < ? ORDER BY at, seq LIMIT ?)`, sqlrows.Micros(cutoff), limit)
	if err != nil {
		return 0, fmt.Errorf("delete audit records before %s: %w", cutoff.Format(time.RFC3339), err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// Count returns how many rows of each kind the store holds.
func (s *Store) Count(ctx context.Context) (store.Counts, error) {
	var c store.Counts
	err := s.db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM requests), (SELECT count(*) FROM items),
		(SELECT count(*) FROM posts), (SELECT count(*) FROM audit)`).Scan(&c.Requests, &c.Items, &c.Posts, &c.Audit)
	if err != nil {
		return c, fmt.Errorf("count the store's rows: %w", err)
	}
	return c, nil
}

// Size returns the bytes the store takes on disk: the database file and its write-ahead log.
func (s *Store) Size() (int64, error) {
	var total int64
	for _, name := range []string{FileName, FileName + "-wal"} {
		info, err := os.Stat(filepath.Join(s.dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, err
		}
		total += info.Size()
	}
	return total, nil
}

// AuditSince calls fn with the audit records made in [since, until), oldest first, as it reads
// them. The store has one connection, so fn must not call the store.
func (s *Store) AuditSince(ctx context.Context, since, until time.Time, fn func(store.AuditRecord) error) error {
	return auditSince(ctx, s.db, since, until, fn)
}

func auditSince(ctx context.Context, q queryer, since, until time.Time, fn func(store.AuditRecord) error) error {
	end := int64(1<<63 - 1)
	if !until.IsZero() {
		end = sqlrows.Micros(until)
	}
	rows, err := q.QueryContext(ctx, `SELECT at, request_id, actor, action, outcome, detail
		FROM audit WHERE at >= ? AND at < ? ORDER BY at, seq`, sqlrows.Micros(since), end)
	if err != nil {
		return fmt.Errorf("read the audit trail: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		a, err := sqlrows.Audit(rows)
		if err != nil {
			return fmt.Errorf("read the audit trail: %w", err)
		}
		if err := fn(a); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read the audit trail: %w", err)
	}
	return nil
}

// ExportAudit calls fn with the audit records of the store in dir made in [since, until), oldest
// first, as it reads them, for revokebot audit-export. Like Backup, it reads the file while the
// bot may run on it, and never migrates it, so a newer binary can export the store of an older
// one; the audit table has kept its shape since the first release.
func ExportAudit(ctx context.Context, dir string, since, until time.Time, fn func(store.AuditRecord) error) error {
	path := filepath.Join(dir, FileName)
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("export the audit trail of %s: no store there: %w", path, err)
	}
	// Read-write for the reason vacuumInto gives: a read-only connection that is the last to
	// close a WAL database leaves its -wal and -shm files behind.
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if err := auditSince(ctx, db, since, until, fn); err != nil {
		return err
	}
	return db.Close()
}
