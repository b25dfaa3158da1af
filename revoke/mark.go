package revoke

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"revokebot/apiclient"
	"revokebot/store"
)

// markNamespace derives the Idempotency-Keys of marks from the revocation and the action, so
// every click on the same button of the same revocation — twice, on another replica, after a
// restart — sends AccessOwl the same key, and the second is a 409.
var markNamespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://revokebot.dev/marks"))

// MarkKey is the Idempotency-Key of marking a revocation revoked (revoked true) or rejected.
func MarkKey(revocationID string, revoked bool) string {
	action := "reject"
	if revoked {
		action = "revoke"
	}
	return uuid.NewSHA1(markNamespace, []byte(action+"/"+revocationID)).String()
}

// Mark is a click on an ask's Mark revoked, or a Could not revoke form sent with its reason.
// The caller has checked, against the stored ask, that the clicker may.
type Mark struct {
	RequestID    uuid.UUID
	RevocationID string
	By           string // the clicker's Slack ID
	Revoked      bool   // Mark revoked; false is Could not revoke
	Reason       string // of Could not revoke, 1–255 characters
}

// MarkResult is what a Mark did.
type MarkResult int

// The results of a Mark.
const (
	// MarkSent: AccessOwl took it; the thread says how the revocation ended.
	MarkSent MarkResult = iota
	// MarkedBefore: AccessOwl had the same mark already (a 409 on its key): nothing changed.
	MarkedBefore
	// MarkClosed: the revocation was closed already (Status says how): nothing changed.
	MarkClosed
	// MarkFailed: AccessOwl refused it or did not answer (Err).
	MarkFailed
)

// Marked is what a Mark did, and the revocation's status when AccessOwl said it.
type Marked struct {
	Result MarkResult
	Status store.Status
	Err    error
}

// ErrNotAsked is what Mark and Ask return for a revocation that is not one of the request's, or
// that was never asked about: a button the store does not back.
var ErrNotAsked = errors.New("no such ask")

// Ask returns the ask of a revocation of the request, or ErrNotAsked: who may click its buttons.
func (s *Service) Ask(ctx context.Context, requestID uuid.UUID, revocationID string) (store.Ask, error) {
	a, err := s.store.Ask(ctx, revocationID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && a.RequestID != requestID) {
		return store.Ask{}, fmt.Errorf("revocation %s of request %s: %w", revocationID, requestID, ErrNotAsked)
	}
	return a, err
}

// Mark tells AccessOwl that an admin-provisioned revocation is done (revoke) or could not be
// done (reject), with a key derived from the revocation and the action. What AccessOwl answers
// is announced as any status change — once, and the ask loses its buttons.
func (s *Service) Mark(ctx context.Context, m Mark) (Marked, error) {
	if _, err := s.Ask(ctx, m.RequestID, m.RevocationID); err != nil {
		return Marked{}, err
	}
	r, err := s.store.Request(ctx, m.RequestID)
	if err != nil {
		return Marked{}, err
	}
	it, ok := itemOfRevocation(r, m.RevocationID)
	if !ok {
		return Marked{}, fmt.Errorf("revocation %s of request %s: %w", m.RevocationID, r.ID, ErrNotAsked)
	}
	action, what := store.ActionCouldNotRevoke, "rejected: "+m.Reason
	var rev *apiclient.Revocation
	if m.Revoked {
		action, what = store.ActionMarkRevoked, "revoked"
		rev, err = s.owl.RevokeRevocation(ctx, MarkKey(m.RevocationID, true), m.RevocationID)
	} else {
		rev, err = s.owl.RejectRevocation(ctx, MarkKey(m.RevocationID, false), m.RevocationID, m.Reason)
	}
	audit := func(outcome store.Outcome, detail string) {
		s.Audit(ctx, store.AuditRecord{RequestID: r.ID, Actor: m.By, Action: action, Outcome: outcome,
			Detail: fmt.Sprintf("revocation %s: %s", m.RevocationID, detail)})
	}
	var already *apiclient.AlreadySubmittedError
	switch {
	case err == nil:
		audit(store.OutcomeOK, "marked "+what)
		if err := s.observed(ctx, r, it, rev.Status, m.By, m.Reason); err != nil {
			s.log.Error("cannot announce a marked revocation", "request_id", r.ID.String(), "revocation_id", m.RevocationID, "error", err)
		}
		return Marked{Result: MarkSent, Status: rev.Status}, nil
	case errors.As(err, &already) && already.EarlierAttemptUnseen:
		// This call's own first attempt got through unseen: the mark is made, and the tracker
		// learns how it ended at its next check.
		audit(store.OutcomeOK, "marked "+what+" (answered by a retry's 409)")
		s.tracker.kick()
		return Marked{Result: MarkSent}, nil
	case errors.Is(err, apiclient.ErrAlreadySubmitted):
		audit(store.OutcomeAlreadyMarked, "the same mark was sent before")
		return Marked{Result: MarkedBefore}, nil
	case errors.Is(err, apiclient.ErrInvalidRequest):
		// Closed already (or the same key with another reason, which AccessOwl refuses too):
		// say how it stands, and let the thread catch up if it has not yet.
		if cur, gerr := s.owl.GetRevocation(ctx, m.RevocationID); gerr == nil && cur.Status.Done() {
			audit(store.OutcomeAlreadyMarked, "already "+string(cur.Status))
			if err := s.observed(ctx, r, it, cur.Status, "", ""); err != nil {
				s.log.Error("cannot announce a closed revocation", "request_id", r.ID.String(), "revocation_id", m.RevocationID, "error", err)
			}
			return Marked{Result: MarkClosed, Status: cur.Status}, nil
		}
		audit(store.OutcomeRefused, err.Error())
		return Marked{Result: MarkFailed, Err: err}, nil
	default:
		audit(store.OutcomeFailed, err.Error())
		return Marked{Result: MarkFailed, Err: err}, nil
	}
}

// observed announces a status of a tracked revocation that a click learnt before the tracker
// did, as the tracker would: once, whoever else sees it at the same moment. by and reason, when
// the click made the change, go into the reply.
func (s *Service) observed(ctx context.Context, r store.Request, it store.Item, status store.Status, by, reason string) error {
	row, err := s.store.TrackedRevocation(ctx, it.RevocationID)
	if err != nil {
		return err
	}
	if row.Status == status || (row.Status.Done() && !status.Done()) {
		return nil
	}
	if s.tracker.announcingNow(it.RevocationID, status) {
		return nil // a sweep saw the same change, and is announcing it
	}
	s.tracker.hold(it.RevocationID, status)
	defer s.tracker.release(it.RevocationID)
	return s.statusMarked(ctx, r, it, row, status, s.now(), by, reason)
}
