package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
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
	// maxSlackAttempts bounds the tries of one call that Slack answers 429: Slack's limits are
	// per channel and per method, shared with whatever else posts there (another replica, a
	// process that just restarted), so a few 1 s waits in a row are normal in a busy channel.
	maxSlackAttempts = 10
	// maxSlackRetryAfter caps a 429's wait: past it the message is reported as failed rather
	// than holding a worker for minutes.
	maxSlackRetryAfter = 30 * time.Second
)

// ErrGaveUpWaiting is what a post wraps when its context ended while it waited for its turn
// (Slack's pacing, or a 429's Retry-After): nothing reached Slack.
var ErrGaveUpWaiting = errors.New("gave up waiting for Slack's pacing")

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
	waiting  map[waitKey]*waitingCall
	seq      uint64 // numbers the calls that may be taken over, so the newest options win
	// shared, when set, paces posts per channel across replicas instead of channels.
	shared func(ctx context.Context, channel string) error
}

// SharePacing makes every post wait for wait(ctx, channel), which paces the posts of all the
// replicas sharing a channel, instead of this process's own pacing: replicas pacing themselves
// alone would post as many times faster than Slack allows as there are of them. Call it before
// the first post.
func (o *Output) SharePacing(wait func(ctx context.Context, channel string) error) {
	o.shared = wait
}

// waitKey names a call that a newer one may take over while it waits for its turn: an update of
// one message, or a post that replaces another (see PostReplacing).
type waitKey struct{ method, channel, id string }

// waitingCall is a call waiting for its turn. A newer call with the same key replaces its
// options and keeps its place in line; when the turn comes, the newest options are sent once.
type waitingCall struct {
	options []slack.MsgOption
	seq     uint64        // the call the options come from; later calls have higher ones
	done    chan struct{} // closed once the sender has finished or given up
	sent    uint64        // the seq of the options sent; 0 if the sender gave up before sending
	ts      string
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
		waiting:  make(map[waitKey]*waitingCall),
	}
}

// Post posts a message in channel (a thread reply when the options include MsgOptionTS) and
// returns its ts.
func (o *Output) Post(ctx context.Context, channel string, options ...slack.MsgOption) (string, error) {
	if err := o.channelWait(channel)(ctx); err != nil {
		return "", fmt.Errorf("post in %s: %w: %w", channel, ErrGaveUpWaiting, err)
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

// ErrReplaced is what PostReplacing returns to a post a newer one with the same key replaced
// while it waited for its turn: it was never sent.
var ErrReplaced = errors.New("replaced by a newer post before it was sent")

// PostReplacing posts like Post, except that while this post waits for its turn in the
// channel's pacing, a newer PostReplacing with the same key takes its place in line: Slack gets
// only the newer one, and this one returns ErrReplaced. A status reply uses its revocation as the
// key, so a status that went stale while it waited is not posted after all.
func (o *Output) PostReplacing(ctx context.Context, channel, key string, options ...slack.MsgOption) (string, error) {
	sent, mine, ts, err := o.takeOver(ctx, waitKey{"chat.postMessage", channel, key}, options,
		o.channelWait(channel),
		func(options []slack.MsgOption) (ts string, err error) {
			err = o.call(ctx, "chat.postMessage", func() (err error) {
				_, ts, err = o.api.PostMessageContext(ctx, channel, options...)
				return err
			})
			return ts, err
		})
	switch {
	case sent > mine:
		return "", fmt.Errorf("post in %s: %w", channel, ErrReplaced)
	case sent == 0:
		return "", fmt.Errorf("post in %s: %w: %w", channel, ErrGaveUpWaiting, err)
	case err != nil:
		return "", fmt.Errorf("post in %s: %w", channel, err)
	}
	return ts, nil
}

// Update replaces the message at ts in channel. While an update of the same message waits for
// its turn, a newer one takes its place: Slack gets only the newest, and each caller learns the
// outcome of the call that carried its options or newer ones.
func (o *Output) Update(ctx context.Context, channel, ts string, options ...slack.MsgOption) error {
	sent, _, _, err := o.takeOver(ctx, waitKey{"chat.update", channel, ts}, options, o.updates.Wait,
		func(options []slack.MsgOption) (string, error) {
			return "", o.call(ctx, "chat.update", func() error {
				_, _, _, err := o.api.UpdateMessageContext(ctx, channel, ts, options...)
				return err
			})
		})
	if err != nil {
		return fmt.Errorf("update %s in %s: %w", ts, channel, err)
	}
	if sent == 0 {
		return fmt.Errorf("update %s in %s: %w", ts, channel, ErrGaveUpWaiting)
	}
	return nil
}

// takeOver makes one call with key, waiting for turn first, so that the newest options of every
// caller with the same key who joins while it waits are sent once. It returns the seq of the
// options sent (0 if this caller gave up before anything was sent), this caller's seq, and what
// the call answered. A caller whose own context ends while it waits for the turn gives up alone:
// callers waiting on it take its place.
func (o *Output) takeOver(ctx context.Context, key waitKey, options []slack.MsgOption,
	turn func(context.Context) error, send func([]slack.MsgOption) (string, error)) (sent, mine uint64, ts string, err error) {
	o.mu.Lock()
	o.seq++
	mine = o.seq
	o.mu.Unlock()
	for {
		o.mu.Lock()
		w, waiting := o.waiting[key]
		if !waiting {
			w = &waitingCall{options: options, seq: mine, done: make(chan struct{})}
			o.waiting[key] = w
			o.mu.Unlock()
			return o.sendWhenDue(ctx, key, w, mine, turn, send)
		}
		if mine > w.seq {
			w.options, w.seq = options, mine
		}
		o.mu.Unlock()
		select {
		case <-w.done:
			if w.sent != 0 && w.sent >= mine {
				return w.sent, mine, w.ts, w.err
			}
			// The sender gave up before sending these options: take its place.
		case <-ctx.Done():
			return 0, mine, "", ctx.Err()
		}
	}
}

// sendWhenDue waits for the turn, then sends the newest options of w.
func (o *Output) sendWhenDue(ctx context.Context, key waitKey, w *waitingCall, mine uint64,
	turn func(context.Context) error, send func([]slack.MsgOption) (string, error)) (uint64, uint64, string, error) {
	waitErr := turn(ctx)
	o.mu.Lock()
	delete(o.waiting, key)
	newest, seq := w.options, w.seq
	o.mu.Unlock()
	if waitErr != nil {
		close(w.done)
		return 0, mine, "", waitErr
	}
	ts, err := send(newest)
	if err == nil || ctx.Err() == nil {
		// An outcome of the call itself; one cut short by this caller's context is not the
		// waiters' outcome, and they send again.
		w.sent, w.ts, w.err = seq, ts, err
	}
	close(w.done)
	return seq, mine, ts, err
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
		return fmt.Errorf("respond: %w", redactResponseURL(err, responseURL))
	}
	return nil
}

// redactResponseURL takes responseURL out of err. A response_url lets whoever holds it post as
// the bot to the person who acted, for 30 minutes, and net/http's *url.Error spells the whole URL
// out ("Post \"https://hooks.slack.com/actions/…\": dial tcp: …"), so the error of a failed
// answer would carry it into every log line that reports it. Its host is kept, to say which
// service failed. The *url.Error is changed in place, so that a caller who unwraps the error
// finds no URL either; a message that still names it after that loses its chain rather than
// leak it.
func redactResponseURL(err error, responseURL string) error {
	redacted := "[redacted response_url]"
	u, perr := url.Parse(responseURL)
	if perr == nil && u.Host != "" {
		redacted = u.Scheme + "://" + u.Host + "/[redacted]"
	}
	for _, e := range errorChain(err) {
		if ue, ok := e.(*url.Error); ok {
			ue.URL = redacted
		}
	}
	msg := err.Error()
	secrets := []string{responseURL}
	if perr == nil && len(u.Path) > 1 {
		secrets = append(secrets, u.EscapedPath(), u.Path)
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(msg, s) {
			msg = strings.ReplaceAll(msg, s, redacted)
			err = errors.New(msg)
		}
	}
	return err
}

// errorChain returns err and every error it wraps.
func errorChain(err error) []error {
	if err == nil {
		return nil
	}
	out := []error{err}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		out = append(out, errorChain(u.Unwrap())...)
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			out = append(out, errorChain(e)...)
		}
	}
	return out
}

// channelWait returns what a post in channel waits for: its turn among the replicas when they
// share pacing, else this process's.
func (o *Output) channelWait(channel string) func(context.Context) error {
	if o.shared != nil {
		return func(ctx context.Context) error { return o.shared(ctx, channel) }
	}
	return o.channelLimiter(channel).Wait
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
