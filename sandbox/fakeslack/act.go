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
	payload := map[string]any{
		"token": verificationToken, "team_id": w.cfg.TeamID, "team_domain": w.cfg.TeamDomain,
		"channel_id": ch.ID, "channel_name": ch.Name, "user_id": u.ID, "user_name": u.Name,
		"command": command, "text": text, "api_app_id": w.cfg.AppID, "is_enterprise_install": "false",
		"response_url": w.newResponseURLLocked(u.ID, ch.ID, nil, nil),
		"trigger_id":   w.newTriggerLocked(u.ID),
	}
	id, err := w.sock.sendLocked("slash_commands", payload, true, func(ack json.RawMessage) any {
		w.applySlashAckLocked(u.ID, ch.ID, ack)
		return nil
	})
	w.mu.Unlock()
	if err != nil {
		return Ack{}, err
	}
	return w.WaitAck(ctx, id)
}

// applySlashAckLocked shows a slash command's ack payload: a message, ephemeral by default.
func (w *Workspace) applySlashAckLocked(user, channel string, ack json.RawMessage) {
	var body map[string]json.RawMessage
	if json.Unmarshal(ack, &body) != nil || len(body) == 0 {
		return
	}
	c, err := contentFromJSON(body)
	if err != nil {
		w.cfg.Log.Warn("fakeslack: slash command ack Slack would refuse", "error", err.code)
		return
	}
	var responseType string
	_ = json.Unmarshal(body["response_type"], &responseType)
	if responseType == "in_channel" {
		w.postLocked(&Message{Channel: channel, User: w.cfg.BotUserID, BotID: w.cfg.BotID, Text: c.Text, Blocks: c.Blocks})
		return
	}
	w.addEphemeralLocked(&Ephemeral{User: user, Channel: channel, Text: c.Text, Blocks: c.Blocks, Source: "ack"})
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

// topViewLocked returns a person's top view or an error naming the act.
func (w *Workspace) topViewLocked(act, userID string) (*User, *View, error) {
	u := w.user(userID)
	stack := w.modals[userID]
	if u == nil || len(stack) == 0 {
		return nil, nil, fmt.Errorf("%s as %s: no modal open: %w", act, userID, ErrNotFound)
	}
	return u, stack[len(stack)-1], nil
}

func (w *Workspace) viewPayloadLocked(typ string, u *User, v *View) map[string]any {
	return map[string]any{
		"type": typ, "team": w.teamRef(), "user": w.userRefLocked(u), "api_app_id": w.cfg.AppID,
		"token": verificationToken, "container": map[string]any{"type": "view", "view_id": v.ID},
		"trigger_id": w.newTriggerLocked(u.ID), "view": w.viewJSON(v), "is_enterprise_install": false,
		"enterprise": nil,
	}
}

// SetModalInput has a person fill in or choose in an element of their open modal, found by
// action_id. When Slack would tell the app at once (an element in an actions block or a
// section accessory, or an input with dispatch_action), it sends block_actions with the view
// and returns the ack; otherwise it only records the value and returns nil.
func (w *Workspace) SetModalInput(ctx context.Context, userID, actionID string, v Value) (*Ack, error) {
	w.mu.Lock()
	u, view, err := w.topViewLocked("set "+actionID, userID)
	if err != nil {
		w.mu.Unlock()
		return nil, err
	}
	el, ok := findElement(view.Blocks, actionID)
	if !ok {
		w.mu.Unlock()
		return nil, fmt.Errorf("set %s in modal %s: no such element: %w", actionID, view.ID, ErrNotFound)
	}
	typ := str(el.spec, "type")
	val := map[string]any{"type": typ}
	for k, x := range v {
		val[k] = x
	}
	raw, _ := json.Marshal(val)
	if view.State[el.blockID] == nil {
		view.State[el.blockID] = map[string]json.RawMessage{}
	}
	view.State[el.blockID][actionID] = raw
	w.modalChangedLocked(userID)
	if !el.dispatches {
		w.mu.Unlock()
		return nil, nil
	}
	action := map[string]any{"type": typ, "action_id": actionID, "block_id": el.blockID, "action_ts": w.actionTS()}
	for k, x := range v {
		action[k] = x
	}
	payload := w.viewPayloadLocked("block_actions", u, view)
	payload["actions"] = []any{action}
	payload["state"] = payload["view"].(map[string]any)["state"]
	id, err := w.sock.sendLocked("interactive", payload, false, nil)
	w.mu.Unlock()
	if err != nil {
		return nil, err
	}
	ack, err := w.WaitAck(ctx, id)
	if err != nil {
		return nil, err
	}
	return &ack, nil
}

// ModalOptions has a person type query into an external select of their modal and returns
// the options the app answered in its ack (block_suggestion).
func (w *Workspace) ModalOptions(ctx context.Context, userID, actionID, query string) ([]Option, error) {
	w.mu.Lock()
	u, view, err := w.topViewLocked("load options of "+actionID, userID)
	if err != nil {
		w.mu.Unlock()
		return nil, err
	}
	el, ok := findElement(view.Blocks, actionID)
	if !ok || !strings.HasSuffix(str(el.spec, "type"), "external_select") {
		w.mu.Unlock()
		return nil, fmt.Errorf("load options of %s: no external select: %w", actionID, ErrNotFound)
	}
	payload := w.viewPayloadLocked("block_suggestion", u, view)
	delete(payload, "trigger_id")
	payload["action_id"], payload["block_id"], payload["value"] = actionID, el.blockID, query
	id, err := w.sock.sendLocked("interactive", payload, true, nil)
	w.mu.Unlock()
	if err != nil {
		return nil, err
	}
	ack, err := w.WaitAck(ctx, id)
	if err != nil {
		return nil, err
	}
	return parseOptions(ack.Payload)
}

func parseOptions(payload json.RawMessage) ([]Option, error) {
	type opt struct {
		Text struct {
			Text string `json:"text"`
		} `json:"text"`
		Value string `json:"value"`
	}
	var body struct {
		Options      []opt `json:"options"`
		OptionGroups []struct {
			Options []opt `json:"options"`
		} `json:"option_groups"`
	}
	if len(payload) > 0 {
		if err := json.Unmarshal(payload, &body); err != nil {
			return nil, fmt.Errorf("decode options: %w", err)
		}
	}
	all := body.Options
	for _, g := range body.OptionGroups {
		all = append(all, g.Options...)
	}
	out := []Option{}
	for _, o := range all {
		out = append(out, Option{Text: o.Text.Text, Value: o.Value})
	}
	return out, nil
}

// SubmitModal has a person press the modal's submit button. Like Slack's client it refuses to
// submit while a required input is empty; otherwise it sends view_submission, waits for the
// ack and applies its response_action.
func (w *Workspace) SubmitModal(ctx context.Context, userID string) (SubmitResult, error) {
	w.mu.Lock()
	u, view, err := w.topViewLocked("submit", userID)
	if err != nil {
		w.mu.Unlock()
		return SubmitResult{}, err
	}
	for _, in := range inputElements(view.Blocks) {
		if _, filled := view.State[in.blockID][str(in.spec, "action_id")]; !filled && !in.optional {
			w.mu.Unlock()
			return SubmitResult{}, fmt.Errorf("submit modal %s: required input %s is empty", view.ID, in.blockID)
		}
	}
	payload := w.viewPayloadLocked("view_submission", u, view)
	delete(payload, "container")
	payload["response_urls"] = []any{}
	viewID := view.ID
	id, err := w.sock.sendLocked("interactive", payload, true, func(ack json.RawMessage) any {
		return w.applySubmissionAckLocked(userID, viewID, ack)
	})
	w.mu.Unlock()
	if err != nil {
		return SubmitResult{}, err
	}
	ack, res, err := w.waitResult(ctx, id)
	if err != nil {
		return SubmitResult{}, err
	}
	out, _ := res.(SubmitResult)
	out.Ack = ack
	return out, nil
}

// CloseModal has a person close their modal with its close button, which clears the whole
// stack. Slack tells the app (view_closed) only when the view asked with notify_on_close;
// then CloseModal returns the ack, otherwise nil.
func (w *Workspace) CloseModal(ctx context.Context, userID string) (*Ack, error) {
	w.mu.Lock()
	u, view, err := w.topViewLocked("close", userID)
	if err != nil {
		w.mu.Unlock()
		return nil, err
	}
	cleared := len(w.modals[userID]) > 1
	payload := w.viewPayloadLocked("view_closed", u, view)
	delete(payload, "trigger_id")
	delete(payload, "container")
	payload["is_cleared"] = cleared
	notify := view.NotifyOnClose
	delete(w.modals, userID)
	w.modalChangedLocked(userID)
	if !notify {
		w.mu.Unlock()
		return nil, nil
	}
	id, err := w.sock.sendLocked("interactive", payload, false, nil)
	w.mu.Unlock()
	if err != nil {
		return nil, err
	}
	ack, err := w.WaitAck(ctx, id)
	if err != nil {
		return nil, err
	}
	return &ack, nil
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
