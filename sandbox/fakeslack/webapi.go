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

// --- users and groups ---

// --- conversations ---
