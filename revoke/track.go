package revoke

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"revokebot/apiclient"
	"revokebot/store"
)

// Bounds of status tracking.
const (
	// fastChecks is how many checks in a row run at the full poll rate before backoff starts:
	// 8 × 15 s covers the minute or two AccessOwl takes to finish an automatic revocation.
	fastChecks = 8
	// maxErrorBackoff caps the wait after failed sweeps: long enough not to pile onto an
	// AccessOwl that is failing, short enough that statuses are at most minutes late after it
	// recovers.
	maxErrorBackoff = 5 * time.Minute
	// listPageSize is AccessOwl's largest page: one request covers 100 in-flight revocations.
	listPageSize = 100
	// idleWait is how long the loop sleeps with nothing tracked; Track wakes it sooner.
	idleWait = time.Hour
	// maxAnnouncing bounds the status changes a sweep announces at once: enough to keep Slack's
	// pacing of a busy channel full, few enough that a thousand changes never open a thousand
	// connections.
	maxAnnouncing = 16
)

// tracker follows submitted revocations until AccessOwl closes them, one sweep at a time: one
// list of processing revocations covers up to a hundred, and only those that left it are
// fetched one by one.
//
// Its pace is the budget's: while the hour has room, each revocation is checked every poll
// interval (less often only when it has waited long, see checkInterval), and a sweep never
// waits for a plan of its own. When the AccessOwl client says background work must wait (the
// hour is filling, or a 429 holds everyone), the sweep waits exactly that long.
type tracker struct {
	s          *Service
	maxBackoff time.Duration
	wake       chan struct{}
	announcing chan struct{} // one token per announcement in flight, at most maxAnnouncing
	inflight   sync.WaitGroup

	mu   sync.Mutex
	busy map[string]store.Status // revocations whose change is being announced, and to what

	// The loop's own state.
	lastSweep time.Time
	retryAt   time.Time // after failures: no sweep before this
	failures  int
	listPages int // pages the last list of processing revocations took
}

func newTracker(s *Service, maxBackoff time.Duration) *tracker {
	return &tracker{s: s, maxBackoff: maxBackoff, wake: make(chan struct{}, 1), announcing: make(chan struct{}, maxAnnouncing),
		busy: make(map[string]store.Status), listPages: 1}
}

// track records the revocation an item created, starts following it and announces its status
// (normally processing_access: "Revocation submitted…"). Calling it again for the same
// revocation (another replica, a repeated click) announces nothing more.
func (s *Service) track(ctx context.Context, r store.Request, it store.Item, rev apiclient.Revocation) error {
	if rev.ID == "" || rev.Status == "" {
		return fmt.Errorf("track revocation of request %s: the revocation has no ID or status", r.ID)
	}
	now := s.now()
	// The item starts with no status, meaning nothing announced yet: if this process dies before
	// the announcement below, the tracker sees a change and announces it.
	if err := s.store.SetRevocation(ctx, r.ID, it.AccessStateID, rev.ID, now.Add(s.poll)); err != nil {
		return fmt.Errorf("track revocation %s: %w", rev.ID, err)
	}
	// The tracker goes on checking it, but leaves this status to this announcement.
	s.tracker.hold(rev.ID, rev.Status)
	defer s.tracker.release(rev.ID)
	s.tracker.kick() // it sleeps until the next revocation is due, and this one is new
	row, err := s.store.TrackedRevocation(ctx, rev.ID)
	if err != nil {
		return fmt.Errorf("track revocation %s: %w", rev.ID, err)
	}
	if row.Status != "" {
		// Announced before: the tracker knows more than rev, which may be stale.
		return nil
	}
	it.RevocationID = rev.ID
	return s.statusChanged(ctx, r, it, row, rev.Status, now)
}

// hold marks a revocation whose change to status is being announced: sweeps that see the same
// status leave it be meanwhile (a newer one they announce, and it takes the older's place).
func (t *tracker) hold(revocationID string, status store.Status) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.busy[revocationID] = status
}

// release ends hold, and wakes the loop: a change seen while this one was announced, or the
// first check of a new revocation, is due.
func (t *tracker) release(revocationID string) {
	t.mu.Lock()
	delete(t.busy, revocationID)
	t.mu.Unlock()
	t.kick()
}

// announcingNow reports whether the revocation's change to status is being announced.
func (t *tracker) announcingNow(revocationID string, status store.Status) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	st, ok := t.busy[revocationID]
	return ok && st == status
}

// kick wakes the loop so that it looks at the tracked revocations again.
func (t *tracker) kick() {
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// run follows the tracked revocations until ctx ends; it then returns nil. It first recovers
// replies a previous run claimed but may not have posted.
func (t *tracker) run(ctx context.Context) error {
	defer t.inflight.Wait()
	t.s.recoverUnposted(ctx)
	return loop(ctx, t.wake, t.step)
}

// step does what is due now — recovery, a sweep — and returns how long to sleep.
func (t *tracker) step(ctx context.Context) time.Duration {
	s := t.s
	now := s.now()
	if at := s.recoveryDue(); !at.IsZero() && !now.Before(at) {
		s.recoverUnposted(ctx)
		now = s.now()
	}
	wakeAt := now.Add(idleWait)
	if at := s.recoveryDue(); !at.IsZero() {
		wakeAt = earliest(wakeAt, at)
	}
	rows, err := s.store.Tracking(ctx)
	if err != nil {
		s.log.Error("cannot read tracked revocations", "error", err)
		return s.poll
	}
	if len(rows) == 0 {
		return wakeAt.Sub(now)
	}
	due := rows[0].NextCheck
	for _, row := range rows {
		due = earliest(due, row.NextCheck)
	}
	// A sweep waits for the first revocation due, the poll interval since the last sweep and any
	// backoff after failures.
	start := latest(due, t.lastSweep.Add(s.poll), t.retryAt)
	if start.After(now) {
		return earliest(wakeAt, start).Sub(now)
	}
	// Background calls wait while the hour is filling or a 429 holds the token. Do not queue a
	// sweep behind the budget: look again when the client could send it at once.
	if d := s.owl.BackgroundDelay(); d > 0 {
		s.log.Debug("status sweep waits for the AccessOwl budget", "wait", d)
		return d
	}
	t.sweep(ctx, rows, now)
	return 0
}

// sweep checks the tracked revocations against AccessOwl once. Due ones that are still in the
// list of processing revocations are unchanged; any that left it (due or not: it left for a
// reason) is fetched on its own to learn where it went.
func (t *tracker) sweep(ctx context.Context, rows []store.Tracked, now time.Time) {
	s := t.s
	t.lastSweep = now
	bg := apiclient.Background(ctx)
	var due int
	for _, row := range rows {
		if !row.NextCheck.After(now) {
			due++
		}
	}
	// Listing costs as many requests as the list has pages, fetching one by one a request per
	// due revocation: take the cheaper.
	var (
		listed              map[string]bool
		fetched, failedGets int
		getErr              error
	)
	if due >= t.listPages {
		var (
			pages int
			err   error
		)
		listed, pages, err = t.listProcessing(bg)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			t.failed(now, err)
			return
		}
		t.listPages = max(1, pages)
	}
	for _, row := range rows {
		isDue := !row.NextCheck.After(now)
		var observed store.Status
		switch {
		case listed != nil && listed[row.RevocationID]:
			if !isDue {
				continue
			}
			observed = apiclient.RevocationProcessing
		case listed == nil && !isDue:
			continue
		default:
			rev, err := s.owl.GetRevocation(bg, row.RevocationID)
			if errors.Is(err, apiclient.ErrNotFound) {
				// AccessOwl lost a revocation it created, or the store names one of another
				// organisation: nothing the bot can fix, so say so loudly and ask rarely.
				s.log.Error("tracked revocation not found at AccessOwl", "revocation_id", row.RevocationID,
					"request_id", row.RequestID.String(), "error", err)
				row.Unchanged++
				row.NextCheck = now.Add(t.maxBackoff)
				row.UpdatedAt = now
				t.save(ctx, row)
				continue
			}
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				// This one stays due and is checked by the next sweep; the others go on, so one
				// failing answer does not hold every thread back.
				getErr = fmt.Errorf("get revocation %s: %w", row.RevocationID, err)
				failedGets++
				continue
			}
			fetched++
			observed = rev.Status
		}
		if t.announcingNow(row.RevocationID, observed) {
			continue // this very change is on its way; the row is saved once it is announced
		}
		if observed == row.Status {
			if isDue {
				row.Unchanged++
				row.NextCheck = now.Add(t.checkInterval(row.Unchanged))
				row.UpdatedAt = now
				t.save(ctx, row)
			}
			continue
		}
		// Changes are announced side by side and the sweep does not wait for them: Slack's
		// pacing, not this loop, orders the replies of one channel, and the next sweep goes on
		// seeing changes while a burst of replies waits for its turn.
		t.hold(row.RevocationID, observed)
		t.inflight.Go(func() { t.announceChange(ctx, row, observed, now) })
	}
	if failedGets > 0 && fetched == 0 && listed == nil {
		// Nothing got through: AccessOwl is failing, so back off rather than ask again at once.
		t.failed(now, getErr)
		return
	}
	if failedGets > 0 {
		s.log.Warn("some status checks failed; they are due again next sweep", "failed", failedGets, "error", getErr)
	}
	t.failures, t.retryAt = 0, time.Time{}
}

// announceChange announces a status change a sweep saw, holding one of the tracker's slots for
// announcements while it does.
func (t *tracker) announceChange(ctx context.Context, row store.Tracked, observed store.Status, now time.Time) {
	s := t.s
	defer t.release(row.RevocationID)
	t.announcing <- struct{}{}
	defer func() { <-t.announcing }()
	r, err := s.store.Request(ctx, row.RequestID)
	if err != nil {
		s.log.Error("cannot read the request of a tracked revocation", "revocation_id", row.RevocationID,
			"request_id", row.RequestID.String(), "error", err)
		return
	}
	it, _ := r.Item(row.AccessStateID)
	if err := s.statusChanged(ctx, r, it, row, observed, now); err != nil {
		s.log.Error("cannot announce a revocation status", "revocation_id", row.RevocationID,
			"request_id", r.ID.String(), "status", string(observed), "error", err)
	}
}

// listProcessing returns the IDs of every processing revocation, following cursors, and the
// number of pages it asked for.
func (t *tracker) listProcessing(ctx context.Context) (map[string]bool, int, error) {
	listed := make(map[string]bool)
	seen := make(map[string]bool)
	opts := apiclient.RevocationListOptions{
		Status:      apiclient.RevocationProcessing,
		ListOptions: apiclient.ListOptions{Limit: listPageSize},
	}
	for pages := 1; ; pages++ {
		revs, next, err := t.s.owl.ListRevocations(ctx, opts)
		if err != nil {
			return nil, pages, fmt.Errorf("list processing revocations, page %d: %w", pages, err)
		}
		for _, rev := range revs {
			if rev.Status == apiclient.RevocationProcessing {
				listed[rev.ID] = true
			}
		}
		if next == "" {
			return listed, pages, nil
		}
		if seen[next] {
			return nil, pages, fmt.Errorf("list processing revocations: %w: %q", apiclient.ErrRepeatedCursor, next)
		}
		seen[next] = true
		opts.Cursor = next
	}
}

// failed backs the sweeps off after AccessOwl failed one: exponentially from the poll interval,
// and at least as long as a 429 asked.
func (t *tracker) failed(now time.Time, err error) {
	t.failures++
	wait := t.s.poll
	for i := 1; i < t.failures && wait < maxErrorBackoff; i++ {
		wait *= 2
	}
	wait = min(wait, maxErrorBackoff)
	var rl *apiclient.RateLimitError
	if errors.As(err, &rl) {
		wait = max(wait, rl.RetryAfter)
	}
	t.retryAt = now.Add(wait)
	t.s.log.Warn("status sweep failed; trying again later", "error", err, "failures", t.failures, "wait", wait)
}

// checkInterval is how long after its n-th unchanged check a revocation is checked again: the
// poll interval at first, then doubling up to the cap, so a revocation waiting days for an admin
// costs little.
func (t *tracker) checkInterval(unchanged int) time.Duration {
	d := t.s.poll
	for i := fastChecks; i < unchanged && d < t.maxBackoff; i++ {
		d *= 2
	}
	return min(d, t.maxBackoff)
}

func (t *tracker) save(ctx context.Context, row store.Tracked) {
	if err := t.s.store.UpdateTracked(ctx, row); err != nil {
		t.s.log.Error("cannot save a tracked revocation", "revocation_id", row.RevocationID, "request_id", row.RequestID.String(), "error", err)
	}
}

func earliest(a time.Time, more ...time.Time) time.Time {
	for _, b := range more {
		if b.Before(a) {
			a = b
		}
	}
	return a
}

func latest(a time.Time, more ...time.Time) time.Time {
	for _, b := range more {
		if b.After(a) {
			a = b
		}
	}
	return a
}
