// Package sqlite is the embedded Store: one SQLite file under DATA_DIR, through the pure-Go
// modernc.org/sqlite driver so the binary stays static. It suits a single replica; several
// replicas need a shared database.
package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/google/uuid"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"revokebot/store"
)

// FileName is the database's name inside DATA_DIR.
const FileName = "revokebot.db"

// busyTimeout is how long a statement waits for another process holding the file's lock
// (a second revokebot started by mistake, a backup) before failing.
const busyTimeout = 5 * time.Second

// Store is a store.Store kept in one SQLite file.
type Store struct {
	db *sql.DB
}

var _ store.Store = (*Store)(nil)

// Open opens, creating if needed, the database in dir and brings its schema up to date.
func Open(ctx context.Context, dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	path := filepath.Join(dir, FileName)
	// WAL lets readers run beside the writer; synchronous=FULL makes a committed decision
	// survive a power cut, not just a killed process; IMMEDIATE transactions take the write
	// lock up front, so two writers never deadlock upgrading a read lock.
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	// One connection serialises this process's writers, which SQLite would do anyway; it
	// also keeps every statement on the connection the pragmas were applied to.
	db.SetMaxOpenConns(1)
	s := &Store{db: db}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate %s: %w", path, err)
	}
	return s, nil
}

func (s *Store) migrate(ctx context.Context) error {
	var version int
	if err := s.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return err
	}
	if version > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this revokebot knows (%d): was it downgraded?", version, len(migrations))
	}
	for i := version; i < len(migrations); i++ {
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
				return fmt.Errorf("migration %d: %w", i+1, err)
			}
			_, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", i+1))
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

const requestColumns = `id, requester_id, grantee_accessowl_id, grantee_slack_id, grantee_name,
	grantee_email, reason, all_access, channel, message_ts, created_at, state, decided_by, decided_at`

const itemColumns = `request_id, access_state_id, application_id, application_title, provisioning_type,
	resource_id, resource_title, permissions, submitted_at, revocation_id, refusal, status`

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
		r.Grantee.Email, r.Reason, r.All, r.Channel, r.MessageTS, micros(r.CreatedAt), string(r.State),
		r.DecidedBy, micros(r.DecidedAt))
	if err != nil {
		return false, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err
	}
	for i, it := range r.Items {
		perms, err := json.Marshal(permissionsOf(it.Permissions))
		if err != nil {
			return false, err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO items (position, `+itemColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			i, r.ID.String(), it.AccessStateID, it.ApplicationID, it.ApplicationTitle, it.ProvisioningType,
			it.ResourceID, it.ResourceTitle, string(perms), micros(it.SubmittedAt), it.RevocationID,
			it.Refusal, string(it.Status))
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
	r, err := scanRequest(q.QueryRowContext(ctx, `SELECT `+requestColumns+` FROM requests WHERE id = ?`, id))
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
	requests, err := collect(rows, scanRequest)
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
func (s *Store) Decide(ctx context.Context, r store.Request, d store.Decision) (store.Request, bool, error) {
	if d.State != store.Approved && d.State != store.Rejected {
		return store.Request{}, false, fmt.Errorf("decide request %s: %q is not a decision", r.ID, d.State)
	}
	var (
		stored  store.Request
		decided bool
	)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		r.State = store.Pending
		if _, err := insertRequest(ctx, tx, r); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE requests SET state = ?, decided_by = ?, decided_at = ?
			WHERE id = ? AND state = 'pending'`, string(d.State), d.By, micros(d.At), r.ID.String())
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		decided = n == 1
		stored, err = requestByID(ctx, tx, r.ID.String())
		return err
	})
	if err != nil {
		return store.Request{}, false, fmt.Errorf("decide request %s: %w", r.ID, err)
	}
	return stored, decided, nil
}

// ExpirePending expires pending requests created before cutoff and returns them.
func (s *Store) ExpirePending(ctx context.Context, cutoff time.Time) ([]store.Request, error) {
	var expired []store.Request
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `UPDATE requests SET state = 'expired'
			WHERE state = 'pending' AND created_at < ? RETURNING id`, micros(cutoff))
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

// MarkSubmitting records the first submission attempt of an item.
func (s *Store) MarkSubmitting(ctx context.Context, id uuid.UUID, accessStateID string, at time.Time) (store.Item, error) {
	var item store.Item
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE items SET submitted_at = ?
			WHERE request_id = ? AND access_state_id = ? AND submitted_at = 0`, micros(at), id.String(), accessStateID); err != nil {
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
		return updateOne(ctx, tx, what, `UPDATE items SET revocation_id = ?, next_check = ?
			WHERE request_id = ? AND access_state_id = ?`, revocationID, micros(nextCheck), id.String(), accessStateID)
	})
}

// SetRefusal records that AccessOwl refused an item's submission for good.
func (s *Store) SetRefusal(ctx context.Context, id uuid.UUID, accessStateID, refusal string) error {
	return updateOne(ctx, s.db, fmt.Sprintf("set refusal of item %s of request %s", accessStateID, id),
		`UPDATE items SET refusal = ? WHERE request_id = ? AND access_state_id = ?`, refusal, id.String(), accessStateID)
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
	return collect(rows, scanTracked)
}

// TrackedRevocation returns one tracked revocation.
func (s *Store) TrackedRevocation(ctx context.Context, revocationID string) (store.Tracked, error) {
	t, err := scanTracked(s.db.QueryRowContext(ctx, `SELECT `+trackedColumns+` FROM items
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
		string(t.Status), micros(t.NextCheck), t.Unchanged, micros(t.UpdatedAt), t.RevocationID)
}

// ClaimPost reserves a reply once per request and key.
func (s *Store) ClaimPost(ctx context.Context, p store.Post) (bool, error) {
	res, err := s.db.ExecContext(ctx, `INSERT INTO posts (request_id, key, claimed_at)
		VALUES (?, ?, ?) ON CONFLICT (request_id, key) DO NOTHING`, p.RequestID.String(), p.Key, micros(p.ClaimedAt))
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
	rows, err := s.db.QueryContext(ctx, `SELECT request_id, key, claimed_at, posted_ts
		FROM posts WHERE posted_ts = '' ORDER BY claimed_at, request_id, key`)
	if err != nil {
		return nil, fmt.Errorf("list unposted replies: %w", err)
	}
	return collect(rows, func(row scanner) (store.Post, error) {
		var (
			p         store.Post
			requestID string
			claimedAt int64
		)
		err := row.Scan(&requestID, &p.Key, &claimedAt, &p.PostedTS)
		if err != nil {
			return p, err
		}
		p.ClaimedAt = fromMicros(claimedAt)
		p.RequestID, err = uuid.Parse(requestID)
		return p, err
	})
}

// Audit appends a record to the audit trail.
func (s *Store) Audit(ctx context.Context, a store.AuditRecord) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO audit (at, request_id, actor, action, outcome, detail)
		VALUES (?, ?, ?, ?, ?, ?)`, micros(a.At), a.RequestID.String(), a.Actor, string(a.Action), string(a.Outcome), a.Detail)
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
	return collect(rows, func(row scanner) (store.AuditRecord, error) {
		var (
			a                   store.AuditRecord
			id, action, outcome string
			at                  int64
		)
		err := row.Scan(&at, &id, &a.Actor, &action, &outcome, &a.Detail)
		if err != nil {
			return a, err
		}
		a.At, a.Action, a.Outcome = fromMicros(at), store.Action(action), store.Outcome(outcome)
		a.RequestID, err = uuid.Parse(id)
		return a, err
	})
}

// execer is what *sql.DB and *sql.Tx share for writing.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// updateOne runs an UPDATE that must change exactly one row, and reports ErrNotFound otherwise.
func updateOne(ctx context.Context, db execer, what, query string, args ...any) error {
	res, err := db.ExecContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return nil
}

func (s *Store) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// scanner is what *sql.Row and *sql.Rows share.
type scanner interface {
	Scan(dest ...any) error
}

func scanRequest(row scanner) (store.Request, error) {
	var (
		r                    store.Request
		id, state            string
		createdAt, decidedAt int64
	)
	err := row.Scan(&id, &r.RequesterID, &r.Grantee.AccessOwlID, &r.Grantee.SlackID, &r.Grantee.Name,
		&r.Grantee.Email, &r.Reason, &r.All, &r.Channel, &r.MessageTS, &createdAt, &state, &r.DecidedBy, &decidedAt)
	if err != nil {
		return r, err
	}
	if r.ID, err = uuid.Parse(id); err != nil {
		return r, fmt.Errorf("request ID %q: %w", id, err)
	}
	r.State = store.State(state)
	r.CreatedAt, r.DecidedAt = fromMicros(createdAt), fromMicros(decidedAt)
	return r, nil
}

func scanItem(row scanner) (store.Item, error) {
	var (
		it                   store.Item
		requestID, perms, st string
		submittedAt          int64
	)
	err := row.Scan(&requestID, &it.AccessStateID, &it.ApplicationID, &it.ApplicationTitle, &it.ProvisioningType,
		&it.ResourceID, &it.ResourceTitle, &perms, &submittedAt, &it.RevocationID, &it.Refusal, &st)
	if err != nil {
		return it, err
	}
	var stored []permission
	if err := json.Unmarshal([]byte(perms), &stored); err != nil {
		return it, fmt.Errorf("permissions of item %s: %w", it.AccessStateID, err)
	}
	for _, p := range stored {
		it.Permissions = append(it.Permissions, store.Permission(p))
	}
	it.SubmittedAt, it.Status = fromMicros(submittedAt), store.Status(st)
	return it, nil
}

func scanTracked(row scanner) (store.Tracked, error) {
	var (
		t                    store.Tracked
		requestID, status    string
		nextCheck, updatedAt int64
	)
	err := row.Scan(&t.RevocationID, &requestID, &t.AccessStateID, &status, &nextCheck, &t.Unchanged, &updatedAt)
	if err != nil {
		return t, err
	}
	t.Status, t.NextCheck, t.UpdatedAt = store.Status(status), fromMicros(nextCheck), fromMicros(updatedAt)
	t.RequestID, err = uuid.Parse(requestID)
	return t, err
}

// permission is a permission as the items table keeps it, in JSON.
type permission struct {
	ID       string `json:"id,omitempty"`
	Title    string `json:"title"`
	Elevated bool   `json:"elevated,omitempty"`
}

func permissionsOf(ps []store.Permission) []permission {
	out := make([]permission, len(ps))
	for i, p := range ps {
		out[i] = permission(p)
	}
	return out
}

func collect[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}
