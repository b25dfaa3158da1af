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
	"strings"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
	"golang.org/x/sync/errgroup"

	"revokebot/apiclient"
	"revokebot/app/metrics"
	"revokebot/bot"
	"revokebot/commands"
	"revokebot/interactions"
	"revokebot/store/sqlite"
)

const (
	// workers bounds the handlers running at once; with every AccessOwl call taking seconds,
	// 64 keep a burst of clicks moving without letting it start thousands of goroutines.
	workers = 64
	// queuedJobs is how many envelopes may wait for a worker before people are told to retry.
	queuedJobs = 4096
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
	var obs Observer = m
	if opts.Observer != nil {
		obs = teeObserver{m, opts.Observer}
	}
	users, groups, err := interactions.ParseApprovers(cfg.Approvers)
	if err != nil {
		return fmt.Errorf("REVOKE_APPROVERS: %w", err)
	}
	st, err := sqlite.Open(ctx, cfg.DataDir)
	if err != nil {
		return fmt.Errorf("open the store: %w", err)
	}
	defer st.Close()
	observed := observedStore{Store: st, metrics: m}
	// One transport that Run owns, so that returning closes its kept-alive connections instead of
	// leaving their goroutines behind.
	transport := http.DefaultTransport.(*http.Transport).Clone()
	defer transport.CloseIdleConnections()
	owl, err := apiclient.New(cfg.AccessOwlURL, cfg.AccessOwlToken, apiclient.WithHTTPClient(&http.Client{Transport: transport}),
		apiclient.WithRateLimit(cfg.AccessOwlRate), apiclient.WithVersion(opts.Version), apiclient.WithLogger(log.With("component", "accessowl")),
		apiclient.WithObserver(m.AccessOwlAttempt))
	if err != nil {
		return fmt.Errorf("AccessOwl client: %w", err)
	}
	m.WatchBudget(owl.BudgetAvailable)
	m.WatchTracked(st.Tracking)
	api := slack.New(cfg.SlackBotToken.Reveal(), slack.OptionAppLevelToken(cfg.SlackAppToken.Reveal()),
		slack.OptionAPIURL(cfg.SlackAPIURL), slack.OptionHTTPClient(&http.Client{Transport: m.SlackTransport(transport)}))

	out := bot.NewOutput(api, obs, log.With("component", "output"))
	tracker, err := bot.NewTracker(bot.TrackerConfig{
		Store: observed, Source: owl, Output: out, Threads: api, Poll: cfg.StatusPoll, Log: log.With("component", "tracker"),
		// Status checks get half the hourly budget; the other half stays for people's clicks,
		// lookups and retries, which also go first whenever they compete.
		HourlyBudget: cfg.AccessOwlRate / 2,
	})
	if err != nil {
		return err
	}
	expirer, err := bot.NewExpirer(bot.ExpirerConfig{Store: observed, Output: out, TTL: cfg.RequestTTL, Log: log.With("component", "expiry")})
	if err != nil {
		return err
	}
	handler := interactions.NewHandler(cfg.Channel, interactions.Deps{
		AccessOwl: owl,
		Resolver:  commands.NewResolver(owl, api, nil),
		Slack:     api,
		Output:    out,
		Store:     observed,
		Approvers: interactions.NewApprovers(users, groups, cfg.AllowSelfApproval, api, nil),
		Tracker:   tracker,
		Log:       log.With("component", "interactions"),
	})

	h := &health{metrics: m, store: st, probeAccessOwl: func(ctx context.Context) error {
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

	// Jobs outlive ctx so that a shutdown can let them finish; cancelJobs ends them at the
	// drain deadline.
	jobCtx, cancelJobs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelJobs()
	pool := bot.NewPool(jobCtx, workers, queuedJobs, log.With("component", "interactions"), obs.Panic)
	session := bot.NewSession(socketmode.New(api), handler, pool, obs, log.With("component", "session"))

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return session.Run(gctx) })
	g.Go(func() error { return tracker.Run(gctx) })
	g.Go(func() error { return expirer.Run(gctx) })
	g.Go(func() error { return handler.ResumeSubmissions(gctx) })
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

// teeObserver tells two observers everything.
type teeObserver [2]Observer

func (t teeObserver) Envelope(kind string, retry int) {
	t[0].Envelope(kind, retry)
	t[1].Envelope(kind, retry)
}

func (t teeObserver) Acked(kind string, d time.Duration) {
	t[0].Acked(kind, d)
	t[1].Acked(kind, d)
}

func (t teeObserver) Connected(reconnect bool) {
	t[0].Connected(reconnect)
	t[1].Connected(reconnect)
}

func (t teeObserver) Disconnected() {
	t[0].Disconnected()
	t[1].Disconnected()
}

func (t teeObserver) Overloaded(kind string) {
	t[0].Overloaded(kind)
	t[1].Overloaded(kind)
}

func (t teeObserver) SlackCall(method string, err error) {
	t[0].SlackCall(method, err)
	t[1].SlackCall(method, err)
}

func (t teeObserver) Panic() {
	t[0].Panic()
	t[1].Panic()
}
