package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"revokebot/store"
	"revokebot/store/internal/sqlrows"
)

// ClaimPost reserves a reply once per request and key: of two replicas inserting the same
// claim, the primary key lets one in and the other does nothing.
func (s *Store) ClaimPost(ctx context.Context, p store.Post) (bool, error) {
	tag, err := s.pool.Exec(ctx, `INSERT INTO posts (request_id, key, claimed_at, claimer)
		VALUES ($1, $2, $3, $4) ON CONFLICT (request_id, key) DO NOTHING`, p.RequestID.String(), p.Key, sqlrows.Micros(p.ClaimedAt), p.Claimer)
	if err != nil {
		return false, fmt.Errorf("claim reply %s of request %s: %w", p.Key, p.RequestID, err)
	}
	return tag.RowsAffected() == 1, nil
}

// MarkPosted records the ts of a claimed reply.
func (s *Store) MarkPosted(ctx context.Context, requestID uuid.UUID, key, ts string) error {
	return updateOne(ctx, s.pool, fmt.Sprintf("mark reply %s of request %s posted", key, requestID),
		`UPDATE posts SET posted_ts = $1 WHERE request_id = $2 AND key = $3`, ts, requestID.String(), key)
}

// UnpostedPosts returns claimed replies with no recorded ts, oldest first.
func (s *Store) UnpostedPosts(ctx context.Context) ([]store.Post, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+postColumns+` FROM posts WHERE posted_ts = '' ORDER BY claimed_at, request_id, key`)
	if err != nil {
		return nil, fmt.Errorf("list unposted replies: %w", err)
	}
	out, err := collect(rows, sqlrows.Post)
	if err != nil {
		return nil, fmt.Errorf("list unposted replies: %w", err)
	}
	return out, nil
}

// Post returns the claim of a request's reply by its key.
func (s *Store) Post(ctx context.Context, requestID uuid.UUID, key string) (store.Post, error) {
	p, err := sqlrows.Post(s.pool.QueryRow(ctx, `SELECT `+postColumns+` FROM posts WHERE request_id = $1 AND key = $2`, requestID.String(), key))
	if errors.Is(err, pgx.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.Post{}, fmt.Errorf("reply %s of request %s: %w", key, requestID, err)
	}
	return p, nil
}

const postColumns = `request_id, key, claimed_at, claimer, posted_ts`

// Audit appends a record to the audit trail.
func (s *Store) Audit(ctx context.Context, a store.AuditRecord) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO audit (at, request_id, actor, action, outcome, detail)
		VALUES ($1, $2, $3, $4, $5, $6)`, sqlrows.Micros(a.At), a.RequestID.String(), a.Actor, string(a.Action), string(a.Outcome), a.Detail)
	if err != nil {
		return fmt.Errorf("audit %s of request %s: %w", a.Action, a.RequestID, err)
	}
	return nil
}

// AuditTrail returns a request's audit records, oldest first.
func (s *Store) AuditTrail(ctx context.Context, requestID uuid.UUID) ([]store.AuditRecord, error) {
	rows, err := s.pool.Query(ctx, `SELECT at, request_id, actor, action, outcome, detail
		FROM audit WHERE request_id = $1 ORDER BY seq`, requestID.String())
	if err != nil {
		return nil, fmt.Errorf("read audit trail of request %s: %w", requestID, err)
	}
	out, err := collect(rows, sqlrows.Audit)
	if err != nil {
		return nil, fmt.Errorf("read audit trail of request %s: %w", requestID, err)
	}
	return out, nil
}

// AuditSince calls fn with the audit records made in [since, until), oldest first, as it reads
// them. fn must not call the store: the rows hold one of its connections meanwhile.
func (s *Store) AuditSince(ctx context.Context, since, until time.Time, fn func(store.AuditRecord) error) error {
	end := int64(1<<63 - 1)
	if !until.IsZero() {
		end = sqlrows.Micros(until)
	}
	rows, err := s.pool.Query(ctx, `SELECT at, request_id, actor, action, outcome, detail
		FROM audit WHERE at >= $1 AND at < $2 ORDER BY at, seq`, sqlrows.Micros(since), end)
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
