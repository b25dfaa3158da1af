package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"revokebot/store"
	"revokebot/store/internal/sqlrows"
)

// SaveAsk records a unless its revocation has an ask, and returns the ask as stored: the first
// saved wins, so replicas resolving the admins at the same moment agree on who was asked.
func (s *Store) SaveAsk(ctx context.Context, a store.Ask) (store.Ask, error) {
	asked, err := sqlrows.Asked(a.Asked)
	if err != nil {
		return store.Ask{}, fmt.Errorf("save ask of revocation %s: %w", a.RevocationID, err)
	}
	var stored store.Ask
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM requests WHERE id = $1)`, a.RequestID.String()).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return store.ErrNotFound
		}
		if _, err := tx.Exec(ctx, `INSERT INTO asks (`+sqlrows.AskColumns+`) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (revocation_id) DO NOTHING`,
			a.RevocationID, a.RequestID.String(), a.AccessStateID, asked, sqlrows.Micros(a.AskedAt)); err != nil {
			return err
		}
		stored, err = sqlrows.Ask(tx.QueryRow(ctx, `SELECT `+sqlrows.AskColumns+` FROM asks WHERE revocation_id = $1`, a.RevocationID))
		return err
	})
	if err != nil {
		return store.Ask{}, fmt.Errorf("save ask of revocation %s: %w", a.RevocationID, err)
	}
	return stored, nil
}

// Ask returns the ask of a revocation, or store.ErrNotFound.
func (s *Store) Ask(ctx context.Context, revocationID string) (store.Ask, error) {
	a, err := sqlrows.Ask(s.pool.QueryRow(ctx, `SELECT `+sqlrows.AskColumns+` FROM asks WHERE revocation_id = $1`, revocationID))
	if errors.Is(err, pgx.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.Ask{}, fmt.Errorf("ask of revocation %s: %w", revocationID, err)
	}
	return a, nil
}

// Unasked returns the processing revocations of admin-provisioned items that have no ask,
// oldest submission first.
func (s *Store) Unasked(ctx context.Context) ([]store.Tracked, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+trackedColumns+` FROM items i
		WHERE i.revocation_id != '' AND i.status = 'processing_access' AND i.provisioning_type = 'application_admin'
		AND NOT EXISTS (SELECT 1 FROM asks a WHERE a.revocation_id = i.revocation_id)
		ORDER BY i.submitted_at, i.revocation_id`)
	if err != nil {
		return nil, fmt.Errorf("list unasked revocations: %w", err)
	}
	return collect(rows, sqlrows.Tracked)
}

// WaitingAsks returns the asks whose revocation is not final, oldest first.
func (s *Store) WaitingAsks(ctx context.Context) ([]store.Ask, error) {
	rows, err := s.pool.Query(ctx, `SELECT a.revocation_id, a.request_id, a.access_state_id, a.asked, a.asked_at
		FROM asks a JOIN items i ON i.revocation_id = a.revocation_id
		WHERE i.status NOT IN ('revoked', 'rejected') ORDER BY a.asked_at, a.revocation_id`)
	if err != nil {
		return nil, fmt.Errorf("list waiting asks: %w", err)
	}
	return collect(rows, sqlrows.Ask)
}

// PendingPosted returns the pending requests with an approval message, oldest first.
func (s *Store) PendingPosted(ctx context.Context) ([]store.Request, error) {
	requests, err := requestsWhere(ctx, s.pool, `state = 'pending' AND message_ts != '' ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list pending requests: %w", err)
	}
	return requests, nil
}
