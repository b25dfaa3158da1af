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
	// first and the store closed after, the process exits within the 10 s that Kubernetes and
	// systemd give it by default.
	drainTimeout = 8 * time.Second
)

// Options are what differs between the program, its sandbox and its tests.
type Options struct {
	Version string
	Log     *slog.Logger
	// Observer sees the session, Slack calls and panics; nil observes nothing.
	Observer Observer
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
	obs := opts.Observer
	if obs == nil {
		obs = nopObserver{}
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
	// One transport that Run owns, so that returning closes its kept-alive connections instead of
	// leaving their goroutines behind.
	transport := http.DefaultTransport.(*http.Transport).Clone()
	defer transport.CloseIdleConnections()
	httpClient := &http.Client{Transport: transport}
	owl, err := apiclient.New(cfg.AccessOwlURL, cfg.AccessOwlToken, apiclient.WithHTTPClient(httpClient),
		apiclient.WithRateLimit(cfg.AccessOwlRate), apiclient.WithVersion(opts.Version), apiclient.WithLogger(log.With("component", "accessowl")))
	if err != nil {
		return fmt.Errorf("AccessOwl client: %w", err)
	}
	api := slack.New(cfg.SlackBotToken.Reveal(), slack.OptionAppLevelToken(cfg.SlackAppToken.Reveal()),
		slack.OptionAPIURL(cfg.SlackAPIURL), slack.OptionHTTPClient(httpClient))

	out := bot.NewOutput(api, obs, log)
	tracker, err := bot.NewTracker(bot.TrackerConfig{
		Store: st, Source: owl, Output: out, Threads: api, Poll: cfg.StatusPoll, Log: log.With("component", "tracker"),
		// Status checks get half the hourly budget; the other half stays for people's clicks,
		// lookups and retries, which also go first whenever they compete.
		HourlyBudget: cfg.AccessOwlRate / 2,
	})
	if err != nil {
		return err
	}
	expirer, err := bot.NewExpirer(bot.ExpirerConfig{Store: st, Output: out, TTL: cfg.RequestTTL, Log: log.With("component", "expiry")})
	if err != nil {
		return err
	}
	handler := interactions.NewHandler(cfg.Channel, interactions.Deps{
		AccessOwl: owl,
		Resolver:  commands.NewResolver(owl, api, nil),
		Slack:     api,
		Output:    out,
		Store:     st,
		Approvers: interactions.NewApprovers(users, groups, cfg.AllowSelfApproval, api, nil),
		Tracker:   tracker,
		Log:       log,
	})

	// Jobs outlive ctx so that a shutdown can let them finish; cancelJobs ends them at the
	// drain deadline.
	jobCtx, cancelJobs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelJobs()
	pool := bot.NewPool(jobCtx, workers, queuedJobs, log, obs.Panic)
	session := bot.NewSession(socketmode.New(api), handler, pool, obs, log)

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return session.Run(gctx) })
	g.Go(func() error { return tracker.Run(gctx) })
	g.Go(func() error { return expirer.Run(gctx) })
	g.Go(func() error { return handler.ResumeSubmissions(gctx) })
	log.Info("revokebot started", "version", opts.Version, "channel", cfg.Channel, "approvers", len(users), "approver_groups", len(groups))
	runErr := g.Wait()

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

// nopObserver observes nothing.
type nopObserver struct{}

func (nopObserver) Envelope(string, int)        {}
func (nopObserver) Acked(string, time.Duration) {}
func (nopObserver) Connected(bool)              {}
func (nopObserver) Disconnected()               {}
func (nopObserver) Overloaded(string)           {}
func (nopObserver) SlackCall(string, error)     {}
func (nopObserver) Panic()                      {}
