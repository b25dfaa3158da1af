package fakeslack

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// ChangeKind says what changed in the workspace.
type ChangeKind string

// The kinds of change a subscriber sees.
const (
	ChangeUser           ChangeKind = "user"
	ChangeChannel        ChangeKind = "channel"
	ChangeMessage        ChangeKind = "message"
	ChangeMessageUpdated ChangeKind = "message_updated"
	ChangeMessageDeleted ChangeKind = "message_deleted"
	ChangeEphemeral      ChangeKind = "ephemeral"
	ChangeEphemeralGone  ChangeKind = "ephemeral_deleted"
	ChangeModal          ChangeKind = "modal" // View is the top of the stack, nil when closed
	ChangeCall           ChangeKind = "api_call"
	ChangeEnvelope       ChangeKind = "envelope"
	ChangeConnection     ChangeKind = "connection"
)

// Change is one event in the workspace's change stream.
type Change struct {
	Seq       int64      `json:"seq"`
	Kind      ChangeKind `json:"kind"`
	Channel   string     `json:"channel,omitempty"`
	User      string     `json:"user,omitempty"`
	TS        string     `json:"ts,omitempty"`
	Message   *Message   `json:"message,omitempty"`
	Ephemeral *Ephemeral `json:"ephemeral,omitempty"`
	View      *View      `json:"view,omitempty"`
	Call      *Call      `json:"call,omitempty"`
	Envelope  string     `json:"envelope_id,omitempty"`
}

// subscriberBuffer is how many changes a subscriber may fall behind before it misses some; a
// live page catches up by reloading, a test should wait on state, not on the stream.
const subscriberBuffer = 1024

// notify wakes every waiter and tells every subscriber. Callers hold w.mu.
func (w *Workspace) notify(c Change) {
	w.seq++
	c.Seq = w.seq
	close(w.changed)
	w.changed = make(chan struct{})
	for _, ch := range w.subs {
		select {
		case ch <- c:
		default:
		}
	}
}

// Subscribe returns a stream of every change from now on and a function that ends it. The
// stream also ends when the workspace closes.
func (w *Workspace) Subscribe() (<-chan Change, func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.subSeq++
	id := w.subSeq
	ch := make(chan Change, subscriberBuffer)
	w.subs[id] = ch
	return ch, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if c, ok := w.subs[id]; ok {
			close(c)
			delete(w.subs, id)
		}
	}
}

// ChangesHandler serves the change stream as Server-Sent Events: one "event: <kind>" with the
// change as JSON data per change, until the client goes away.
func (w *Workspace) ChangesHandler() http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		flusher, ok := rw.(http.Flusher)
		if !ok {
			http.Error(rw, "streaming unsupported", http.StatusInternalServerError)
			return
		}
		changes, stop := w.Subscribe()
		defer stop()
		rw.Header().Set("Content-Type", "text/event-stream")
		rw.Header().Set("Cache-Control", "no-cache")
		rw.WriteHeader(http.StatusOK)
		fmt.Fprint(rw, ": connected\n\n")
		flusher.Flush()
		for {
			select {
			case <-r.Context().Done():
				return
			case c, ok := <-changes:
				if !ok {
					return
				}
				data, _ := json.Marshal(c)
				fmt.Fprintf(rw, "id: %d\nevent: %s\ndata: %s\n\n", c.Seq, c.Kind, data)
				flusher.Flush()
			}
		}
	})
}

// waitFor evaluates cond under the lock each time the workspace changes, until it returns
// true or ctx ends.
func (w *Workspace) waitFor(ctx context.Context, what string, cond func() bool) error {
	for {
		w.mu.Lock()
		ok := cond()
		changed := w.changed
		w.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-changed:
		case <-w.done:
			return fmt.Errorf("wait for %s: workspace closed", what)
		case <-ctx.Done():
			return fmt.Errorf("wait for %s: %w", what, context.Cause(ctx))
		}
	}
}

// Messages returns a channel's messages in order: top-level messages and replies broadcast to
// the channel, as the channel shows them.
func (w *Workspace) Messages(channelID string) []Message {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.channelMessagesLocked(channelID)
}

func (w *Workspace) channelMessagesLocked(channelID string) []Message {
	var out []Message
	for _, m := range w.messages[channelID] {
		if !m.IsReply() || m.ReplyBroadcast {
			out = append(out, *m)
		}
	}
	return out
}

// Thread returns a thread: its parent first, then the replies in order. It is empty when the
// parent does not exist.
func (w *Workspace) Thread(channelID, threadTS string) []Message {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.threadLocked(channelID, threadTS)
}

func (w *Workspace) threadLocked(channelID, threadTS string) []Message {
	var out []Message
	for _, m := range w.messages[channelID] {
		if m.TS == threadTS || m.ThreadTS == threadTS {
			out = append(out, *m)
		}
	}
	return out
}

// Message returns one message by channel and ts.
func (w *Workspace) Message(channelID, ts string) (Message, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if m := w.findMessage(channelID, ts); m != nil {
		return *m, true
	}
	return Message{}, false
}

// Ephemerals returns what a person has been shown privately, oldest first, deleted ones left
// out.
func (w *Workspace) Ephemerals(userID string) []Ephemeral {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ephemeralsLocked(userID)
}

func (w *Workspace) ephemeralsLocked(userID string) []Ephemeral {
	var out []Ephemeral
	for _, e := range w.ephem[userID] {
		if !e.Deleted {
			out = append(out, *e)
		}
	}
	return out
}

// Modal returns the view on top of a person's modal stack, or false when none is open.
func (w *Workspace) Modal(userID string) (View, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	stack := w.modals[userID]
	if len(stack) == 0 {
		return View{}, false
	}
	return *stack[len(stack)-1].clone(), true
}

// ModalStack returns a person's open views, bottom first.
func (w *Workspace) ModalStack(userID string) []View {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []View
	for _, v := range w.modals[userID] {
		out = append(out, *v.clone())
	}
	return out
}

// WaitMessage waits until the channel shows a message that satisfies match (nil matches any)
// and returns the first such.
func (w *Workspace) WaitMessage(ctx context.Context, channelID string, match func(Message) bool) (Message, error) {
	var found Message
	err := w.waitFor(ctx, "message in "+channelID, func() bool {
		for _, m := range w.channelMessagesLocked(channelID) {
			if match == nil || match(m) {
				found = m
				return true
			}
		}
		return false
	})
	return found, err
}

// WaitReply waits until the thread under threadTS has a reply that satisfies match.
func (w *Workspace) WaitReply(ctx context.Context, channelID, threadTS string, match func(Message) bool) (Message, error) {
	var found Message
	err := w.waitFor(ctx, "reply in thread "+threadTS, func() bool {
		for _, m := range w.threadLocked(channelID, threadTS) {
			if m.IsReply() && (match == nil || match(m)) {
				found = m
				return true
			}
		}
		return false
	})
	return found, err
}

// WaitMessageState waits until the message at ts satisfies match — for chat.update.
func (w *Workspace) WaitMessageState(ctx context.Context, channelID, ts string, match func(Message) bool) (Message, error) {
	var found Message
	err := w.waitFor(ctx, "message "+ts, func() bool {
		if m := w.findMessage(channelID, ts); m != nil && match(*m) {
			found = *m
			return true
		}
		return false
	})
	return found, err
}

// WaitEphemeral waits until a person has been shown an ephemeral message that satisfies match.
func (w *Workspace) WaitEphemeral(ctx context.Context, userID string, match func(Ephemeral) bool) (Ephemeral, error) {
	var found Ephemeral
	err := w.waitFor(ctx, "ephemeral for "+userID, func() bool {
		for _, e := range w.ephemeralsLocked(userID) {
			if match == nil || match(e) {
				found = e
				return true
			}
		}
		return false
	})
	return found, err
}

// WaitModal waits until the view on top of a person's stack satisfies match (nil: any view is
// open).
func (w *Workspace) WaitModal(ctx context.Context, userID string, match func(View) bool) (View, error) {
	var found View
	err := w.waitFor(ctx, "modal of "+userID, func() bool {
		stack := w.modals[userID]
		if len(stack) == 0 {
			return false
		}
		v := *stack[len(stack)-1].clone()
		if match == nil || match(v) {
			found = v
			return true
		}
		return false
	})
	return found, err
}

// WaitModalClosed waits until a person has no modal open.
func (w *Workspace) WaitModalClosed(ctx context.Context, userID string) error {
	return w.waitFor(ctx, "modal of "+userID+" closed", func() bool { return len(w.modals[userID]) == 0 })
}

// Call is one recorded Web API call.
type Call struct {
	Method string            `json:"method"`
	Args   map[string]string `json:"args"` // the token left out
	At     time.Time         `json:"at"`
	// Error is the error code answered, empty when ok; Status is the HTTP status.
	Error  string `json:"error,omitempty"`
	Status int    `json:"status"`
	// Unanswered: a Fault held the call and it was never processed or answered (Status is 0).
	Unanswered bool `json:"unanswered,omitempty"`
}

// Calls returns every Web API call so far, oldest first.
func (w *Workspace) Calls() []Call {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.calls)
}

// CallsTo returns the recorded calls of one method.
func (w *Workspace) CallsTo(method string) []Call {
	var out []Call
	for _, c := range w.Calls() {
		if c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// WaitCall waits until a recorded Web API call satisfies match and returns it.
func (w *Workspace) WaitCall(ctx context.Context, match func(Call) bool) (Call, error) {
	var found Call
	err := w.waitFor(ctx, "web API call", func() bool {
		for _, c := range w.calls {
			if match(c) {
				found = c
				return true
			}
		}
		return false
	})
	return found, err
}
