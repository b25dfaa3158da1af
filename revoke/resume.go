package revoke

import (
	"context"
	"sync"
	"time"

	"github.com/google/uuid"

	"revokebot/apiclient"
	"revokebot/store"
)

// The pace of resubmission: nothing approved is left behind, and AccessOwl is not hammered.
const (
	// firstResubmit is the wait after an attempt AccessOwl did not answer; each failure in a
	// row doubles it, up to maxResubmit.
	firstResubmit = 2 * time.Second
	// maxResubmit caps the wait between two attempts at one request while AccessOwl is down:
	// its end is visible in the thread within minutes, and each attempt (with the client's own
	// retries, as background work) costs at most four requests.
	maxResubmit = 5 * time.Minute
	// settleTime is how long after an item's first attempt the background leaves it to
	// whoever is submitting it (a click on this replica or another), before it takes over.
	settleTime = time.Minute
	// resubmitScan is how often the store is read for approved requests left unsubmitted that
	// no attempt of this process scheduled (a click on another replica that failed, a crash).
	resubmitScan = time.Minute
)

// resubmitter resubmits, in the background, every approved request with an item that has
// neither a revocation nor a refusal — AccessOwl did not answer, or a stop interrupted the
// submission — with the same key and body, with backoff and as background work within the
// budget, until AccessOwl creates it, answers 409 (then it is found and tracked) or refuses it.
type resubmitter struct {
	s    *Service
	wake chan struct{}

	mu       sync.Mutex
	inflight map[uuid.UUID]bool // requests being submitted now, by a click or by the background
	failures map[uuid.UUID]int  // attempts in a row that AccessOwl did not answer
	due      map[uuid.UUID]time.Time
	started  bool // the first step has run: what a stop interrupted is resumed at once
}

func newResubmitter(s *Service) *resubmitter {
	return &resubmitter{
		s:        s,
		wake:     make(chan struct{}, 1),
		inflight: make(map[uuid.UUID]bool),
		failures: make(map[uuid.UUID]int),
		due:      make(map[uuid.UUID]time.Time),
	}
}

// begin marks a request's submission in flight; it reports false when one already is.
func (rs *resubmitter) begin(id uuid.UUID) bool {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.inflight[id] {
		return false
	}
	rs.inflight[id] = true
	return true
}

// end records how a submission went: a request with an item left unsettled (AccessOwl did not
// answer, or its revocation could not be found after a 409) is tried again after a backoff; one
// that settled is forgotten.
func (rs *resubmitter) end(id uuid.UUID, o Outcome) {
	rs.mu.Lock()
	delete(rs.inflight, id)
	retry := false
	for _, it := range o.Items {
		retry = retry || it.Unsettled
	}
	if !retry {
		delete(rs.failures, id)
		delete(rs.due, id)
		rs.mu.Unlock()
		return
	}
	rs.failures[id]++
	wait := firstResubmit << min(rs.failures[id]-1, 10)
	rs.due[id] = rs.s.now().Add(min(wait, maxResubmit))
	rs.mu.Unlock()
	select {
	case rs.wake <- struct{}{}:
	default:
	}
}

// run resubmits what is due until ctx ends. Its first step, at start, resumes everything a stop
// interrupted.
func (rs *resubmitter) run(ctx context.Context) error {
	return loop(ctx, rs.wake, rs.step)
}

// step submits the requests that are due in the background and returns how long to sleep.
func (rs *resubmitter) step(ctx context.Context) time.Duration {
	s := rs.s
	pending, err := s.store.Unsubmitted(ctx)
	if err != nil {
		s.log.Error("cannot list unsubmitted requests", "error", err)
		return resubmitScan
	}
	now := s.now()
	next := resubmitScan
	defer func() {
		rs.mu.Lock()
		rs.started = true
		rs.mu.Unlock()
	}()
	for _, r := range pending {
		at := rs.dueAt(r, now)
		if at.After(now) {
			next = min(next, at.Sub(now))
			continue
		}
		if !rs.begin(r.ID) {
			continue // a click is submitting it right now
		}
		var unsettled []store.Item
		for _, it := range r.Items {
			if !it.Settled() {
				unsettled = append(unsettled, it)
			}
		}
		resubmit := func(ctx context.Context) {
			s.log.Info("resubmitting an approved request", "request_id", r.ID.String(), "approved_by", r.DecidedBy, "items", len(unsettled))
			s.Audit(ctx, store.AuditRecord{RequestID: r.ID, Actor: store.BotActor, Action: store.ActionResume, Outcome: store.OutcomeOK, Detail: "approved by " + r.DecidedBy})
			rs.end(r.ID, s.submit(apiclient.Background(ctx), r, unsettled, store.BotActor))
		}
		if s.spawn == nil {
			resubmit(ctx)
		} else if !s.spawn("resubmit", r.ID.String(), resubmit) {
			rs.end(r.ID, Outcome{Items: []ItemOutcome{{Result: NotAnswered, Unsettled: true}}}) // no worker free: later
		}
	}
	return next
}

// dueAt is when the background should next submit r: when its backoff ends if an attempt of this
// process failed; otherwise at once for an item never attempted (a stop came between the
// decision and the POST) and for anything found at start, when no attempt of this process can
// be under way; and settleTime after the first attempt for one a click on another replica may
// still be submitting.
func (rs *resubmitter) dueAt(r store.Request, now time.Time) time.Time {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if at, ok := rs.due[r.ID]; ok {
		return at
	}
	if !rs.started {
		return time.Time{}
	}
	at := time.Time{}
	for _, it := range r.Items {
		if !it.Settled() && !it.SubmittedAt.IsZero() {
			at = latest(at, it.SubmittedAt.Add(settleTime))
		}
	}
	return at
}

// ResumeSubmissions submits, now, every approved request with an item neither submitted nor
// refused: what a stop interrupted. The background resubmission does it at start and whenever
// one is due; this is its first step, for callers that want it at once.
func (s *Service) ResumeSubmissions(ctx context.Context) error {
	s.resubmit.step(ctx)
	return nil
}
