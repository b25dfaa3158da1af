package sandbox

import (
	"cmp"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"slices"
	"time"

	"revokebot/apiclient/owltest"
	"revokebot/sandbox/fakeslack"
)

//go:embed web
var webFiles embed.FS

const (
	// actTimeout bounds an act: Slack waits 3 s for an ack, and a cut socket is back within
	// seconds, so an act that takes longer has failed.
	actTimeout = 15 * time.Second
	// owlEventGap spaces the page's AccessOwl events: the bot's status checks change the fake
	// several times a second, and the panel needs no more than a few refreshes a second.
	owlEventGap = 250 * time.Millisecond
	// recentCalls is how many of AccessOwl's latest requests the panel lists.
	recentCalls = 40
	maxBody     = 1 << 20
)

func (s *Sandbox) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/accessowl/", http.StripPrefix("/accessowl", s.Owl))
	mux.Handle("/slack/", http.StripPrefix("/slack", s.Slack))
	static, _ := fs.Sub(webFiles, "web")
	mux.Handle("/", http.FileServerFS(static))
	mux.HandleFunc("GET /sandbox/events", s.serveEvents)
	mux.HandleFunc("GET /sandbox/slack", s.serveSlackState)
	mux.HandleFunc("GET /sandbox/owl", s.serveOwlState)
	mux.HandleFunc("POST /sandbox/slack/command", s.act(s.runCommand))
	mux.HandleFunc("POST /sandbox/slack/click", s.act(s.click))
	mux.HandleFunc("POST /sandbox/slack/modal/input", s.act(s.modalInput))
	mux.HandleFunc("POST /sandbox/slack/modal/options", s.act(s.modalOptions))
	mux.HandleFunc("POST /sandbox/slack/modal/submit", s.act(s.modalSubmit))
	mux.HandleFunc("POST /sandbox/slack/modal/close", s.act(s.modalClose))
	mux.HandleFunc("POST /sandbox/slack/cut", s.act(s.cutSocket))
	mux.HandleFunc("POST /sandbox/owl/revoke", s.act(s.owlRevoke))
	mux.HandleFunc("POST /sandbox/owl/reject", s.act(s.owlReject))
	mux.HandleFunc("POST /sandbox/owl/faults", s.act(s.owlFaults))
	return mux
}

// act turns a function of the request's JSON body into a handler: 200 with its result as JSON,
// or 400 with {"error": …}.
func (s *Sandbox) act(fn func(ctx context.Context, body json.RawMessage) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), actTimeout)
		defer cancel()
		var body json.RawMessage
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody)).Decode(&body); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "a JSON body is needed: " + err.Error()})
			return
		}
		out, err := fn(ctx, body)
		if err != nil {
			s.log.Info("sandbox act failed", "path", r.URL.Path, "error", err)
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, out)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func decodeInto[T any](body json.RawMessage) (T, error) {
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		return v, fmt.Errorf("decode the request: %w", err)
	}
	return v, nil
}

// serveEvents streams Server-Sent Events to the page: "slack" for each change of the workspace
// (from fakeslack's change stream) and "owl" when AccessOwl changed. The page reloads the state
// it shows on each.
func (s *Sandbox) serveEvents(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	changes, stop := s.Slack.Subscribe()
	defer stop()
	ctx, cancel := context.WithCancel(r.Context())
	owlChanged := make(chan struct{}, 1)
	done := make(chan struct{})
	defer func() { cancel(); <-done }()
	go func() {
		defer close(done)
		for {
			calls := 0
			// The condition holds from its second call on: that is, after the next change.
			if err := s.Owl.Await(ctx, func(*owltest.Fake) bool { calls++; return calls > 1 }); err != nil {
				return
			}
			select {
			case owlChanged <- struct{}{}:
			default:
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(owlEventGap):
			}
		}
	}()

	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, ": connected\n\n")
	flusher.Flush()
	for {
		select {
		case <-ctx.Done():
			return
		case c, ok := <-changes:
			if !ok {
				return
			}
			if c.Kind == fakeslack.ChangeCall || c.Kind == fakeslack.ChangeEnvelope {
				continue // the page shows neither; they would only make it reload more
			}
			data, _ := json.Marshal(map[string]any{"seq": c.Seq, "kind": c.Kind, "user": c.User, "channel": c.Channel})
			fmt.Fprintf(w, "event: slack\ndata: %s\n\n", data)
			flusher.Flush()
		case <-owlChanged:
			fmt.Fprint(w, "event: owl\ndata: {}\n\n")
			flusher.Flush()
		}
	}
}

type userView struct {
	fakeslack.User
	Approver bool `json:"approver"`
}

type channelView struct {
	fakeslack.Channel
	Messages []fakeslack.Message `json:"messages"`
	// Replies are each thread's replies, by the parent's ts.
	Replies map[string][]fakeslack.Message `json:"replies"`
}

type slackState struct {
	Me         string                `json:"me"`
	Team       string                `json:"team"`
	BotUserID  string                `json:"bot_user_id"`
	Channel    string                `json:"revocations_channel"`
	Users      []userView            `json:"users"`
	Groups     []fakeslack.UserGroup `json:"groups"`
	Channels   []channelView         `json:"channels"`
	Ephemerals []fakeslack.Ephemeral `json:"ephemerals"`
	Modal      *fakeslack.View       `json:"modal"`
	Connected  bool                  `json:"bot_connected"`
}

// serveSlackState answers what the person ?as= sees: the channels they are in with their
// messages and threads, their ephemerals and their modal, and the people they can switch to.
func (s *Sandbox) serveSlackState(w http.ResponseWriter, r *http.Request) {
	me := r.URL.Query().Get("as")
	if me == "" {
		me = s.World.Requester
	}
	st := slackState{Me: me, Team: "Example Inc.", BotUserID: s.Slack.BotUserID(), Channel: s.World.Channel,
		Groups: s.Slack.UserGroups(), Ephemerals: orEmpty(s.Slack.Ephemerals(me)), Connected: len(s.Slack.Connections()) > 0}
	for _, u := range s.Slack.Users() {
		st.Users = append(st.Users, userView{User: u, Approver: slices.Contains(s.World.Approvers, u.ID)})
	}
	for _, c := range s.Slack.Channels() {
		if !slices.Contains(c.Members, me) {
			continue
		}
		cv := channelView{Channel: c, Messages: orEmpty(s.Slack.Messages(c.ID)), Replies: map[string][]fakeslack.Message{}}
		for _, m := range cv.Messages {
			if m.ReplyCount > 0 {
				cv.Replies[m.TS] = s.Slack.Thread(c.ID, m.TS)[1:]
			}
		}
		st.Channels = append(st.Channels, cv)
	}
	if v, ok := s.Slack.Modal(me); ok {
		st.Modal = &v
	}
	writeJSON(w, http.StatusOK, st)
}

type revocationView struct {
	ID               string    `json:"id"`
	Status           string    `json:"status"`
	Person           string    `json:"person"`
	Application      string    `json:"application"`
	Resource         string    `json:"resource"`
	Reason           string    `json:"reason"`
	ProvisioningType string    `json:"provisioning_type"`
	InsertedAt       time.Time `json:"inserted_at"`
	RejectionReason  string    `json:"rejection_reason,omitempty"`
}

type accessView struct {
	ID          string     `json:"id"`
	Person      string     `json:"person"`
	Application string     `json:"application"`
	Resource    string     `json:"resource"`
	Permissions []string   `json:"permissions"`
	Start       time.Time  `json:"start"`
	End         *time.Time `json:"end"`
}

type callView struct {
	Time    time.Time `json:"time"`
	Method  string    `json:"method"`
	Path    string    `json:"path"`
	Status  int       `json:"status"`
	Dropped bool      `json:"dropped"`
}

type faultView struct {
	LatencyMS  int     `json:"latency_ms"`
	ErrorRate  float64 `json:"error_rate"`
	RateLimits int     `json:"rate_limits"`
	Drops      int     `json:"drops"`
}

type owlState struct {
	Revocations []revocationView `json:"revocations"`
	Access      []accessView     `json:"access_states"`
	Calls       []callView       `json:"calls"`
	Stats       owltest.Stats    `json:"stats"`
	Fault       faultView        `json:"fault"`
}

// serveOwlState answers what the AccessOwl admin panel shows: revocations newest first, access
// states, the latest requests and the faults in force.
func (s *Sandbox) serveOwlState(w http.ResponseWriter, r *http.Request) {
	apps := map[string]owltest.Application{}
	for _, a := range s.Owl.Applications() {
		apps[a.ID] = a
	}
	people := map[string]string{}
	for _, u := range s.Owl.Users() {
		people[u.ID] = u.FullName
	}
	resource := func(app owltest.Application, id string) string {
		for _, r := range app.Resources {
			if r.ID == id {
				return cmp.Or(r.Title, r.Description)
			}
		}
		return ""
	}
	var st owlState
	for _, v := range s.Owl.Revocations() {
		a := apps[v.ApplicationID]
		st.Revocations = append(st.Revocations, revocationView{ID: v.ID, Status: v.Status, Person: people[v.GranteeUserID],
			Application: a.Title, Resource: resource(a, v.ResourceID), Reason: v.Reason, ProvisioningType: v.ProvisioningType,
			InsertedAt: v.InsertedAt, RejectionReason: v.RejectionReason})
	}
	slices.Reverse(st.Revocations)
	for _, as := range s.Owl.AccessStates() {
		a := apps[as.ApplicationID]
		v := accessView{ID: as.ID, Person: cmp.Or(people[as.GranteeUserID], "unlinked account"), Application: a.Title,
			Resource: resource(a, as.ResourceID), Start: as.EffectiveStart, End: as.EffectiveEnd, Permissions: []string{}}
		for _, p := range a.Permissions {
			if slices.Contains(as.TargetPermissionIDs, p.ID) {
				v.Permissions = append(v.Permissions, p.Title)
			}
		}
		st.Access = append(st.Access, v)
	}
	calls := s.Owl.Calls()
	for _, c := range calls[max(0, len(calls)-recentCalls):] {
		st.Calls = append(st.Calls, callView{Time: c.Time, Method: c.Method, Path: c.Path, Status: c.Status, Dropped: c.Dropped})
	}
	slices.Reverse(st.Calls)
	st.Stats = s.Owl.Stats()
	if f, ok := s.Owl.Faults()[""]; ok {
		st.Fault = faultView{LatencyMS: int(f.Latency / time.Millisecond), ErrorRate: f.ServerErrorRate, RateLimits: f.RateLimits, Drops: f.DropAfterCommit}
	}
	writeJSON(w, http.StatusOK, st)
}

// orEmpty makes a nil slice an empty one, so that the page gets [] rather than null.
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (s *Sandbox) runCommand(ctx context.Context, body json.RawMessage) (any, error) {
	in, err := decodeInto[struct {
		User, Channel, Command, Text string
	}](body)
	if err != nil {
		return nil, err
	}
	if in.Command != "/revoke" {
		return nil, fmt.Errorf("%s is not a command of this workspace: try /revoke", in.Command)
	}
	return s.Slack.RunSlashCommand(ctx, in.User, cmp.Or(in.Channel, s.World.Channel), in.Command, in.Text)
}

// click clicks a button of a message as the page showed it, as a Slack client sends the
// message it shows: a click on a message whose update has not reached the page yet is a click
// on the old message, which is how a second approver comes to approve twice.
func (s *Sandbox) click(ctx context.Context, body json.RawMessage) (any, error) {
	in, err := decodeInto[struct {
		User        string            `json:"user"`
		ActionID    string            `json:"action_id"`
		Message     fakeslack.Message `json:"message"`
		EphemeralTS string            `json:"ephemeral_ts"`
	}](body)
	if err != nil {
		return nil, err
	}
	if in.EphemeralTS != "" {
		return s.Slack.ClickEphemeralButton(ctx, in.User, in.EphemeralTS, in.ActionID)
	}
	return s.Slack.ClickStaleButton(ctx, in.User, in.Message, in.ActionID)
}

func (s *Sandbox) modalInput(ctx context.Context, body json.RawMessage) (any, error) {
	in, err := decodeInto[struct {
		User     string `json:"user"`
		ActionID string `json:"action_id"`
		Kind     string `json:"kind"` // user, option or text
		Value    string `json:"value"`
		Text     string `json:"text"`
	}](body)
	if err != nil {
		return nil, err
	}
	var v fakeslack.Value
	switch in.Kind {
	case "user":
		v = fakeslack.UserValue(in.Value)
	case "option":
		v = fakeslack.OptionValue(in.Text, in.Value)
	case "text":
		v = fakeslack.TextValue(in.Value)
	default:
		return nil, fmt.Errorf("unknown input kind %q", in.Kind)
	}
	ack, err := s.Slack.SetModalInput(ctx, in.User, in.ActionID, v)
	return map[string]any{"ack": ack}, err
}

func (s *Sandbox) modalOptions(ctx context.Context, body json.RawMessage) (any, error) {
	in, err := decodeInto[struct {
		User     string `json:"user"`
		ActionID string `json:"action_id"`
		Query    string `json:"query"`
	}](body)
	if err != nil {
		return nil, err
	}
	return s.Slack.ModalOptions(ctx, in.User, in.ActionID, in.Query)
}

// modalSubmit records what the person typed into the modal's text inputs, then submits it.
func (s *Sandbox) modalSubmit(ctx context.Context, body json.RawMessage) (any, error) {
	in, err := decodeInto[struct {
		User  string            `json:"user"`
		Texts map[string]string `json:"texts"`
	}](body)
	if err != nil {
		return nil, err
	}
	for actionID, text := range in.Texts {
		if text == "" {
			continue
		}
		if _, err := s.Slack.SetModalInput(ctx, in.User, actionID, fakeslack.TextValue(text)); err != nil {
			return nil, err
		}
	}
	return s.Slack.SubmitModal(ctx, in.User)
}

func (s *Sandbox) modalClose(ctx context.Context, body json.RawMessage) (any, error) {
	in, err := decodeInto[struct {
		User string `json:"user"`
	}](body)
	if err != nil {
		return nil, err
	}
	ack, err := s.Slack.CloseModal(ctx, in.User)
	if errors.Is(err, fakeslack.ErrNotFound) {
		return map[string]any{}, nil // already closed
	}
	return map[string]any{"ack": ack}, err
}

func (s *Sandbox) cutSocket(context.Context, json.RawMessage) (any, error) {
	n := len(s.Slack.Connections())
	s.Slack.CutConnections()
	s.log.Info("sandbox: cut the bot's Socket Mode connections", "connections", n)
	return map[string]int{"cut": n}, nil
}

func (s *Sandbox) owlRevoke(_ context.Context, body json.RawMessage) (any, error) {
	in, err := decodeInto[struct {
		ID string `json:"id"`
	}](body)
	if err != nil {
		return nil, err
	}
	return s.Owl.Revoke(in.ID)
}

func (s *Sandbox) owlReject(_ context.Context, body json.RawMessage) (any, error) {
	in, err := decodeInto[struct {
		ID     string `json:"id"`
		Reason string `json:"reason"`
	}](body)
	if err != nil {
		return nil, err
	}
	return s.Owl.Reject(in.ID, in.Reason)
}

// owlFaults sets the faults every AccessOwl request meets; all zero clears them.
func (s *Sandbox) owlFaults(_ context.Context, body json.RawMessage) (any, error) {
	f, err := decodeInto[faultView](body)
	if err != nil {
		return nil, err
	}
	if f.ErrorRate < 0 || f.ErrorRate > 1 || f.LatencyMS < 0 || f.RateLimits < 0 || f.Drops < 0 {
		return nil, errors.New("faults: latency and counts at least 0, error rate between 0 and 1")
	}
	if f == (faultView{}) {
		s.Owl.ClearFaults()
	} else {
		s.Owl.SetFault("", owltest.Fault{Latency: time.Duration(f.LatencyMS) * time.Millisecond, ServerErrorRate: f.ErrorRate,
			RateLimits: f.RateLimits, DropAfterCommit: f.Drops})
	}
	s.log.Info("sandbox: AccessOwl faults set", "latency_ms", f.LatencyMS, "error_rate", f.ErrorRate, "rate_limits", f.RateLimits, "drops", f.Drops)
	return f, nil
}
