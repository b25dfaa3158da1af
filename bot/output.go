package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"golang.org/x/time/rate"
)

// Slack's limits on what the bot sends.
const (
	// postInterval paces chat.postMessage per channel: Slack allows about one message a second
	// in a channel, with short bursts.
	postInterval = time.Second
	postBurst    = 3
	// updatesPerMinute paces chat.update across the workspace: it is a Tier 3 method (~50/min).
	updatesPerMinute = 50
	updateBurst      = 5
	// maxSlackAttempts bounds the tries of one call that Slack answers 429.
	maxSlackAttempts = 4
	// maxSlackRetryAfter caps a 429's wait: past it the message is reported as failed rather
	// than holding a worker for minutes.
	maxSlackRetryAfter = 30 * time.Second
)

// SlackAPI is the part of slack-go's client that Output uses; *slack.Client satisfies it.
type SlackAPI interface {
	PostMessageContext(ctx context.Context, channelID string, options ...slack.MsgOption) (string, string, error)
	UpdateMessageContext(ctx context.Context, channelID, timestamp string, options ...slack.MsgOption) (string, string, string, error)
	PostEphemeralContext(ctx context.Context, channelID, userID string, options ...slack.MsgOption) (string, error)
}

// OutputObserver is told about every Slack call, for metrics. It must return at once.
type OutputObserver interface {
	SlackCall(method string, err error)
}

// Output sends the bot's messages to Slack within Slack's limits: posts are paced per channel,
// updates of one message are coalesced so only the newest is sent, and a 429 is waited out and
// retried.
type Output struct {
	api      SlackAPI
	observer OutputObserver
	log      *slog.Logger

	mu       sync.Mutex
	channels map[string]*rate.Limiter // chat.postMessage pacing, per channel
	updates  *rate.Limiter            // chat.update pacing, workspace-wide
	pending  map[messageKey]*pendingUpdate
	seq      uint64 // numbers Update calls, so the newest options win
}

type messageKey struct{ channel, ts string }

// pendingUpdate is an update waiting for its turn. A newer update of the same message replaces
// its options; everyone whose options the one call carried (or superseded) learns its outcome.
type pendingUpdate struct {
	options []slack.MsgOption
	seq     uint64        // the Update call the options come from; later calls have higher ones
	done    chan struct{} // closed once the sender has finished or given up
	sent    uint64        // the seq of the options sent; 0 if the sender gave up before sending
	err     error
}

// NewOutput returns an Output over api.
func NewOutput(api SlackAPI, observer OutputObserver, log *slog.Logger) *Output {
	return &Output{
		api:      api,
		observer: observer,
		log:      log,
		channels: make(map[string]*rate.Limiter),
		updates:  rate.NewLimiter(rate.Every(time.Minute/updatesPerMinute), updateBurst),
		pending:  make(map[messageKey]*pendingUpdate),
	}
}

// Post posts a message in channel (a thread reply when the options include MsgOptionTS) and
// returns its ts.
func (o *Output) Post(ctx context.Context, channel string, options ...slack.MsgOption) (string, error) {
	if err := o.channelLimiter(channel).Wait(ctx); err != nil {
		return "", fmt.Errorf("post in %s: %w", channel, err)
	}
	var ts string
	err := o.call(ctx, "chat.postMessage", func() (err error) {
		_, ts, err = o.api.PostMessageContext(ctx, channel, options...)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("post in %s: %w", channel, err)
	}
	return ts, nil
}

// Update replaces the message at ts in channel. While an update of the same message waits for
// its turn, a newer one takes its place: Slack gets only the newest, and each caller learns the
// outcome of the call that carried its options or newer ones. A caller whose own context ends
// while it waits for the turn gives up alone: callers waiting on it send theirs instead.
func (o *Output) Update(ctx context.Context, channel, ts string, options ...slack.MsgOption) error {
	key := messageKey{channel, ts}
	o.mu.Lock()
	o.seq++
	mine := o.seq
	o.mu.Unlock()
	for {
		o.mu.Lock()
		p, waiting := o.pending[key]
		if !waiting {
			p = &pendingUpdate{options: options, seq: mine, done: make(chan struct{})}
			o.pending[key] = p
			o.mu.Unlock()
			return o.sendUpdate(ctx, key, p)
		}
		if mine > p.seq {
			p.options, p.seq = options, mine
		}
		o.mu.Unlock()
		select {
		case <-p.done:
			if p.sent >= mine {
				return p.err
			}
			// The sender gave up before sending these options: take its place.
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// sendUpdate waits for chat.update's pacing, then sends the newest options of p.
func (o *Output) sendUpdate(ctx context.Context, key messageKey, p *pendingUpdate) error {
	waitErr := o.updates.Wait(ctx)
	o.mu.Lock()
	delete(o.pending, key)
	newest, seq := p.options, p.seq
	o.mu.Unlock()
	if waitErr != nil {
		close(p.done)
		return fmt.Errorf("update %s in %s: %w", key.ts, key.channel, waitErr)
	}
	err := o.call(ctx, "chat.update", func() error {
		_, _, _, err := o.api.UpdateMessageContext(ctx, key.channel, key.ts, newest...)
		return err
	})
	if err != nil {
		err = fmt.Errorf("update %s in %s: %w", key.ts, key.channel, err)
	}
	if err == nil || ctx.Err() == nil {
		// An outcome of the call itself; one cut short by this caller's context is not the
		// waiters' outcome, and they send again (an update is the same whoever sends it).
		p.sent, p.err = seq, err
	}
	close(p.done)
	return err
}

// Ephemeral shows a message to one person in channel.
func (o *Output) Ephemeral(ctx context.Context, channel, user string, options ...slack.MsgOption) error {
	err := o.call(ctx, "chat.postEphemeral", func() error {
		_, err := o.api.PostEphemeralContext(ctx, channel, user, options...)
		return err
	})
	if err != nil {
		return fmt.Errorf("ephemeral to %s in %s: %w", user, channel, err)
	}
	return nil
}

// Respond answers through an interaction's response_url, which reaches the person even in a
// channel the bot is not in.
func (o *Output) Respond(ctx context.Context, responseURL string, options ...slack.MsgOption) error {
	options = append(options, slack.MsgOptionResponseURL(responseURL, slack.ResponseTypeEphemeral))
	err := o.call(ctx, "response_url", func() error {
		// The channel is ignored when a response URL is given.
		_, _, err := o.api.PostMessageContext(ctx, "", options...)
		return err
	})
	if err != nil {
		return fmt.Errorf("respond: %w", err)
	}
	return nil
}

func (o *Output) channelLimiter(channel string) *rate.Limiter {
	o.mu.Lock()
	defer o.mu.Unlock()
	l, ok := o.channels[channel]
	if !ok {
		l = rate.NewLimiter(rate.Every(postInterval), postBurst)
		o.channels[channel] = l
	}
	return l
}

// call makes one Slack call, waiting out and retrying 429s.
func (o *Output) call(ctx context.Context, method string, fn func() error) error {
	for attempt := 1; ; attempt++ {
		err := fn()
		o.observer.SlackCall(method, err)
		var limited *slack.RateLimitedError
		if !errors.As(err, &limited) {
			return err
		}
		if attempt == maxSlackAttempts || limited.RetryAfter > maxSlackRetryAfter {
			return err
		}
		o.log.Warn("Slack rate limited a call; waiting", "method", method, "retry_after", limited.RetryAfter, "attempt", attempt)
		timer := time.NewTimer(limited.RetryAfter)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		}
	}
}
