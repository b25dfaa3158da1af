package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

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
	err := s.inTx(ctx, func(tx pgx.Tx) (err error) {
		created, err = insertRequest(ctx, tx, r)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("create request %s: %w", r.ID, err)
	}
	return created, nil
}

// insertRequest inserts r and its items unless its ID exists, and reports whether it did. Two
// replicas inserting the same request at once both reach the INSERT; PostgreSQL makes the
// second wait for the first's commit and then do nothing.
func insertRequest(ctx context.Context, tx pgx.Tx, r store.Request) (bool, error) {
	if r.State == "" {
		r.State = store.Pending
	}
	tag, err := tx.Exec(ctx, `INSERT INTO requests (`+requestColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT (id) DO NOTHING`,
		r.ID.String(), r.RequesterID, r.Grantee.AccessOwlID, r.Grantee.SlackID, r.Grantee.Name,
		r.Grantee.Email, r.Reason, r.All, r.Channel, r.MessageTS, sqlrows.Micros(r.CreatedAt), string(r.State),
		r.DecidedBy, sqlrows.Micros(r.DecidedAt))
	if err != nil || tag.RowsAffected() == 0 {
		return false, err
	}
	for i, it := range r.Items {
		perms, err := sqlrows.Permissions(it.Permissions)
		if err != nil {
			return false, err
		}
		_, err = tx.Exec(ctx, `INSERT INTO items (position, `+itemColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
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
	return requestByID(ctx, s.pool, id.String())
}

// RequestByRevocation returns the request one of whose items created a revocation.
func (s *Store) RequestByRevocation(ctx context.Context, revocationID string) (store.Request, error) {
	if revocationID == "" {
		return store.Request{}, store.ErrNotFound
	}
	var id string
	err := s.pool.QueryRow(ctx, `SELECT request_id FROM items WHERE revocation_id = $1`, revocationID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Request{}, fmt.Errorf("request of revocation %s: %w", revocationID, store.ErrNotFound)
	}
	if err != nil {
		return store.Request{}, fmt.Errorf("request of revocation %s: %w", revocationID, err)
	}
	return requestByID(ctx, s.pool, id)
}

func requestByID(ctx context.Context, q db, id string) (store.Request, error) {
	r, err := sqlrows.Request(q.QueryRow(ctx, `SELECT `+requestColumns+` FROM requests WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
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

// requestsWhere returns the requests a condition selects, in its order, with their items.
func requestsWhere(ctx context.Context, q db, query string, args ...any) ([]store.Request, error) {
	rows, err := q.Query(ctx, `SELECT `+requestColumns+` FROM requests WHERE `+query, args...)
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

// withItems loads the items of requests, in their order, in one round trip for all of them:
// over a network each query costs far more than on a local file.
func withItems(ctx context.Context, q db, requests []*store.Request) error {
	if len(requests) == 0 {
		return nil
	}
	ids := make([]string, len(requests))
	byID := make(map[string]*store.Request, len(requests))
	for i, r := range requests {
		ids[i] = r.ID.String()
		byID[ids[i]] = r
	}
	rows, err := q.Query(ctx, `SELECT `+itemColumns+` FROM items WHERE request_id = ANY($1) ORDER BY request_id, position`, ids)
	if err != nil {
		return fmt.Errorf("items of %d requests: %w", len(ids), err)
	}
	defer rows.Close()
	for rows.Next() {
		var requestID string
		it, err := sqlrows.Item(rows, &requestID)
		if err != nil {
			return fmt.Errorf("items of request %s: %w", requestID, err)
		}
		if r := byID[requestID]; r != nil {
			r.Items = append(r.Items, it)
		}
	}
	return rows.Err()
}

// SetMessage records where a request's approval message was posted.
func (s *Store) SetMessage(ctx context.Context, id uuid.UUID, channel, ts string) error {
	return updateOne(ctx, s.pool, "set message of request "+id.String(),
		`UPDATE requests SET channel = $1, message_ts = $2 WHERE id = $3`, channel, ts, id.String())
}

// Decide records d if the request is pending; see store.Decisions. Under READ COMMITTED a second
// replica's UPDATE waits for the first's row lock, then finds the request no longer pending and
// changes nothing: exactly one decision wins.
func (s *Store) Decide(ctx context.Context, id uuid.UUID, d store.Decision) (store.Request, bool, error) {
	if d.State != store.Approved && d.State != store.Rejected {
		return store.Request{}, false, fmt.Errorf("decide request %s: %q is not a decision", id, d.State)
	}
	var (
		stored  store.Request
		decided bool
	)
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE requests SET state = $1, decided_by = $2, decided_at = $3
			WHERE id = $4 AND state = 'pending'`, string(d.State), d.By, sqlrows.Micros(d.At), id.String())
		if err != nil {
			return err
		}
		decided = tag.RowsAffected() == 1
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
	requests, err := requestsWhere(ctx, s.pool, `state = 'pending' AND message_ts = ''
		AND NOT EXISTS (SELECT 1 FROM posts WHERE posts.request_id = requests.id AND posts.key = $1)
		ORDER BY created_at, id`, key)
	if err != nil {
		return nil, fmt.Errorf("list unposted requests: %w", err)
	}
	return requests, nil
}

// ExpirePending expires pending requests created before cutoff and returns them.
func (s *Store) ExpirePending(ctx context.Context, cutoff time.Time) ([]store.Request, error) {
	var expired []store.Request
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `UPDATE requests SET state = 'expired'
			WHERE state = 'pending' AND created_at < $1 RETURNING id`, sqlrows.Micros(cutoff))
		if err != nil {
			return err
		}
		ids, err := collect(rows, func(row sqlrows.Scanner) (id string, err error) { return id, row.Scan(&id) })
		if err != nil || len(ids) == 0 {
			return err
		}
		expired, err = requestsWhere(ctx, tx, `id = ANY($1)`, ids)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("expire requests: %w", err)
	}
	slices.SortFunc(expired, func(a, b store.Request) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID.String(), b.ID.String()))
	})
	return expired, nil
}
