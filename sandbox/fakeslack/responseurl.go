package fakeslack

import (
	"encoding/json"
	"io"
	"net/http"
	"time"
)

// responseURL is a response_url: up to five uses within thirty minutes of the interaction.
type responseURL struct {
	user, channel string
	created       time.Time
	uses          int
	// The message the interaction came from, for replace_original and delete_original.
	srcChannel, srcTS string
	srcEphemeral      *Ephemeral
	// acked, for a slash command's URL, is closed once the command's ack is applied: the app
	// sends its ack on the socket before it posts here over HTTP, but the two may arrive in
	// either order, and Slack shows the ack first.
	acked chan struct{}
}

// ackWait bounds how long a response waits for its command's ack: Slack's ack deadline.
const ackWait = 3 * time.Second

// newResponseURLLocked mints a response_url for an interaction by user in channel, from an
// optional source message.
func (w *Workspace) newResponseURLLocked(user, channel string, src *Message, srcEph *Ephemeral) string {
	id := randomToken(16)
	r := &responseURL{user: user, channel: channel, created: w.cfg.Now(), srcEphemeral: srcEph}
	if src != nil {
		r.srcChannel, r.srcTS = src.Channel, src.TS
	}
	w.respURLs[id] = r
	return w.publicBaseLocked() + "response/" + w.cfg.TeamID + "/" + id
}

func (w *Workspace) serveResponseURL(rw http.ResponseWriter, r *http.Request, rest string) {
	writeJSON := func(status int, body map[string]any) {
		rw.Header().Set("Content-Type", "application/json")
		rw.WriteHeader(status)
		_ = json.NewEncoder(rw).Encode(body)
	}
	if r.Method != http.MethodPost {
		writeJSON(http.StatusMethodNotAllowed, map[string]any{"ok": false, "error": "method_not_allowed"})
		return
	}
	id := rest
	if i := len(w.cfg.TeamID) + 1; len(rest) > i && rest[:i] == w.cfg.TeamID+"/" {
		id = rest[i:]
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes))
	var body map[string]json.RawMessage
	if err != nil || json.Unmarshal(data, &body) != nil {
		writeJSON(http.StatusBadRequest, map[string]any{"ok": false, "error": "invalid_payload"})
		return
	}
	w.mu.Lock()
	var acked chan struct{}
	if ru := w.respURLs[id]; ru != nil {
		acked = ru.acked
	}
	w.mu.Unlock()
	if acked != nil {
		timer := time.NewTimer(ackWait)
		select {
		case <-acked:
		case <-timer.C:
		case <-r.Context().Done():
		}
		timer.Stop()
	}
	status, code := w.applyResponse(id, body)
	w.mu.Lock()
	call := Call{Method: "response_url", Args: map[string]string{"body": string(data)}, At: w.cfg.Now(), Status: status, Error: code}
	w.calls = append(w.calls, call)
	w.notify(Change{Kind: ChangeCall, Call: &call})
	w.mu.Unlock()
	if code != "" {
		writeJSON(status, map[string]any{"ok": false, "error": code})
		return
	}
	writeJSON(http.StatusOK, map[string]any{"ok": true})
}

// applyResponse carries out one response_url message and returns the HTTP status and, on
// failure, the error code.
func (w *Workspace) applyResponse(id string, body map[string]json.RawMessage) (int, string) {
	flag := func(k string) bool {
		var b bool
		_ = json.Unmarshal(body[k], &b)
		return b
	}
	var responseType, threadTS string
	_ = json.Unmarshal(body["response_type"], &responseType)
	_ = json.Unmarshal(body["thread_ts"], &threadTS)

	w.mu.Lock()
	defer w.mu.Unlock()
	ru, ok := w.respURLs[id]
	if !ok {
		return http.StatusNotFound, "no_such_url"
	}
	if w.cfg.Now().Sub(ru.created) > w.cfg.ResponseURLLifetime {
		return http.StatusNotFound, "expired_url"
	}
	if ru.uses >= w.cfg.ResponseURLUses {
		return http.StatusNotFound, "used_url"
	}
	ru.uses++

	if flag("delete_original") {
		switch {
		case ru.srcEphemeral != nil:
			ru.srcEphemeral.Deleted = true
			w.notify(Change{Kind: ChangeEphemeralGone, User: ru.user, TS: ru.srcEphemeral.TS})
		case ru.srcTS != "":
			w.deleteMessageLocked(ru.srcChannel, ru.srcTS)
		}
		return http.StatusOK, ""
	}
	c, apiErr := contentFromJSON(body)
	if apiErr != nil {
		return http.StatusBadRequest, apiErr.code
	}
	if flag("replace_original") {
		switch {
		case ru.srcEphemeral != nil:
			ru.srcEphemeral.Text, ru.srcEphemeral.Blocks = c.Text, c.Blocks
			cp := *ru.srcEphemeral
			w.notify(Change{Kind: ChangeEphemeral, User: ru.user, TS: cp.TS, Ephemeral: &cp})
			return http.StatusOK, ""
		case ru.srcTS != "":
			if m := w.findMessage(ru.srcChannel, ru.srcTS); m != nil {
				w.updateMessageLocked(m, c)
				return http.StatusOK, ""
			}
			return http.StatusNotFound, "message_not_found"
		}
	}
	if responseType == "in_channel" {
		if threadTS != "" && w.findMessage(ru.channel, threadTS) == nil {
			return http.StatusNotFound, "thread_not_found"
		}
		w.postLocked(&Message{Channel: ru.channel, ThreadTS: threadTS, User: w.cfg.BotUserID, BotID: w.cfg.BotID, Text: c.Text, Blocks: c.Blocks})
		return http.StatusOK, ""
	}
	w.addEphemeralLocked(&Ephemeral{User: ru.user, Channel: ru.channel, ThreadTS: threadTS, Text: c.Text, Blocks: c.Blocks, Source: "response_url"})
	return http.StatusOK, ""
}
