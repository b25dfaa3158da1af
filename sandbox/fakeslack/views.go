package fakeslack

import (
	"encoding/json"
	"fmt"
	"time"
)

// trigger is a trigger_id: it lets the app open or push one view for a short time.
type trigger struct {
	user    string
	created time.Time
	used    bool
}

// newTriggerLocked mints a trigger_id for an interaction by user.
func (w *Workspace) newTriggerLocked(user string) string {
	id := fmt.Sprintf("%d.%s.%s", w.cfg.Now().UnixNano()/1e6, w.cfg.TeamID[1:], randomToken(16))
	w.triggers[id] = &trigger{user: user, created: w.cfg.Now()}
	return id
}

// useTriggerLocked spends a trigger_id or says why it cannot.
func (w *Workspace) useTriggerLocked(id string) (*trigger, *apiError) {
	t, ok := w.triggers[id]
	switch {
	case id == "":
		return nil, fail("invalid_arguments", "[ERROR] missing required field: trigger_id")
	case !ok:
		return nil, fail("invalid_trigger_id")
	case t.used:
		return nil, fail("exchanged_trigger_id")
	case w.cfg.Now().Sub(t.created) > w.cfg.TriggerLifetime:
		return nil, fail("expired_trigger_id")
	}
	t.used = true
	return t, nil
}

// parseView reads and validates a view as the Web API and response_action carry it.
func parseView(raw string) (*View, *apiError) {
	var m map[string]any
	if err := json.Unmarshal([]byte(raw), &m); err != nil || m == nil {
		return nil, fail("invalid_arguments", "[ERROR] must provide an object [json-pointer:/view]")
	}
	var v struct {
		Type            string          `json:"type"`
		CallbackID      string          `json:"callback_id"`
		ExternalID      string          `json:"external_id"`
		PrivateMetadata string          `json:"private_metadata"`
		Title           json.RawMessage `json:"title"`
		Submit          json.RawMessage `json:"submit"`
		Close           json.RawMessage `json:"close"`
		Blocks          json.RawMessage `json:"blocks"`
		NotifyOnClose   bool            `json:"notify_on_close"`
		ClearOnClose    bool            `json:"clear_on_close"`
	}
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		return nil, fail("invalid_arguments", "[ERROR] "+err.Error()+" [json-pointer:/view]")
	}
	if msgs := checkView(m, v.Blocks); len(msgs) > 0 {
		return nil, fail("invalid_arguments", msgs...)
	}
	return &View{
		Type: v.Type, CallbackID: v.CallbackID, ExternalID: v.ExternalID, PrivateMetadata: v.PrivateMetadata,
		Title: v.Title, Submit: v.Submit, Close: v.Close, Blocks: normalizeBlocks(v.Blocks),
		NotifyOnClose: v.NotifyOnClose, ClearOnClose: v.ClearOnClose,
		State: map[string]map[string]json.RawMessage{},
	}, nil
}

func (w *Workspace) viewJSON(v *View) map[string]any {
	// Slack's state lists every input, filled or not, beside what dispatching elements hold.
	values := map[string]map[string]json.RawMessage{}
	for _, in := range inputElements(v.Blocks) {
		values[in.blockID] = map[string]json.RawMessage{str(in.spec, "action_id"): emptyValue(str(in.spec, "type"))}
	}
	for b, acts := range v.State {
		if values[b] == nil {
			values[b] = map[string]json.RawMessage{}
		}
		for a, val := range acts {
			values[b][a] = val
		}
	}
	out := map[string]any{
		"id": v.ID, "team_id": w.cfg.TeamID, "type": v.Type, "blocks": v.Blocks,
		"private_metadata": v.PrivateMetadata, "callback_id": v.CallbackID, "external_id": v.ExternalID,
		"state": map[string]any{"values": values}, "hash": v.Hash, "title": v.Title,
		"clear_on_close": v.ClearOnClose, "notify_on_close": v.NotifyOnClose,
		"root_view_id": v.RootViewID, "app_id": w.cfg.AppID, "app_installed_team_id": w.cfg.TeamID,
		"bot_id": w.cfg.BotID,
	}
	if v.Submit != nil {
		out["submit"] = v.Submit
	}
	if v.Close != nil {
		out["close"] = v.Close
	}
	if v.PreviousViewID != "" {
		out["previous_view_id"] = v.PreviousViewID
	} else {
		out["previous_view_id"] = nil
	}
	return out
}

func (w *Workspace) modalChangedLocked(user string) {
	var top *View
	if s := w.modals[user]; len(s) > 0 {
		top = s[len(s)-1].clone()
	}
	w.notify(Change{Kind: ChangeModal, User: user, View: top})
}

// openViewLocked replaces a person's stack with one view.
func (w *Workspace) openViewLocked(user string, v *View) {
	v.ID = w.newID("V")
	v.Hash = fmt.Sprintf("%d.%s", w.cfg.Now().Unix(), randomToken(4))
	v.RootViewID = v.ID
	w.modals[user] = []*View{v}
	w.modalChangedLocked(user)
}

// pushViewLocked puts a view on top of a person's stack, at most three deep.
func (w *Workspace) pushViewLocked(user string, v *View) *apiError {
	stack := w.modals[user]
	if len(stack) == 0 {
		w.openViewLocked(user, v)
		return nil
	}
	if len(stack) >= maxViewStack {
		return fail("push_limit_reached")
	}
	v.ID = w.newID("V")
	v.Hash = fmt.Sprintf("%d.%s", w.cfg.Now().Unix(), randomToken(4))
	v.RootViewID = stack[0].ID
	v.PreviousViewID = stack[len(stack)-1].ID
	w.modals[user] = append(stack, v)
	w.modalChangedLocked(user)
	return nil
}

// replaceViewLocked updates a view in place: same ID, new content and hash. Input values
// stay for blocks that are still there, as Slack keeps what a person typed.
func (w *Workspace) replaceViewLocked(user string, old, v *View) {
	var blocks []struct {
		BlockID string `json:"block_id"`
	}
	_ = json.Unmarshal(v.Blocks, &blocks)
	state := map[string]map[string]json.RawMessage{}
	for _, b := range blocks {
		if s, ok := old.State[b.BlockID]; ok {
			state[b.BlockID] = s
		}
	}
	old.Type, old.CallbackID, old.PrivateMetadata, old.Title = v.Type, v.CallbackID, v.PrivateMetadata, v.Title
	old.Submit, old.Close, old.Blocks, old.NotifyOnClose, old.ClearOnClose = v.Submit, v.Close, v.Blocks, v.NotifyOnClose, v.ClearOnClose
	if v.ExternalID != "" {
		old.ExternalID = v.ExternalID
	}
	old.State, old.Errors = state, nil
	old.Hash = fmt.Sprintf("%d.%s", w.cfg.Now().Unix(), randomToken(4))
	w.modalChangedLocked(user)
}

// findViewLocked finds an open view by ID or external ID, with its owner.
func (w *Workspace) findViewLocked(id, externalID string) (string, *View) {
	for user, stack := range w.modals {
		for _, v := range stack {
			if (id != "" && v.ID == id) || (externalID != "" && v.ExternalID == externalID) {
				return user, v
			}
		}
	}
	return "", nil
}

func (w *Workspace) viewsOpen(c *apiCall) (map[string]any, *apiError) {
	v, err := parseView(c.args["view"])
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	tid := c.args["trigger_id"]
	if tid == "" {
		tid = c.args["interactivity_pointer"]
	}
	t, err := w.useTriggerLocked(tid)
	if err != nil {
		return nil, err
	}
	w.openViewLocked(t.user, v)
	return map[string]any{"view": w.viewJSON(v)}, nil
}

func (w *Workspace) viewsPush(c *apiCall) (map[string]any, *apiError) {
	v, err := parseView(c.args["view"])
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	t, err := w.useTriggerLocked(c.args["trigger_id"])
	if err != nil {
		return nil, err
	}
	if err := w.pushViewLocked(t.user, v); err != nil {
		return nil, err
	}
	return map[string]any{"view": w.viewJSON(v)}, nil
}

func (w *Workspace) viewsUpdate(c *apiCall) (map[string]any, *apiError) {
	v, err := parseView(c.args["view"])
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if c.args["view_id"] == "" && c.args["external_id"] == "" {
		return nil, fail("invalid_arguments", "[ERROR] either view_id or external_id is required")
	}
	user, old := w.findViewLocked(c.args["view_id"], c.args["external_id"])
	if old == nil {
		return nil, fail("not_found")
	}
	if h := c.args["hash"]; h != "" && h != old.Hash {
		return nil, fail("hash_conflict")
	}
	w.replaceViewLocked(user, old, v)
	return map[string]any{"view": w.viewJSON(old)}, nil
}

// SubmitResult is what a modal submission came to.
type SubmitResult struct {
	Ack Ack
	// ResponseAction is the ack's response_action: "" (the view closed), "errors", "update",
	// "push" or "clear".
	ResponseAction string
	Errors         map[string]string
	// Invalid holds Slack's messages when the ack carried a view Slack would refuse; the modal
	// is then left as it was and the person sees an error.
	Invalid []string
}

// applySubmissionAckLocked applies a view_submission ack to the person's stack.
func (w *Workspace) applySubmissionAckLocked(user, viewID string, payload json.RawMessage) SubmitResult {
	var ack struct {
		ResponseAction string            `json:"response_action"`
		Errors         map[string]string `json:"errors"`
		View           json.RawMessage   `json:"view"`
	}
	_ = json.Unmarshal(payload, &ack)
	res := SubmitResult{ResponseAction: ack.ResponseAction, Errors: ack.Errors}
	stack := w.modals[user]
	if len(stack) == 0 || stack[len(stack)-1].ID != viewID {
		return res // the view is gone already; Slack ignores the answer
	}
	top := stack[len(stack)-1]
	switch ack.ResponseAction {
	case "errors":
		top.Errors = ack.Errors
		w.modalChangedLocked(user)
	case "update":
		v, err := parseView(string(ack.View))
		if err != nil {
			res.Invalid = append([]string{err.code}, err.messages...)
			return res
		}
		w.replaceViewLocked(user, top, v)
	case "push":
		v, err := parseView(string(ack.View))
		if err != nil {
			res.Invalid = append([]string{err.code}, err.messages...)
			return res
		}
		if err := w.pushViewLocked(user, v); err != nil {
			res.Invalid = []string{err.code}
		}
	case "clear":
		delete(w.modals, user)
		w.modalChangedLocked(user)
	default:
		// An ack without response_action closes the submitted view; views under it show again.
		w.modals[user] = stack[:len(stack)-1]
		if len(w.modals[user]) == 0 {
			delete(w.modals, user)
		}
		w.modalChangedLocked(user)
	}
	return res
}
