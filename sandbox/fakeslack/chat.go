package fakeslack

import (
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/time/rate"
)

// content is a message body as chat.*, acks and response URLs carry it.
type content struct {
	Text     string
	Blocks   json.RawMessage
	Metadata json.RawMessage
}

// parseContent validates text and blocks with Slack's limits and error codes.
func parseContent(text, blocks, attachments string) (content, *apiError) {
	c := content{Text: text}
	if utf8.RuneCountInString(text) > maxMessageText {
		return c, fail("msg_too_long")
	}
	if strings.TrimSpace(blocks) != "" {
		msgs, ok := checkBlocks(json.RawMessage(blocks), "message", "/blocks", maxMessageBlocks)
		if !ok {
			return c, fail("invalid_blocks_format")
		}
		if len(msgs) > 0 {
			return c, fail("invalid_blocks", msgs...)
		}
		c.Blocks = normalizeBlocks(json.RawMessage(blocks))
	}
	if text == "" && c.Blocks == nil && strings.TrimSpace(attachments) == "" {
		return c, fail("no_text")
	}
	return c, nil
}

// contentFromJSON reads text and blocks from an ack or response_url body.
func contentFromJSON(m map[string]json.RawMessage) (content, *apiError) {
	var text string
	_ = json.Unmarshal(m["text"], &text)
	return parseContent(text, string(m["blocks"]), string(m["attachments"]))
}

// allowPost spends one chat.postMessage from the channel's allowance, or says how long to
// wait. Callers hold w.mu.
func (w *Workspace) allowPostLocked(channel string) (time.Duration, bool) {
	if w.cfg.DisableRateLimit {
		return 0, true
	}
	l, ok := w.limiters[channel]
	if !ok {
		l = rate.NewLimiter(w.cfg.PostMessageRate, w.cfg.PostMessageBurst)
		w.limiters[channel] = l
	}
	now := w.cfg.Now()
	r := l.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d, false
	}
	return 0, true
}

// SetRateLimit switches chat.postMessage's per-channel limit on or off at run time.
func (w *Workspace) SetRateLimit(on bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.cfg.DisableRateLimit = !on
	w.limiters = map[string]*rate.Limiter{}
}

// targetChannel resolves chat.*'s channel argument: an ID, a #name, or a user ID meaning the
// bot's DM with that person.
func (w *Workspace) targetChannelLocked(id string) (*Channel, *apiError) {
	if id == "" {
		return nil, fail("channel_not_found")
	}
	if strings.HasPrefix(id, "U") || strings.HasPrefix(id, "W") {
		if w.user(id) == nil {
			return nil, fail("channel_not_found")
		}
		return w.dmWith(id), nil
	}
	ch := w.channel(id)
	if ch == nil {
		return nil, fail("channel_not_found")
	}
	if !ch.hasMember(w.cfg.BotUserID) {
		return nil, fail("not_in_channel")
	}
	return ch, nil
}

func (w *Workspace) chatPostMessage(c *apiCall) (map[string]any, *apiError) {
	body, err := parseContent(c.args["text"], c.args["blocks"], c.args["attachments"])
	if err != nil {
		return nil, err
	}
	if md := c.args["metadata"]; md != "" {
		var m struct {
			EventType string `json:"event_type"`
		}
		if json.Unmarshal([]byte(md), &m) != nil || m.EventType == "" {
			return nil, fail("invalid_metadata_format")
		}
		body.Metadata = json.RawMessage(md)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	ch, err := w.targetChannelLocked(c.args["channel"])
	if err != nil {
		return nil, err
	}
	threadTS := c.args["thread_ts"]
	if threadTS != "" {
		parent := w.findMessage(ch.ID, threadTS)
		if parent == nil {
			return nil, fail("thread_not_found")
		}
		if parent.IsReply() {
			threadTS = parent.ThreadTS // Slack threads a reply to a reply under the root
		}
	}
	if wait, ok := w.allowPostLocked(ch.ID); !ok {
		return nil, &apiError{code: "ratelimited", status: 429, retry: wait}
	}
	m := &Message{
		Channel: ch.ID, ThreadTS: threadTS, User: w.cfg.BotUserID, BotID: w.cfg.BotID,
		Text: body.Text, Blocks: body.Blocks, Metadata: body.Metadata,
		ReplyBroadcast: threadTS != "" && c.args.bool("reply_broadcast"),
	}
	w.postLocked(m)
	return map[string]any{"channel": ch.ID, "ts": m.TS, "message": messageJSON(*m)}, nil
}

func (w *Workspace) chatUpdate(c *apiCall) (map[string]any, *apiError) {
	body, err := parseContent(c.args["text"], c.args["blocks"], c.args["attachments"])
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	ch := w.channel(c.args["channel"])
	if ch == nil {
		return nil, fail("channel_not_found")
	}
	m := w.findMessage(ch.ID, c.args["ts"])
	if m == nil {
		return nil, fail("message_not_found")
	}
	if m.User != w.cfg.BotUserID {
		return nil, fail("cant_update_message")
	}
	w.updateMessageLocked(m, body)
	return map[string]any{"channel": ch.ID, "ts": m.TS, "text": m.Text, "message": messageJSON(*m)}, nil
}

func (w *Workspace) updateMessageLocked(m *Message, body content) {
	m.Text, m.Blocks, m.Edited = body.Text, body.Blocks, true
	cp := *m
	w.notify(Change{Kind: ChangeMessageUpdated, Channel: m.Channel, TS: m.TS, Message: &cp})
}

func (w *Workspace) deleteMessageLocked(channel, ts string) {
	msgs := w.messages[channel]
	for i, m := range msgs {
		if m.TS == ts {
			w.messages[channel] = append(msgs[:i:i], msgs[i+1:]...)
			w.notify(Change{Kind: ChangeMessageDeleted, Channel: channel, TS: ts})
			return
		}
	}
}

func (w *Workspace) chatPostEphemeral(c *apiCall) (map[string]any, *apiError) {
	body, err := parseContent(c.args["text"], c.args["blocks"], c.args["attachments"])
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	ch, err := w.targetChannelLocked(c.args["channel"])
	if err != nil {
		return nil, err
	}
	userID := c.args["user"]
	if w.user(userID) == nil {
		return nil, fail("user_not_found")
	}
	if !ch.hasMember(userID) {
		return nil, fail("user_not_in_channel")
	}
	e := &Ephemeral{User: userID, Channel: ch.ID, ThreadTS: c.args["thread_ts"], Text: body.Text, Blocks: body.Blocks, Source: "chat.postEphemeral"}
	w.addEphemeralLocked(e)
	return map[string]any{"message_ts": e.TS}, nil
}

func (w *Workspace) chatGetPermalink(c *apiCall) (map[string]any, *apiError) {
	w.mu.Lock()
	defer w.mu.Unlock()
	ch := w.channel(c.args["channel"])
	if ch == nil {
		return nil, fail("channel_not_found")
	}
	m := w.findMessage(ch.ID, c.args["message_ts"])
	if m == nil {
		return nil, fail("message_not_found")
	}
	base := "https://" + w.cfg.TeamDomain + ".slack.com/"
	if w.cfg.PermalinkBase != "" {
		base = w.cfg.PermalinkBase
	}
	link := base + "archives/" + ch.ID + "/p" + strings.ReplaceAll(m.TS, ".", "")
	if m.IsReply() {
		link += "?thread_ts=" + m.ThreadTS + "&cid=" + ch.ID
	}
	return map[string]any{"channel": ch.ID, "permalink": link}, nil
}
