// Package app assembles revokebot from its packages and runs it: the one wiring that the
// program, its sandbox and its end-to-end tests all use, so what the tests prove is what runs.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/slack-go/slack"
	"golang.org/x/sync/errgroup"

	"revokebot/apiclient"
	"revokebot/app/metrics"
	"revokebot/bot"
	"revokebot/interactions"
	"revokebot/revoke"
	"revokebot/store"
)

const (
	// workers and reservedWorkers bound the handlers running at once. Each one waiting on a slow
	// AccessOwl holds a goroutine stack, a connection and a page of up to 100 expanded access
	// states being read, about 70 KB, while queued work costs a few hundred bytes: 16 in all
	// still send 8 requests a second at 2 s each, far more than the hourly budget allows after
	// a burst. The reserved quarter runs only decisions and requests being made, so a flood of
	// lookups (/revoke status, the form) never leaves an Approve waiting.
	workers         = 12
	reservedWorkers = 4
	// queuedJobs is how many lookups may wait for a worker before people are told to retry;
	// reservedQueue how many decisions and requests, in room that lookups cannot fill.
	queuedJobs    = 4096
	reservedQueue = 1024
	// jobTimeout bounds every handler's work, so a call that never returns frees its worker.
	// It is well above what a job does when things are slow but working: a submission's
	// retries with a capped Retry-After (about a minute and a half), then its replies, which
	// the lifecycle bounds at 2 minutes.
	jobTimeout = 5 * time.Minute
	// slackCallTimeout bounds every Slack Web API call (and each answer through a
	// response_url): Slack answers in well under a second, and a call that hangs would
	// otherwise hold its worker for ever.
	slackCallTimeout = 15 * time.Second
	// drainTimeout is how long a shutdown waits for in-flight work. With the socket closed
	// first and the store closed after, the process exits within 10 s of SIGTERM, inside the
	// 15 s that the Deployment and the systemd unit in deploy/ give it before SIGKILL.
	drainTimeout = 8 * time.Second
)

// Options are what differs between the program, its sandbox and its tests.
type Options struct {
	Version string
	Log     *slog.Logger
	// Observer sees the session, Slack calls and panics besides the bot's own metrics; nil
	// observes nothing more.
	Observer Observer
	// OnListen, if set, is told the address /healthz, /readyz and /metrics are served on, which
	// is how a LISTEN_ADDR with port 0 becomes known.
	OnListen func(addr string)
	// MaxStatusBackoff caps the interval between status checks of one revocation
	// (revoke.DefaultMaxStatusBackoff when zero). The sandbox sets it to its poll interval, so
	// an admin's click in its panel reaches the thread within seconds however long it waited.
	MaxStatusBackoff time.Duration
	// OnQuery, if set, is told of every statement sent to PostgreSQL (with DATABASE_URL), for
	// tests that count the database's round trips.
	OnQuery func(sql string)
}

// Observer is told what the bot does, for metrics and readiness.
type Observer interface {
	bot.SessionObserver
	bot.OutputObserver
	Panic()
}

// Run runs revokebot until ctx ends, then shuts down: it stops reading the socket, lets the work
// in flight finish for up to drainTimeout, and closes the store. It returns an error only when
// the bot cannot run (a refused token, an unusable store), not for a requested stop.
func Run(ctx context.Context, cfg Config, opts Options) error {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	m := metrics.New(opts.Version)
	// Error lines are counted as handler errors, by component.
	log = slog.New(m.LogHandler(log.Handler()))
	ready := &readiness{}
	obs := teeObserver{m, ready}
	if opts.Observer != nil {
		obs = append(obs, opts.Observer)
	}
	users, groups, err := interactions.ParseApprovers(cfg.Approvers)
	if err != nil {
		return fmt.Errorf("REVOKE_APPROVERS: %w", err)
	}
	st, err := openStore(ctx, cfg, log, opts.OnQuery)
	if err != nil {
		return fmt.Errorf("open the store: %w", err)
	}
	defer st.Close()
	// One transport that Run owns, so that returning closes its kept-alive connections instead of
	// leaving their goroutines behind.
	transport := http.DefaultTransport.(*http.Transport).Clone()
	defer transport.CloseIdleConnections()
	budget, err := st.budgetOptions(cfg.AccessOwlRate)
	if err != nil {
		return err
	}
	owl, err := apiclient.New(cfg.AccessOwlURL, cfg.AccessOwlToken, append([]apiclient.Option{apiclient.WithHTTPClient(&http.Client{Transport: transport}),
		apiclient.WithRateLimit(cfg.AccessOwlRate), apiclient.WithVersion(opts.Version), apiclient.WithLogger(log.With("component", "accessowl")),
		apiclient.WithObserver(func(a apiclient.Attempt) { m.AccessOwlAttempt(a); ready.AccessOwlAttempt(a) })}, budget...)...)
	if err != nil {
		return fmt.Errorf("AccessOwl client: %w", err)
	}
	m.WatchBudget(owl.BudgetAvailable)
	m.WatchTracked(st.Tracking)
	m.WatchStore(st.Count, st.Size)
	m.WatchLeader(st.replica, st.leads)
	api := slack.New(cfg.SlackBotToken.Reveal(), slack.OptionAppLevelToken(cfg.SlackAppToken.Reveal()),
		slack.OptionAPIURL(cfg.SlackAPIURL), slack.OptionHTTPClient(&http.Client{Transport: m.SlackTransport(transport), Timeout: slackCallTimeout}))

	// Jobs outlive ctx so that a shutdown can let them finish; cancelJobs ends them at the
	// drain deadline.
	jobCtx, cancelJobs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelJobs()
	pool := bot.NewPool(jobCtx, bot.PoolSize{
		Workers: workers, ReservedWorkers: reservedWorkers,
		Queue: queuedJobs, ReservedQueue: reservedQueue,
		JobTimeout: jobTimeout,
	}, log.With("component", "pool"), obs.Panic)

	out := bot.NewOutput(api, obs, log.With("component", "output"))
	st.sharePacing(out, log.With("component", "output"))
	lifecycle, err := revoke.New(revoke.Config{
		Store: st, AccessOwl: owl, Notifier: bot.NewNotifier(out, api).WithApprovers(append(slices.Clone(users), groups...)), Observer: m,
		// Status checks are background work: the AccessOwl client's budget paces them and keeps
		// a reserve for people's clicks and lookups, which also go first whenever they compete.
		Poll: cfg.StatusPoll, MaxBackoff: opts.MaxStatusBackoff, TTL: cfg.RequestTTL,
		Retention: cfg.Retention, AuditRetention: cfg.AuditRetention,
		// Admins of admin-provisioned applications are matched to Slack by email; reminders
		// follow REVOKE_REMIND_*, where 0 reminders means none.
		People: bot.NewPeople(api), RemindAfter: cfg.RemindAfter, RemindMax: remindMax(cfg.RemindMax), RemindHours: cfg.RemindHours,
		// Resubmissions run in the pool, so a shutdown drains them like any click. Nobody waits
		// on them, so they take no reserved capacity: a backlog resubmitted after an outage
		// cannot hold up the clicks of people who are waiting.
		Spawn: func(name, requestID string, run func(context.Context)) bool {
			return pool.Submit(bot.Job{Name: name, RequestID: requestID, Priority: bot.PriorityLow, Run: run})
		},
		ID: st.replica, Alive: st.alive(),
		Log: log.With("component", "revoke"),
	})
	if err != nil {
		return err
	}
	handler := interactions.NewHandler(cfg.Channel, interactions.Deps{
		Lifecycle: lifecycle,
		Status:    statusSource{owl, st},
		Resolver:  interactions.NewResolver(owl, api, nil),
		Slack:     api,
		Output:    out,
		Approvers: interactions.NewApprovers(users, groups, cfg.AllowSelfApproval, api, nil),
		Marks:     lifecycle,
		Log:       log.With("component", "interactions"),
		Clicks:    st.clicks(),
	})

	h := &health{metrics: m, readiness: ready, store: st, probeAccessOwl: func(ctx context.Context) error {
		_, _, err := owl.ListUsers(apiclient.Background(ctx), apiclient.UserListOptions{ListOptions: apiclient.ListOptions{Limit: 1}})
		return err
	}}
	if cfg.ListenAddr != "" {
		stopHealth, err := serveHealth(cfg.ListenAddr, h, log.With("component", "health"), opts.OnListen)
		if err != nil {
			return err
		}
		// Deferred after the store's Close, so it runs first: no probe or scrape reads a closed
		// store.
		defer stopHealth()
	}

	session := bot.NewSession(bot.SessionConfig{
		API: api, Handler: handler, Pool: pool, Responder: out, Observer: obs,
		Log: log.With("component", "session"),
	})

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return session.Run(gctx) })
	g.Go(func() error { return st.runBackground(gctx, lifecycle) })
	log.Info("revokebot started", "version", opts.Version, "channel", cfg.Channel, "approvers", len(users), "approver_groups", len(groups))
	runErr := g.Wait()

	h.stopping.Store(true)
	log.Info("shutting down: finishing work in flight", "timeout", drainTimeout)
	drainCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drainTimeout)
	defer cancel()
	if err := pool.Close(drainCtx); err != nil {
		log.Warn("work still running at the drain deadline; stopping it", "error", err)
		cancelJobs()
		pool.Wait()
	}
	if runErr != nil && !errors.Is(runErr, context.Canceled) {
		return runErr
	}
	log.Info("revokebot stopped")
	return nil
}

// remindMax is REVOKE_REMIND_MAX as the lifecycle takes it: 0 there is its default, so "none"
// is negative.
func remindMax(n int) int {
	if n == 0 {
		return -1
	}
	return n
}

// NewLogger returns the logger LOG_LEVEL and LOG_FORMAT ask for.
func NewLogger(w io.Writer, level, format string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		l = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: l}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// teeObserver tells several observers everything.
type teeObserver []Observer

func (t teeObserver) Envelope(kind string, retry int) {
	for _, o := range t {
		o.Envelope(kind, retry)
	}
}

func (t teeObserver) Acked(kind string, d time.Duration) {
	for _, o := range t {
		o.Acked(kind, d)
	}
}

func (t teeObserver) Connected(reconnect bool) {
	for _, o := range t {
		o.Connected(reconnect)
	}
}

func (t teeObserver) Disconnected() {
	for _, o := range t {
		o.Disconnected()
	}
}

func (t teeObserver) Overloaded(kind string) {
	for _, o := range t {
		o.Overloaded(kind)
	}
}

func (t teeObserver) SlackCall(method string, err error) {
	for _, o := range t {
		o.SlackCall(method, err)
	}
}

func (t teeObserver) Panic() {
	for _, o := range t {
		o.Panic()
	}
}

// statusSource answers /revoke status from AccessOwl and the store.
type statusSource struct {
	*apiclient.Client
	store.Store
}
