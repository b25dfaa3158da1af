package revoke

import (
	"context"
	"fmt"

	"revokebot/store"
)

// Decided is what a click on Approve or Reject did.
type Decided struct {
	// Request is the request as stored after the click: its State and DecidedBy say who
	// decided what, which may be an earlier click's decision.
	Request store.Request
	// Decided reports whether this click made the decision.
	Decided bool
	// Submission is what an Approve sent to AccessOwl: on a request approved by this click or
	// an earlier one, every item is sent again with its key, and AccessOwl's 409 is the
	// arbiter. Empty for anything else.
	Submission Outcome
}

// Decide records an approver's decision on a request with a compare-and-set, tells the approval
// message and the thread, and on an approval submits every item. button is the request as the
// clicked button describes it, with the channel and ts of the message clicked; the store's copy
// wins whenever it has one. The caller has checked that the clicker may decide.
//
// A click that contradicts the recorded decision changes nothing. An Approve on a request
// already approved is not short-circuited: it goes to AccessOwl again with the same keys, which
// after a crash between the decision and the POST completes the submission.
func (s *Service) Decide(ctx context.Context, button store.Request, d store.Decision) (Decided, error) {
	action := store.ActionApprove
	if d.State == store.Rejected {
		action = store.ActionReject
	}
	stored, decided, err := s.store.Decide(ctx, button, d)
	if err != nil {
		return Decided{}, fmt.Errorf("decide request %s: %w", button.ID, err)
	}
	if stored.MessageTS == "" && button.MessageTS != "" {
		// The store did not know where the request was posted (it was decided from the button
		// alone); the click does, and the thread replies need it.
		stored.Channel, stored.MessageTS = button.Channel, button.MessageTS
		if err := s.store.SetMessage(ctx, stored.ID, stored.Channel, stored.MessageTS); err != nil {
			s.log.Warn("could not record where the request is posted", "request_id", stored.ID.String(), "error", err)
		}
	}
	result := Decided{Request: stored, Decided: decided}
	audit := func(outcome store.Outcome, detail string) {
		s.Audit(ctx, store.AuditRecord{RequestID: stored.ID, Actor: d.By, Action: action, Outcome: outcome, Detail: detail})
	}
	switch {
	case stored.State == store.Expired:
		audit(store.OutcomeRefused, "expired")
	case stored.State != d.State:
		audit(store.OutcomeRefused, "already "+string(stored.State))
	case d.State == store.Rejected && decided:
		audit(store.OutcomeRejected, "")
		s.updateRequest(ctx, stored)
		if _, err := s.announce(ctx, stored, Event{Kind: RequestRejected}, ""); err != nil {
			s.log.Warn("could not tell the thread about a rejection", "request_id", stored.ID.String(), "error", err)
		}
	case d.State == store.Rejected:
		// Rejected before, by this person or another: nothing to do.
	default:
		if decided {
			audit(store.OutcomeApproved, "")
			s.updateRequest(ctx, stored)
		}
		result.Submission = s.Submit(ctx, stored, stored.Items, d.By)
	}
	return result, nil
}
