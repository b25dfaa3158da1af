package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"
)

// fakeSlack is the part of Slack's Web API that Output and the tracker use: it keeps the
// messages posted, with their threads and metadata, and every update, and serves threads back
// through conversations.replies.
type fakeSlack struct {
	mu           sync.Mutex
	seq          int
	messages     []slackMessage
	updates      []slackUpdate
	postFailures int // the next n posts fail, as Slack being down would make them
}

// slackMessage is a message as Slack stores it.
type slackMessage struct {
	Channel, TS, ThreadTS, Text string
	Metadata                    slack.SlackMetadata
	At                          time.Time
}

// slackUpdate is one chat.update as Slack received it.
type slackUpdate struct {
	Channel, TS, Text, Blocks string
}

var (
	_ SlackAPI     = (*fakeSlack)(nil)
	_ ThreadReader = (*fakeSlack)(nil)
)

// encode returns the form slack-go sends for a message with options, so that options are seen
// exactly as they go to Slack: slack-go keeps blocks out of the form until it sends it. The
// request goes to a transport that only records it, with no socket, so a synctest bubble's
// clock keeps moving.
func (f *fakeSlack) encode(channel string, options ...slack.MsgOption) (url.Values, error) {
	var sent url.Values
	record := roundTripper(func(r *http.Request) (*http.Response, error) {
		if err := r.ParseForm(); err != nil {
			return nil, err
		}
		sent = r.PostForm
		return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(`{"ok":true,"channel":"C1","ts":"1.000001"}`)), Request: r}, nil
	})
	api := slack.New("xoxb-test", slack.OptionAPIURL("http://slack.test/api/"), slack.OptionHTTPClient(&http.Client{Transport: record}))
	if _, _, err := api.PostMessageContext(context.Background(), channel, options...); err != nil {
		return nil, err
	}
	return sent, nil
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func (f *fakeSlack) PostMessageContext(_ context.Context, channel string, options ...slack.MsgOption) (string, string, error) {
	values, err := f.encode(channel, options...)
	if err != nil {
		return "", "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.postFailures > 0 {
		f.postFailures--
		return "", "", slack.SlackErrorResponse{Err: "internal_error"}
	}
	f.seq++
	m := slackMessage{
		Channel:  channel,
		TS:       fmt.Sprintf("1700000000.%06d", f.seq),
		ThreadTS: values.Get("thread_ts"),
		Text:     values.Get("text"),
		At:       time.Now(),
	}
	if raw := values.Get("metadata"); raw != "" {
		if err := json.Unmarshal([]byte(raw), &m.Metadata); err != nil {
			return "", "", err
		}
	}
	f.messages = append(f.messages, m)
	return channel, m.TS, nil
}

func (f *fakeSlack) UpdateMessageContext(_ context.Context, channel, ts string, options ...slack.MsgOption) (string, string, string, error) {
	values, err := f.encode(channel, options...)
	if err != nil {
		return "", "", "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.updates = append(f.updates, slackUpdate{Channel: channel, TS: ts, Text: values.Get("text"), Blocks: values.Get("blocks")})
	return channel, ts, values.Get("text"), nil
}

func (f *fakeSlack) PostEphemeralContext(context.Context, string, string, ...slack.MsgOption) (string, error) {
	return "", fmt.Errorf("fake Slack: no ephemeral messages here")
}

// GetConversationRepliesContext returns a thread, parent first, two messages a page so tests
// follow cursors. Metadata is only included when asked for, as Slack does.
func (f *fakeSlack) GetConversationRepliesContext(_ context.Context, p *slack.GetConversationRepliesParameters) ([]slack.Message, bool, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var thread []slack.Message
	for _, m := range f.messages {
		if m.Channel != p.ChannelID || (m.TS != p.Timestamp && m.ThreadTS != p.Timestamp) {
			continue
		}
		msg := slack.Message{Msg: slack.Msg{Timestamp: m.TS, ThreadTimestamp: m.ThreadTS, Text: m.Text}}
		if p.IncludeAllMetadata {
			msg.Metadata = m.Metadata
		}
		thread = append(thread, msg)
	}
	const pageSize = 2
	start := 0
	if p.Cursor != "" {
		fmt.Sscan(p.Cursor, &start)
	}
	end := min(start+pageSize, len(thread))
	if end >= len(thread) {
		return thread[start:], false, "", nil
	}
	return thread[start:end], true, fmt.Sprint(end), nil
}

// post adds a message as if someone had posted it, and returns its ts.
func (f *fakeSlack) post(channel string, options ...slack.MsgOption) string {
	_, ts, err := f.PostMessageContext(context.Background(), channel, options...)
	if err != nil {
		panic(err)
	}
	return ts
}

// updatesOf returns the updates of one message, oldest first.
func (f *fakeSlack) updatesOf(ts string) []slackUpdate {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []slackUpdate
	for _, u := range f.updates {
		if u.TS == ts {
			out = append(out, u)
		}
	}
	return out
}

// lastUpdate returns the newest update of a message, or a zero one.
func (f *fakeSlack) lastUpdate(ts string) slackUpdate {
	u := f.updatesOf(ts)
	if len(u) == 0 {
		return slackUpdate{}
	}
	return u[len(u)-1]
}

// hasButtons reports whether an update's blocks carry the Approve and Reject buttons.
func (u slackUpdate) hasButtons() bool {
	return strings.Contains(u.Blocks, ActionApprove) || strings.Contains(u.Blocks, ActionReject)
}

// nopObserver ignores Output's calls.
type nopObserver struct{}

func (nopObserver) SlackCall(string, error) {}

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }
