package revoke

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"revokebot/apiclient"
	"revokebot/store"
)

// submitConcurrency is how many items of one request are submitted at once: an offboarding of
// forty accesses is filed in seconds even when AccessOwl takes a second an answer, while the
// budget, not this, keeps the hour within AccessOwl's limit.
const submitConcurrency = 4

// Result is what became of one item's submission to AccessOwl.
type Result int

// The results of a submission, one per item.
const (
	// Created: AccessOwl created the revocation, in this call or in an earlier attempt of it
	// whose answer was lost. The thread announces it; the clicker needs no answer.
	Created Result = iota + 1
	// AlreadySubmitted: AccessOwl saw this item's key before (a 409 for someone else's
	// submission): nothing more was sent.
	AlreadySubmitted
	// Refused: AccessOwl refused the revocation for good (a 4xx); the thread says why.
	Refused
	// TokenRefused: AccessOwl refused revokebot's API token (401, 403): nothing was revoked.
	TokenRefused
	// NotAnswered: AccessOwl did not answer through every retry; the same key makes another
	// attempt safe.
	NotAnswered
	// Failed: revokebot could not record the submission; nothing was sent.
	Failed
	// Unconfirmed: the item was first submitted longer ago than AccessOwl remembers keys, and its
	// revocation was never recorded nor found: it is not sent again, since that could revoke
	// twice. A person must look in AccessOwl.
	Unconfirmed
	// Mismatched: AccessOwl answered with a revocation of another access than the one submitted;
	// it is not tracked as this request's.
	Mismatched
)

// ItemOutcome is what became of one item's submission.
type ItemOutcome struct {
	Item   store.Item
	Result Result
	// Refusal is what AccessOwl refused, in words for people, when Result is Refused.
	Refusal string
	// Err is the error behind TokenRefused, NotAnswered and Failed, for the log.
	Err error
	// Unsettled reports that the item still has neither a known revocation nor a refusal, so it
	// is submitted again in the background: AccessOwl did not answer, or said it had the key
	// but the revocation could not be found yet.
	Unsettled bool
}

// Outcome is what a submission did, item by item.
type Outcome struct {
	Items []ItemOutcome
}

// Worst returns the result people most need to hear about: a failure before a refusal before
// "already submitted" before a creation. An outcome with no items is Created: there was
// nothing left to send.
func (o Outcome) Worst() ItemOutcome {
	worst := ItemOutcome{Result: Created}
	rank := map[Result]int{Created: 0, AlreadySubmitted: 1, Refused: 2, Unconfirmed: 3, NotAnswered: 4, Mismatched: 5, TokenRefused: 6, Failed: 7}
	for _, it := range o.Items {
		if rank[it.Result] > rank[worst.Result] {
			worst = it
		}
	}
	return worst
}

// Submit sends the given items of an approved request to AccessOwl, each with its
// Idempotency-Key (see store.Request.Key) and a body built from the stored request alone, so
// that every attempt on every replica after every restart sends the same key with the same
// body. actor is who caused it, for the audit trail. An item first submitted longer ago than
// KeyWindow is never sent again: AccessOwl may have forgotten its key, and the store answers.
//
// An item AccessOwl did not answer is resubmitted in the background with the same key, with
// backoff, until it lands; the approval message says so meanwhile.
func (s *Service) Submit(ctx context.Context, r store.Request, items []store.Item, actor string) Outcome {
	began := s.resubmit.begin(r.ID)
	o := s.submit(ctx, r, items, actor)
	if began {
		s.resubmit.end(r.ID, o)
	}
	return o
}

// submit sends items, submitConcurrency at a time, and shows on the approval message which
// AccessOwl did not answer. Each item is independent: its own key, its own outcome.
func (s *Service) submit(ctx context.Context, r store.Request, items []store.Item, actor string) Outcome {
	o := Outcome{Items: make([]ItemOutcome, len(items))}
	slots := make(chan struct{}, submitConcurrency)
	var wg sync.WaitGroup
	for i, it := range items {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			io := s.submitItem(ctx, r, it, actor)
			if io.Result == NotAnswered {
				if err := s.store.SetSubmitError(ctx, r.ID, it.AccessStateID, io.Err.Error()); err != nil {
					s.log.Error("could not record what the submission met", "request_id", r.ID.String(), "error", err)
				}
			}
			o.Items[i] = io
		})
	}
	wg.Wait()
	switch {
	case several(r):
		s.progressChanged(ctx, r.ID) // which brings the approval message up to date too
	case slices.ContainsFunc(o.Items, func(io ItemOutcome) bool { return io.Result == NotAnswered }):
		if stored, err := s.store.Request(ctx, r.ID); err == nil {
			s.updateRequest(ctx, stored)
		}
	}
	return o
}

func (s *Service) submitItem(ctx context.Context, r store.Request, it store.Item, actor string) ItemOutcome {
	id := r.ID.String()
	marked, err := s.store.MarkSubmitting(ctx, r.ID, it.AccessStateID, s.now().UTC())
	if err != nil {
		s.log.Error("could not record the submission", "request_id", id, "access_state_id", it.AccessStateID, "error", err)
		return ItemOutcome{Item: it, Result: Failed, Err: err}
	}
	it = marked
	if s.now().Sub(it.SubmittedAt) > KeyWindow {
		return s.fromTheStore(ctx, r, it, actor)
	}
	rev, err := s.owl.CreateRevocation(ctx, r.Key(it), apiclient.NewRevocation{AccessStateID: it.AccessStateID, Reason: r.Reason})
	var (
		already *apiclient.AlreadySubmittedError
		apiErr  *apiclient.Error
	)
	switch {
	case err == nil:
		if err := checkCreated(r, it, *rev); err != nil {
			s.log.Error("AccessOwl's answer does not match the submission: not tracking it", "request_id", id,
				"access_state_id", it.AccessStateID, "revocation_id", rev.ID, "error", err)
			s.audit(ctx, r, it, actor, store.OutcomeFailed, rev.ID+": "+err.Error())
			return ItemOutcome{Item: it, Result: Mismatched, Err: err}
		}
		s.audit(ctx, r, it, actor, store.OutcomeCreated, rev.ID)
		s.trackCreated(ctx, r, it, *rev)
		return ItemOutcome{Item: it, Result: Created}
	case errors.As(err, &already):
		return s.alreadySubmitted(ctx, r, it, actor, already)
	case errors.Is(err, apiclient.ErrUnauthorized), errors.Is(err, apiclient.ErrForbidden):
		s.log.Error("AccessOwl refused revokebot's token", "request_id", id, "error", err)
		s.audit(ctx, r, it, actor, store.OutcomeFailed, err.Error())
		return ItemOutcome{Item: it, Result: TokenRefused, Err: err}
	case errors.As(err, &apiErr) && apiErr.StatusCode >= 400 && apiErr.StatusCode < 500 && apiErr.StatusCode != 429:
		if apiErr.StatusCode == 422 {
			// The body is deterministic, so a 422 is either AccessOwl judging the request or —
			// if the key was seen with another body — a bug in revokebot.
			s.log.Error("AccessOwl answered 422 to a keyed submission: check whether the body changed",
				"request_id", id, "access_state_id", it.AccessStateID, "status", apiErr.StatusCode, "message", apiErr.Message)
		}
		return s.refused(ctx, r, it, actor, apiErr)
	default:
		// Retries are exhausted: nothing is lost, since the same key makes another attempt safe.
		s.log.Warn("submission did not get through", "request_id", id, "access_state_id", it.AccessStateID, "error", err)
		s.audit(ctx, r, it, actor, store.OutcomeFailed, err.Error())
		return ItemOutcome{Item: it, Result: NotAnswered, Err: err, Unsettled: true}
	}
}

// alreadySubmitted handles a 409: AccessOwl has seen this item's key before.
func (s *Service) alreadySubmitted(ctx context.Context, r store.Request, it store.Item, actor string, already *apiclient.AlreadySubmittedError) ItemOutcome {
	if it.RevocationID == "" {
		// Another submission of the same request (a second approver's click) may have recorded
		// it while this one waited for its answer.
		if fresh, err := s.store.Request(ctx, r.ID); err == nil {
			if stored, ok := fresh.Item(it.AccessStateID); ok {
				it.RevocationID = stored.RevocationID
			}
		}
	}
	if it.RevocationID != "" {
		s.audit(ctx, r, it, actor, store.OutcomeAlreadySubmitted, it.RevocationID)
		return ItemOutcome{Item: it, Result: AlreadySubmitted}
	}
	// Nobody recorded what the first attempt created — it was this call's own unanswered
	// attempt, or a process that stopped before recording it — so find it and track it.
	since := it.SubmittedAt
	if !already.FirstAttemptAt.IsZero() && (since.IsZero() || already.FirstAttemptAt.Before(since)) {
		since = already.FirstAttemptAt
	}
	rev, err := s.findLost(ctx, r, it, since)
	if err != nil {
		s.log.Error("submitted, but the revocation could not be found to track it", "request_id", r.ID.String(),
			"access_state_id", it.AccessStateID, "error", err)
		s.audit(ctx, r, it, actor, store.OutcomeAlreadySubmitted, "revocation not found: "+err.Error())
	} else {
		s.audit(ctx, r, it, actor, store.OutcomeCreated, rev.ID+" (found after 409)")
		s.trackCreated(ctx, r, it, *rev)
	}
	unsettled := err != nil // found and tracked, or to be looked for again
	if already.EarlierAttemptUnseen {
		return ItemOutcome{Item: it, Result: Created, Unsettled: unsettled} // this call's own attempt got through
	}
	return ItemOutcome{Item: it, Result: AlreadySubmitted, Unsettled: unsettled}
}

// fromTheStore answers for an item whose first submission is older than KeyWindow: AccessOwl
// may have forgotten its key, so it is never sent again, whatever a button or a resubmission
// asks. What the store knows is the answer; an outcome never recorded is looked for, never
// resent.
func (s *Service) fromTheStore(ctx context.Context, r store.Request, it store.Item, actor string) ItemOutcome {
	switch {
	case it.RevocationID != "":
		s.audit(ctx, r, it, actor, store.OutcomeAlreadySubmitted, it.RevocationID+" (its key is older than AccessOwl remembers: not sent again)")
		return ItemOutcome{Item: it, Result: AlreadySubmitted}
	case it.Refusal != "":
		s.audit(ctx, r, it, actor, store.OutcomeRefused, "refused before: "+it.Refusal)
		return ItemOutcome{Item: it, Result: Refused, Refusal: it.Refusal}
	}
	rev, err := s.findLost(ctx, r, it, it.SubmittedAt)
	if err != nil {
		s.log.Error("a submission older than AccessOwl remembers keys has no known revocation: not sending it again",
			"request_id", r.ID.String(), "access_state_id", it.AccessStateID, "first_attempt", it.SubmittedAt, "error", err)
		s.audit(ctx, r, it, actor, store.OutcomeFailed, "first submitted "+it.SubmittedAt.Format(time.RFC3339)+"; not sent again: "+err.Error())
		return ItemOutcome{Item: it, Result: Unconfirmed, Err: err}
	}
	s.audit(ctx, r, it, actor, store.OutcomeCreated, rev.ID+" (found; its key is older than AccessOwl remembers)")
	s.trackCreated(ctx, r, it, *rev)
	return ItemOutcome{Item: it, Result: AlreadySubmitted}
}

// refused records what AccessOwl refused, and tells the approval message and the thread.
func (s *Service) refused(ctx context.Context, r store.Request, it store.Item, actor string, apiErr *apiclient.Error) ItemOutcome {
	it.Refusal = refusalText(apiErr)
	s.audit(ctx, r, it, actor, store.OutcomeRefused, fmt.Sprintf("%d %s", apiErr.StatusCode, apiErr.Message))
	if err := s.store.SetRefusal(ctx, r.ID, it.AccessStateID, it.Refusal); err != nil {
		s.log.Error("could not record the refusal", "request_id", r.ID.String(), "error", err)
	}
	r = withItem(r, it.AccessStateID, func(stored *store.Item) { stored.Refusal = it.Refusal })
	if !several(r) {
		s.updateRequest(ctx, r)
	}
	if _, err := s.announce(ctx, r, Event{Kind: AccessRefused, Item: it}, ""); err != nil {
		s.log.Warn("could not tell the thread about a refusal", "request_id", r.ID.String(), "error", err)
	}
	if several(r) {
		s.progressChanged(ctx, r.ID) // which brings the approval message up to date too
	}
	return ItemOutcome{Item: it, Result: Refused, Refusal: it.Refusal}
}

// refusalText says in words a person understands what AccessOwl refused.
func refusalText(e *apiclient.Error) string {
	switch e.StatusCode {
	case 404:
		return "it does not know this access."
	case 400, 422:
		if e.Message != "" {
			return e.Message + "."
		}
		return "it found the request invalid (the access may have ended or already be under revocation)."
	default:
		if e.Message != "" {
			return e.Message + "."
		}
		return fmt.Sprintf("it answered %d.", e.StatusCode)
	}
}

// trackCreated starts tracking a revocation an item created; a failure is logged, since the
// revocation exists whatever the bot records.
func (s *Service) trackCreated(ctx context.Context, r store.Request, it store.Item, rev apiclient.Revocation) {
	if err := s.track(ctx, r, it, rev); err != nil {
		level := "could not start tracking the revocation"
		if errors.Is(err, store.ErrConflict) {
			level = "AccessOwl's revocation is already linked to another access: not tracking it here"
		}
		s.log.Error(level, "request_id", r.ID.String(), "access_state_id", it.AccessStateID, "revocation_id", rev.ID, "error", err)
	}
}

// audit records a submission's result.
func (s *Service) audit(ctx context.Context, r store.Request, it store.Item, actor string, outcome store.Outcome, detail string) {
	if several(r) {
		detail = "access state " + it.AccessStateID + ": " + detail
	}
	s.Audit(ctx, store.AuditRecord{RequestID: r.ID, Actor: actor, Action: store.ActionSubmit, Outcome: outcome, Detail: detail})
}
