package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"revokebot/store"
	"revokebot/store/internal/sqlrows"
)

// MarkSubmitting records the first submission attempt of an item.
func (s *Store) MarkSubmitting(ctx context.Context, id uuid.UUID, accessStateID string, at time.Time) (store.Item, error) {
	var item store.Item
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE items SET submitted_at = ?
			WHERE request_id = ? AND access_state_id = ? AND submitted_at = 0`, sqlrows.Micros(at), id.String(), accessStateID); err != nil {
			return err
		}
		var err error
		item, err = scanItem(tx.QueryRowContext(ctx, `SELECT `+itemColumns+` FROM items
			WHERE request_id = ? AND access_state_id = ?`, id.String(), accessStateID))
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		}
		return err
	})
	if err != nil {
		return store.Item{}, fmt.Errorf("mark item %s of request %s submitting: %w", accessStateID, id, err)
	}
	return item, nil
}

// SetRevocation records the revocation an item created and starts tracking it.
func (s *Store) SetRevocation(ctx context.Context, id uuid.UUID, accessStateID, revocationID string, nextCheck time.Time) error {
	what := fmt.Sprintf("set revocation %s of item %s of request %s", revocationID, accessStateID, id)
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var owner, ownerItem string
		err := tx.QueryRowContext(ctx, `SELECT request_id, access_state_id FROM items WHERE revocation_id = ?`,
			revocationID).Scan(&owner, &ownerItem)
		switch {
		case err == nil && (owner != id.String() || ownerItem != accessStateID):
			return fmt.Errorf("%s: it belongs to request %s: %w", what, owner, store.ErrConflict)
		case err == nil:
			return nil // recorded before
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("%s: %w", what, err)
		}
		var current string
		err = tx.QueryRowContext(ctx, `SELECT revocation_id FROM items WHERE request_id = ? AND access_state_id = ?`,
			id.String(), accessStateID).Scan(&current)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("%s: %w", what, store.ErrNotFound)
		case err != nil:
			return fmt.Errorf("%s: %w", what, err)
		case current != "":
			return fmt.Errorf("%s: the item has revocation %s: %w", what, current, store.ErrConflict)
		}
		return updateOne(ctx, tx, what, `UPDATE items SET revocation_id = ?, next_check = ?, last_error = ''
			WHERE request_id = ? AND access_state_id = ?`, revocationID, sqlrows.Micros(nextCheck), id.String(), accessStateID)
	})
}

// SetRefusal records that AccessOwl refused an item's submission for good.
func (s *Store) SetRefusal(ctx context.Context, id uuid.UUID, accessStateID, refusal string) error {
	return updateOne(ctx, s.db, fmt.Sprintf("set refusal of item %s of request %s", accessStateID, id),
		`UPDATE items SET refusal = ?, last_error = '' WHERE request_id = ? AND access_state_id = ?`, refusal, id.String(), accessStateID)
}

// SetSubmitError records what the latest attempt to submit an item met.
func (s *Store) SetSubmitError(ctx context.Context, id uuid.UUID, accessStateID, lastError string) error {
	return updateOne(ctx, s.db, fmt.Sprintf("set the last error of item %s of request %s", accessStateID, id),
		`UPDATE items SET last_error = ? WHERE request_id = ? AND access_state_id = ?`, lastError, id.String(), accessStateID)
}

// Unsubmitted returns approved requests with an item neither submitted nor refused, oldest first.
func (s *Store) Unsubmitted(ctx context.Context) ([]store.Request, error) {
	requests, err := requestsWhere(ctx, s.db, `state = 'approved' AND EXISTS (SELECT 1 FROM items
		WHERE items.request_id = requests.id AND revocation_id = '' AND refusal = '') ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list unsubmitted requests: %w", err)
	}
	return requests, nil
}

const trackedColumns = `revocation_id, request_id, access_state_id, status, next_check, unchanged, updated_at`

// Tracking returns the revocations still being followed, soonest check first.
func (s *Store) Tracking(ctx context.Context) ([]store.Tracked, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+trackedColumns+` FROM items
		WHERE revocation_id != '' AND status NOT IN ('revoked', 'rejected') ORDER BY next_check, revocation_id`)
	if err != nil {
		return nil, fmt.Errorf("list tracked revocations: %w", err)
	}
	return collect(rows, sqlrows.Tracked)
}

// TrackedRevocation returns one tracked revocation.
func (s *Store) TrackedRevocation(ctx context.Context, revocationID string) (store.Tracked, error) {
	t, err := sqlrows.Tracked(s.db.QueryRowContext(ctx, `SELECT `+trackedColumns+` FROM items
		WHERE revocation_id = ? AND revocation_id != ''`, revocationID))
	if errors.Is(err, sql.ErrNoRows) {
		return t, fmt.Errorf("tracked revocation %q: %w", revocationID, store.ErrNotFound)
	}
	return t, err
}

// UpdateTracked saves the latest check of a tracked revocation.
func (s *Store) UpdateTracked(ctx context.Context, t store.Tracked) error {
	return updateOne(ctx, s.db, "update tracked revocation "+t.RevocationID,
		`UPDATE items SET status = ?, next_check = ?, unchanged = ?, updated_at = ?
		WHERE revocation_id = ? AND revocation_id != ''`,
		string(t.Status), sqlrows.Micros(t.NextCheck), t.Unchanged, sqlrows.Micros(t.UpdatedAt), t.RevocationID)
}

// scanItem reads an item, leaving out its request's ID, which the caller knows.
func scanItem(row scanner) (store.Item, error) {
	var requestID string
	return sqlrows.Item(row, &requestID)
}
