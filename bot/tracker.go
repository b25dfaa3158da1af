package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"revokebot/apiclient"
	"revokebot/store"
)

// Defaults and bounds of status tracking.
const (
	// DefaultStatusPoll is REVOKE_STATUS_POLL's default: the shortest interval between two
	// checks of one revocation, and between two sweeps.
	DefaultStatusPoll = 15 * time.Second
	// DefaultMaxStatusBackoff caps the interval between checks of a revocation that stays
	// processing_access. Admin-provisioned revocations wait hours or days for a person, so
	// checking every 15 s would spend a list page every sweep for nothing; two minutes keeps a
	// long wait's end visible in the thread within about eight poll intervals, and costs one list
	// page every two minutes (30 requests an hour, 3% of AccessOwl's limit) per hundred waiting.
	DefaultMaxStatusBackoff = 2 * time.Minute
	// DefaultTrackerBudget is how many AccessOwl requests an hour the tracker plans to spend:
	// half of AccessOwl's 1,000, so people's lookups and submissions always find the other half.
	DefaultTrackerBudget = 500
	// DefaultClaimLease is how old an unposted claim must be before the tracker posts it itself:
	// younger ones may be being posted right now by another replica. It is twice replyTimeout,
	// the longest an announcement may spend posting.
	DefaultClaimLease = 2 * replyTimeout

	// fastChecks is how many checks in a row run at the full poll rate before backoff starts:
	// 8 × 15 s covers the minute or two AccessOwl takes to finish an automatic revocation.
	fastChecks = 8
	// maxErrorBackoff caps the wait after failed sweeps: long enough not to pile onto an
	// AccessOwl that is failing, short enough that statuses are at most minutes late after it
	// recovers.
	maxErrorBackoff = 5 * time.Minute
	// replyTimeout bounds posting one status reply or updating one parent, Output's pacing and
	// 429 waits included, so an announcement cannot outlive its claim's lease.
	replyTimeout = 2 * time.Minute
	// storeTimeout bounds the store writes that record a reply already posted; they run even
	// while shutting down, so what is in flight is persisted rather than left to recovery.
	storeTimeout = 5 * time.Second
	// listPageSize is AccessOwl's largest page: one request covers 100 in-flight revocations.
	listPageSize = 100
	// repliesPageSize is the page size Slack recommends for conversations.replies.
	repliesPageSize = 200
	// idleWait is how long the loop sleeps with nothing tracked; Track wakes it sooner.
	idleWait = time.Hour
	// noThread is recorded as the reply of a status whose request has no approval message to
	// reply under, so recovery does not try it forever.
	noThread = "none"
)

// RevocationSource is the part of the AccessOwl client the tracker uses; *apiclient.Client
// satisfies it.
type RevocationSource interface {
	ListRevocations(ctx context.Context, opts apiclient.RevocationListOptions) ([]apiclient.Revocation, string, error)
	GetRevocation(ctx context.Context, id string) (*apiclient.Revocation, error)
	BackgroundDelay() time.Duration
}

// Poster posts and updates messages; *Output satisfies it.
type Poster interface {
	Post(ctx context.Context, channel string, options ...slack.MsgOption) (string, error)
	Update(ctx context.Context, channel, ts string, options ...slack.MsgOption) error
}

// ThreadReader reads a thread's replies; *slack.Client satisfies it. It needs the
// channels:history scope (groups:history for a private channel).
type ThreadReader interface {
	GetConversationRepliesContext(ctx context.Context, params *slack.GetConversationRepliesParameters) ([]slack.Message, bool, string, error)
}

var (
	_ RevocationSource = (*apiclient.Client)(nil)
	_ Poster           = (*Output)(nil)
	_ ThreadReader     = (*slack.Client)(nil)
)

// TrackerConfig configures a Tracker. Store, Source, Output and Threads are required; zero
// values elsewhere take the defaults.
type TrackerConfig struct {
	Store   store.Store
	Source  RevocationSource
	Output  Poster
	Threads ThreadReader
	// Poll is REVOKE_STATUS_POLL (DefaultStatusPoll).
	Poll time.Duration
	// MaxBackoff caps the interval between checks of one revocation (DefaultMaxStatusBackoff).
	MaxBackoff time.Duration
	// HourlyBudget is how many AccessOwl requests an hour sweeps may spend (DefaultTrackerBudget).
	// The client's own budget is the hard limit; this keeps the tracker well inside it.
	HourlyBudget int
	// ClaimLease is how old a claimed but unposted status must be before recovery posts it
	// (DefaultClaimLease). Recovery marks a reply it finds in the thread at once, whatever the age.
	ClaimLease time.Duration
	// Now is the clock (time.Now).
	Now func() time.Time
	// Log receives the tracker's log lines (slog.Default()).
	Log *slog.Logger
}

// Tracker follows submitted revocations until AccessOwl closes them, and announces each status
// in the request's thread exactly once, across restarts and replicas. Track and Run may be
// called concurrently; Run must run once per Tracker.
type Tracker struct {
	store      store.Store
	source     RevocationSource
	output     Poster
	threads    ThreadReader
	poll       time.Duration
	maxBackoff time.Duration
	perRequest time.Duration // the share of an hour one request of the budget stands for
	claimLease time.Duration
	now        func() time.Time
	log        *slog.Logger

	wake chan struct{}

	mu        sync.Mutex
	inflight  map[statusKey]bool // statuses this process is announcing right now
	recoverAt time.Time          // when unposted statuses need another look; zero: none known

	// Run's own state.
	lastSweep   time.Time
	nextAllowed time.Time // the budget's pacing: no sweep before this
	retryAt     time.Time // after failures: no sweep before this
	failures    int
	listPages   int // pages the last list of processing revocations took
}

type statusKey struct{ revocationID, status string }

// NewTracker returns a Tracker configured by cfg.
func NewTracker(cfg TrackerConfig) (*Tracker, error) {
	if cfg.Store == nil || cfg.Source == nil || cfg.Output == nil || cfg.Threads == nil {
		return nil, errors.New("tracker: Store, Source, Output and Threads are required")
	}
	if cfg.Poll <= 0 {
		cfg.Poll = DefaultStatusPoll
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultMaxStatusBackoff
	}
	if cfg.MaxBackoff < cfg.Poll {
		return nil, fmt.Errorf("tracker: max backoff %s is below the poll interval %s", cfg.MaxBackoff, cfg.Poll)
	}
	if cfg.HourlyBudget <= 0 {
		cfg.HourlyBudget = DefaultTrackerBudget
	}
	if cfg.ClaimLease <= 0 {
		cfg.ClaimLease = DefaultClaimLease
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Tracker{
		store:      cfg.Store,
		source:     cfg.Source,
		output:     cfg.Output,
		threads:    cfg.Threads,
		poll:       cfg.Poll,
		maxBackoff: cfg.MaxBackoff,
		perRequest: time.Hour / time.Duration(cfg.HourlyBudget),
		claimLease: cfg.ClaimLease,
		now:        cfg.Now,
		log:        cfg.Log,
		wake:       make(chan struct{}, 1),
		inflight:   make(map[statusKey]bool),
		listPages:  1,
	}, nil
}

// Track starts following rev, which r created, and announces its current status (normally
// processing_access: "Revocation submitted…"). The submission code calls it after a 201, or
// after finding the revocation that a 409 says exists. Calling it again for the same revocation
// (another replica, a redelivered click) posts nothing more.
func (t *Tracker) Track(ctx context.Context, r store.Request, rev apiclient.Revocation) error {
	if rev.ID == "" || rev.Status == "" {
		return fmt.Errorf("track revocation of request %s: the revocation has no ID or status", r.ID)
	}
	defer t.kick()
	now := t.now()
	// The row starts with no status, meaning nothing announced yet: if this process dies before
	// the announcement below, the loop sees a change and announces it.
	err := t.store.Track(ctx, store.Tracked{
		RevocationID: rev.ID,
		RequestID:    r.ID,
		NextCheck:    now.Add(t.poll),
		UpdatedAt:    now,
	})
	if err != nil {
		return fmt.Errorf("track revocation %s: %w", rev.ID, err)
	}
	row, ok, err := t.tracked(ctx, rev.ID)
	if err != nil {
		return fmt.Errorf("track revocation %s: %w", rev.ID, err)
	}
	if !ok || row.Status != "" {
		// Final, or announced before: the loop knows more than rev, which may be stale.
		return nil
	}
	return t.announce(ctx, r, row, string(rev.Status), now)
}

// tracked returns the tracked row of a revocation that is not final.
func (t *Tracker) tracked(ctx context.Context, revocationID string) (store.Tracked, bool, error) {
	rows, err := t.store.Tracking(ctx)
	if err != nil {
		return store.Tracked{}, false, err
	}
	for _, row := range rows {
		if row.RevocationID == revocationID {
			return row, true, nil
		}
	}
	return store.Tracked{}, false, nil
}

// kick wakes Run so that it looks at the tracked revocations again.
func (t *Tracker) kick() {
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// Run follows the tracked revocations until ctx ends; it then returns nil. It first recovers
// statuses a previous run claimed but may not have posted.
func (t *Tracker) Run(ctx context.Context) error {
	t.recoverUnposted(ctx)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		case <-t.wake:
		}
		if ctx.Err() != nil {
			return nil
		}
		timer.Reset(t.step(ctx))
	}
}

// step does what is due now — recovery, a sweep — and returns how long to sleep.
func (t *Tracker) step(ctx context.Context) time.Duration {
	now := t.now()
	if at := t.recoveryDue(); !at.IsZero() && !now.Before(at) {
		t.recoverUnposted(ctx)
		now = t.now()
	}
	wakeAt := now.Add(idleWait)
	if at := t.recoveryDue(); !at.IsZero() {
		wakeAt = earliest(wakeAt, at)
	}
	rows, err := t.store.Tracking(ctx)
	if err != nil {
		t.log.Error("cannot read tracked revocations", "error", err)
		return t.poll
	}
	if len(rows) == 0 {
		return wakeAt.Sub(now)
	}
	due := rows[0].NextCheck
	for _, row := range rows {
		due = earliest(due, row.NextCheck)
	}
	// A sweep waits for the first revocation due, the poll interval since the last sweep, the
	// budget's pacing and any backoff after failures.
	start := latest(due, t.lastSweep.Add(t.poll), t.nextAllowed, t.retryAt)
	if start.After(now) {
		return earliest(wakeAt, start).Sub(now)
	}
	// Background calls wait while people's calls need the budget or a 429 holds the token. Do
	// not queue a sweep behind them: look again when the client could send it at once.
	if d := t.source.BackgroundDelay(); d > 0 {
		t.log.Debug("status sweep deferred: AccessOwl budget busy", "wait", d)
		return d
	}
	t.sweep(ctx, rows, now)
	return 0
}

// sweep checks the tracked revocations against AccessOwl once. Due ones that are still in the
// list of processing revocations are unchanged; any that left it (due or not: it left for a
// reason) is fetched on its own to learn where it went.
func (t *Tracker) sweep(ctx context.Context, rows []store.Tracked, now time.Time) {
	t.lastSweep = now
	spent := 0
	defer func() {
		// Pace sweeps so that what they spend never averages over the hourly budget: each
		// request pushes the next sweep back by its share of the hour.
		t.nextAllowed = latest(t.nextAllowed, now).Add(time.Duration(spent) * t.perRequest)
	}()
	bg := apiclient.Background(ctx)
	var due int
	for _, row := range rows {
		if !row.NextCheck.After(now) {
			due++
		}
	}
	// Listing costs as many requests as the list has pages, fetching one by one a request per
	// due revocation: take the cheaper.
	var listed map[string]bool
	if due >= t.listPages {
		var (
			pages int
			err   error
		)
		listed, pages, err = t.listProcessing(bg)
		spent += pages
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
		var observed string
		switch {
		case listed != nil && listed[row.RevocationID]:
			if !isDue {
				continue
			}
			observed = string(apiclient.RevocationProcessing)
		case listed == nil && !isDue:
			continue
		default:
			rev, err := t.source.GetRevocation(bg, row.RevocationID)
			spent++
			if errors.Is(err, apiclient.ErrNotFound) {
				// AccessOwl lost a revocation it created, or the store names one of another
				// organisation: nothing the bot can fix, so say so loudly and ask rarely.
				t.log.Error("tracked revocation not found at AccessOwl", "revocation_id", row.RevocationID,
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
				// The rows not reached yet stay due and are checked by the next sweep.
				t.failed(now, fmt.Errorf("get revocation %s: %w", row.RevocationID, err))
				return
			}
			observed = string(rev.Status)
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
		req, err := t.store.Request(ctx, row.RequestID)
		if err != nil {
			t.log.Error("cannot read the request of a tracked revocation", "revocation_id", row.RevocationID,
				"request_id", row.RequestID.String(), "error", err)
			continue
		}
		if err := t.announce(ctx, req, row, observed, now); err != nil {
			t.log.Error("cannot announce a revocation status", "revocation_id", row.RevocationID,
				"request_id", req.ID.String(), "status", observed, "error", err)
		}
	}
	t.failures, t.retryAt = 0, time.Time{}
}

// listProcessing returns the IDs of every processing revocation, following cursors, and the
// number of pages it asked for.
func (t *Tracker) listProcessing(ctx context.Context) (map[string]bool, int, error) {
	listed := make(map[string]bool)
	seen := make(map[string]bool)
	opts := apiclient.RevocationListOptions{
		Status:      apiclient.RevocationProcessing,
		ListOptions: apiclient.ListOptions{Limit: listPageSize},
	}
	for pages := 1; ; pages++ {
		revs, next, err := t.source.ListRevocations(ctx, opts)
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
func (t *Tracker) failed(now time.Time, err error) {
	t.failures++
	wait := t.poll
	for i := 1; i < t.failures && wait < maxErrorBackoff; i++ {
		wait *= 2
	}
	wait = min(wait, maxErrorBackoff)
	var rl *apiclient.RateLimitError
	if errors.As(err, &rl) {
		wait = max(wait, rl.RetryAfter)
	}
	t.retryAt = now.Add(wait)
	t.log.Warn("status sweep failed; trying again later", "error", err, "failures", t.failures, "wait", wait)
}

// checkInterval is how long after its n-th unchanged check a revocation is checked again: the
// poll interval at first, then doubling up to the cap, so a revocation waiting days for an admin
// costs little.
func (t *Tracker) checkInterval(unchanged int) time.Duration {
	d := t.poll
	for i := fastChecks; i < unchanged && d < t.maxBackoff; i++ {
		d *= 2
	}
	return min(d, t.maxBackoff)
}

func (t *Tracker) save(ctx context.Context, row store.Tracked) {
	if err := t.store.UpdateTracked(ctx, row); err != nil {
		t.log.Error("cannot save a tracked revocation", "revocation_id", row.RevocationID, "request_id", row.RequestID.String(), "error", err)
	}
}

// announce makes a revocation's new status known: one thread reply, the parent's status line,
// the tracked row.
//
// The order is what makes "no status posted twice, none lost" hold whatever fails or dies:
//
//  1. ClaimStatus first: the durable promise that this status will be posted, and the lock that
//     keeps every other caller (a second replica, a repeated Track) from posting it.
//  2. Post the reply. Dying before this leaves an unposted claim, which recovery finds: the
//     reply is not in the thread, so it posts it.
//  3. MarkStatusPosted. Dying between 2 and 3 leaves the same unposted claim, but now the reply
//     is in the thread, and its metadata lets recovery recognise it and mark it instead.
//  4. Update the parent, then the tracked row. Dying before the row is saved leaves it stale:
//     the next sweep sees the change again, its claim fails, and it only brings the parent and
//     the row up to date.
//
// A failed post (Slack down) leaves the claim to recovery too, so the parent and row move on.
func (t *Tracker) announce(ctx context.Context, req store.Request, row store.Tracked, status string, now time.Time) error {
	key := statusKey{row.RevocationID, status}
	t.mu.Lock()
	t.inflight[key] = true
	t.mu.Unlock()
	defer func() {
		t.mu.Lock()
		delete(t.inflight, key)
		t.mu.Unlock()
	}()

	claimed, err := t.store.ClaimStatus(ctx, store.StatusPost{
		RevocationID: row.RevocationID,
		RequestID:    req.ID,
		Status:       status,
		ClaimedAt:    now,
	})
	if err != nil {
		return err
	}
	var postErr error
	if claimed {
		if postErr = t.postStatus(ctx, req, row.RevocationID, status, ""); postErr != nil {
			t.scheduleRecovery(now.Add(t.claimLease))
		}
	}
	t.updateParent(ctx, req, status)
	row.Status = status
	row.Final = apiclient.RevocationStatus(status).Done()
	row.Unchanged = 0
	row.NextCheck = now.Add(t.poll)
	row.UpdatedAt = now
	if err := t.store.UpdateTracked(ctx, row); err != nil {
		return errors.Join(postErr, err)
	}
	return postErr
}

// postStatus posts the reply of a claimed status in the request's thread, audits it and marks
// the claim posted. detail says how it came to be posted, for the audit trail.
func (t *Tracker) postStatus(ctx context.Context, req store.Request, revocationID, status, detail string) error {
	if req.Channel == "" || req.MessageTS == "" {
		t.log.Error("status not posted: the request has no approval message to reply under",
			"request_id", req.ID.String(), "revocation_id", revocationID, "status", status)
		t.audit(ctx, req, revocationID, status, "not posted: no approval message")
		return t.store.MarkStatusPosted(ctx, revocationID, status, noThread)
	}
	pctx, cancel := context.WithTimeout(ctx, replyTimeout)
	options := append(StatusReply(req, revocationID, status), slack.MsgOptionTS(req.MessageTS))
	ts, err := t.output.Post(pctx, req.Channel, options...)
	cancel()
	if err != nil {
		return fmt.Errorf("post status %s of revocation %s: %w", status, revocationID, err)
	}
	// The reply is out: record it even if ctx is ending, so a shutdown leaves nothing to recover.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	t.audit(sctx, req, revocationID, status, detail)
	if err := t.store.MarkStatusPosted(sctx, revocationID, status, ts); err != nil {
		return fmt.Errorf("mark status %s of revocation %s posted: %w", status, revocationID, err)
	}
	return nil
}

// updateParent brings the approval message's status line up to date. The request is decided,
// so the message has no buttons. A failure is logged: the thread reply already told people.
func (t *Tracker) updateParent(ctx context.Context, req store.Request, status string) {
	if req.Channel == "" || req.MessageTS == "" {
		return
	}
	uctx, cancel := context.WithTimeout(ctx, replyTimeout)
	defer cancel()
	if err := t.output.Update(uctx, req.Channel, req.MessageTS, ApprovalMessage(req, Progress{Status: status}, "")...); err != nil {
		t.log.Error("cannot update the approval message", "request_id", req.ID.String(), "status", status, "error", err)
	}
}

func (t *Tracker) audit(ctx context.Context, req store.Request, revocationID, status, detail string) {
	d := "revocation " + revocationID
	if detail != "" {
		d += ": " + detail
	}
	err := t.store.Audit(ctx, store.AuditRecord{
		At:        t.now(),
		RequestID: req.ID,
		Actor:     store.BotActor,
		Action:    "status",
		Outcome:   status,
		Detail:    d,
	})
	if err != nil {
		t.log.Error("cannot audit a status", "request_id", req.ID.String(), "revocation_id", revocationID, "error", err)
	}
	t.log.Info("revocation status announced", "request_id", req.ID.String(), "revocation_id", revocationID,
		"status", status, "detail", detail)
}

// recoverUnposted settles the statuses claimed but not recorded as posted: a reply found in the
// thread is marked posted; a missing one is posted once its claim is older than the lease, since
// a younger claim may belong to another replica posting it right now.
func (t *Tracker) recoverUnposted(ctx context.Context) {
	now := t.now()
	t.mu.Lock()
	t.recoverAt = time.Time{}
	t.mu.Unlock()
	posts, err := t.store.UnpostedStatuses(ctx)
	if err != nil {
		t.log.Error("cannot list unposted statuses", "error", err)
		t.scheduleRecovery(now.Add(t.poll))
		return
	}
	for _, p := range posts {
		if ctx.Err() != nil {
			return
		}
		t.mu.Lock()
		busy := t.inflight[statusKey{p.RevocationID, p.Status}]
		t.mu.Unlock()
		if busy {
			t.scheduleRecovery(now.Add(t.claimLease))
			continue
		}
		if err := t.recoverOne(ctx, p, now); err != nil && ctx.Err() == nil {
			// Slack refusing the thread (archived, bot removed) may last: try again, but not
			// every sweep.
			t.log.Error("cannot recover an unposted status", "revocation_id", p.RevocationID,
				"request_id", p.RequestID.String(), "status", p.Status, "error", err)
			t.scheduleRecovery(now.Add(t.claimLease))
		}
	}
}

func (t *Tracker) recoverOne(ctx context.Context, p store.StatusPost, now time.Time) error {
	req, err := t.store.Request(ctx, p.RequestID)
	if errors.Is(err, store.ErrNotFound) {
		// Nowhere to post it, now or later.
		t.log.Error("status not posted: its request is not in the store", "request_id", p.RequestID.String(),
			"revocation_id", p.RevocationID, "status", p.Status)
		return t.store.MarkStatusPosted(ctx, p.RevocationID, p.Status, noThread)
	}
	if err != nil {
		return err
	}
	if req.Channel == "" || req.MessageTS == "" {
		return t.postStatus(ctx, req, p.RevocationID, p.Status, "")
	}
	ts, found, err := t.findReply(ctx, req, p.RevocationID, p.Status)
	if err != nil {
		return err
	}
	if found {
		t.audit(ctx, req, p.RevocationID, p.Status, "reply found in the thread after a restart")
		return t.store.MarkStatusPosted(ctx, p.RevocationID, p.Status, ts)
	}
	if until := p.ClaimedAt.Add(t.claimLease); now.Before(until) {
		t.scheduleRecovery(until)
		return nil
	}
	return t.postStatus(ctx, req, p.RevocationID, p.Status, "posted after a restart")
}

// findReply looks in the request's thread for the reply announcing status, by its metadata.
func (t *Tracker) findReply(ctx context.Context, req store.Request, revocationID, status string) (string, bool, error) {
	params := &slack.GetConversationRepliesParameters{
		ChannelID:          req.Channel,
		Timestamp:          req.MessageTS,
		Limit:              repliesPageSize,
		IncludeAllMetadata: true,
	}
	seen := make(map[string]bool)
	for {
		msgs, _, next, err := t.threads.GetConversationRepliesContext(ctx, params)
		if err != nil {
			return "", false, fmt.Errorf("read thread %s in %s: %w", req.MessageTS, req.Channel, err)
		}
		for _, m := range msgs {
			if m.Metadata.EventType != StatusMetadataType {
				continue
			}
			p := m.Metadata.EventPayload
			if p["revocation_id"] == revocationID && p["status"] == status {
				return m.Timestamp, true, nil
			}
		}
		if next == "" || seen[next] {
			return "", false, nil
		}
		seen[next] = true
		params.Cursor = next
	}
}

func (t *Tracker) scheduleRecovery(at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.recoverAt.IsZero() || at.Before(t.recoverAt) {
		t.recoverAt = at
	}
}

func (t *Tracker) recoveryDue() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.recoverAt
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
