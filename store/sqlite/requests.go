package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"revokebot/store"
	"revokebot/store/internal/sqlrows"
)

const requestColumns = `id, requester_id, grantee_accessowl_id, grantee_slack_id, grantee_name,
	grantee_email, reason, all_access, channel, message_ts, created_at, state, decided_by, decided_at`

const itemColumns = `request_id, access_state_id, application_id, application_title, provisioning_type,
	resource_id, resource_title, permissions, submitted_at, revocation_id, refusal, last_error, status`

// CreateRequest stores r and its items unless a request with its ID exists.
func (s *Store) CreateRequest(ctx context.Context, r store.Request) (bool, error) {
	var created bool
	err := s.inTx(ctx, func(tx *sql.Tx) (err error) {
		created, err = insertRequest(ctx, tx, r)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("create request %s: %w", r.ID, err)
	}
	return created, nil
}

// insertRequest inserts r and its items unless its ID exists, and reports whether it did.
func insertRequest(ctx context.Context, tx *sql.Tx, r store.Request) (bool, error) {
	if r.State == "" {
		r.State = store.Pending
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO requests (`+requestColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		r.ID.String(), r.RequesterID, r.Grantee.AccessOwlID, r.Grantee.SlackID, r.Grantee.Name,
		r.Grantee.Email, r.Reason, r.All, r.Channel, r.MessageTS, sqlrows.Micros(r.CreatedAt), string(r.State),
		r.DecidedBy, sqlrows.Micros(r.DecidedAt))
	if err != nil {
		return false, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err
	}
	for i, it := range r.Items {
		perms, err := sqlrows.Permissions(it.Permissions)
		if err != nil {
			return false, err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO items (position, `+itemColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			i, r.ID.String(), it.AccessStateID, it.ApplicationID, it.ApplicationTitle, it.ProvisioningType,
			it.ResourceID, it.ResourceTitle, perms, sqlrows.Micros(it.SubmittedAt), it.RevocationID,
			it.Refusal, it.LastError, string(it.Status))
		if err != nil {
			return false, fmt.Errorf("item %s: %w", it.AccessStateID, err)
		}
	}
	return true, nil
}

// Request returns the request with the given ID.
func (s *Store) Request(ctx context.Context, id uuid.UUID) (store.Request, error) {
	return requestByID(ctx, s.db, id.String())
}

// RequestByRevocation returns the request one of whose items created a revocation.
func (s *Store) RequestByRevocation(ctx context.Context, revocationID string) (store.Request, error) {
	if revocationID == "" {
		return store.Request{}, store.ErrNotFound
	}
	var id string
	err := s.db.QueryRowContext(ctx, `SELECT request_id FROM items WHERE revocation_id = ?`, revocationID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Request{}, fmt.Errorf("request of revocation %s: %w", revocationID, store.ErrNotFound)
	}
	if err != nil {
		return store.Request{}, fmt.Errorf("request of revocation %s: %w", revocationID, err)
	}
	return requestByID(ctx, s.db, id)
}

// queryer is what *sql.DB and *sql.Tx share for reading.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func requestByID(ctx context.Context, q queryer, id string) (store.Request, error) {
	r, err := sqlrows.Request(q.QueryRowContext(ctx, `SELECT `+requestColumns+` FROM requests WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Request{}, fmt.Errorf("request %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Request{}, fmt.Errorf("request %s: %w", id, err)
	}
	if err := withItems(ctx, q, []*store.Request{&r}); err != nil {
		return store.Request{}, err
	}
	return r, nil
}

// requestsWhere returns the requests a query of their IDs selects, in its order, with their items.
func requestsWhere(ctx context.Context, q queryer, query string, args ...any) ([]store.Request, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+requestColumns+` FROM requests WHERE `+query, args...)
	if err != nil {
		return nil, err
	}
	requests, err := collect(rows, sqlrows.Request)
	if err != nil {
		return nil, err
	}
	ptrs := make([]*store.Request, len(requests))
	for i := range requests {
		ptrs[i] = &requests[i]
	}
	return requests, withItems(ctx, q, ptrs)
}

// withItems loads the items of requests, in their order.
func withItems(ctx context.Context, q queryer, requests []*store.Request) error {
	for _, r := range requests {
		rows, err := q.QueryContext(ctx, `SELECT `+itemColumns+` FROM items WHERE request_id = ? ORDER BY position`, r.ID.String())
		if err != nil {
			return fmt.Errorf("items of request %s: %w", r.ID, err)
		}
		if r.Items, err = collect(rows, scanItem); err != nil {
			return fmt.Errorf("items of request %s: %w", r.ID, err)
		}
	}
	return nil
}

// SetMessage records where a request's approval message was posted.
func (s *Store) SetMessage(ctx context.Context, id uuid.UUID, channel, ts string) error {
	return updateOne(ctx, s.db, "set message of request "+id.String(),
		`UPDATE requests SET channel = ?, message_ts = ? WHERE id = ?`, channel, ts, id.String())
}

// Decide records d if the request is pending; see store.Decisions.
func (s *Store) Decide(ctx context.Context, id uuid.UUID, d store.Decision) (store.Request, bool, error) {
	if d.State != store.Approved && d.State != store.Rejected {
		return store.Request{}, false, fmt.Errorf("decide request %s: %q is not a decision", id, d.State)
	}
	var (
		stored  store.Request
		decided bool
	)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE requests SET state = ?, decided_by = ?, decided_at = ?
			WHERE id = ? AND state = 'pending'`, string(d.State), d.By, sqlrows.Micros(d.At), id.String())
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		decided = n == 1
		stored, err = requestByID(ctx, tx, id.String())
		return err
	})
	if err != nil {
		return store.Request{}, false, fmt.Errorf("decide request %s: %w", id, err)
	}
	return stored, decided, nil
}

// UnpostedRequests returns pending requests with no recorded approval message and no post
// claimed under key, oldest first.
func (s *Store) UnpostedRequests(ctx context.Context, key string) ([]store.Request, error) {
	requests, err := requestsWhere(ctx, s.db, `state = 'pending' AND message_ts = ''
		AND NOT EXISTS (SELECT 1 FROM posts WHERE posts.request_id = requests.id AND posts.key = ?)
		ORDER BY created_at, id`, key)
	if err != nil {
		return nil, fmt.Errorf("list unposted requests: %w", err)
	}
	return requests, nil
}

// ExpirePending expires pending requests created before cutoff and returns them.
func (s *Store) ExpirePending(ctx context.Context, cutoff time.Time) ([]store.Request, error) {
	var expired []store.Request
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `UPDATE requests SET state = 'expired'
			WHERE state = 'pending' AND created_at < ? RETURNING id`, sqlrows.Micros(cutoff))
		if err != nil {
			return err
		}
		ids, err := collect(rows, func(row scanner) (id string, err error) { return id, row.Scan(&id) })
		if err != nil {
			return err
		}
		for _, id := range ids {
			r, err := requestByID(ctx, tx, id)
			if err != nil {
				return err
			}
			expired = append(expired, r)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("expire requests: %w", err)
	}
	slices.SortFunc(expired, func(a, b store.Request) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID.String(), b.ID.String()))
	})
	return expired, nil
}
