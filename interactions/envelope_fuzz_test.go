package interactions

import (
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// FuzzEnvelope feeds arbitrary Socket Mode envelopes through the path the bot's read loop runs
// before it acks: decoded as slack-go decodes them, then answered by the Handler. Whatever the
// payload, that must not panic (a panic there would take the session down), and the ack must
// encode as JSON. Work and Payload need AccessOwl and Slack, so they are not run here: the
// end-to-end tests cover them.
func FuzzEnvelope(f *testing.F) {
	for _, seed := range []string{
		`{"envelope_id":"e1","type":"slash_commands","payload":{"command":"/revoke","text":"help","user_id":"U1","trigger_id":"t1"}}`,
		`{"envelope_id":"e2","type":"slash_commands","payload":{"command":"/revoke","text":"6ba7b812-9dad-11d1-80b4-00c04fd430c8 left","user_id":"U1","trigger_id":"t2"}}`,
		`{"envelope_id":"e3","type":"slash_commands","payload":{"command":"/revoke","text":"<@U2|bo> github left","user_id":"U1"}}`,
		`{"envelope_id":"e4","type":"interactive","payload":{"type":"block_actions","user":{"id":"U2"},"actions":[{"action_id":"revokebot_approve","value":"{\"v\":1}","action_ts":"1.2"}]}}`,
		`{"envelope_id":"e5","type":"interactive","payload":{"type":"block_actions","user":{"id":"U2"},"actions":[]}}`,
		`{"envelope_id":"e6","type":"interactive","payload":{"type":"view_submission","user":{"id":"U1"},"view":{"id":"V1","callback_id":"revokebot_request","state":{"values":{}}}}}`,
		`{"envelope_id":"e7","type":"interactive","payload":{"type":"block_suggestion","user":{"id":"U1"},"view":{"callback_id":"revokebot_request"}}}`,
		`{"envelope_id":"e8","type":"events_api","payload":{}}`,
		`{"type":"slash_commands","payload":null}`, `{}`, `[]`, `not json`,
	} {
		f.Add([]byte(seed))
	}
	h := NewHandler("C1", Deps{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return time.Unix(1_800_000_000, 0) }})
	f.Fuzz(func(t *testing.T, raw []byte) {
		var req socketmode.Request
		if err := json.Unmarshal(raw, &req); err != nil {
			return // the session acks undecodable envelopes without calling the handler
		}
		switch req.Type {
		case socketmode.RequestTypeSlashCommands:
			var cmd slack.SlashCommand
			if err := json.Unmarshal(req.Payload, &cmd); err != nil {
				return
			}
			ackEncodes(t, h.SlashCommand(cmd).Ack)
		case socketmode.RequestTypeInteractive:
			var cb slack.InteractionCallback
			if err := json.Unmarshal(req.Payload, &cb); err != nil {
				return
			}
			r := h.Interaction(cb)
			ackEncodes(t, r.Ack)
			ackEncodes(t, r.Busy)
			ackEncodes(t, r.Fallback)
		}
	})
}

func ackEncodes(t *testing.T, ack any) {
	t.Helper()
	if _, err := json.Marshal(ack); err != nil {
		t.Fatalf("the ack %#v does not encode: %v", ack, err)
	}
}
