package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"revokebot/store"
	"revokebot/store/internal/sqlrows"
)

// finishedBefore selects the IDs of finished requests last active before the cutoff ($1), oldest
// first, up to $2; see store.Retention and the SQLite store's query of the same name. FOR UPDATE
// SKIP LOCKED leaves alone a request another transaction is changing right now.
const finishedBefore = `SELECT id FROM requests r
	WHERE r.created_at < $1 AND r.decided_at < $1
	AND (r.state IN ('rejected', 'expired') OR (r.state = 'approved' AND NOT EXISTS (
		SELECT 1 FROM items i WHERE i.request_id = r.id AND i.refusal = '' AND i.status NOT IN ('revoked', 'rejected'))))
	AND NOT EXISTS (SELECT 1 FROM items i WHERE i.request_id = r.id AND (i.submitted_at >= $1 OR i.updated_at >= $1))
	AND NOT EXISTS (SELECT 1 FROM posts p WHERE p.request_id = r.id AND (p.posted_ts = '' OR p.claimed_at >= $1))
	ORDER BY r.created_at, r.id LIMIT $2 FOR UPDATE SKIP LOCKED`

// DeleteFinishedBefore deletes up to limit finished requests last active before cutoff, oldest
// first, with their items, replies and asks, in one transaction.
func (s *Store) DeleteFinishedBefore(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	var n int
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, finishedBefore, sqlrows.Micros(cutoff), limit)
		if err != nil {
			return err
		}
		ids, err := collect(rows, func(row sqlrows.Scanner) (id string, err error) { return id, row.Scan(&id) })
		if err != nil || len(ids) == 0 {
			return err
		}
		// Children first: items, posts and asks refer to their request.
		for _, table := range []string{"asks", "posts", "items"} {
			if _, err := tx.Exec(ctx, `DELETE FROM `+table+` WHERE request_id = ANY($1)`, ids); err != nil {
				return fmt.Errorf("%s: %w", table, err)
			}
		}
		tag, err := tx.Exec(ctx, `DELETE FROM requests WHERE id = ANY($1)`, ids)
		n = int(tag.RowsAffected())
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("delete finished requests before %s: %w", cutoff.Format(time.RFC3339), err)
	}
	return n, nil
}

// DeleteAuditBefore deletes up to limit audit records made before cutoff, oldest first.
func (s *Store) DeleteAuditBefore(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM audit WHERE seq IN (
		SELECT seq FROM audit WHERE at < $1 ORDER BY at, seq LIMIT $2)`, sqlrows.Micros(cutoff), limit)
	if err != nil {
		return 0, fmt.Errorf("delete audit records before %s: %w", cutoff.Format(time.RFC3339), err)
	}
	return int(tag.RowsAffected()), nil
}

// Count returns how many rows of each kind the store holds.
func (s *Store) Count(ctx context.Context) (store.Counts, error) {
	var c store.Counts
	err := s.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM requests), (SELECT count(*) FROM items),
		(SELECT count(*) FROM posts), (SELECT count(*) FROM audit)`).Scan(&c.Requests, &c.Items, &c.Posts, &c.Audit)
	if err != nil {
		return c, fmt.Errorf("count the store's rows: %w", err)
	}
	return c, nil
}
