// Package sandbox runs `revokebot sandbox`: the fake AccessOwl, the fake Slack workspace and the
// real bot in one process on one address, with a web page at / that looks and behaves like a
// Slack channel beside an AccessOwl admin panel.
//
// The bot runs through app.Run, the same code path as live mode, and talks to both fakes over
// real HTTP and WebSocket on loopback; the page acts as people through fakeslack's act functions
// and as AccessOwl's admins through owltest's admin functions, via the JSON endpoints in api.go.
package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"revokebot/apiclient/owltest"
	"revokebot/app"
	"revokebot/sandbox/fakeslack"
	"revokebot/secret"
)

const (
	// DefaultListen is where the sandbox serves unless told otherwise: loopback only, since
	// everything it serves is fake and unauthenticated.
	DefaultListen = "127.0.0.1:8080"
	// rate is the AccessOwl budget of the sandbox, on both sides: large enough that status checks
	// follow REVOKE_STATUS_POLL, so a visitor sees a thread update within seconds. The budget's
	// own behaviour is tested in apiclient and bot.
	rate = 36_000
	// connectTimeout bounds the wait for the bot's first Socket Mode connection.
	connectTimeout = 20 * time.Second
	// shutdownTimeout bounds the HTTP server's shutdown after the bot has stopped.
	shutdownTimeout = 3 * time.Second
)

// Options configure a sandbox. The zero value serves on DefaultListen.
//
// A sandbox keeps nothing between runs: the fakes hold their state in memory, so the bot's store
// lives in a temporary folder removed on Close. A store kept across runs would point at messages
// and revocations that the next run's fakes never had.
type Options struct {
	// Listen is the address to serve on; port 0 picks a free one.
	Listen string
	// Log receives the bot's and the sandbox's logs; nil discards them.
	Log *slog.Logger
	// StatusPoll is the bot's REVOKE_STATUS_POLL; default 1s.
	StatusPoll time.Duration
	// AutomaticDelay is how long an automatic application takes to remove access; default 3s.
	AutomaticDelay time.Duration
}

// Sandbox is a running sandbox.
type Sandbox struct {
	// URL is the page's address, e.g. http://127.0.0.1:8080/.
	URL   string
	Slack *fakeslack.Workspace
	Owl   *owltest.Fake
	World World
	// Config is the configuration the bot runs with.
	Config app.Config

	log     *slog.Logger
	server  *http.Server
	tempDir string
	cancel  context.CancelFunc
	botDone chan error
	srvDone chan error
	once    sync.Once
	err     error
}

// Start serves the fakes and the page, starts the bot and returns once the bot is connected to
// the fake Slack. Stop it with Close.
func Start(ctx context.Context, opts Options) (*Sandbox, error) {
	if opts.Listen == "" {
		opts.Listen = DefaultListen
	}
	if opts.StatusPoll <= 0 {
		opts.StatusPoll = time.Second
	}
	if opts.AutomaticDelay <= 0 {
		opts.AutomaticDelay = 3 * time.Second
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", opts.Listen, err)
	}
	s := &Sandbox{
		URL:     "http://" + ln.Addr().String() + "/",
		log:     log,
		botDone: make(chan error, 1),
		srvDone: make(chan error, 1),
	}
	s.Owl = owltest.New(owltest.WithAutomaticDelay(opts.AutomaticDelay), owltest.WithRateLimit(rate))
	s.Slack = fakeslack.New(fakeslack.Config{TeamName: "Example Inc.", TeamDomain: "example", PermalinkBase: s.URL,
		Log: log.With("component", "fakeslack")})
	s.World = seedWorkspace(s.Slack, s.Owl)

	dataDir, err := os.MkdirTemp("", "revokebot-sandbox-")
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("make a data folder: %w", err)
	}
	s.tempDir = dataDir
	s.Config = app.Config{
		SlackAppToken:  secret.New(s.Slack.AppToken()),
		SlackBotToken:  secret.New(s.Slack.BotToken()),
		SlackAPIURL:    s.URL + "slack/api/",
		AccessOwlToken: secret.New(owltest.DefaultToken),
		AccessOwlURL:   s.URL + "accessowl",
		AccessOwlRate:  rate,
		Channel:        s.World.Channel,
		Approvers:      []string{s.World.ApproverGroup},
		RequestTTL:     72 * time.Hour,
		StatusPoll:     opts.StatusPoll,
		DataDir:        dataDir,
		LogLevel:       "info",
		LogFormat:      "text",
	}
	if err := s.Config.Validate(); err != nil {
		ln.Close()
		s.removeTemp()
		return nil, fmt.Errorf("sandbox configuration: %w", err)
	}

	s.server = &http.Server{Handler: s.routes(), ReadHeaderTimeout: 10 * time.Second}
	go func() { s.srvDone <- s.server.Serve(ln) }()

	botCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	go func() {
		s.botDone <- app.Run(botCtx, s.Config, app.Options{Version: "sandbox", Log: log, MaxStatusBackoff: opts.StatusPoll})
	}()

	waitCtx, cancelWait := context.WithTimeout(ctx, connectTimeout)
	defer cancelWait()
	connected := make(chan error, 1)
	go func() {
		_, err := s.Slack.WaitConnections(waitCtx, func(c []fakeslack.Connection) bool { return len(c) > 0 })
		connected <- err
	}()
	select {
	case err = <-connected:
	case err = <-s.botDone:
		s.botDone <- err // Close reads it again
		if err == nil {
			err = errors.New("the bot stopped before it connected")
		}
	}
	if err != nil {
		cancelWait()
		<-connected
		s.Close()
		return nil, fmt.Errorf("start the bot: %w", err)
	}
	return s, nil
}

// Close stops the bot, then the fakes and the server, and removes the temporary data folder.
// It returns the bot's error, if it stopped with one.
func (s *Sandbox) Close() error {
	s.once.Do(func() {
		s.cancel()
		s.err = <-s.botDone
		// Closing the workspace ends the page's event streams, so Shutdown does not wait on them.
		s.Slack.Close()
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		if err := s.server.Shutdown(ctx); err != nil {
			s.server.Close()
		}
		<-s.srvDone
		s.removeTemp()
	})
	return s.err
}

func (s *Sandbox) removeTemp() {
	if s.tempDir != "" {
		if err := os.RemoveAll(s.tempDir); err != nil {
			s.log.Warn("could not remove the sandbox's data folder", "dir", s.tempDir, "error", err)
		}
	}
}

// Run starts a sandbox, prints how to reach it to out, and serves until ctx ends.
func Run(ctx context.Context, opts Options, out io.Writer) error {
	began := time.Now()
	s, err := Start(ctx, opts)
	if err != nil {
		return err
	}
	fmt.Fprint(out, s.Banner(time.Since(began)))
	<-ctx.Done()
	fmt.Fprintln(out, "revokebot sandbox: stopping")
	return s.Close()
}

// Banner is what Run prints: the URL, the sandbox's tokens and a hint.
func (s *Sandbox) Banner(took time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "revokebot sandbox is running (ready in %s)\n\n", took.Round(time.Millisecond))
	fmt.Fprintf(&b, "  page           %s\n", s.URL)
	fmt.Fprintf(&b, "  Slack Web API  %s   bot token %s   app token %s\n", s.Config.SlackAPIURL, s.Slack.BotToken(), s.Slack.AppToken())
	fmt.Fprintf(&b, "  AccessOwl API  %s/api/v1/   token %s\n", s.Config.AccessOwlURL, owltest.DefaultToken)
	fmt.Fprintf(&b, "  data           %s\n\n", s.Config.DataDir)
	fmt.Fprintf(&b, "Open the page, type /revoke as Ana García, then switch to Ben Okafor to approve. Ctrl-C stops.\n")
	return b.String()
}
