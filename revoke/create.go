package revoke

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"revokebot/store"
)

// ErrNotPosted means a request was stored but its approval message could not be posted yet, so
// nobody can decide it yet; it is posted again later.
var ErrNotPosted = errors.New("approval message not posted")

// Create stores a new request and posts its approval message, once however often the same
// interaction arrives. It returns the request as stored — with its message's ts once posted —
// and whether this call posted it; the call that posted it tells the requester.
//
// Storing and posting are two steps, so a crash can come between them: the same interaction
// arriving again, or the next start (see RepostRequests), posts a stored request that was never
// posted. A claim before the post keeps two of them from posting it twice.
func (s *Service) Create(ctx context.Context, r store.Request) (store.Request, bool, error) {
	if len(r.Items) == 0 {
		return r, false, fmt.Errorf("create request %s: it names no access", r.ID)
	}
	created, err := s.store.CreateRequest(ctx, r)
	if err != nil {
		return r, false, fmt.Errorf("create request %s: %w", r.ID, err)
	}
	if !created {
		// The same interaction again: posted already, unless whoever stored it died first.
		stored, err := s.store.Request(ctx, r.ID)
		if err != nil {
			return r, false, fmt.Errorf("create request %s: %w", r.ID, err)
		}
		if stored.MessageTS != "" || stored.State != store.Pending {
			s.log.Info("request already exists; not posting again", "request_id", r.ID.String())
			return stored, false, nil
		}
		r = stored
	}
	return s.postRequest(ctx, r)
}

// RepostRequests posts the approval messages of pending requests stored but never posted: a
// crash came between the two. Those whose post is claimed are left to the recovery of claimed
// replies.
func (s *Service) RepostRequests(ctx context.Context) error {
	unposted, err := s.store.UnpostedRequests(ctx, Event{Kind: RequestPosted}.Key())
	if err != nil {
		return fmt.Errorf("repost requests: %w", err)
	}
	for _, r := range unposted {
		if ctx.Err() != nil {
			return nil
		}
		if _, _, err := s.postRequest(ctx, r); err != nil {
			s.log.Warn("could not post a request stored before a restart", "request_id", r.ID.String(), "error", err)
		}
	}
	return nil
}

// postRequest claims the posting of r's approval message and, if this call won the claim,
// posts it.
func (s *Service) postRequest(ctx context.Context, r store.Request) (store.Request, bool, error) {
	// In flight from before the claim until the post is recorded: recovery, which may run on
	// this replica meanwhile, must not take this process's own claim for one a crash left.
	key := replyKey{r.ID.String(), Event{Kind: RequestPosted}.Key()}
	if !s.beginReply(key) {
		return r, false, nil // being posted by this process right now
	}
	defer s.endReply(key)
	now := s.now()
	claimed, err := s.store.ClaimPost(ctx, store.Post{RequestID: r.ID, Key: Event{Kind: RequestPosted}.Key(), ClaimedAt: now, Claimer: s.id})
	if err != nil || !claimed {
		return r, false, err
	}
	posted, err := s.postClaimedRequest(ctx, r)
	if err != nil {
		s.scheduleRecovery(s.now().Add(retryPost))
		return r, false, err
	}
	return posted, true, nil
}

// postClaimedRequest posts the approval message whose post this process has claimed, records
// where it is and marks the claim posted.
func (s *Service) postClaimedRequest(ctx context.Context, r store.Request) (store.Request, error) {
	ts, err := s.notifier.PostRequest(ctx, r)
	if err != nil {
		s.Audit(ctx, store.AuditRecord{RequestID: r.ID, Actor: r.RequesterID, Action: store.ActionRequest, Outcome: store.OutcomeFailed, Detail: "post: " + err.Error()})
		return r, fmt.Errorf("create request %s: %w in %s: %w", r.ID, ErrNotPosted, r.Channel, err)
	}
	r.MessageTS = ts
	s.recordMessage(ctx, r)
	s.Audit(ctx, store.AuditRecord{RequestID: r.ID, Actor: r.RequesterID, Action: store.ActionRequest, Outcome: store.OutcomeCreated, Detail: describe(r)})
	return r, nil
}

// recordMessage records where r's approval message is and marks its post done.
func (s *Service) recordMessage(ctx context.Context, r store.Request) {
	if err := s.store.SetMessage(ctx, r.ID, r.Channel, r.MessageTS); err != nil {
		// The thread replies need it; a click on the message records it again (see Decide).
		s.log.Error("could not record the approval message", "request_id", r.ID.String(), "error", err)
	}
	if err := s.store.MarkPosted(ctx, r.ID, Event{Kind: RequestPosted}.Key(), r.MessageTS); err != nil {
		s.log.Error("could not mark the approval message posted", "request_id", r.ID.String(), "error", err)
	}
	s.listItems(ctx, r)
}

// describe names what a request revokes, for the audit trail.
func describe(r store.Request) string {
	labels := make([]string, len(r.Items))
	for i, it := range r.Items {
		labels[i] = it.Label()
	}
	return strings.Join(labels, "; ") + " for " + r.Grantee.AccessOwlID
}
