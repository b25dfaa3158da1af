package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// Slack redelivers an envelope that is not acknowledged within 3 s. These bounds keep every ack
// well inside that, whatever the work behind it does.
const (
	// AckDeadline bounds the work that must finish before its ack: modal validation and option
	// lists, which read AccessOwl. Past it the envelope is acked with the fallback answer.
	AckDeadline = 2 * time.Second
	// ackSendTimeout bounds handing an ack to slack-go's writer, so a dead socket cannot stall
	// the read loop.
	ackSendTimeout = time.Second
	// busyAnswerers bounds the goroutines telling people, through response_url, that their
	// click was turned away: a flood of clicks on a full queue cannot start a flood of
	// goroutines. Past it the answer is dropped with a log line; the ack still goes.
	busyAnswerers = 8
	// busyAnswerTimeout bounds one such answer, so a slow Slack frees its place soon.
	busyAnswerTimeout = 5 * time.Second
)

// Reply is a Handler's answer to one envelope.
type Reply struct {
	// Ack is sent in the ack at once; nil acks with no payload.
	Ack any
	// Payload, when set, computes the ack's payload on a worker instead, for answers that need
	// I/O (modal validation, option lists). It gets a context that ends at AckDeadline; if it
	// has not returned by then, Fallback is sent in the ack. What it returns as then runs on the
	// same worker after the ack, so what the answer found reaches the work that follows it.
	Payload  func(ctx context.Context) (ack any, then func(context.Context))
	Fallback any
	// Work runs on a worker after the ack.
	Work func(ctx context.Context)
	// Busy, if set, is sent in the ack instead of the session's default when the worker queue is
	// full (see BusyAnswer).
	Busy any
	// Priority is the class of the work: decisions and requests being made are high, lookups
	// low (the zero value).
	Priority Priority
	// RequestID names the revocation request in logs, when already known.
	RequestID string
}

// Responder answers an interaction through its response_url; *Output satisfies it.
type Responder interface {
	Respond(ctx context.Context, responseURL string, options ...slack.MsgOption) error
}

// Handler decides what each envelope means. Its methods run on the read loop, so they must not
// block: anything that does I/O belongs in the Reply's Payload or Work.
type Handler interface {
	SlashCommand(cmd slack.SlashCommand) Reply
	Interaction(cb slack.InteractionCallback) Reply
}

// SessionObserver is told what the session sees, for metrics and readiness. Every method must
// return at once.
type SessionObserver interface {
	Envelope(kind string, retryAttempt int)
	Acked(kind string, sinceReceived time.Duration)
	Connected(reconnect bool)
	Disconnected()
	Overloaded(kind string)
}

// SessionConfig is what a Session is made of.
type SessionConfig struct {
	// API is the Slack client whose app-level token opens Socket Mode.
	API     *slack.Client
	Handler Handler
	Pool    *Pool
	// Responder tells a person whose click found no room in the queue that it was not acted
	// on; nil tells nobody.
	Responder Responder
	Observer  SessionObserver
	Log       *slog.Logger
	// StaleAfter and ReplaceAfter override DefaultStaleAfter and DefaultReplaceAfter (tests
	// shorten them); zero takes the defaults.
	StaleAfter, ReplaceAfter time.Duration
}

// Session is the Socket Mode connection: it reads envelopes, acknowledges them and hands the
// work to a pool. It is the only reader of the socket, so it never waits on anything but the
// socket itself.
//
// slack-go reconnects when Slack asks or the connection breaks. A socket that silently stops
// carrying frames (a NAT or proxy dropping the flow) it notices only when its deadman timer,
// which ticks every 30 s, finds no ping since the last tick: 30 to 60 s later, and it tells
// nobody. So the session watches the socket itself (socketWatch): after StaleAfter without a
// frame it reports the connection lost, and after ReplaceAfter it cancels slack-go's
// RunContext, closes the socket and runs slack-go again, which opens a new one. Slack
// redelivers on the new socket what the dead one swallowed.
type Session struct {
	client    *socketmode.Client
	watch     *socketWatch
	handler   Handler
	pool      *Pool
	responder Responder
	observer  SessionObserver
	log       *slog.Logger

	staleAfter, replaceAfter time.Duration

	// The connection's state, kept by the read loop alone.
	connected   bool // connected, and not given up since
	stale       bool // silent past staleAfter, and reported lost
	connections int  // sockets opened so far

	busyAnswers chan struct{} // a place for each busy answer in flight
	answering   sync.WaitGroup
}

// NewSession returns a session over cfg.API's Socket Mode.
func NewSession(cfg SessionConfig) *Session {
	watch := newSocketWatch()
	s := &Session{
		client:       socketmode.New(cfg.API, socketmode.OptionDialer(watch.dialer())),
		watch:        watch,
		handler:      cfg.Handler,
		pool:         cfg.Pool,
		responder:    cfg.Responder,
		observer:     cfg.Observer,
		log:          cfg.Log,
		staleAfter:   cfg.StaleAfter,
		replaceAfter: cfg.ReplaceAfter,
		busyAnswers:  make(chan struct{}, busyAnswerers),
	}
	if s.staleAfter <= 0 {
		s.staleAfter = DefaultStaleAfter
	}
	if s.replaceAfter <= 0 {
		s.replaceAfter = DefaultReplaceAfter
	}
	return s
}

// clientRun is one run of slack-go's RunContext.
type clientRun struct {
	cancel    context.CancelFunc
	done      chan error // RunContext's result
	replacing bool       // cancelled by the session to open a new socket
}

func (s *Session) startClient(ctx context.Context) *clientRun {
	ctx, cancel := context.WithCancel(ctx)
	r := &clientRun{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- s.client.RunContext(ctx) }()
	return r
}

// Run connects and reads envelopes until ctx ends or Slack refuses the app token. slack-go
// reconnects by itself, and the session replaces a socket gone silent; Run only returns on
// those two.
func (s *Session) Run(ctx context.Context) error {
	defer s.answering.Wait()
	watch := time.NewTicker(watchInterval)
	defer watch.Stop()
	run := s.startClient(ctx)
	for {
		select {
		case <-ctx.Done():
			run.cancel()
			<-run.done
			return nil
		case err := <-run.done:
			switch {
			case ctx.Err() != nil:
				return nil
			case run.replacing:
				run = s.startClient(ctx)
			default:
				run.cancel()
				return fmt.Errorf("socket mode: %w", err)
			}
		case evt := <-s.client.Events:
			s.dispatch(ctx, evt, time.Now())
		case now := <-watch.C:
			s.checkSilence(now, run)
		}
	}
}

// checkSilence reports a connected socket lost once it has been silent for staleAfter, back
// when a frame comes again, and gives it up for a new one after replaceAfter.
func (s *Session) checkSilence(now time.Time, run *clientRun) {
	if !s.connected || run.replacing {
		return
	}
	silent := s.watch.silence(now)
	switch {
	case silent >= s.replaceAfter:
		s.log.Warn("Slack sent nothing on the socket for too long; opening a new one", "silent_for", silent.Round(time.Second))
		s.lost()
		run.replacing = true
		run.cancel()
		// slack-go closes the socket when its context ends; closing it here as well makes
		// sure that a read blocked on a dead network returns.
		s.watch.closeAll()
	case silent >= s.staleAfter && !s.stale:
		s.log.Warn("Slack has sent nothing on the socket for a while", "silent_for", silent.Round(time.Second), "new_socket_after", s.replaceAfter)
		s.stale = true
		s.observer.Disconnected()
	case silent < s.staleAfter && s.stale:
		s.log.Info("the socket carries frames again")
		s.stale = false
		s.observer.Connected(false)
	}
}

// lost records that the session is not connected, telling the observer once.
func (s *Session) lost() {
	if s.connected && !s.stale {
		s.observer.Disconnected()
	}
	s.connected, s.stale = false, false
}

// dispatch handles one event from slack-go. It runs on the read loop.
func (s *Session) dispatch(ctx context.Context, evt socketmode.Event, received time.Time) {
	switch evt.Type {
	case socketmode.EventTypeConnecting:
		s.log.Debug("connecting to Slack")
		s.lost()
	case socketmode.EventTypeConnected:
		// A new socket's silence starts now: Slack's first ping is seconds away.
		s.watch.heard(received)
		// slack-go turns Slack's disconnect requests into silent reconnects, and the session
		// runs slack-go anew for a silent socket: the session counts sockets itself.
		reconnect := s.connections > 0
		s.connections++
		s.connected, s.stale = true, false
		s.log.Info("connected to Slack", "connection", s.connections, "reconnect", reconnect)
		s.observer.Connected(reconnect)
	case socketmode.EventTypeHello:
		if evt.Request != nil {
			s.log.Debug("hello from Slack", "connections", evt.Request.NumConnections)
		}
	case socketmode.EventTypeConnectionError:
		s.log.Warn("could not connect to Slack", "error", fmt.Sprint(evt.Data))
		s.lost()
	case socketmode.EventTypeIncomingError, socketmode.EventTypeErrorWriteFailed:
		// A broken socket is followed by a reconnect (EventTypeConnecting), and one of these
		// may come late from a socket already replaced: it says nothing about the current one.
		s.log.Warn("socket mode error", "type", string(evt.Type), "error", fmt.Sprint(evt.Data))
	case socketmode.EventTypeInvalidAuth:
		s.log.Error("Slack refused the app-level token")
	case socketmode.EventTypeErrorBadMessage:
		s.ackUndecodable(ctx, evt, received)
	case socketmode.EventTypeSlashCommand:
		cmd, ok := evt.Data.(slack.SlashCommand)
		if !ok {
			s.ackUndecodable(ctx, evt, received)
			return
		}
		// A slash command's busy answer goes in its ack: it needs no response_url.
		s.reply(ctx, evt.Request, "slash_commands", s.handler.SlashCommand(cmd), received, "")
	case socketmode.EventTypeInteractive:
		cb, ok := evt.Data.(slack.InteractionCallback)
		if !ok {
			s.ackUndecodable(ctx, evt, received)
			return
		}
		s.reply(ctx, evt.Request, string(cb.Type), s.handler.Interaction(cb), received, cb.ResponseURL)
	case socketmode.EventTypeEventsAPI:
		// revokebot subscribes to no events; acking stops Slack redelivering any it sends.
		s.ack(ctx, evt.Request, "events_api", nil, received)
	default:
		s.log.Debug("ignored socket mode event", "type", string(evt.Type))
	}
}

// reply acks an envelope as its Reply says and hands the rest of the work to the pool.
// responseURL, when the envelope has one, is where a busy answer goes that an ack cannot carry.
func (s *Session) reply(ctx context.Context, req *socketmode.Request, kind string, r Reply, received time.Time, responseURL string) {
	if req != nil {
		s.observer.Envelope(kind, req.RetryAttempt)
	}
	if r.Payload == nil {
		if r.Work != nil && !s.pool.Submit(Job{Name: kind, RequestID: r.RequestID, Priority: r.Priority, Run: r.Work}) {
			s.overloaded(ctx, req, kind, r, received, responseURL)
			return
		}
		s.ack(ctx, req, kind, r.Ack, received)
		return
	}
	job := Job{Name: kind, RequestID: r.RequestID, Priority: r.Priority, Run: func(jobCtx context.Context) {
		ack, then := s.payloadWithin(jobCtx, r, received)
		s.ack(jobCtx, req, kind, ack, received)
		if then != nil {
			then(jobCtx)
		}
		if r.Work != nil {
			r.Work(jobCtx)
		}
	}}
	if !s.pool.Submit(job) {
		s.overloaded(ctx, req, kind, r, received, responseURL)
	}
}

// payloadWithin runs r.Payload and returns its answer, or r.Fallback if it is not ready within
// what is left of AckDeadline since the envelope arrived: time spent waiting for a worker counts,
// since Slack's 3 s run from delivery. A Payload too late has its follow-up dropped: the person
// was answered with the fallback and submits again.
func (s *Session) payloadWithin(ctx context.Context, r Reply, received time.Time) (any, func(context.Context)) {
	ctx, cancel := context.WithDeadline(ctx, received.Add(AckDeadline))
	defer cancel()
	type answer struct {
		ack  any
		then func(context.Context)
	}
	answers := make(chan answer, 1)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				s.log.Error("ack payload panicked", "request_id", r.RequestID, "panic", fmt.Sprint(v))
				answers <- answer{ack: r.Fallback}
			}
		}()
		ack, then := r.Payload(ctx)
		answers <- answer{ack, then}
	}()
	select {
	case a := <-answers:
		return a.ack, a.then
	case <-ctx.Done():
		s.log.Warn("ack payload not ready in time; sent the fallback", "request_id", r.RequestID, "deadline", AckDeadline)
		return r.Fallback, nil
	}
}

func (s *Session) ack(ctx context.Context, req *socketmode.Request, kind string, payload any, received time.Time) {
	if req == nil || req.EnvelopeID == "" {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, ackSendTimeout)
	defer cancel()
	if err := s.client.AckCtx(ctx, req.EnvelopeID, payload); err != nil {
		// Slack redelivers what was not acked, and every handler is safe to run twice.
		s.log.Warn("ack failed", "kind", kind, "envelope_id", req.EnvelopeID, "error", err)
		return
	}
	s.observer.Acked(kind, time.Since(received))
}

// ackUndecodable acks an envelope slack-go could not decode, so Slack does not redeliver a
// payload that will never decode; the raw message goes to the log for a bug report.
func (s *Session) ackUndecodable(ctx context.Context, evt socketmode.Event, received time.Time) {
	var envelope struct {
		EnvelopeID string `json:"envelope_id"`
		Type       string `json:"type"`
	}
	if bad, ok := evt.Data.(*socketmode.ErrorBadMessage); ok {
		// A message that is not even JSON has no envelope ID to ack; Slack stops after 3 tries.
		_ = json.Unmarshal(bad.Message, &envelope)
		s.log.Error("undecodable envelope", "type", envelope.Type, "error", bad.Cause, "bytes", len(bad.Message))
	} else if evt.Request != nil {
		envelope.EnvelopeID, envelope.Type = evt.Request.EnvelopeID, evt.Request.Type
		s.log.Error("envelope of an unexpected shape", "type", envelope.Type, "data", fmt.Sprintf("%T", evt.Data))
	}
	s.ack(ctx, &socketmode.Request{EnvelopeID: envelope.EnvelopeID}, "undecodable", nil, received)
}
