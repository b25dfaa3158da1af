package revoke

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"revokebot/store"
)

// Click is an approver's click on a request's Approve or Reject button.
type Click struct {
	RequestID uuid.UUID
	Decision  store.Decision
	// Channel and MessageTS say where the clicked message is, which the store may not have
	// recorded (a crash between posting and recording it); the thread replies need it.
	Channel, MessageTS string
}

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

// Request returns a request as stored, or store.ErrNotFound: the truth a click is judged by.
func (s *Service) Request(ctx context.Context, id uuid.UUID) (store.Request, error) {
	return s.store.Request(ctx, id)
}

// Decide records an approver's decision on a stored request with a compare-and-set, tells the
// approval message and the thread, and on an approval submits every item. The caller has
// checked, against the stored request, that the clicker may decide. A request the store never
// had is store.ErrNotFound; one pending for longer than the TTL expires now rather than being
// decided.
//
// A click that contradicts the recorded decision changes nothing. An Approve on a request
// already approved is not short-circuited: it goes to AccessOwl again with the same keys, which
// after a crash between the decision and the POST completes the submission.
func (s *Service) Decide(ctx context.Context, c Click) (Decided, error) {
	d := c.Decision
	action := store.ActionApprove
	if d.State == store.Rejected {
		action = store.ActionReject
	}
	if expired, err := s.expireIfStale(ctx, c.RequestID); err != nil || expired != nil {
		if expired != nil {
			s.Audit(ctx, store.AuditRecord{RequestID: c.RequestID, Actor: d.By, Action: action, Outcome: store.OutcomeRefused, Detail: "expired"})
			return Decided{Request: *expired}, nil
		}
		return Decided{}, err
	}
	stored, decided, err := s.store.Decide(ctx, c.RequestID, d)
	if err != nil {
		return Decided{}, fmt.Errorf("decide request %s: %w", c.RequestID, err)
	}
	if stored.MessageTS == "" && c.MessageTS != "" {
		stored.Channel, stored.MessageTS = c.Channel, c.MessageTS
		if err := s.store.SetMessage(ctx, stored.ID, stored.Channel, stored.MessageTS); err != nil {
			s.log.Warn("could not record where the request is posted", "request_id", stored.ID.String(), "error", err)
		}
	}
	if several(stored) && stored.MessageTS != "" {
		s.listItems(ctx, stored) // in case a crash came between the message and its list
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

// expireIfStale expires a request still pending past the TTL, so that no click decides it
// between two expiry sweeps, and returns it expired; nil when it is not stale.
func (s *Service) expireIfStale(ctx context.Context, id uuid.UUID) (*store.Request, error) {
	r, err := s.store.Request(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("decide request %s: %w", id, err)
	}
	if r.State != store.Pending || !r.CreatedAt.Before(s.now().Add(-s.expiry.ttl)) {
		return nil, nil
	}
	if err := s.expiry.sweep(ctx); err != nil {
		s.log.Warn("expiry before a decision failed", "request_id", id.String(), "error", err)
	}
	r.State = store.Expired
	return &r, nil
}
