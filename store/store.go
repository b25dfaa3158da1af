// Package store holds revokebot's durable state — revocation requests, the decisions on them,
// the revocations being tracked, the statuses posted about them, and the audit trail — and the
// Store interface an implementation must satisfy. Every rule that keeps the bot's promises under
// retries, redeliveries and several replicas is an atomic operation here: a decision is a
// compare-and-set, a status is claimed before it is posted. storetest checks any implementation
// against those rules.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
)

// ErrNotFound is returned when a request or revocation is not in the store.
var ErrNotFound = errors.New("not found")

// State is where a request stands in its approval.
type State string

// The states of a request. Only pending moves, and only once.
const (
	Pending  State = "pending"
	Approved State = "approved"
	Rejected State = "rejected"
	Expired  State = "expired"
)

// Person is someone whose access a request revokes.
type Person struct {
	AccessOwlID string // AccessOwl user ID
	SlackID     string // Slack user ID, when known
	Name        string
	Email       string
}

// Request is one revocation request: what to revoke, why, who asked, and where it was posted.
// Its ID comes from the Slack interaction that created it, so a redelivered interaction is the
// same request.
type Request struct {
	ID          uuid.UUID
	RequesterID string // Slack user ID of the person who asked

	Grantee          Person
	AccessStateID    string
	ApplicationID    string
	ApplicationTitle string
	ProvisioningType string // AccessOwl's automatic or application_admin
	ResourceID       string // empty when the access is application-wide
	ResourceTitle    string
	Permissions      []string // permission titles, for people to read
	Reason           string

	Channel   string // where the approval message is
	MessageTS string // its ts, once posted
	CreatedAt time.Time

	State     State
	DecidedBy string // Slack user ID
	DecidedAt time.Time

	// SubmittedAt is when the first submission to AccessOwl was attempted; a revocation found
	// after a 409 must have been created no earlier.
	SubmittedAt  time.Time
	RevocationID string // AccessOwl's ID, once known
	// Refusal is what AccessOwl said when it refused the submission for good (a 4xx); a refused
	// request is not submitted again.
	Refusal string
}

// Decision is an approver's verdict on a pending request.
type Decision struct {
	State State // Approved or Rejected
	By    string
	At    time.Time
}

// Tracked is a submitted revocation being followed until AccessOwl closes it.
type Tracked struct {
	RevocationID string
	RequestID    uuid.UUID
	Status       string    // the last status AccessOwl reported
	NextCheck    time.Time // not worth asking AccessOwl again before this
	Unchanged    int       // checks in a row that saw no change, for backoff
	Final        bool      // revoked or rejected: no more checks
	UpdatedAt    time.Time
}

// StatusPost is a status change that is, or is to be, announced in a request's thread.
type StatusPost struct {
	RevocationID string
	RequestID    uuid.UUID
	Status       string
	ClaimedAt    time.Time
	PostedTS     string // the thread reply's ts; empty until posted
}

// BotActor is the audit trail's actor for what the bot does on its own.
const BotActor = "revokebot"

// AuditRecord is one entry of the audit trail: who did what to which request, and how it ended.
type AuditRecord struct {
	At        time.Time
	RequestID uuid.UUID
	Actor     string // a Slack user ID, or BotActor for the bot's own actions
	Action    string // e.g. "request", "approve", "reject", "submit", "status"
	Outcome   string // e.g. "ok", "already submitted", "refused: not an approver"
	Detail    string
}

// Store is revokebot's durable state. Implementations must make each method atomic: several
// replicas may call them at once.
type Store interface {
	// CreateRequest stores r unless a request with its ID exists. It reports whether this call
	// created it; only the creator posts the approval message.
	CreateRequest(ctx context.Context, r Request) (created bool, err error)
	// Request returns the request with the given ID, or ErrNotFound.
	Request(ctx context.Context, id uuid.UUID) (Request, error)
	// RequestByRevocation returns the request that created an AccessOwl revocation.
	RequestByRevocation(ctx context.Context, revocationID string) (Request, error)
	// SetMessage records where the approval message of a request was posted.
	SetMessage(ctx context.Context, id uuid.UUID, channel, ts string) error
	// Decide records d if the request is pending and returns the request as stored afterwards,
	// with decided true if this call made the decision. A request missing from the store is
	// created from r first, so a click can be decided from what its button carries. A request
	// already decided or expired is returned unchanged.
	Decide(ctx context.Context, r Request, d Decision) (stored Request, decided bool, err error)
	// ExpirePending moves every request still pending that was created before cutoff to
	// Expired and returns those this call moved.
	ExpirePending(ctx context.Context, cutoff time.Time) ([]Request, error)
	// MarkSubmitting records the first attempt to submit a request to AccessOwl; later calls
	// keep the earliest time. It returns the request as stored.
	MarkSubmitting(ctx context.Context, id uuid.UUID, at time.Time) (Request, error)
	// SetRevocation records the AccessOwl revocation a request created.
	SetRevocation(ctx context.Context, id uuid.UUID, revocationID string) error
	// SetRefusal records that AccessOwl refused a request's submission for good.
	SetRefusal(ctx context.Context, id uuid.UUID, refusal string) error
	// Unsubmitted returns the approved requests that have neither a revocation nor a refusal:
	// their submission was interrupted, and the same key and body can safely finish it.
	Unsubmitted(ctx context.Context) ([]Request, error)

	// Track starts following a revocation; tracking one already followed changes nothing.
	Track(ctx context.Context, t Tracked) error
	// UpdateTracked saves what the latest check of a tracked revocation found.
	UpdateTracked(ctx context.Context, t Tracked) error
	// Tracking returns every tracked revocation that is not final, soonest check first.
	Tracking(ctx context.Context) ([]Tracked, error)

	// ClaimStatus reserves the announcement of a status change. It reports false when the same
	// status of the same revocation was claimed before, so no status is announced twice.
	ClaimStatus(ctx context.Context, p StatusPost) (claimed bool, err error)
	// MarkStatusPosted records the thread reply that announced a claimed status.
	MarkStatusPosted(ctx context.Context, revocationID, status, ts string) error
	// UnpostedStatuses returns claimed statuses whose reply was never recorded, oldest first:
	// after a crash they are checked against the thread and posted if missing.
	UnpostedStatuses(ctx context.Context) ([]StatusPost, error)

	// Audit appends a record to the audit trail.
	Audit(ctx context.Context, a AuditRecord) error
	// AuditTrail returns a request's audit records, oldest first.
	AuditTrail(ctx context.Context, requestID uuid.UUID) ([]AuditRecord, error)

	// Ping reports whether the store can be used, for readiness probes.
	Ping(ctx context.Context) error
	Close() error
}
