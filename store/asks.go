package store

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// Ask records who a request's thread asked to finish an admin-provisioned revocation by hand:
// they, and the approvers, may mark it revoked or say it could not be, and reminders mention
// them while it waits.
type Ask struct {
	RevocationID  string
	RequestID     uuid.UUID
	AccessStateID string
	// Asked are the Slack user IDs of the application's admins and owner who are in Slack, in
	// order; empty when none of them is, and the approvers were asked instead.
	Asked []string
	// AskedAt is when the ask was recorded; its reminders count from it.
	AskedAt time.Time
}

// Asks keeps the asks of admin-provisioned revocations, and finds what reminders are about.
type Asks interface {
	// SaveAsk records a unless its revocation has an ask, and returns the ask as stored: the
	// first one saved wins, so replicas that resolve the admins at the same moment agree on who
	// was asked. A request the store does not have is ErrNotFound.
	SaveAsk(ctx context.Context, a Ask) (Ask, error)
	// Ask returns the ask of a revocation, or ErrNotFound.
	Ask(ctx context.Context, revocationID string) (Ask, error)
	// Unasked returns the tracked revocations of admin-provisioned items (provisioning type
	// application_admin) whose announced status is processing_access and that have no ask yet,
	// oldest submission first.
	Unasked(ctx context.Context) ([]Tracked, error)
	// WaitingAsks returns the asks whose revocation is not final yet, oldest first.
	WaitingAsks(ctx context.Context) ([]Ask, error)
	// PendingPosted returns the pending requests whose approval message is posted, oldest
	// first: those whose approvers may need reminding.
	PendingPosted(ctx context.Context) ([]Request, error)
}
