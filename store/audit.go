package store

import (
	"time"

	"github.com/google/uuid"
)

// BotActor is the audit trail's actor for what the bot does on its own.
const BotActor = "revokebot"

// Action is what an audit record is about.
type Action string

// The actions the audit trail records.
const (
	ActionRequest Action = "request" // a request was made and posted
	ActionApprove Action = "approve" // an approver's Approve click
	ActionReject  Action = "reject"  // an approver's Reject click
	ActionSubmit  Action = "submit"  // a submission to AccessOwl and its result
	ActionResume  Action = "resume"  // the bot resumed an interrupted submission
	ActionStatus  Action = "status"  // a revocation's status announced in the thread
	ActionExpire  Action = "expire"  // a request expired undecided
	// ActionAsk: the admins of an admin-provisioned application were asked in the thread.
	ActionAsk Action = "ask"
	// ActionRemind: approvers or admins were reminded in the thread.
	ActionRemind Action = "remind"
	// ActionMarkRevoked and ActionCouldNotRevoke: a click that told AccessOwl an
	// admin-provisioned revocation is done, or could not be done.
	ActionMarkRevoked    Action = "mark revoked"
	ActionCouldNotRevoke Action = "could not revoke"
)

// Outcome is how an audited action ended. A status announcement's outcome is the status itself.
type Outcome string

// The outcomes the audit trail records.
const (
	OutcomeOK               Outcome = "ok"
	OutcomeCreated          Outcome = "created"
	OutcomeApproved         Outcome = "approved"
	OutcomeRejected         Outcome = "rejected"
	OutcomeExpired          Outcome = "expired"
	OutcomeAlreadySubmitted Outcome = "already submitted"
	// OutcomeAlreadyMarked: AccessOwl answered a mark's key with 409, or the revocation was closed.
	OutcomeAlreadyMarked Outcome = "already marked"
	OutcomeRefused       Outcome = "refused"
	OutcomeFailed        Outcome = "failed"
)

// Routine reports whether the outcome is what normally happens, as opposed to a refusal, a
// failure or a repeat that someone may want to look at.
func (o Outcome) Routine() bool {
	switch o {
	case OutcomeRefused, OutcomeFailed, OutcomeAlreadySubmitted:
		return false
	}
	return true
}

// AuditRecord is one entry of the audit trail: who did what to which request, and how it ended.
type AuditRecord struct {
	At        time.Time
	RequestID uuid.UUID
	Actor     string // a Slack user ID, or BotActor for the bot's own actions
	Action    Action
	Outcome   Outcome
	Detail    string
}
