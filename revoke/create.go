package revoke

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"revokebot/store"
)

// ErrNotPosted means a request was stored but its approval message could not be posted, so
// nobody can decide it yet.
var ErrNotPosted = errors.New("approval message not posted")

// Create stores a new request and posts its approval message, once however often the same
// interaction arrives. It returns the request as stored — with its message's ts once posted —
// and whether this call created it; only the call that created it posts it.
func (s *Service) Create(ctx context.Context, r store.Request) (store.Request, bool, error) {
	if len(r.Items) == 0 {
		return r, false, fmt.Errorf("create request %s: it names no access", r.ID)
	}
	created, err := s.store.CreateRequest(ctx, r)
	if err != nil {
		return r, false, fmt.Errorf("create request %s: %w", r.ID, err)
	}
	if !created {
		// The same interaction arrived again: the delivery that created the request posts it.
		s.log.Info("request already exists; not posting again", "request_id", r.ID.String())
		return r, false, nil
	}
	ts, err := s.notifier.PostRequest(ctx, r)
	if err != nil {
		s.Audit(ctx, store.AuditRecord{RequestID: r.ID, Actor: r.RequesterID, Action: store.ActionRequest, Outcome: store.OutcomeFailed, Detail: "post: " + err.Error()})
		return r, true, fmt.Errorf("create request %s: %w in %s: %w", r.ID, ErrNotPosted, r.Channel, err)
	}
	r.MessageTS = ts
	if err := s.store.SetMessage(ctx, r.ID, r.Channel, ts); err != nil {
		// The thread replies need it; a click on the message records it again (see Decide).
		s.log.Error("could not record the approval message", "request_id", r.ID.String(), "error", err)
	}
	s.Audit(ctx, store.AuditRecord{RequestID: r.ID, Actor: r.RequesterID, Action: store.ActionRequest, Outcome: store.OutcomeCreated, Detail: describe(r)})
	return r, true, nil
}

// describe names what a request revokes, for the audit trail.
func describe(r store.Request) string {
	labels := make([]string, len(r.Items))
	for i, it := range r.Items {
		labels[i] = it.Label()
	}
	return strings.Join(labels, "; ") + " for " + r.Grantee.AccessOwlID
}
