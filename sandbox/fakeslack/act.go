package fakeslack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrNotFound says an act named a person, channel, message, modal or element that is not there.
var ErrNotFound = errors.New("not found")

// verificationToken is the deprecated token Slack still puts in interaction payloads.
const verificationToken = "fakeslackverificationtoken"

// Value is what a person enters into a modal element; make it with TextValue, UserValue or
// OptionValue. The element's type is filled in from the view.
type Value map[string]any

// TextValue is text typed into a plain_text_input.
func TextValue(s string) Value { return Value{"value": s} }

// UserValue is a person chosen in a users_select.
func UserValue(userID string) Value { return Value{"selected_user": userID} }

// OptionValue is an option chosen in a static_select, external_select or radio_buttons.
func OptionValue(text, value string) Value {
	return Value{"selected_option": map[string]any{"text": map[string]any{"type": "plain_text", "text": text, "emoji": true}, "value": value}}
}

// Option is one option an external select offers.
type Option struct {
	Text  string
	Value string
}

func (w *Workspace) userRefLocked(u *User) map[string]any {
	return map[string]any{"id": u.ID, "username": u.Name, "name": u.Name, "team_id": w.cfg.TeamID}
}

func (w *Workspace) teamRef() map[string]any {
	return map[string]any{"id": w.cfg.TeamID, "domain": w.cfg.TeamDomain}
}

func (w *Workspace) actionTS() string {
	n := w.cfg.Now()
	return fmt.Sprintf("%d.%06d", n.Unix(), n.Nanosecond()/1000)
}

// RunSlashCommand has a person type a slash command in a channel, waits for the app's ack and
// shows its answer as Slack does (ephemeral unless response_type is in_channel).
func (w *Workspace) RunSlashCommand(ctx context.Context, userID, channelID, command, text string) (Ack, error) {
	w.mu.Lock()
	u, ch := w.user(userID), w.channel(channelID)
	if u == nil || ch == nil {
		w.mu.Unlock()
		return Ack{}, fmt.Errorf("run %s as %s in %s: %w", command, userID, channelID, ErrNotFound)
	}
	if !ch.hasMember(userID) {
		w.mu.Unlock()
		return Ack{}, fmt.Errorf("run %s: %s is not in %s", command, userID, channelID)
	}
	responseURL := w.newResponseURLLocked(u.ID, ch.ID, nil, nil)
	payload := map[string]any{
		"token": verificationToken, "team_id": w.cfg.TeamID, "team_domain": w.cfg.TeamDomain,
		"channel_id": ch.ID, "channel_name": ch.Name, "user_id": u.ID, "user_name": u.Name,
		"command": command, "text": text, "api_app_id": w.cfg.AppID, "is_enterprise_install": "false",
		"response_url": responseURL,
		"trigger_id":   w.newTriggerLocked(u.ID),
	}
	ru := w.respURLs[responseURL[strings.LastIndex(responseURL, "/")+1:]]
	ru.acked = make(chan struct{})
	id, err := w.sock.sendLocked("slash_commands", payload, true, func(ack json.RawMessage) any {
		// The ack's ephemeral is what a replace_original through the command's response_url
		// replaces; responses wait for it (serveResponseURL).
		ru.srcEphemeral = w.applySlashAckLocked(u.ID, ch.ID, ack)
		close(ru.acked)
		return nil
	})
	w.mu.Unlock()
	if err != nil {
		return Ack{}, err
	}
	return w.WaitAck(ctx, id)
}

// applySlashAckLocked shows a slash command's ack payload: a message, ephemeral by default. It
// returns the ephemeral it showed, if it showed one.
func (w *Workspace) applySlashAckLocked(user, channel string, ack json.RawMessage) *Ephemeral {
	var body map[string]json.RawMessage
	if json.Unmarshal(ack, &body) != nil || len(body) == 0 {
		return nil
	}
	c, err := contentFromJSON(body)
	if err != nil {
		w.cfg.Log.Warn("fakeslack: slash command ack Slack would refuse", "error", err.code)
		return nil
	}
	var responseType string
	_ = json.Unmarshal(body["response_type"], &responseType)
	if responseType == "in_channel" {
		w.postLocked(&Message{Channel: channel, User: w.cfg.BotUserID, BotID: w.cfg.BotID, Text: c.Text, Blocks: c.Blocks})
		return nil
	}
	e := &Ephemeral{User: user, Channel: channel, Text: c.Text, Blocks: c.Blocks, Source: "ack"}
	w.addEphemeralLocked(e)
	return e
}

// ClickButton has a person click a button of a channel message; button is the button's
// action_id or its text. It returns the ack once the app has sent it.
func (w *Workspace) ClickButton(ctx context.Context, userID, channelID, messageTS, button string) (Ack, error) {
	w.mu.Lock()
	u, ch := w.user(userID), w.channel(channelID)
	var m *Message
	if ch != nil {
		m = w.findMessage(ch.ID, messageTS)
	}
	if u == nil || m == nil {
		w.mu.Unlock()
		return Ack{}, fmt.Errorf("click %q as %s on %s/%s: %w", button, userID, channelID, messageTS, ErrNotFound)
	}
	cp := *m
	id, err := w.sendButtonLocked(u, ch, &cp, nil, m.Blocks, button)
	w.mu.Unlock()
	if err != nil {
		return Ack{}, err
	}
	return w.WaitAck(ctx, id)
}

// ClickStaleButton clicks a button of a message as the person last saw it: seen is the message
// as it was then. Slack clients show a message until its update reaches them, so a second
// approver can click a button another approver's click already removed.
func (w *Workspace) ClickStaleButton(ctx context.Context, userID string, seen Message, button string) (Ack, error) {
	w.mu.Lock()
	u, ch := w.user(userID), w.channel(seen.Channel)
	if u == nil || ch == nil || w.findMessage(ch.ID, seen.TS) == nil {
		w.mu.Unlock()
		return Ack{}, fmt.Errorf("click %q as %s on %s/%s: %w", button, userID, seen.Channel, seen.TS, ErrNotFound)
	}
	cp := seen
	id, err := w.sendButtonLocked(u, ch, &cp, nil, seen.Blocks, button)
	w.mu.Unlock()
	if err != nil {
		return Ack{}, err
	}
	return w.WaitAck(ctx, id)
}

// ClickEphemeralButton has a person click a button in an ephemeral message they were shown.
func (w *Workspace) ClickEphemeralButton(ctx context.Context, userID, ephemeralTS, button string) (Ack, error) {
	w.mu.Lock()
	u := w.user(userID)
	var e *Ephemeral
	for _, x := range w.ephem[userID] {
		if x.TS == ephemeralTS && !x.Deleted {
			e = x
		}
	}
	if u == nil || e == nil {
		w.mu.Unlock()
		return Ack{}, fmt.Errorf("click %q as %s on ephemeral %s: %w", button, userID, ephemeralTS, ErrNotFound)
	}
	id, err := w.sendButtonLocked(u, w.channel(e.Channel), nil, e, e.Blocks, button)
	w.mu.Unlock()
	if err != nil {
		return Ack{}, err
	}
	return w.WaitAck(ctx, id)
}

func (w *Workspace) sendButtonLocked(u *User, ch *Channel, m *Message, e *Ephemeral, blocks json.RawMessage, button string) (string, error) {
	el, ok := findElement(blocks, button)
	if !ok || str(el.spec, "type") != "button" {
		return "", fmt.Errorf("click %q: no such button: %w", button, ErrNotFound)
	}
	action := map[string]any{
		"type": "button", "action_id": str(el.spec, "action_id"), "block_id": el.blockID,
		"text": el.spec["text"], "action_ts": w.actionTS(),
	}
	if v, ok := el.spec["value"]; ok {
		action["value"] = v
	}
	if s, ok := el.spec["style"]; ok {
		action["style"] = s
	}
	container := map[string]any{"type": "message", "channel_id": ch.ID, "is_ephemeral": e != nil}
	payload := map[string]any{
		"type": "block_actions", "user": w.userRefLocked(u), "api_app_id": w.cfg.AppID,
		"token": verificationToken, "container": container, "trigger_id": w.newTriggerLocked(u.ID),
		"team": w.teamRef(), "enterprise": nil, "is_enterprise_install": false,
		"channel":      map[string]any{"id": ch.ID, "name": ch.Name},
		"state":        map[string]any{"values": map[string]any{}},
		"response_url": w.newResponseURLLocked(u.ID, ch.ID, m, e),
		"actions":      []any{action},
	}
	if m != nil {
		container["message_ts"] = m.TS
		payload["message"] = messageJSON(*m)
	} else {
		container["message_ts"] = e.TS
	}
	return w.sock.sendLocked("interactive", payload, false, nil)
}

// SendEvent delivers an Events API event (the inner "event" object, e.g. app_mention) wrapped
// in its event_callback, and returns the envelope ID.
func (w *Workspace) SendEvent(event map[string]any) (string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	eventID := "Ev" + strings.ToUpper(randomToken(5))
	payload := map[string]any{
		"token": verificationToken, "team_id": w.cfg.TeamID, "api_app_id": w.cfg.AppID,
		"event": event, "type": "event_callback", "event_id": eventID,
		"event_time":     w.cfg.Now().Unix(),
		"authorizations": []any{map[string]any{"team_id": w.cfg.TeamID, "user_id": w.cfg.BotUserID, "is_bot": true}},
		"event_context":  "4-" + strconv.FormatInt(w.cfg.Now().UnixNano(), 36),
	}
	return w.sock.sendLocked("events_api", payload, false, nil)
}

// PostAsUser posts text as a person, in a channel or, with threadTS, in a message's thread: what
// someone typing in Slack does. The app is not told: it subscribes to no message events.
func (w *Workspace) PostAsUser(userID, channelID, threadTS, text string) (Message, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.user(userID) == nil {
		return Message{}, fmt.Errorf("user %s: %w", userID, ErrNotFound)
	}
	ch := w.channel(channelID)
	if ch == nil {
		return Message{}, fmt.Errorf("channel %s: %w", channelID, ErrNotFound)
	}
	if threadTS != "" {
		parent := w.findMessage(ch.ID, threadTS)
		if parent == nil {
			return Message{}, fmt.Errorf("message %s: %w", threadTS, ErrNotFound)
		}
		if parent.IsReply() {
			threadTS = parent.ThreadTS
		}
	}
	m := &Message{Channel: ch.ID, ThreadTS: threadTS, User: userID, Text: text}
	w.postLocked(m)
	return *m, nil
}
