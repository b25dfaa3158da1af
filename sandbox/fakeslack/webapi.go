package fakeslack

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxRequestBytes bounds a Web API request body; Slack's own limits on the fields are far
// below it.
const maxRequestBytes = 4 << 20

// apiError is a Web API failure: ok:false with Slack's error code, and for views.* and
// invalid_blocks, the schema messages Slack adds in response_metadata.
type apiError struct {
	code     string
	messages []string
	status   int // 0 means 200, as Slack answers nearly every error
	retry    time.Duration
}

func (e *apiError) Error() string { return e.code }

func fail(code string, messages ...string) *apiError {
	return &apiError{code: code, messages: messages}
}

// args are a call's arguments: form fields, or JSON members where non-string values keep
// their JSON text — so "blocks" reads the same whether it came as a form field or as JSON.
type args map[string]string

func (a args) bool(k string) bool { v := a[k]; return v == "true" || v == "1" }

type handlerFunc func(call *apiCall) (map[string]any, *apiError)

type apiCall struct {
	args args
	base string
	r    *http.Request
}

func (w *Workspace) methods() map[string]handlerFunc {
	return map[string]handlerFunc{
		"auth.test":              w.authTest,
		"chat.postMessage":       w.chatPostMessage,
		"chat.update":            w.chatUpdate,
		"chat.postEphemeral":     w.chatPostEphemeral,
		"chat.getPermalink":      w.chatGetPermalink,
		"views.open":             w.viewsOpen,
		"views.update":           w.viewsUpdate,
		"views.push":             w.viewsPush,
		"users.info":             w.usersInfo,
		"users.lookupByEmail":    w.usersLookupByEmail,
		"usergroups.users.list":  w.usergroupsUsersList,
		"conversations.open":     w.conversationsOpen,
		"conversations.info":     w.conversationsInfo,
		"conversations.replies":  w.conversationsReplies,
		"conversations.history":  w.conversationsHistory,
		"apps.connections.open":  nil, // handled before token checks: it takes the app token
		"api.test":               func(c *apiCall) (map[string]any, *apiError) { return map[string]any{"args": c.args}, nil },
		"conversations.members":  w.conversationsMembers,
		"users.profile.get":      w.usersProfileGet,
		"apps.connections.close": nil,
	}
}

func (w *Workspace) serveAPI(rw http.ResponseWriter, r *http.Request, base, method string) {
	a, err := readArgs(r)
	if err != nil {
		writeAPI(rw, nil, fail("invalid_form_data"))
		return
	}
	token := a["token"]
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		token = strings.TrimPrefix(h, "Bearer ")
	}
	recorded := maps.Clone(a)
	delete(recorded, "token")
	if !w.sufferFault(r, method, recorded) {
		// Abort the exchange rather than let net/http answer an empty 200.
		panic(http.ErrAbortHandler)
	}

	body, apiErr := w.dispatch(method, token, &apiCall{args: a, base: base, r: r})

	call := Call{Method: method, Args: recorded, At: w.cfg.Now(), Status: http.StatusOK}
	if apiErr != nil {
		call.Error = apiErr.code
		if apiErr.status != 0 {
			call.Status = apiErr.status
		}
	}
	w.mu.Lock()
	w.calls = append(w.calls, call)
	w.notify(Change{Kind: ChangeCall, Call: &call})
	w.mu.Unlock()
	writeAPI(rw, body, apiErr)
}

func (w *Workspace) dispatch(method, token string, call *apiCall) (map[string]any, *apiError) {
	h, known := w.methods()[method]
	if !known {
		return nil, fail("unknown_method")
	}
	if token == "" {
		return nil, fail("not_authed")
	}
	if method == "apps.connections.open" || method == "apps.connections.close" {
		switch token {
		case w.cfg.AppToken:
		case w.cfg.BotToken:
			return nil, fail("not_allowed_token_type")
		default:
			return nil, fail("invalid_auth")
		}
		if method == "apps.connections.close" {
			return map[string]any{}, nil
		}
		debug := call.args.bool("debug_reconnects") || call.r.URL.Query().Get("debug_reconnects") == "true"
		return map[string]any{"url": w.sock.openConnection(call.base, debug)}, nil
	}
	switch token {
	case w.cfg.BotToken:
	case w.cfg.AppToken:
		return nil, fail("not_allowed_token_type")
	default:
		return nil, fail("invalid_auth")
	}
	return h(call)
}

func writeAPI(rw http.ResponseWriter, body map[string]any, apiErr *apiError) {
	rw.Header().Set("Content-Type", "application/json; charset=utf-8")
	if apiErr != nil {
		body = map[string]any{"ok": false, "error": apiErr.code}
		if len(apiErr.messages) > 0 {
			body["response_metadata"] = map[string]any{"messages": apiErr.messages}
		}
		if apiErr.retry > 0 {
			rw.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(apiErr.retry.Seconds()))))
		}
		if apiErr.status != 0 {
			rw.WriteHeader(apiErr.status)
		}
	} else {
		body["ok"] = true
	}
	_ = json.NewEncoder(rw).Encode(body)
}

// readArgs merges the query string with a form or JSON body.
func readArgs(r *http.Request) (args, error) {
	a := args{}
	for k, v := range r.URL.Query() {
		a[k] = v[0]
	}
	if r.Body == nil {
		return a, nil
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes))
	if err != nil {
		return nil, err
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		return a, nil
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("decode JSON body: %w", err)
		}
		for k, raw := range m {
			var s string
			if json.Unmarshal(raw, &s) == nil {
				a[k] = s
			} else {
				a[k] = string(raw)
			}
		}
		return a, nil
	}
	if ct == "multipart/form-data" {
		r.Body = io.NopCloser(strings.NewReader(string(data)))
		if err := r.ParseMultipartForm(maxRequestBytes); err != nil {
			return nil, err
		}
		for k, v := range r.MultipartForm.Value {
			a[k] = v[0]
		}
		return a, nil
	}
	form, err := url.ParseQuery(string(data))
	if err != nil {
		return nil, err
	}
	for k, v := range form {
		a[k] = v[0]
	}
	return a, nil
}

func (w *Workspace) authTest(*apiCall) (map[string]any, *apiError) {
	return map[string]any{
		"url":                   "https://" + w.cfg.TeamDomain + ".slack.com/",
		"team":                  w.cfg.TeamName,
		"user":                  w.cfg.BotName,
		"team_id":               w.cfg.TeamID,
		"user_id":               w.cfg.BotUserID,
		"bot_id":                w.cfg.BotID,
		"is_enterprise_install": false,
	}, nil
}

// --- users and groups ---

func (w *Workspace) userJSON(u *User) map[string]any {
	return map[string]any{
		"id": u.ID, "team_id": w.cfg.TeamID, "name": u.Name, "real_name": u.RealName,
		"deleted": u.Deleted, "is_bot": u.IsBot, "is_admin": false, "tz": "Europe/Berlin",
		"profile": map[string]any{
			"email": u.Email, "real_name": u.RealName, "display_name": u.Name,
			"real_name_normalized": u.RealName, "display_name_normalized": u.Name, "bot_id": u.BotID,
		},
	}
}

func (w *Workspace) usersInfo(c *apiCall) (map[string]any, *apiError) {
	w.mu.Lock()
	defer w.mu.Unlock()
	u := w.user(c.args["user"])
	if u == nil {
		return nil, fail("user_not_found")
	}
	return map[string]any{"user": w.userJSON(u)}, nil
}

func (w *Workspace) usersProfileGet(c *apiCall) (map[string]any, *apiError) {
	res, err := w.usersInfo(c)
	if err != nil {
		return nil, err
	}
	return map[string]any{"profile": res["user"].(map[string]any)["profile"]}, nil
}

func (w *Workspace) usersLookupByEmail(c *apiCall) (map[string]any, *apiError) {
	w.mu.Lock()
	defer w.mu.Unlock()
	email := strings.ToLower(c.args["email"])
	if email == "" {
		return nil, fail("invalid_arguments")
	}
	for _, u := range w.users {
		if strings.ToLower(u.Email) == email {
			return map[string]any{"user": w.userJSON(u)}, nil
		}
	}
	return nil, fail("users_not_found")
}

func (w *Workspace) usergroupsUsersList(c *apiCall) (map[string]any, *apiError) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, g := range w.groups {
		if g.ID == c.args["usergroup"] {
			users := g.Members
			if users == nil {
				users = []string{}
			}
			return map[string]any{"users": users}, nil
		}
	}
	return nil, fail("no_such_subteam")
}

// --- conversations ---

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
