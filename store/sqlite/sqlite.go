// Package sqlite is the embedded Store: one SQLite file under DATA_DIR, through the pure-Go
// modernc.org/sqlite driver so the binary stays static. It suits a single replica; several
// replicas need a shared database.
package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
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
	grantee_email, access_state_id, application_id, application_title, provisioning_type,
	resource_id, resource_title, permissions, reason, channel, message_ts, created_at, state,
	decided_by, decided_at, submitted_at, revocation_id, refusal`

// CreateRequest stores r unless a request with its ID exists.
func (s *Store) CreateRequest(ctx context.Context, r store.Request) (bool, error) {
	var created bool
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		n, err := insertRequest(ctx, tx, r)
		created = n == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("create request %s: %w", r.ID, err)
	}
	return created, nil
}

// insertRequest inserts r unless its ID exists and returns the number of rows inserted.
func insertRequest(ctx context.Context, tx *sql.Tx, r store.Request) (int64, error) {
	if r.State == "" {
		r.State = store.Pending
	}
	perms, err := json.Marshal(nonNil(r.Permissions))
	if err != nil {
		return 0, err
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO requests (`+requestColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`,
		r.ID.String(), r.RequesterID, r.Grantee.AccessOwlID, r.Grantee.SlackID, r.Grantee.Name,
		r.Grantee.Email, r.AccessStateID, r.ApplicationID, r.ApplicationTitle, r.ProvisioningType,
		r.ResourceID, r.ResourceTitle, string(perms), r.Reason, r.Channel, r.MessageTS,
		micros(r.CreatedAt), string(r.State), r.DecidedBy, micros(r.DecidedAt),
		micros(r.SubmittedAt), r.RevocationID, r.Refusal)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// Request returns the request with the given ID.
func (s *Store) Request(ctx context.Context, id uuid.UUID) (store.Request, error) {
	return s.requestWhere(ctx, s.db, "id = ?", id.String())
}

// RequestByRevocation returns the request that created an AccessOwl revocation.
func (s *Store) RequestByRevocation(ctx context.Context, revocationID string) (store.Request, error) {
	if revocationID == "" {
		return store.Request{}, store.ErrNotFound
	}
	return s.requestWhere(ctx, s.db, "revocation_id = ?", revocationID)
}

// queryer is what *sql.DB and *sql.Tx share for reading.
type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *Store) requestWhere(ctx context.Context, q queryer, where string, args ...any) (store.Request, error) {
	r, err := scanRequest(q.QueryRowContext(ctx, `SELECT `+requestColumns+` FROM requests WHERE `+where, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Request{}, store.ErrNotFound
	}
	return r, err
}

// SetMessage records where a request's approval message was posted.
func (s *Store) SetMessage(ctx context.Context, id uuid.UUID, channel, ts string) error {
	return s.updateOne(ctx, "set message of request "+id.String(),
		`UPDATE requests SET channel = ?, message_ts = ? WHERE id = ?`, channel, ts, id.String())
}

// Decide records d if the request is pending; see store.Store.
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
		stored, err = s.requestWhere(ctx, tx, "id = ?", r.ID.String())
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
			WHERE state = 'pending' AND created_at < ? RETURNING `+requestColumns, micros(cutoff))
		if err != nil {
			return err
		}
		expired, err = collect(rows, scanRequest)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("expire requests: %w", err)
	}
	return expired, nil
}

// MarkSubmitting records the first submission attempt of a request.
func (s *Store) MarkSubmitting(ctx context.Context, id uuid.UUID, at time.Time) (store.Request, error) {
	var stored store.Request
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE requests SET submitted_at = ?
			WHERE id = ? AND submitted_at = 0`, micros(at), id.String()); err != nil {
			return err
		}
		var err error
		stored, err = s.requestWhere(ctx, tx, "id = ?", id.String())
		return err
	})
	if err != nil {
		return store.Request{}, fmt.Errorf("mark request %s submitting: %w", id, err)
	}
	return stored, nil
}

// SetRevocation records the AccessOwl revocation a request created.
func (s *Store) SetRevocation(ctx context.Context, id uuid.UUID, revocationID string) error {
	return s.updateOne(ctx, "set revocation of request "+id.String(),
		`UPDATE requests SET revocation_id = ? WHERE id = ?`, revocationID, id.String())
}

// SetRefusal records that AccessOwl refused a request's submission for good.
func (s *Store) SetRefusal(ctx context.Context, id uuid.UUID, refusal string) error {
	return s.updateOne(ctx, "set refusal of request "+id.String(),
		`UPDATE requests SET refusal = ? WHERE id = ?`, refusal, id.String())
}

// Unsubmitted returns approved requests with neither a revocation nor a refusal, oldest first.
func (s *Store) Unsubmitted(ctx context.Context) ([]store.Request, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+requestColumns+` FROM requests
		WHERE state = 'approved' AND revocation_id = '' AND refusal = '' ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list unsubmitted requests: %w", err)
	}
	return collect(rows, scanRequest)
}

// Track starts following a revocation.
func (s *Store) Track(ctx context.Context, t store.Tracked) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO tracked
		(revocation_id, request_id, status, next_check, unchanged, final, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (revocation_id) DO NOTHING`,
		t.RevocationID, t.RequestID.String(), t.Status, micros(t.NextCheck), t.Unchanged, t.Final, micros(t.UpdatedAt))
	if err != nil {
		return fmt.Errorf("track revocation %s: %w", t.RevocationID, err)
	}
	return nil
}

// UpdateTracked saves the latest check of a tracked revocation.
func (s *Store) UpdateTracked(ctx context.Context, t store.Tracked) error {
	return s.updateOne(ctx, "update tracked revocation "+t.RevocationID,
		`UPDATE tracked SET status = ?, next_check = ?, unchanged = ?, final = ?, updated_at = ?
		WHERE revocation_id = ?`,
		t.Status, micros(t.NextCheck), t.Unchanged, t.Final, micros(t.UpdatedAt), t.RevocationID)
}

// Tracking returns the revocations still being followed, soonest check first.
func (s *Store) Tracking(ctx context.Context) ([]store.Tracked, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT revocation_id, request_id, status, next_check,
		unchanged, final, updated_at FROM tracked WHERE final = 0 ORDER BY next_check, revocation_id`)
	if err != nil {
		return nil, fmt.Errorf("list tracked revocations: %w", err)
	}
	return collect(rows, func(row scanner) (store.Tracked, error) {
		var (
			t                    store.Tracked
			requestID            string
			nextCheck, updatedAt int64
		)
		err := row.Scan(&t.RevocationID, &requestID, &t.Status, &nextCheck, &t.Unchanged, &t.Final, &updatedAt)
		if err != nil {
			return t, err
		}
		t.NextCheck, t.UpdatedAt = fromMicros(nextCheck), fromMicros(updatedAt)
		t.RequestID, err = uuid.Parse(requestID)
		return t, err
	})
}

// ClaimStatus reserves the announcement of a status change.
func (s *Store) ClaimStatus(ctx context.Context, p store.StatusPost) (bool, error) {
	res, err := s.db.ExecContext(ctx, `INSERT INTO status_posts (revocation_id, status, request_id, claimed_at)
		VALUES (?, ?, ?, ?) ON CONFLICT (revocation_id, status) DO NOTHING`,
		p.RevocationID, p.Status, p.RequestID.String(), micros(p.ClaimedAt))
	if err != nil {
		return false, fmt.Errorf("claim status %s of %s: %w", p.Status, p.RevocationID, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// MarkStatusPosted records the thread reply that announced a status.
func (s *Store) MarkStatusPosted(ctx context.Context, revocationID, status, ts string) error {
	return s.updateOne(ctx, fmt.Sprintf("mark status %s of %s posted", status, revocationID),
		`UPDATE status_posts SET posted_ts = ? WHERE revocation_id = ? AND status = ?`, ts, revocationID, status)
}

// UnpostedStatuses returns claimed statuses with no recorded reply, oldest first.
func (s *Store) UnpostedStatuses(ctx context.Context) ([]store.StatusPost, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT revocation_id, request_id, status, claimed_at, posted_ts
		FROM status_posts WHERE posted_ts = '' ORDER BY claimed_at, revocation_id, status`)
	if err != nil {
		return nil, fmt.Errorf("list unposted statuses: %w", err)
	}
	return collect(rows, func(row scanner) (store.StatusPost, error) {
		var (
			p         store.StatusPost
			requestID string
			claimedAt int64
		)
		err := row.Scan(&p.RevocationID, &requestID, &p.Status, &claimedAt, &p.PostedTS)
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
		VALUES (?, ?, ?, ?, ?, ?)`, micros(a.At), a.RequestID.String(), a.Actor, a.Action, a.Outcome, a.Detail)
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
			a  store.AuditRecord
			id string
			at int64
		)
		err := row.Scan(&at, &id, &a.Actor, &a.Action, &a.Outcome, &a.Detail)
		if err != nil {
			return a, err
		}
		a.At = fromMicros(at)
		a.RequestID, err = uuid.Parse(id)
		return a, err
	})
}

// updateOne runs an UPDATE that must change exactly one row, and reports ErrNotFound otherwise.
func (s *Store) updateOne(ctx context.Context, what, query string, args ...any) error {
	res, err := s.db.ExecContext(ctx, query, args...)
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
		r                                 store.Request
		id, perms, state                  string
		createdAt, decidedAt, submittedAt int64
	)
	err := row.Scan(&id, &r.RequesterID, &r.Grantee.AccessOwlID, &r.Grantee.SlackID, &r.Grantee.Name,
		&r.Grantee.Email, &r.AccessStateID, &r.ApplicationID, &r.ApplicationTitle, &r.ProvisioningType,
		&r.ResourceID, &r.ResourceTitle, &perms, &r.Reason, &r.Channel, &r.MessageTS, &createdAt, &state,
		&r.DecidedBy, &decidedAt, &submittedAt, &r.RevocationID, &r.Refusal)
	if err != nil {
		return r, err
	}
	if r.ID, err = uuid.Parse(id); err != nil {
		return r, fmt.Errorf("request ID %q: %w", id, err)
	}
	if err := json.Unmarshal([]byte(perms), &r.Permissions); err != nil {
		return r, fmt.Errorf("permissions of request %s: %w", id, err)
	}
	r.State = store.State(state)
	r.CreatedAt, r.DecidedAt, r.SubmittedAt = fromMicros(createdAt), fromMicros(decidedAt), fromMicros(submittedAt)
	return r, nil
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

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
