package revoke

import (
	"context"
	"errors"
	"sync"

	"github.com/google/uuid"

	"revokebot/apiclient"
	"revokebot/store"
)

// A request with several accesses (an offboarding) keeps its thread short: one reply with the
// full list when its approval message shows only part of it, one progress reply kept up to date
// in place, a reply for each access refused or rejected — what people must know — and one final
// reply to the requester when every access has reached its end. The statuses of single accesses
// are claimed as for any request, so none is told twice, but they are told through the progress
// reply rather than a reply of their own.

// progressTS is the ts recorded for a status claim told through the progress reply.
const progressTS = "progress"

// several reports whether r is a request with several accesses, whose thread works as above.
func several(r store.Request) bool { return len(r.Items) > 1 }

// quiet reports whether e is told through r's progress reply rather than a reply of its own: a
// status of one access of several that is not a rejection.
func quiet(r store.Request, e Event) bool {
	return several(r) && e.Kind == StatusChanged && e.Status != apiclient.RevocationRejected
}

// finished reports whether every access of r has reached its end: revoked or rejected at
// AccessOwl, or refused by it.
func finished(r store.Request) bool {
	for _, it := range r.Items {
		if it.Refusal == "" && !it.Status.Done() {
			return false
		}
	}
	return true
}

// listItems posts the full list of a new request's accesses in its thread, page by page, when
// its approval message shows only part of them.
func (s *Service) listItems(ctx context.Context, r store.Request) {
	for page := 1; page <= s.notifier.ListPages(r); page++ {
		if _, err := s.announce(ctx, r, Event{Kind: ItemsListed, Page: page}, ""); err != nil && !errors.Is(err, errInFlight) {
			s.log.Warn("could not post the list of accesses; it is posted again later", "request_id", r.ID.String(), "page", page, "error", err)
		}
	}
}

// progress coalesces the updates of progress replies: while one request's reply is being
// brought up to date, further changes only ask for one more round, which reads the store again.
type progress struct {
	mu      sync.Mutex
	running map[uuid.UUID]bool // a round is running; true: another is wanted after it
}

// start reports whether the caller should run the rounds for id; if one is running, it asks it
// for another round instead.
func (p *progress) start(id uuid.UUID) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, running := p.running[id]; running {
		p.running[id] = true
		return false
	}
	p.running[id] = false
	return true
}

// again reports whether another round was asked for while one ran, and ends the rounds if not.
func (p *progress) again(id uuid.UUID) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.running[id] {
		p.running[id] = false
		return true
	}
	delete(p.running, id)
	return false
}

// progressChanged tells a request with several accesses where they stand now: it brings the
// approval message up to date, posts the progress reply once and then updates it in place, from
// the store, and posts the final reply once every access has reached its end. The rounds run in
// the background where the owner allows it, so that submissions and status checks never wait
// for Slack's pacing of updates, and a burst of changes costs one round more, not one each.
func (s *Service) progressChanged(ctx context.Context, id uuid.UUID) {
	if !s.progress.start(id) {
		return
	}
	rounds := func(ctx context.Context) {
		for {
			s.progressRound(ctx, id)
			if !s.progress.again(id) {
				return
			}
		}
	}
	if s.spawn == nil || !s.spawn("progress", id.String(), rounds) {
		rounds(ctx)
	}
}

func (s *Service) progressRound(ctx context.Context, id uuid.UUID) {
	r, err := s.store.Request(ctx, id)
	if err != nil {
		s.log.Error("cannot read a request to show its progress", "request_id", id.String(), "error", err)
		return
	}
	if !several(r) || r.State != store.Approved {
		return
	}
	s.updateRequest(ctx, r)
	claimed, err := s.announce(ctx, r, Event{Kind: Progress}, "")
	switch {
	case errors.Is(err, errInFlight):
		return
	case err != nil:
		s.log.Warn("could not post the progress reply; it is posted again later", "request_id", id.String(), "error", err)
	case !claimed:
		s.updateProgress(ctx, r)
	}
	if finished(r) {
		if _, err := s.announce(ctx, r, Event{Kind: RequestFinished}, ""); err != nil && !errors.Is(err, errInFlight) {
			s.log.Warn("could not post the final reply; it is posted again later", "request_id", id.String(), "error", err)
		}
	}
}

// updateProgress rewrites the posted progress reply of r; a reply not posted yet is posted by
// whoever claimed it, with what the store says then.
func (s *Service) updateProgress(ctx context.Context, r store.Request) {
	p, err := s.store.Post(ctx, r.ID, Event{Kind: Progress}.Key())
	if err != nil || p.PostedTS == "" || p.PostedTS == noThread {
		return
	}
	uctx, cancel := context.WithTimeout(ctx, replyTimeout)
	defer cancel()
	if err := s.notifier.UpdateReply(uctx, r, p.PostedTS, Event{Kind: Progress}); err != nil {
		s.log.Warn("could not update the progress reply", "request_id", r.ID.String(), "error", err)
	}
}
