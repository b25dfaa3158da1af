package revoke

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"

	"revokebot/apiclient"
	"revokebot/store"
)

// AccessOwl is what the lifecycle asks of AccessOwl; *apiclient.Client satisfies it.
type AccessOwl interface {
	CreateRevocation(ctx context.Context, idempotencyKey string, r apiclient.NewRevocation) (*apiclient.Revocation, error)
	FindRevocation(ctx context.Context, q apiclient.RevocationQuery) (*apiclient.Revocation, error)
	GetRevocation(ctx context.Context, id string) (*apiclient.Revocation, error)
	ListRevocations(ctx context.Context, opts apiclient.RevocationListOptions) ([]apiclient.Revocation, string, error)
	// RevokeRevocation and RejectRevocation are an admin's Mark revoked and Could not revoke.
	RevokeRevocation(ctx context.Context, idempotencyKey, id string) (*apiclient.Revocation, error)
	RejectRevocation(ctx context.Context, idempotencyKey, id, reason string) (*apiclient.Revocation, error)
	// GetApplication and GetUser find who administers an application, to ask them.
	GetApplication(ctx context.Context, id string) (*apiclient.Application, error)
	GetUser(ctx context.Context, id string) (*apiclient.User, error)
	// BackgroundDelay says how long a background call would wait for the budget now, so that
	// the tracker plans its sweeps instead of queueing behind people's calls.
	BackgroundDelay() time.Duration
}

var _ AccessOwl = (*apiclient.Client)(nil)

// Notifier is told what happened to a request, so that people see it. Package bot implements
// it for Slack. Its methods may be slow (Slack paces messages); they report failures, and the
// lifecycle decides what a failure means.
type Notifier interface {
	// PostRequest posts a new request's approval message in r.Channel and returns its ts.
	PostRequest(ctx context.Context, r store.Request) (ts string, err error)
	// UpdateRequest brings a posted request's approval message up to date with its state.
	UpdateRequest(ctx context.Context, r store.Request) error
	// Reply posts one reply about e in the request's thread and returns its ts. A status reply
	// still waiting for its turn when a newer status of the same revocation is replied gives
	// its place to the newer one and returns ErrNotSent.
	Reply(ctx context.Context, r store.Request, e Event) (ts string, err error)
	// FindReply looks in the request's thread for the reply about e, after a crash may have
	// come between posting it and recording it.
	FindReply(ctx context.Context, r store.Request, e Event) (ts string, found bool, err error)
	// UpdateReply brings a posted reply that is kept up to date (a Progress) in line with r.
	UpdateReply(ctx context.Context, r store.Request, ts string, e Event) error
	// ListPages says how many replies (ItemsListed) the full list of r's accesses takes in its
	// thread when its approval message shows only part of them; 0 when it shows them all.
	ListPages(r store.Request) int
}

// Observer is told about what the lifecycle announces, for metrics. It must return at once.
type Observer interface {
	StatusAnnounced(status string)
}

// Defaults of a Config's zero values.
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
	// DefaultClaimLease is how old an unposted claim must be before recovery posts it itself:
	// younger ones may be being posted right now by another replica. It is twice replyTimeout,
	// the longest an announcement may spend posting.
	DefaultClaimLease = 2 * replyTimeout
	// DefaultRequestTTL is REVOKE_REQUEST_TTL's default: three days leaves a weekend's room to
	// decide.
	DefaultRequestTTL = 72 * time.Hour

	// replyTimeout bounds posting one reply or updating one approval message, Slack's pacing
	// and 429 waits included, so an announcement cannot outlive its claim's lease.
	replyTimeout = 2 * time.Minute
	// storeTimeout bounds the store writes that record what was already done; they run even
	// while shutting down, so what is in flight is persisted rather than left to recovery.
	storeTimeout = 5 * time.Second
)

// Config configures a Service. Store, AccessOwl and Notifier are required; zero values elsewhere
// take the defaults.
type Config struct {
	Store     store.Store
	AccessOwl AccessOwl
	Notifier  Notifier
	// Observer, if set, is told about announcements.
	Observer Observer
	// Poll is REVOKE_STATUS_POLL (DefaultStatusPoll).
	Poll time.Duration
	// MaxBackoff caps the interval between checks of one revocation (DefaultMaxStatusBackoff).
	MaxBackoff time.Duration
	// ClaimLease is how old a claimed but unposted reply must be before recovery posts it
	// (DefaultClaimLease). Recovery marks a reply it finds in the thread at once, whatever its age.
	ClaimLease time.Duration
	// TTL is REVOKE_REQUEST_TTL (DefaultRequestTTL).
	TTL time.Duration
	// ExpiryInterval is the time between expiry sweeps: by default a tenth of the TTL, at most a
	// minute and at least five seconds.
	ExpiryInterval time.Duration
	// Retention is how long a finished request, with its items and replies, is kept after its
	// last activity (REVOKE_RETENTION); AuditRetention how long an audit record is kept
	// (AUDIT_RETENTION). Unlike the other fields, zero does not take a default: it keeps them
	// for ever, since deleting is what an operator must ask for.
	Retention      time.Duration
	AuditRetention time.Duration
	// RetentionInterval is the time between retention sweeps (DefaultRetentionInterval).
	RetentionInterval time.Duration
	// People, if set, finds the Slack accounts of an admin-provisioned application's admins and
	// owner, who are asked to finish its revocations; nil asks the approvers.
	People People
	// RemindAfter is REVOKE_REMIND_AFTER (DefaultRemindAfter): the wait before the first
	// reminder, doubled before each next one.
	RemindAfter time.Duration
	// RemindMax is REVOKE_REMIND_MAX: how many reminders at most (DefaultRemindMax when zero;
	// negative sends none).
	RemindMax int
	// RemindHours keeps reminders to working hours (REVOKE_REMIND_HOURS); the zero value is
	// every hour.
	RemindHours Hours
	// ID names this process in the replies it claims (store.Post.Claimer), so that Alive can be
	// asked about it by the others; empty picks a random one.
	ID string
	// Alive reports whether the process that claimed a reply (store.Post.Claimer) may still be
	// posting it. Nil means this process is the only one: a claim of any other was left by one
	// that stopped, and recovery posts it at once instead of waiting out the claim's lease.
	Alive func(claimer string) bool
	// Spawn runs background work — the submissions resumed at start — where the owner can drain
	// it at shutdown, and reports whether it accepted it. Nil runs it in the caller.
	Spawn func(name string, requestID string, run func(ctx context.Context)) bool
	// Now is the clock (time.Now).
	Now func() time.Time
	// Log receives the lifecycle's log lines (slog.Default()).
	Log *slog.Logger
}

// Service is the revocation lifecycle. Its methods are safe for concurrent use; Run runs its
// background loops and must run once.
type Service struct {
	id       string // this process, as it signs its claims
	alive    func(claimer string) bool
	store    store.Store
	owl      AccessOwl
	notifier Notifier
	observer Observer
	people   People
	spawn    func(name string, requestID string, run func(ctx context.Context)) bool
	now      func() time.Time
	log      *slog.Logger

	poll       time.Duration
	claimLease time.Duration
	replies    replies
	progress   progress
	tracker    *tracker
	expiry     *expiry
	resubmit   *resubmitter
	retention  *retention
	reminders  *reminders
	directory  directory
}

// New returns a Service configured by cfg.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.AccessOwl == nil || cfg.Notifier == nil {
		return nil, errors.New("revoke: Store, AccessOwl and Notifier are required")
	}
	if cfg.Poll <= 0 {
		cfg.Poll = DefaultStatusPoll
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultMaxStatusBackoff
	}
	if cfg.MaxBackoff < cfg.Poll {
		return nil, errors.New("revoke: the maximum status backoff is below the poll interval")
	}
	if cfg.ClaimLease <= 0 {
		cfg.ClaimLease = DefaultClaimLease
	}
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultRequestTTL
	}
	if cfg.ExpiryInterval <= 0 {
		cfg.ExpiryInterval = min(cfg.TTL/10, maxExpiryInterval)
	}
	cfg.ExpiryInterval = max(cfg.ExpiryInterval, minExpiryInterval)
	if cfg.RetentionInterval <= 0 {
		cfg.RetentionInterval = DefaultRetentionInterval
	}
	if cfg.RemindAfter <= 0 {
		cfg.RemindAfter = DefaultRemindAfter
	}
	if cfg.RemindMax == 0 {
		cfg.RemindMax = DefaultRemindMax
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.ID == "" {
		cfg.ID = uuid.NewString()
	}
	if cfg.Alive == nil {
		cfg.Alive = func(string) bool { return false }
	}
	s := &Service{
		id:         cfg.ID,
		alive:      cfg.Alive,
		store:      cfg.Store,
		owl:        cfg.AccessOwl,
		notifier:   cfg.Notifier,
		observer:   cfg.Observer,
		people:     cfg.People,
		spawn:      cfg.Spawn,
		now:        cfg.Now,
		log:        cfg.Log,
		poll:       cfg.Poll,
		claimLease: cfg.ClaimLease,
		replies:    replies{inflight: make(map[replyKey]bool), waiting: make(map[string]*waitingStatus)},
		progress:   progress{running: make(map[uuid.UUID]bool)},
	}
	s.tracker = newTracker(s, cfg.MaxBackoff)
	s.expiry = &expiry{s: s, ttl: cfg.TTL, interval: cfg.ExpiryInterval}
	s.resubmit = newResubmitter(s)
	s.retention = &retention{s: s, keep: cfg.Retention, keepAudit: cfg.AuditRetention,
		interval: cfg.RetentionInterval, batch: retentionBatch}
	s.reminders = newReminders(s, cfg.RemindAfter, cfg.RemindMax, cfg.RemindHours)
	return s, nil
}

// Run finishes what a stop interrupted — requests stored but not posted, submissions not
// finished — then follows the tracked revocations, resubmits what AccessOwl did not take,
// expires undecided requests, asks admins and reminds people, and deletes what is past its
// retention until ctx ends; it then returns nil.
func (s *Service) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return s.tracker.run(ctx) })
	g.Go(func() error { return s.expiry.run(ctx) })
	g.Go(func() error { return s.resubmit.run(ctx) })
	g.Go(func() error { return s.retention.run(ctx) })
	g.Go(func() error { return s.reminders.run(ctx) })
	g.Go(func() error {
		// A request left unposted now is posted by the next start or its redelivery: a store
		// that fails here does not stop the bot.
		if err := s.RepostRequests(ctx); err != nil {
			s.log.Error("could not post the requests a stop left unposted", "error", err)
		}
		return nil
	})
	return g.Wait()
}

// Kick makes the tracker look at the tracked revocations now. A replica that runs Run calls it
// when another replica may have started tracking a revocation: the tracker otherwise sleeps
// until the revocations it knows of are due.
func (s *Service) Kick() { s.tracker.kick() }

// loop runs step at once, and then again when the wait it returns is over or wake fires, until
// ctx ends; it then returns nil.
func loop(ctx context.Context, wake <-chan struct{}, step func(context.Context) time.Duration) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		case <-wake:
		}
		if ctx.Err() != nil {
			return nil
		}
		timer.Reset(step(ctx))
	}
}

// Audit records an action in the store's audit trail and in the log: routine outcomes at info,
// refusals and failures at warn.
func (s *Service) Audit(ctx context.Context, a store.AuditRecord) {
	if a.At.IsZero() {
		a.At = s.now().UTC()
	}
	level := slog.LevelInfo
	if !a.Outcome.Routine() {
		level = slog.LevelWarn
	}
	s.log.Log(ctx, level, "audit", "request_id", a.RequestID.String(), "actor", a.Actor,
		"action", string(a.Action), "outcome", string(a.Outcome), "detail", a.Detail)
	// The record outlives a shutdown that is already under way: what happened, happened.
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	if err := s.store.Audit(actx, a); err != nil {
		s.log.Error("audit record not stored", "request_id", a.RequestID.String(), "action", string(a.Action), "error", err)
	}
}
