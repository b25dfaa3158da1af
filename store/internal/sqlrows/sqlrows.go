// Package sqlrows reads the store's rows as the SQL stores keep them. The SQLite and PostgreSQL
// stores share their tables' columns and encodings — times as Unix microseconds, permissions
// and the people an ask named as JSON — so that migrate-store copies rows as they are and both
// read them with the same code.
package sqlrows

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"revokebot/store"
)

// Scanner is a row of either driver: *sql.Row, *sql.Rows, pgx.Row and pgx.Rows all have Scan.
type Scanner interface {
	Scan(dest ...any) error
}

// Micros is how a time is kept: Unix microseconds, 0 for "not yet".
func Micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// FromMicros is the time Micros kept.
func FromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

// RequestColumns are the columns Request reads, in its order.
const RequestColumns = `id, requester_id, grantee_accessowl_id, grantee_slack_id, grantee_name, grantee_email,
	reason, all_access, channel, message_ts, created_at, state, decided_by, decided_at`

// Request reads a request without its items.
func Request(row Scanner) (store.Request, error) {
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
	r.CreatedAt, r.DecidedAt = FromMicros(createdAt), FromMicros(decidedAt)
	return r, nil
}

// Item reads an item, its request's ID into requestID.
func Item(row Scanner, requestID *string) (store.Item, error) {
	var (
		it          store.Item
		perms, st   string
		submittedAt int64
	)
	err := row.Scan(requestID, &it.AccessStateID, &it.ApplicationID, &it.ApplicationTitle, &it.ProvisioningType,
		&it.ResourceID, &it.ResourceTitle, &perms, &submittedAt, &it.RevocationID, &it.Refusal, &it.LastError, &st)
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
	it.SubmittedAt, it.Status = FromMicros(submittedAt), store.Status(st)
	return it, nil
}

// Permissions is how an item's permissions are kept: a JSON array.
func Permissions(ps []store.Permission) (string, error) {
	out := make([]permission, len(ps))
	for i, p := range ps {
		out[i] = permission(p)
	}
	b, err := json.Marshal(out)
	return string(b), err
}

// permission is a permission as the items table keeps it, in JSON.
type permission struct {
	ID       string `json:"id,omitempty"`
	Title    string `json:"title"`
	Elevated bool   `json:"elevated,omitempty"`
}

// Tracked reads a tracked revocation.
func Tracked(row Scanner) (store.Tracked, error) {
	var (
		t                    store.Tracked
		requestID, status    string
		nextCheck, updatedAt int64
	)
	err := row.Scan(&t.RevocationID, &requestID, &t.AccessStateID, &status, &nextCheck, &t.Unchanged, &updatedAt)
	if err != nil {
		return t, err
	}
	t.Status, t.NextCheck, t.UpdatedAt = store.Status(status), FromMicros(nextCheck), FromMicros(updatedAt)
	t.RequestID, err = uuid.Parse(requestID)
	return t, err
}

// Post reads a claimed reply.
func Post(row Scanner) (store.Post, error) {
	var (
		p         store.Post
		requestID string
		claimedAt int64
	)
	if err := row.Scan(&requestID, &p.Key, &claimedAt, &p.Claimer, &p.PostedTS); err != nil {
		return p, err
	}
	p.ClaimedAt = FromMicros(claimedAt)
	var err error
	p.RequestID, err = uuid.Parse(requestID)
	return p, err
}

// Audit reads an audit record.
func Audit(row Scanner) (store.AuditRecord, error) {
	var (
		a                   store.AuditRecord
		id, action, outcome string
		at                  int64
	)
	if err := row.Scan(&at, &id, &a.Actor, &action, &outcome, &a.Detail); err != nil {
		return a, err
	}
	a.At, a.Action, a.Outcome = FromMicros(at), store.Action(action), store.Outcome(outcome)
	var err error
	a.RequestID, err = uuid.Parse(id)
	return a, err
}

// AskColumns are the columns Ask reads, in its order.
const AskColumns = `revocation_id, request_id, access_state_id, asked, asked_at`

// Ask reads an ask.
func Ask(row Scanner) (store.Ask, error) {
	var (
		a                store.Ask
		requestID, asked string
		askedAt          int64
	)
	if err := row.Scan(&a.RevocationID, &requestID, &a.AccessStateID, &asked, &askedAt); err != nil {
		return a, err
	}
	if err := json.Unmarshal([]byte(asked), &a.Asked); err != nil {
		return a, fmt.Errorf("asked of revocation %s: %w", a.RevocationID, err)
	}
	if len(a.Asked) == 0 {
		a.Asked = nil
	}
	a.AskedAt = FromMicros(askedAt)
	var err error
	a.RequestID, err = uuid.Parse(requestID)
	return a, err
}

// Asked is how the people an ask named are kept: a JSON array, empty for the approvers.
func Asked(ids []string) (string, error) {
	if ids == nil {
		ids = []string{}
	}
	b, err := json.Marshal(ids)
	return string(b), err
}
