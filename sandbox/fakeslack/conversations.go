package fakeslack

import (
	"strconv"
	"strings"
)

func (w *Workspace) channelJSON(ch *Channel) map[string]any {
	out := map[string]any{
		"id": ch.ID, "name": ch.Name, "is_channel": !ch.IsIM && !ch.IsPrivate, "is_group": ch.IsPrivate,
		"is_im": ch.IsIM, "is_private": ch.IsPrivate || ch.IsIM, "is_member": ch.hasMember(w.cfg.BotUserID),
		"is_archived": false, "context_team_id": w.cfg.TeamID, "num_members": len(ch.Members),
	}
	if ch.IsIM {
		for _, m := range ch.Members {
			if m != w.cfg.BotUserID {
				out["user"] = m
			}
		}
	}
	return out
}

func (w *Workspace) conversationsOpen(c *apiCall) (map[string]any, *apiError) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if id := c.args["channel"]; id != "" {
		ch := w.channel(id)
		if ch == nil {
			return nil, fail("channel_not_found")
		}
		return map[string]any{"channel": map[string]any{"id": ch.ID}, "already_open": true}, nil
	}
	users := strings.Split(c.args["users"], ",")
	if len(users) != 1 || users[0] == "" {
		// Group DMs are not modelled: revokebot only ever opens a DM with one person.
		return nil, fail("users_list_not_supplied")
	}
	if w.user(users[0]) == nil {
		return nil, fail("user_not_found")
	}
	ch := w.dmWith(users[0])
	res := map[string]any{"channel": map[string]any{"id": ch.ID}}
	if c.args.bool("return_im") {
		res["channel"] = w.channelJSON(ch)
	}
	return res, nil
}

func (w *Workspace) conversationsInfo(c *apiCall) (map[string]any, *apiError) {
	w.mu.Lock()
	defer w.mu.Unlock()
	ch := w.channel(c.args["channel"])
	if ch == nil {
		return nil, fail("channel_not_found")
	}
	return map[string]any{"channel": w.channelJSON(ch)}, nil
}

func (w *Workspace) conversationsMembers(c *apiCall) (map[string]any, *apiError) {
	w.mu.Lock()
	defer w.mu.Unlock()
	ch := w.channel(c.args["channel"])
	if ch == nil {
		return nil, fail("channel_not_found")
	}
	return map[string]any{"members": ch.Members, "response_metadata": map[string]any{"next_cursor": ""}}, nil
}

func (w *Workspace) conversationsReplies(c *apiCall) (map[string]any, *apiError) {
	w.mu.Lock()
	defer w.mu.Unlock()
	ch := w.channel(c.args["channel"])
	if ch == nil {
		return nil, fail("channel_not_found")
	}
	if c.args["ts"] == "" {
		return nil, fail("invalid_arguments")
	}
	parent := w.findMessage(ch.ID, c.args["ts"])
	if parent == nil {
		return nil, fail("thread_not_found")
	}
	root := parent.TS
	if parent.IsReply() {
		root = parent.ThreadTS
	}
	var msgs []map[string]any
	for _, m := range w.threadLocked(ch.ID, root) {
		msgs = append(msgs, messageJSON(m))
	}
	return map[string]any{"messages": msgs, "has_more": false, "response_metadata": map[string]any{"next_cursor": ""}}, nil
}

// conversationsHistory answers a channel's top-level messages, newest first, from oldest on,
// a page of limit (default 100) at a time, as Slack does.
func (w *Workspace) conversationsHistory(c *apiCall) (map[string]any, *apiError) {
	w.mu.Lock()
	defer w.mu.Unlock()
	ch := w.channel(c.args["channel"])
	if ch == nil {
		return nil, fail("channel_not_found")
	}
	limit, start := 100, 0
	if n, err := strconv.Atoi(c.args["limit"]); err == nil && n > 0 {
		limit = min(n, 999)
	}
	if n, err := strconv.Atoi(c.args["cursor"]); err == nil && n > 0 {
		start = n
	}
	oldest, _ := strconv.ParseFloat(c.args["oldest"], 64)
	var msgs []map[string]any
	all := w.messages[ch.ID]
	for i := len(all) - 1; i >= 0; i-- {
		m := all[i]
		if ts, _ := strconv.ParseFloat(m.TS, 64); m.IsReply() || ts < oldest {
			continue
		}
		msgs = append(msgs, messageJSON(*m))
	}
	next := ""
	msgs = msgs[min(start, len(msgs)):]
	if len(msgs) > limit {
		msgs, next = msgs[:limit], strconv.Itoa(start+limit)
	}
	return map[string]any{"messages": msgs, "has_more": next != "", "response_metadata": map[string]any{"next_cursor": next}}, nil
}

func messageJSON(m Message) map[string]any {
	out := map[string]any{"type": "message", "ts": m.TS, "user": m.User, "text": m.Text}
	if m.BotID != "" {
		out["bot_id"] = m.BotID
	}
	if m.ThreadTS != "" {
		out["thread_ts"] = m.ThreadTS
	}
	if m.ReplyCount > 0 {
		out["reply_count"] = m.ReplyCount
	}
	if len(m.Blocks) > 0 {
		out["blocks"] = m.Blocks
	}
	if len(m.Metadata) > 0 {
		out["metadata"] = m.Metadata
	}
	if m.Edited {
		out["edited"] = map[string]any{"user": m.User, "ts": m.TS}
	}
	return out
}
