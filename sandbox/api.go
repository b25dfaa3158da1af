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
	// The fake Slack's permalinks point here: the page opens at the message and highlights it.
	mux.HandleFunc("GET /archives/", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, static, "index.html")
	})
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/svg+xml")
		http.ServeFileFS(w, r, static, "favicon.svg")
	})
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
