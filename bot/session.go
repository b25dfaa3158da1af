package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
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

// busyText is what a person is told when every worker is taken and the queue is full.
const busyText = "revokebot is busy right now. Please try again in a moment."

// BusyAnswer is the ack the session sends, when the worker queue is full, for an envelope whose
// Reply names no Busy answer of its own: a slash command is told to try again; other kinds have
// no text of their own in an ack.
func BusyAnswer(kind string) any {
	if kind == "slash_commands" {
		return map[string]any{"response_type": "ephemeral", "text": busyText}
	}
	return nil
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

// Session is the Socket Mode connection: it reads envelopes, acknowledges them and hands the
// work to a pool. It is the only reader of the socket, so it never waits on anything but the
// socket itself.
type Session struct {
	client   *socketmode.Client
	handler  Handler
	pool     *Pool
	observer SessionObserver
	log      *slog.Logger
}

// NewSession wires a Socket Mode client to a handler and a pool.
func NewSession(client *socketmode.Client, handler Handler, pool *Pool, observer SessionObserver, log *slog.Logger) *Session {
	return &Session{client: client, handler: handler, pool: pool, observer: observer, log: log}
}

// Run connects and reads envelopes until ctx ends or Slack refuses the app token. slack-go
// reconnects by itself; Run only returns on those two.
func (s *Session) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	clientErr := make(chan error, 1)
	go func() { clientErr <- s.client.RunContext(ctx) }()
	for {
		select {
		case <-ctx.Done():
			<-clientErr
			return nil
		case err := <-clientErr:
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("socket mode: %w", err)
		case evt := <-s.client.Events:
			s.dispatch(ctx, evt, time.Now())
		}
	}
}

// dispatch handles one event from slack-go. It runs on the read loop.
func (s *Session) dispatch(ctx context.Context, evt socketmode.Event, received time.Time) {
	switch evt.Type {
	case socketmode.EventTypeConnecting:
		s.log.Debug("connecting to Slack")
	case socketmode.EventTypeConnected:
		// slack-go turns Slack's disconnect requests into silent reconnects; a connection count
		// above zero is how a reconnect shows.
		reconnect := false
		if c, ok := evt.Data.(*socketmode.ConnectedEvent); ok {
			reconnect = c.ConnectionCount > 0
			s.log.Info("connected to Slack", "connection", c.ConnectionCount, "reconnect", reconnect)
		}
		s.observer.Connected(reconnect)
	case socketmode.EventTypeHello:
		if evt.Request != nil {
			s.log.Debug("hello from Slack", "connections", evt.Request.NumConnections)
		}
	case socketmode.EventTypeConnectionError, socketmode.EventTypeIncomingError, socketmode.EventTypeErrorWriteFailed:
		s.log.Warn("socket mode error", "type", string(evt.Type), "error", fmt.Sprint(evt.Data))
		s.observer.Disconnected()
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
		s.reply(ctx, evt.Request, "slash_commands", s.handler.SlashCommand(cmd), received)
	case socketmode.EventTypeInteractive:
		cb, ok := evt.Data.(slack.InteractionCallback)
		if !ok {
			s.ackUndecodable(ctx, evt, received)
			return
		}
		s.reply(ctx, evt.Request, string(cb.Type), s.handler.Interaction(cb), received)
	case socketmode.EventTypeEventsAPI:
		// revokebot subscribes to no events; acking stops Slack redelivering any it sends.
		s.ack(ctx, evt.Request, "events_api", nil, received)
	default:
		s.log.Debug("ignored socket mode event", "type", string(evt.Type))
	}
}

// reply acks an envelope as its Reply says and hands the rest of the work to the pool.
func (s *Session) reply(ctx context.Context, req *socketmode.Request, kind string, r Reply, received time.Time) {
	if req != nil {
		s.observer.Envelope(kind, req.RetryAttempt)
	}
	if r.Payload == nil {
		if r.Work != nil && !s.pool.Submit(Job{Name: kind, RequestID: r.RequestID, Priority: r.Priority, Run: r.Work}) {
			s.overloaded(ctx, req, kind, r, received)
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
		s.overloaded(ctx, req, kind, r, received)
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

func (s *Session) overloaded(ctx context.Context, req *socketmode.Request, kind string, r Reply, received time.Time) {
	s.log.Warn("worker queue full; told the person to try again", "kind", kind, "request_id", r.RequestID)
	s.observer.Overloaded(kind)
	busy := r.Busy
	if busy == nil {
		busy = BusyAnswer(kind)
	}
	s.ack(ctx, req, kind, busy, received)
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
