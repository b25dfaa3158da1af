package fakeslack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

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

// requiredMessage is what Slack's client shows under each required input left empty.
const requiredMessage = "Please complete this required field."

// ErrRequiredEmpty says a modal was not submitted because required inputs were empty; the view's
// Errors then say so under each of them, as Slack's client does.
var ErrRequiredEmpty = errors.New("required inputs are empty")

// SubmitModal has a person press the modal's submit button. Like Slack's client it refuses to
// submit while a required input is empty, marking each such input; otherwise it sends
// view_submission, waits for the ack and applies its response_action.
func (w *Workspace) SubmitModal(ctx context.Context, userID string) (SubmitResult, error) {
	w.mu.Lock()
	u, view, err := w.topViewLocked("submit", userID)
	if err != nil {
		w.mu.Unlock()
		return SubmitResult{}, err
	}
	empty := map[string]string{}
	for _, in := range inputElements(view.Blocks) {
		if _, filled := view.State[in.blockID][str(in.spec, "action_id")]; !filled && !in.optional {
			empty[in.blockID] = requiredMessage
		}
	}
	if len(empty) > 0 {
		view.Errors = empty
		w.modalChangedLocked(userID)
		w.mu.Unlock()
		return SubmitResult{Errors: empty}, fmt.Errorf("submit modal %s: %w: %s", view.ID, ErrRequiredEmpty, strings.Join(slices.Sorted(maps.Keys(empty)), ", "))
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
