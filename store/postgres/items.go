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

// MarkSubmitting records the first submission attempt of an item.
func (s *Store) MarkSubmitting(ctx context.Context, id uuid.UUID, accessStateID string, at time.Time) (store.Item, error) {
	// One statement: the UPDATE keeps the earliest time, and the item is read as it stands after.
	var requestID string
	item, err := sqlrows.Item(s.pool.QueryRow(ctx, `UPDATE items SET submitted_at = CASE
			WHEN submitted_at = 0 THEN $1 ELSE submitted_at END
		WHERE request_id = $2 AND access_state_id = $3 RETURNING `+itemColumns,
		sqlrows.Micros(at), id.String(), accessStateID), &requestID)
	if errors.Is(err, pgx.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.Item{}, fmt.Errorf("mark item %s of request %s submitting: %w", accessStateID, id, err)
	}
	return item, nil
}

// SetRevocation records the revocation an item created and starts tracking it. The item's row
// is locked first, so two replicas recording revocations of one item are decided one after the
// other; the unique index on revocation_id settles one revocation claimed by two items.
func (s *Store) SetRevocation(ctx context.Context, id uuid.UUID, accessStateID, revocationID string, nextCheck time.Time) error {
	what := fmt.Sprintf("set revocation %s of item %s of request %s", revocationID, accessStateID, id)
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var current string
		err := tx.QueryRow(ctx, `SELECT revocation_id FROM items WHERE request_id = $1 AND access_state_id = $2 FOR UPDATE`,
			id.String(), accessStateID).Scan(&current)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return store.ErrNotFound
		case err != nil:
			return err
		case current == revocationID:
			return nil // recorded before
		case current != "":
			return fmt.Errorf("the item has revocation %s: %w", current, store.ErrConflict)
		}
		var owner string
		err = tx.QueryRow(ctx, `SELECT request_id FROM items WHERE revocation_id = $1`, revocationID).Scan(&owner)
		if err == nil {
			return fmt.Errorf("it belongs to request %s: %w", owner, store.ErrConflict)
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE items SET revocation_id = $1, next_check = $2, last_error = ''
			WHERE request_id = $3 AND access_state_id = $4`, revocationID, sqlrows.Micros(nextCheck), id.String(), accessStateID)
		if uniqueViolation(err) {
			return fmt.Errorf("another item took it meanwhile: %w", store.ErrConflict)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// SetRefusal records that AccessOwl refused an item's submission for good.
func (s *Store) SetRefusal(ctx context.Context, id uuid.UUID, accessStateID, refusal string) error {
	return updateOne(ctx, s.pool, fmt.Sprintf("set refusal of item %s of request %s", accessStateID, id),
		`UPDATE items SET refusal = $1, last_error = '' WHERE request_id = $2 AND access_state_id = $3`, refusal, id.String(), accessStateID)
}

// SetSubmitError records what the latest attempt to submit an item met.
func (s *Store) SetSubmitError(ctx context.Context, id uuid.UUID, accessStateID, lastError string) error {
	return updateOne(ctx, s.pool, fmt.Sprintf("set the last error of item %s of request %s", accessStateID, id),
		`UPDATE items SET last_error = $1 WHERE request_id = $2 AND access_state_id = $3`, lastError, id.String(), accessStateID)
}

// Unsubmitted returns approved requests with an item neither submitted nor refused, oldest first.
func (s *Store) Unsubmitted(ctx context.Context) ([]store.Request, error) {
	requests, err := requestsWhere(ctx, s.pool, `state = 'approved' AND EXISTS (SELECT 1 FROM items
		WHERE items.request_id = requests.id AND revocation_id = '' AND refusal = '') ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list unsubmitted requests: %w", err)
	}
	return requests, nil
}

const trackedColumns = `revocation_id, request_id, access_state_id, status, next_check, unchanged, updated_at`

// Tracking returns the revocations still being followed, soonest check first.
func (s *Store) Tracking(ctx context.Context) ([]store.Tracked, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+trackedColumns+` FROM items
		WHERE revocation_id != '' AND status NOT IN ('revoked', 'rejected') ORDER BY next_check, revocation_id`)
	if err != nil {
		return nil, fmt.Errorf("list tracked revocations: %w", err)
	}
	out, err := collect(rows, sqlrows.Tracked)
	if err != nil {
		return nil, fmt.Errorf("list tracked revocations: %w", err)
	}
	return out, nil
}

// TrackedRevocation returns one tracked revocation.
func (s *Store) TrackedRevocation(ctx context.Context, revocationID string) (store.Tracked, error) {
	t, err := sqlrows.Tracked(s.pool.QueryRow(ctx, `SELECT `+trackedColumns+` FROM items
		WHERE revocation_id = $1 AND revocation_id != ''`, revocationID))
	if errors.Is(err, pgx.ErrNoRows) {
		return t, fmt.Errorf("tracked revocation %q: %w", revocationID, store.ErrNotFound)
	}
	return t, err
}

// UpdateTracked saves the latest check of a tracked revocation.
func (s *Store) UpdateTracked(ctx context.Context, t store.Tracked) error {
	return updateOne(ctx, s.pool, "update tracked revocation "+t.RevocationID,
		`UPDATE items SET status = $1, next_check = $2, unchanged = $3, updated_at = $4
		WHERE revocation_id = $5 AND revocation_id != ''`,
		string(t.Status), sqlrows.Micros(t.NextCheck), t.Unchanged, sqlrows.Micros(t.UpdatedAt), t.RevocationID)
}
