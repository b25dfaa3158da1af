package bot

import (
	"context"
	"fmt"

	"github.com/slack-go/slack"

	"revokebot/revoke"
	"revokebot/store"
)

// repliesPageSize is the page size Slack recommends for conversations.replies.
const repliesPageSize = 200

// Poster posts and updates messages; *Output satisfies it.
type Poster interface {
	Post(ctx context.Context, channel string, options ...slack.MsgOption) (string, error)
	Update(ctx context.Context, channel, ts string, options ...slack.MsgOption) error
}

// ThreadReader reads a thread's replies; *slack.Client satisfies it. It needs the
// channels:history scope (groups:history for a private channel).
type ThreadReader interface {
	GetConversationRepliesContext(ctx context.Context, params *slack.GetConversationRepliesParameters) ([]slack.Message, bool, string, error)
}

var (
	_ Poster          = (*Output)(nil)
	_ ThreadReader    = (*slack.Client)(nil)
	_ revoke.Notifier = (*Notifier)(nil)
)

// Notifier shows people in Slack what happens to requests: it posts and updates approval
// messages and posts the replies in their threads, through Output's pacing.
type Notifier struct {
	out     Poster
	threads ThreadReader
}

// NewNotifier returns a Notifier that posts through out and reads threads through threads.
func NewNotifier(out Poster, threads ThreadReader) *Notifier {
	return &Notifier{out: out, threads: threads}
}

// PostRequest posts a new request's approval message and returns its ts.
func (n *Notifier) PostRequest(ctx context.Context, r store.Request) (string, error) {
	value, err := EncodeButton(r)
	if err != nil {
		return "", err
	}
	return n.out.Post(ctx, r.Channel, ApprovalMessage(r, value)...)
}

// UpdateRequest shows a request's approval message as the request now stands.
func (n *Notifier) UpdateRequest(ctx context.Context, r store.Request) error {
	value := ""
	if r.State == store.Pending {
		var err error
		if value, err = EncodeButton(r); err != nil {
			return err
		}
	}
	return n.out.Update(ctx, r.Channel, r.MessageTS, ApprovalMessage(r, value)...)
}

// Reply posts the reply about e in the request's thread and returns its ts.
func (n *Notifier) Reply(ctx context.Context, r store.Request, e revoke.Event) (string, error) {
	return n.out.Post(ctx, r.Channel, append(ThreadReply(r, e), slack.MsgOptionTS(r.MessageTS))...)
}

// FindReply looks in the request's thread for the reply about e, by the metadata ThreadReply gives
// it. Status replies of releases before replies had keys are found by revocation and status.
func (n *Notifier) FindReply(ctx context.Context, r store.Request, e revoke.Event) (string, bool, error) {
	params := &slack.GetConversationRepliesParameters{
		ChannelID:          r.Channel,
		Timestamp:          r.MessageTS,
		Limit:              repliesPageSize,
		IncludeAllMetadata: true,
	}
	seen := make(map[string]bool)
	for {
		msgs, _, next, err := n.threads.GetConversationRepliesContext(ctx, params)
		if err != nil {
			return "", false, fmt.Errorf("read thread %s in %s: %w", r.MessageTS, r.Channel, err)
		}
		for _, m := range msgs {
			if m.Metadata.EventType == ReplyMetadataType && isReplyTo(m.Metadata.EventPayload, e) {
				return m.Timestamp, true, nil
			}
		}
		if next == "" || seen[next] {
			return "", false, nil
		}
		seen[next] = true
		params.Cursor = next
	}
}

func isReplyTo(payload map[string]any, e revoke.Event) bool {
	if key, ok := payload["key"]; ok {
		return key == e.Key()
	}
	return e.Kind == revoke.StatusChanged && payload["revocation_id"] == e.RevocationID && payload["status"] == string(e.Status)
}
