package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/slack-go/slack"

	"revokebot/store"
)

const (
	// DefaultRequestTTL is REVOKE_REQUEST_TTL's default: three days leaves a weekend's room to
	// decide.
	DefaultRequestTTL = 72 * time.Hour
	// maxExpiryInterval is the longest wait between two expiry sweeps: a request expires at most
	// a minute late.
	maxExpiryInterval = time.Minute
	// minExpiryInterval keeps a tiny TTL (in a test, in the sandbox) from turning the sweep into
	// a busy loop over the store.
	minExpiryInterval = 5 * time.Second
)

// ExpirerConfig configures an Expirer. Store and Output are required; zero values elsewhere take
// the defaults.
type ExpirerConfig struct {
	Store  store.Store
	Output Poster
	// TTL is REVOKE_REQUEST_TTL (DefaultRequestTTL).
	TTL time.Duration
	// Interval is the time between sweeps: by default a tenth of the TTL, at most a minute and at
	// least five seconds.
	Interval time.Duration
	// Now is the clock (time.Now).
	Now func() time.Time
	// Log receives the expirer's log lines (slog.Default()).
	Log *slog.Logger
}

// Expirer expires the requests nobody decided within the TTL: their buttons go, and their thread
// says so. Several replicas may each run one: the store hands every expired request to one of
// them only.
type Expirer struct {
	store    store.Store
	output   Poster
	ttl      time.Duration
	interval time.Duration
	now      func() time.Time
	log      *slog.Logger
}

// NewExpirer returns an Expirer configured by cfg.
func NewExpirer(cfg ExpirerConfig) (*Expirer, error) {
	if cfg.Store == nil || cfg.Output == nil {
		return nil, errors.New("expirer: Store and Output are required")
	}
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultRequestTTL
	}
	if cfg.Interval <= 0 {
		cfg.Interval = min(cfg.TTL/10, maxExpiryInterval)
	}
	cfg.Interval = max(cfg.Interval, minExpiryInterval)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Expirer{store: cfg.Store, output: cfg.Output, ttl: cfg.TTL, interval: cfg.Interval, now: cfg.Now, log: cfg.Log}, nil
}

// Run sweeps at once and then every interval until ctx ends; it then returns nil.
func (e *Expirer) Run(ctx context.Context) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		if err := e.Sweep(ctx); err != nil && ctx.Err() == nil {
			e.log.Error("expiry sweep failed", "error", err)
		}
		timer.Reset(e.interval)
	}
}

// Sweep expires every request still pending past the TTL and announces each one this call
// expired: the approval message loses its buttons and says it expired, and the thread is told.
func (e *Expirer) Sweep(ctx context.Context) error {
	expired, err := e.store.ExpirePending(ctx, e.now().Add(-e.ttl))
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range expired {
		if err := e.announce(ctx, r); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// announce tells Slack a request expired, and audits it. The store already holds the request as
// expired, so a click on a button still showing is answered from there.
func (e *Expirer) announce(ctx context.Context, r store.Request) error {
	detail := fmt.Sprintf("pending since %s, longer than %s", r.CreatedAt.Format(time.RFC3339), e.ttl)
	var err error
	if r.Channel == "" || r.MessageTS == "" {
		detail += "; no approval message to update"
	} else {
		sctx, cancel := context.WithTimeout(ctx, replyTimeout)
		defer cancel()
		if uerr := e.output.Update(sctx, r.Channel, r.MessageTS, ApprovalMessage(r, Progress{}, "")...); uerr != nil {
			err = fmt.Errorf("remove the buttons of expired request %s: %w", r.ID, uerr)
		}
		if _, perr := e.output.Post(sctx, r.Channel, append(ExpiredReply(r), slack.MsgOptionTS(r.MessageTS))...); perr != nil {
			err = errors.Join(err, fmt.Errorf("tell the thread request %s expired: %w", r.ID, perr))
		}
		if err != nil {
			detail += "; Slack not told: " + err.Error()
		}
	}
	// Audit even when Slack failed, saying what failed: the request is expired either way.
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	aerr := e.store.Audit(actx, store.AuditRecord{
		At:        e.now(),
		RequestID: r.ID,
		Actor:     store.BotActor,
		Action:    "expire",
		Outcome:   string(store.Expired),
		Detail:    detail,
	})
	e.log.Info("request expired", "request_id", r.ID.String(), "detail", detail)
	return errors.Join(err, aerr)
}
