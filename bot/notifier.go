package bot

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/slack-go/slack"

	"revokebot/revoke"
	"revokebot/store"
)

// repliesPageSize is the page size Slack recommends for conversations.replies.
const repliesPageSize = 200

// Poster posts and updates messages; *Output satisfies it.
type Poster interface {
	Post(ctx context.Context, channel string, options ...slack.MsgOption) (string, error)
	PostReplacing(ctx context.Context, channel, key string, options ...slack.MsgOption) (string, error)
	Update(ctx context.Context, channel, ts string, options ...slack.MsgOption) error
}

// ThreadReader reads a channel's messages and a thread's replies; *slack.Client satisfies it. It
// needs the channels:history scope (groups:history for a private channel).
type ThreadReader interface {
	GetConversationRepliesContext(ctx context.Context, params *slack.GetConversationRepliesParameters) ([]slack.Message, bool, string, error)
	GetConversationHistoryContext(ctx context.Context, params *slack.GetConversationHistoryParameters) (*slack.GetConversationHistoryResponse, error)
}

var (
	_ Poster          = (*Output)(nil)
	_ ThreadReader    = (*slack.Client)(nil)
	_ revoke.Notifier = (*Notifier)(nil)
)

// Notifier shows people in Slack what happens to requests: it posts and updates approval
// messages and posts the replies in their threads, through Output's pacing.
type Notifier struct {
	out       Poster
	threads   ThreadReader
	approvers []string // REVOKE_APPROVERS, mentioned by reminders and asks that name nobody else
}

// NewNotifier returns a Notifier that posts through out and reads threads through threads.
func NewNotifier(out Poster, threads ThreadReader) *Notifier {
	return &Notifier{out: out, threads: threads}
}

// WithApprovers sets who reminders of undecided requests, and asks of applications with no
// admin in Slack, mention: REVOKE_APPROVERS' user and user-group IDs.
func (n *Notifier) WithApprovers(ids []string) *Notifier {
	n.approvers = ids
	return n
}

// threadReply is the reply about e: ThreadReply, with the mentions and buttons that asks and
// reminders need.
func (n *Notifier) threadReply(r store.Request, e revoke.Event) ([]slack.MsgOption, error) {
	switch e.Kind {
	case revoke.AdminsAsked:
		blocks, err := n.askBlocks(r, e)
		if err != nil {
			return nil, err
		}
		return []slack.MsgOption{slack.MsgOptionText(n.askText(r, e), false), slack.MsgOptionBlocks(blocks...), replyMetadata(r, e)}, nil
	case revoke.ApproversReminded, revoke.AdminsReminded:
		return []slack.MsgOption{slack.MsgOptionText(n.reminderText(r, e), false), replyMetadata(r, e)}, nil
	}
	return ThreadReply(r, e), nil
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
	if r.State == store.Pending || retrying(r) {
		var err error
		if value, err = EncodeButton(r); err != nil {
			return err
		}
	}
	return n.out.Update(ctx, r.Channel, r.MessageTS, ApprovalMessage(r, value)...)
}

// Reply posts the reply about e in the request's thread and returns its ts. A status reply waits
// for its turn under its revocation's name, so a newer status of the same revocation takes its
// place in Slack's line; a reply replaced, or given up while it waited, is revoke.ErrNotSent:
// nothing of it reached Slack.
func (n *Notifier) Reply(ctx context.Context, r store.Request, e revoke.Event) (string, error) {
	options, err := n.threadReply(r, e)
	if err != nil {
		return "", err
	}
	options = append(options, slack.MsgOptionTS(r.MessageTS))
	var ts string
	if e.Kind == revoke.StatusChanged {
		ts, err = n.out.PostReplacing(ctx, r.Channel, "status/"+e.RevocationID, options...)
	} else {
		ts, err = n.out.Post(ctx, r.Channel, options...)
	}
	if errors.Is(err, ErrGaveUpWaiting) || errors.Is(err, ErrReplaced) {
		return "", fmt.Errorf("%w: %w", revoke.ErrNotSent, err)
	}
	return ts, err
}

// FindReply looks in the request's thread for the reply about e, by the metadata ThreadReply gives
// it, or in the channel for the approval message itself. Status replies of releases before
// replies had keys are found by revocation and status.
func (n *Notifier) FindReply(ctx context.Context, r store.Request, e revoke.Event) (string, bool, error) {
	if e.Kind == revoke.RequestPosted {
		return n.findApprovalMessage(ctx, r)
	}
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

// historyLead is how long before a request's creation its approval message is looked for:
// none can be older, and clocks may disagree a little.
const historyLead = 5 * time.Minute

// findApprovalMessage looks in the request's channel, from its creation on, for the approval
// message ApprovalMessage marks with the request's ID.
func (n *Notifier) findApprovalMessage(ctx context.Context, r store.Request) (string, bool, error) {
	params := &slack.GetConversationHistoryParameters{
		ChannelID:          r.Channel,
		Oldest:             fmt.Sprintf("%d.000000", r.CreatedAt.Add(-historyLead).Unix()),
		Limit:              repliesPageSize,
		IncludeAllMetadata: true,
	}
	key := revoke.Event{Kind: revoke.RequestPosted}.Key()
	seen := make(map[string]bool)
	for {
		resp, err := n.threads.GetConversationHistoryContext(ctx, params)
		if err != nil {
			return "", false, fmt.Errorf("read channel %s: %w", r.Channel, err)
		}
		for _, m := range resp.Messages {
			p := m.Metadata.EventPayload
			if m.Metadata.EventType == ReplyMetadataType && p["request_id"] == r.ID.String() && p["key"] == key {
				return m.Timestamp, true, nil
			}
		}
		next := resp.ResponseMetaData.NextCursor
		if !resp.HasMore || next == "" || seen[next] {
			return "", false, nil
		}
		seen[next] = true
		params.Cursor = next
	}
}
