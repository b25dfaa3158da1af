package revoke

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"revokebot/store"
)

// retryPost is how long after a failed post (Slack down, the bot not in the channel) this
// process looks at the claim again: the reply is looked for in the thread first, so a post that
// got out after all is not made twice.
const retryPost = 15 * time.Second

// The ts recorded for a claimed reply that was settled without a message of its own.
const (
	// noThread: the request has no approval message to reply under, so recovery does not try
	// it forever.
	noThread = "none"
	// superseded: a newer status of the same revocation came while this one still waited for
	// Slack's pacing, and was posted instead; the thread stays true and the skipped status is
	// recorded, not lost.
	superseded = "superseded"
)

// errInFlight is what announce returns when this process is announcing the same reply already
// (a tracker sweep meeting the first status a submission is announcing): that announcement
// finishes the job.
var errInFlight = errors.New("being announced already")

// errSuperseded is what announce returns for a status reply a newer status of its revocation
// replaced: recorded, never posted, and no longer what the request should show.
var errSuperseded = errors.New("superseded by a newer status")

// ErrNotSent is what a Notifier's Reply wraps when nothing of the reply reached Slack: its
// context ended while it waited for its turn, or — for a status reply — a newer status of the
// same revocation took its place in line. The lifecycle then knows no message exists.
var ErrNotSent = errors.New("not sent")

// replies remembers which replies this process is posting right now, which status replies wait
// for their turn, and when unposted claims need another look.
type replies struct {
	mu        sync.Mutex
	inflight  map[replyKey]bool
	waiting   map[string]*waitingStatus // by revocation ID
	recoverAt time.Time                 // zero: nothing known to recover
}

// waitingStatus is a status reply on its way to Slack, which a newer status of its revocation
// may replace while it has not been sent.
type waitingStatus struct {
	status     store.Status
	superseded bool
}

// statusRank orders a revocation's statuses: a final one is newer than processing.
func statusRank(s store.Status) int {
	if s.Done() {
		return 2
	}
	return 1
}

type replyKey struct {
	request string
	key     string
}

// announce posts the reply about e in r's thread exactly once, across restarts and replicas. It
// reports whether this call claimed the reply; a reply claimed before (by a repeated call,
// another replica) is left to whoever claimed it.
//
// The order is what makes "no reply posted twice, none lost" hold whatever fails or dies:
//
//  1. ClaimPost first: the durable promise that this reply will be posted, and the lock that
//     keeps every other caller from posting it.
//  2. Post the reply. Dying before this leaves an unposted claim, which recovery finds: the
//     reply is not in the thread, so it posts it.
//  3. MarkPosted. Dying between 2 and 3 leaves the same unposted claim, but now the reply is in
//     the thread, where recovery recognises it and marks it instead.
//
// A failed post (Slack down) leaves the claim to recovery too.
func (s *Service) announce(ctx context.Context, r store.Request, e Event, detail string) (bool, error) {
	key := replyKey{r.ID.String(), e.Key()}
	if !s.beginReply(key) {
		return false, errInFlight
	}
	defer s.endReply(key)

	var mine *waitingStatus
	if e.Kind == StatusChanged {
		var stale bool
		if mine, stale = s.waitForStatus(e); stale {
			if err := s.supersede(ctx, r, e); err != nil {
				return false, err
			}
			return false, errSuperseded
		}
		defer s.doneWithStatus(e.RevocationID, mine)
	}
	now := s.now()
	claimed, err := s.store.ClaimPost(ctx, store.Post{RequestID: r.ID, Key: e.Key(), ClaimedAt: now, Claimer: s.id})
	if err != nil || !claimed {
		return false, err
	}
	if e.Kind == StatusChanged && s.observer != nil {
		s.observer.StatusAnnounced(string(e.Status))
	}
	if err := s.post(ctx, r, e, detail); err != nil {
		if mine != nil && errors.Is(err, ErrNotSent) && s.wasSuperseded(mine) {
			if err := s.markSuperseded(ctx, r, e); err != nil {
				return true, err
			}
			return true, errSuperseded
		}
		s.scheduleRecovery(s.now().Add(retryPost))
		return true, err
	}
	return true, nil
}

// waitForStatus registers a status reply on its way. A newer status of the same revocation marks
// one still on its way superseded: the Notifier lets the newer reply take its place in Slack's
// line (Reply then answers the older ErrNotSent), or posts both in order if the older was
// already sent. An older status than one on its way is stale, and is superseded at once.
func (s *Service) waitForStatus(e Event) (*waitingStatus, bool) {
	s.replies.mu.Lock()
	defer s.replies.mu.Unlock()
	if w := s.replies.waiting[e.RevocationID]; w != nil {
		if statusRank(e.Status) <= statusRank(w.status) {
			return nil, true
		}
		w.superseded = true
	}
	mine := &waitingStatus{status: e.Status}
	s.replies.waiting[e.RevocationID] = mine
	return mine, false
}

func (s *Service) doneWithStatus(revocationID string, mine *waitingStatus) {
	s.replies.mu.Lock()
	defer s.replies.mu.Unlock()
	if s.replies.waiting[revocationID] == mine {
		delete(s.replies.waiting, revocationID)
	}
}

func (s *Service) wasSuperseded(w *waitingStatus) bool {
	s.replies.mu.Lock()
	defer s.replies.mu.Unlock()
	return w.superseded
}

// supersede settles a status reply that a newer status of its revocation replaced before it was
// posted: claimed, so no one posts it later, and recorded as superseded.
func (s *Service) supersede(ctx context.Context, r store.Request, e Event) error {
	claimed, err := s.store.ClaimPost(ctx, store.Post{RequestID: r.ID, Key: e.Key(), ClaimedAt: s.now(), Claimer: s.id})
	if err != nil || !claimed {
		return err
	}
	return s.markSuperseded(ctx, r, e)
}

func (s *Service) markSuperseded(ctx context.Context, r store.Request, e Event) error {
	s.auditStatus(ctx, r, e, "superseded by a newer status before it was posted")
	return s.store.MarkPosted(ctx, r.ID, e.Key(), superseded)
}

// post posts the claimed reply about e, audits a status, and marks the claim posted.
func (s *Service) post(ctx context.Context, r store.Request, e Event, detail string) error {
	ts := noThread
	switch {
	case quiet(r, e):
		// Told through the progress reply, which the caller brings up to date once it is saved.
		ts = progressTS
	case r.Channel == "" || r.MessageTS == "":
		s.log.Error("reply not posted: the request has no approval message to reply under",
			"request_id", r.ID.String(), "reply", e.Key())
		detail = "not posted: no approval message"
	default:
		pctx, cancel := context.WithTimeout(ctx, replyTimeout)
		var err error
		ts, err = s.notifier.Reply(pctx, r, e)
		cancel()
		if err != nil {
			return fmt.Errorf("post reply %s of request %s: %w", e.Key(), r.ID, err)
		}
	}
	// The reply is out: record it even if ctx is ending, so a shutdown leaves nothing to recover.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	if e.Kind == StatusChanged {
		s.auditStatus(sctx, r, e, detail)
	}
	if err := s.store.MarkPosted(sctx, r.ID, e.Key(), ts); err != nil {
		return fmt.Errorf("mark reply %s of request %s posted: %w", e.Key(), r.ID, err)
	}
	return nil
}

func (s *Service) auditStatus(ctx context.Context, r store.Request, e Event, detail string) {
	d := "revocation " + e.RevocationID
	if several(r) && e.Item.AccessStateID != "" {
		d = "access state " + e.Item.AccessStateID + ", " + d
	}
	if detail != "" {
		d += ": " + detail
	}
	s.Audit(ctx, store.AuditRecord{RequestID: r.ID, Actor: store.BotActor, Action: store.ActionStatus, Outcome: store.Outcome(e.Status), Detail: d})
}

// beginReply marks a reply as being claimed and posted by this process, so that recovery
// leaves it alone meanwhile; false when it already is.
func (s *Service) beginReply(key replyKey) bool {
	s.replies.mu.Lock()
	defer s.replies.mu.Unlock()
	if s.replies.inflight[key] {
		return false
	}
	s.replies.inflight[key] = true
	return true
}

// endReply ends what beginReply began.
func (s *Service) endReply(key replyKey) {
	s.replies.mu.Lock()
	defer s.replies.mu.Unlock()
	delete(s.replies.inflight, key)
}

// recoverUnposted settles the replies claimed but not recorded as posted: a reply found in the
// thread is marked posted; a missing one is posted once its claim is older than the lease,
// since a younger claim may belong to another replica posting it right now.
func (s *Service) recoverUnposted(ctx context.Context) {
	now := s.now()
	s.replies.mu.Lock()
	s.replies.recoverAt = time.Time{}
	s.replies.mu.Unlock()
	posts, err := s.store.UnpostedPosts(ctx)
	if err != nil {
		s.log.Error("cannot list unposted replies", "error", err)
		s.scheduleRecovery(now.Add(s.poll))
		return
	}
	for _, p := range posts {
		if ctx.Err() != nil {
			return
		}
		s.replies.mu.Lock()
		busy := s.replies.inflight[replyKey{p.RequestID.String(), p.Key}]
		s.replies.mu.Unlock()
		if busy {
			s.scheduleRecovery(now.Add(s.claimLease))
			continue
		}
		if err := s.recoverOne(ctx, p, now); err != nil && ctx.Err() == nil {
			// Slack refusing the thread (archived, bot removed) may last: try again, but not
			// every sweep.
			s.log.Error("cannot recover an unposted reply", "request_id", p.RequestID.String(), "reply", p.Key, "error", err)
			s.scheduleRecovery(now.Add(s.claimLease))
		}
	}
}

func (s *Service) recoverOne(ctx context.Context, p store.Post, now time.Time) error {
	r, err := s.store.Request(ctx, p.RequestID)
	if errors.Is(err, store.ErrNotFound) {
		// Nowhere to post it, now or later.
		s.log.Error("reply not posted: its request is not in the store", "request_id", p.RequestID.String(), "reply", p.Key)
		return s.store.MarkPosted(ctx, p.RequestID, p.Key, noThread)
	}
	if err != nil {
		return err
	}
	e, ok := eventOf(r, p.Key)
	if !ok {
		s.log.Error("reply not posted: its key names nothing this version knows", "request_id", p.RequestID.String(), "reply", p.Key)
		return s.store.MarkPosted(ctx, p.RequestID, p.Key, noThread)
	}
	if e.Kind == RequestPosted {
		return s.recoverRequestPost(ctx, r, p, now)
	}
	e = s.withAsk(ctx, e)
	if quiet(r, e) {
		if err := s.post(ctx, r, e, "told through the progress reply after a restart"); err != nil {
			return err
		}
		s.progressChanged(ctx, r.ID)
		return nil
	}
	if r.Channel == "" || r.MessageTS == "" {
		return s.post(ctx, r, e, "")
	}
	ts, found, err := s.notifier.FindReply(ctx, r, e)
	if err != nil {
		return err
	}
	if found {
		if e.Kind == StatusChanged {
			s.auditStatus(ctx, r, e, "reply found in the thread after a restart")
		}
		return s.store.MarkPosted(ctx, p.RequestID, p.Key, ts)
	}
	if until := p.ClaimedAt.Add(s.claimLease); now.Before(until) && s.mayBePosting(p) {
		s.scheduleRecovery(until)
		return nil
	}
	return s.post(ctx, r, e, "posted after a restart")
}

// mayBePosting reports whether another process that claimed p may be posting it right now. A
// claim of this process is not being posted unless it is in flight (which recovery checks
// first), and one of a process that stopped is posted at once.
func (s *Service) mayBePosting(p store.Post) bool {
	return p.Claimer != s.id && s.alive(p.Claimer)
}

// recoverRequestPost settles a claimed approval message: recorded already, found in the channel,
// or posted once the claim's lease is over.
func (s *Service) recoverRequestPost(ctx context.Context, r store.Request, p store.Post, now time.Time) error {
	if r.MessageTS != "" {
		return s.store.MarkPosted(ctx, r.ID, p.Key, r.MessageTS)
	}
	ts, found, err := s.notifier.FindReply(ctx, r, Event{Kind: RequestPosted})
	if err != nil {
		return err
	}
	if found {
		r.MessageTS = ts
		s.recordMessage(ctx, r)
		return nil
	}
	if until := p.ClaimedAt.Add(s.claimLease); now.Before(until) && s.mayBePosting(p) {
		s.scheduleRecovery(until)
		return nil
	}
	_, err = s.postClaimedRequest(ctx, r)
	return err
}

func (s *Service) scheduleRecovery(at time.Time) {
	s.replies.mu.Lock()
	defer s.replies.mu.Unlock()
	if s.replies.recoverAt.IsZero() || at.Before(s.replies.recoverAt) {
		s.replies.recoverAt = at
	}
}

func (s *Service) recoveryDue() time.Time {
	s.replies.mu.Lock()
	defer s.replies.mu.Unlock()
	return s.replies.recoverAt
}

// updateRequest brings the approval message up to date; a failure is logged, since the thread
// reply that goes with it already told people, or the next change will.
func (s *Service) updateRequest(ctx context.Context, r store.Request) {
	if r.Channel == "" || r.MessageTS == "" {
		return
	}
	uctx, cancel := context.WithTimeout(ctx, replyTimeout)
	defer cancel()
	if err := s.notifier.UpdateRequest(uctx, r); err != nil {
		s.log.Warn("could not update the approval message", "request_id", r.ID.String(), "error", err)
	}
}

// withItem returns r with change applied to its item for an access state, on a copy of its
// items: requests are values, and their items must not change under another holder.
func withItem(r store.Request, accessStateID string, change func(*store.Item)) store.Request {
	r.Items = slices.Clone(r.Items)
	for i := range r.Items {
		if r.Items[i].AccessStateID == accessStateID {
			change(&r.Items[i])
		}
	}
	return r
}
