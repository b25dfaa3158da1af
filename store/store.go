// Package store holds revokebot's durable state — revocation requests and the accesses each one
// revokes, the decisions on them, the revocations being tracked, the replies posted about them,
// and the audit trail — and the small interfaces an implementation satisfies. Every rule that
// keeps the bot's promises under retries, redeliveries and several replicas is an atomic
// operation here: a decision is a compare-and-set, a reply is claimed before it is posted, a
// revocation belongs to one access of one request. storetest checks any implementation against
// those rules.
package store

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"

	"revokebot/apiclient"
)

// ErrNotFound is returned when a request, an item or a revocation is not in the store.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a write would break a rule of the store, such as linking one
// AccessOwl revocation to two accesses.
var ErrConflict = errors.New("conflict")

// State is where a request stands in its approval.
type State string

// The states of a request. Only pending moves, and only once.
const (
	Pending  State = "pending"
	Approved State = "approved"
	Rejected State = "rejected"
	Expired  State = "expired"
)

// Status is where an AccessOwl revocation stands; it is the client's type, so that one status
// type runs from AccessOwl's JSON through the store to what people read.
type Status = apiclient.RevocationStatus

// Person is someone whose access a request revokes.
type Person struct {
	AccessOwlID string // AccessOwl user ID
	SlackID     string // Slack user ID, when known
	Name        string
	Email       string
}

// Request is one revocation request: whose access, which accesses, why, who asked, where it was
// posted and how it was decided. Its ID comes from the Slack interaction that created it, so a
// redelivered interaction is the same request.
type Request struct {
	ID          uuid.UUID
	RequesterID string // Slack user ID of the person who asked
	Grantee     Person
	Reason      string
	// All marks an offboarding: every access the grantee had when the request was made. Its
	// items are submitted with keys derived per access (see Key).
	All bool
	// Items are the accesses the request revokes, fixed when it is created: what the approvers
	// see is exactly what is revoked. A request made for one access has one item.
	Items []Item

	Channel   string // where the approval message is
	MessageTS string // its ts, once posted
	CreatedAt time.Time

	State     State
	DecidedBy string // Slack user ID
	DecidedAt time.Time
}

// Item is one access a request revokes, and what became of it at AccessOwl.
type Item struct {
	AccessStateID    string
	ApplicationID    string
	ApplicationTitle string
	ProvisioningType string // AccessOwl's automatic or application_admin
	ResourceID       string // empty when the access is application-wide
	ResourceTitle    string
	Permissions      []Permission

	// SubmittedAt is when the first submission to AccessOwl was attempted; a revocation found
	// after a 409 must have been created no earlier.
	SubmittedAt time.Time
	// RevocationID is AccessOwl's revocation of this access, once known. One revocation belongs
	// to one item of one request.
	RevocationID string
	// Refusal is what AccessOwl said when it refused the submission for good (a 4xx); a refused
	// item is not submitted again.
	Refusal string
	// LastError is what the latest attempt to submit the item met when AccessOwl did not answer
	// (5xx, timeouts, a network error), while it is being retried; empty once it is settled.
	LastError string
	// Status is the revocation's status as last announced in the request's thread; empty until
	// the first announcement.
	Status Status
}

// Permission is one permission of an access.
type Permission struct {
	ID       string
	Title    string
	Elevated bool
}

// Settled reports whether nothing more will be sent to AccessOwl for the item: it has a
// revocation or was refused.
func (it Item) Settled() bool { return it.RevocationID != "" || it.Refusal != "" }

// Key is the Idempotency-Key of an item's submission. A request made for one access uses its
// own ID, as it always has; the items of an offboarding each get a name-based UUID of the
// request's ID and the access state, so every attempt of every item, on every replica, after
// every restart, sends the same key.
func (r Request) Key(it Item) string {
	if !r.All {
		return r.ID.String()
	}
	return uuid.NewSHA1(r.ID, []byte(it.AccessStateID)).String()
}

// Item returns the request's item for an access state.
func (r Request) Item(accessStateID string) (Item, bool) {
	for _, it := range r.Items {
		if it.AccessStateID == accessStateID {
			return it, true
		}
	}
	return Item{}, false
}

// Decision is an approver's verdict on a pending request.
type Decision struct {
	State State // Approved or Rejected
	By    string
	At    time.Time
}

// Tracked is a submitted revocation being followed until AccessOwl closes it: the tracking side
// of an item.
type Tracked struct {
	RevocationID  string
	RequestID     uuid.UUID
	AccessStateID string
	Status        Status    // the status last announced; empty until the first
	NextCheck     time.Time // not worth asking AccessOwl again before this
	Unchanged     int       // checks in a row that saw no change, for backoff
	UpdatedAt     time.Time
}

// Post is a reply in a request's thread that is, or is to be, posted exactly once. Key names
// what it announces, uniquely within the request (see revoke's event keys).
type Post struct {
	RequestID uuid.UUID
	Key       string
	ClaimedAt time.Time
	// Claimer names the process that claimed it, so that recovery can tell a claim of a process
	// that died (post it now) from one a live process may be posting right now (wait).
	Claimer  string
	PostedTS string // the reply's ts; empty until posted
}

// Requests stores requests and their approval messages.
type Requests interface {
	// CreateRequest stores r and its items unless a request with its ID exists. It reports
	// whether this call created it; only the creator posts the approval message.
	CreateRequest(ctx context.Context, r Request) (created bool, err error)
	// Request returns the request with the given ID, with its items, or ErrNotFound.
	Request(ctx context.Context, id uuid.UUID) (Request, error)
	// RequestByRevocation returns the request one of whose items created an AccessOwl revocation.
	RequestByRevocation(ctx context.Context, revocationID string) (Request, error)
	// SetMessage records where the approval message of a request was posted.
	SetMessage(ctx context.Context, id uuid.UUID, channel, ts string) error
	// UnpostedRequests returns the pending requests with no approval message recorded and no
	// post claimed under key, oldest first: a crash came between storing one and claiming its
	// post. (A claimed post is the business of the claims' own recovery.)
	UnpostedRequests(ctx context.Context, key string) ([]Request, error)
}

// Decisions records decisions and expiry: the only ways a request leaves pending.
type Decisions interface {
	// Decide records d if the request is pending and returns the request as stored afterwards,
	// with decided true if this call made the decision. A request already decided or expired is
	// returned unchanged; one the store never had is ErrNotFound.
	Decide(ctx context.Context, id uuid.UUID, d Decision) (stored Request, decided bool, err error)
	// ExpirePending moves every request still pending that was created before cutoff to
	// Expired and returns those this call moved.
	ExpirePending(ctx context.Context, cutoff time.Time) ([]Request, error)
}

// Submissions records what became of each item's submission to AccessOwl.
type Submissions interface {
	// MarkSubmitting records the first attempt to submit an item; later calls keep the earliest
	// time. It returns the item as stored.
	MarkSubmitting(ctx context.Context, id uuid.UUID, accessStateID string, at time.Time) (Item, error)
	// SetRevocation records the AccessOwl revocation an item created and starts tracking it,
	// first checked at nextCheck. Recording the same revocation again changes nothing; a
	// revocation already linked to another item, or an item already linked to another
	// revocation, is ErrConflict.
	SetRevocation(ctx context.Context, id uuid.UUID, accessStateID, revocationID string, nextCheck time.Time) error
	// SetRefusal records that AccessOwl refused an item's submission for good.
	SetRefusal(ctx context.Context, id uuid.UUID, accessStateID, refusal string) error
	// SetSubmitError records what the latest attempt to submit an item met, while it is retried;
	// SetRevocation and SetRefusal clear it.
	SetSubmitError(ctx context.Context, id uuid.UUID, accessStateID, lastError string) error
	// Unsubmitted returns the approved requests that have an item with neither a revocation nor
	// a refusal, oldest first: their submission was interrupted, and the same key and body can
	// safely finish it.
	Unsubmitted(ctx context.Context) ([]Request, error)
}

// Tracking follows submitted revocations until they are final.
type Tracking interface {
	// Tracking returns every tracked revocation whose status is not final, soonest check first.
	Tracking(ctx context.Context) ([]Tracked, error)
	// TrackedRevocation returns one tracked revocation, final or not, or ErrNotFound.
	TrackedRevocation(ctx context.Context, revocationID string) (Tracked, error)
	// UpdateTracked saves what the latest check of a tracked revocation found.
	UpdateTracked(ctx context.Context, t Tracked) error
}

// Posts makes each thread reply happen once, across restarts and replicas.
type Posts interface {
	// ClaimPost reserves a reply. It reports false when the same key was claimed before for
	// the request, so no reply is posted twice.
	ClaimPost(ctx context.Context, p Post) (claimed bool, err error)
	// MarkPosted records the ts of a claimed reply.
	MarkPosted(ctx context.Context, requestID uuid.UUID, key, ts string) error
	// UnpostedPosts returns claimed replies whose ts was never recorded, oldest first: after a
	// crash they are checked against the thread and posted if missing.
	UnpostedPosts(ctx context.Context) ([]Post, error)
	// Post returns the claim of a request's reply by its key, with its ts once posted: where a
	// reply that is kept up to date (an offboarding's progress) is. ErrNotFound if unclaimed.
	Post(ctx context.Context, requestID uuid.UUID, key string) (Post, error)
}

// AuditLog is the append-only audit trail.
type AuditLog interface {
	// Audit appends a record to the audit trail.
	Audit(ctx context.Context, a AuditRecord) error
	// AuditTrail returns a request's audit records, oldest first.
	AuditTrail(ctx context.Context, requestID uuid.UUID) ([]AuditRecord, error)
	// AuditSince calls fn with every audit record made at or after since and before until (a
	// zero until has no end), oldest first and, at the same time, in the order they were
	// appended. It reads them as it goes, so that an export of years of records does not hold
	// them all in memory; fn must not call the store. It stops at fn's first error and returns it.
	AuditSince(ctx context.Context, since, until time.Time, fn func(AuditRecord) error) error
}

// Retention deletes what is kept past its time, in small batches so that no call holds the store
// for long, and says how much is kept.
type Retention interface {
	// DeleteFinishedBefore deletes up to limit finished requests whose last activity was before
	// cutoff, oldest first, with their items, replies and asks, and returns how many requests it
	// deleted. A request is finished when it was rejected or expired, or approved with every
	// item final — its revocation revoked or rejected, or its submission refused — and none of
	// its claimed replies is unposted. Its last activity is the latest of its creation, its
	// decision, its items' first submission and last status check, and its replies' claims. So
	// a pending request, an approved one with an access not final, and one with a reply claimed
	// but not posted are never deleted, however old.
	DeleteFinishedBefore(ctx context.Context, cutoff time.Time, limit int) (int, error)
	// DeleteAuditBefore deletes up to limit audit records made before cutoff, oldest first, and
	// returns how many it deleted.
	DeleteAuditBefore(ctx context.Context, cutoff time.Time, limit int) (int, error)
	// Count returns how many rows of each kind the store holds.
	Count(ctx context.Context) (Counts, error)
}

// Counts is how much a store holds: requests, their items, claimed replies and audit records.
type Counts struct {
	Requests int64
	Items    int64
	Posts    int64
	Audit    int64
}

// Store is everything an implementation provides. Each method must be atomic: several replicas
// may call them at once. Consumers take the smaller interfaces they need.
type Store interface {
	Requests
	Decisions
	Submissions
	Tracking
	Posts
	Asks
	AuditLog
	Retention
	// Ping reports whether the store can be used, writes included, for readiness probes; it
	// must stay cheap and grow nothing.
	Ping(ctx context.Context) error
	Close() error
}

// Label is how an access is named in lists, the form and the audit trail:
// Application · Resource · permissions.
func (it Item) Label() string {
	parts := []string{it.ApplicationTitle}
	if it.ResourceTitle != "" {
		parts = append(parts, it.ResourceTitle)
	} else if it.ResourceID == "" {
		parts = append(parts, "whole application")
	}
	if len(it.Permissions) > 0 {
		titles := make([]string, len(it.Permissions))
		for i, p := range it.Permissions {
			titles[i] = p.Title
			if p.Elevated {
				titles[i] += " (elevated)"
			}
		}
		parts = append(parts, strings.Join(titles, ", "))
	}
	return strings.Join(parts, " · ")
}
