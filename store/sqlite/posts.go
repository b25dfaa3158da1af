package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"revokebot/store"
	"revokebot/store/internal/sqlrows"
)

// ClaimPost reserves a reply once per request and key.
func (s *Store) ClaimPost(ctx context.Context, p store.Post) (bool, error) {
	res, err := s.db.ExecContext(ctx, `INSERT INTO posts (request_id, key, claimed_at, claimer)
		VALUES (?, ?, ?, ?) ON CONFLICT (request_id, key) DO NOTHING`, p.RequestID.String(), p.Key, sqlrows.Micros(p.ClaimedAt), p.Claimer)
	if err != nil {
		return false, fmt.Errorf("claim reply %s of request %s: %w", p.Key, p.RequestID, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// MarkPosted records the ts of a claimed reply.
func (s *Store) MarkPosted(ctx context.Context, requestID uuid.UUID, key, ts string) error {
	return updateOne(ctx, s.db, fmt.Sprintf("mark reply %s of request %s posted", key, requestID),
		`UPDATE posts SET posted_ts = ? WHERE request_id = ? AND key = ?`, ts, requestID.String(), key)
}

// UnpostedPosts returns claimed replies with no recorded ts, oldest first.
func (s *Store) UnpostedPosts(ctx context.Context) ([]store.Post, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+postColumns+` FROM posts WHERE posted_ts = '' ORDER BY claimed_at, request_id, key`)
	if err != nil {
		return nil, fmt.Errorf("list unposted replies: %w", err)
	}
	return collect(rows, sqlrows.Post)
}

// Post returns the claim of a request's reply by its key.
func (s *Store) Post(ctx context.Context, requestID uuid.UUID, key string) (store.Post, error) {
	p, err := sqlrows.Post(s.db.QueryRowContext(ctx, `SELECT `+postColumns+` FROM posts WHERE request_id = ? AND key = ?`, requestID.String(), key))
	if errors.Is(err, sql.ErrNoRows) {
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
	_, err := s.db.ExecContext(ctx, `INSERT INTO audit (at, request_id, actor, action, outcome, detail)
		VALUES (?, ?, ?, ?, ?, ?)`, sqlrows.Micros(a.At), a.RequestID.String(), a.Actor, string(a.Action), string(a.Outcome), a.Detail)
	if err != nil {
		return fmt.Errorf("audit %s of request %s: %w", a.Action, a.RequestID, err)
	}
	return nil
}

// AuditTrail returns a request's audit records, oldest first.
func (s *Store) AuditTrail(ctx context.Context, requestID uuid.UUID) ([]store.AuditRecord, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT at, request_id, actor, action, outcome, detail
		FROM audit WHERE request_id = ? ORDER BY seq`, requestID.String())
	if err != nil {
		return nil, fmt.Errorf("read audit trail of request %s: %w", requestID, err)
	}
	return collect(rows, sqlrows.Audit)
}
