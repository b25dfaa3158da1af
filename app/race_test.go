package app

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"revokebot/apiclient/owltest"
	"revokebot/bot"
	"revokebot/store"
	"revokebot/store/sqlite"
)

func TestApproveAndRejectRacingNeverBothWin(t *testing.T) {
	const races = 100
	w := newWorld(t)
	grantee := w.owlUser("lena.vogel@" + owltest.SeedDomain)
	app, _ := w.owl.ApplicationByTitle("Notion")
	requests := make([]store.Request, races)
	for i := range requests {
		s := w.owl.AddAccessState(owltest.AccessState{ApplicationID: app.ID, GranteeUserID: grantee.ID})
		requests[i] = store.Request{
			ID: uuid.New(), RequesterID: w.requester, Grantee: store.Person{AccessOwlID: grantee.ID},
			Items: []store.Item{{AccessStateID: s.ID, ApplicationID: app.ID}}, Reason: fmt.Sprintf("race %d", i),
			Channel: w.channel, CreatedAt: time.Now().UTC(),
		}
	}
	b := w.start()

	// The clicks come with no message to update, as if the approval message had been deleted:
	// what is measured is the decision, not Slack's pacing of 200 message updates.
	var envelopes []string
	for i, r := range requests {
		value, err := bot.EncodeButton(r)
		if err != nil {
			t.Fatal(err)
		}
		clicks := []struct{ user, action string }{{w.approver, bot.ActionApprove}, {w.member, bot.ActionReject}}
		if i%2 == 1 {
			clicks[0], clicks[1] = clicks[1], clicks[0]
		}
		for _, c := range clicks {
			id, err := w.slack.SendEnvelope("interactive", map[string]any{
				"type":      "block_actions",
				"user":      map[string]any{"id": c.user},
				"team":      map[string]any{"id": w.slack.TeamID()},
				"channel":   map[string]any{"id": w.channel},
				"container": map[string]any{"type": "message", "channel_id": w.channel},
				"actions": []any{map[string]any{
					"type": "button", "action_id": c.action, "block_id": "revokebot_decision",
					"value": value, "action_ts": fmt.Sprintf("%d.%06d", time.Now().Unix(), i),
				}},
			}, false)
			if err != nil {
				t.Fatal(err)
			}
			envelopes = append(envelopes, id)
		}
	}
	for _, id := range envelopes {
		if _, err := w.slack.WaitAck(w.ctx(), id); err != nil {
			t.Fatalf("envelope %s not acked: %v", id, err)
		}
	}
	if _, err := b.stop(); err != nil { // drains every click's work
		t.Fatal(err)
	}

	st, err := sqlite.Open(t.Context(), w.cfg.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	revoked := map[string]int{}
	for _, rev := range w.owl.Revocations() {
		revoked[rev.AccessStateID]++
	}
	var approved, rejected int
	for _, r := range requests {
		stored, err := st.Request(t.Context(), r.ID)
		if err != nil {
			t.Fatalf("request %s: %v", r.Reason, err)
		}
		switch {
		case stored.State == store.Approved && revoked[r.Items[0].AccessStateID] == 1:
			approved++
		case stored.State == store.Rejected && revoked[r.Items[0].AccessStateID] == 0:
			rejected++
		default:
			t.Errorf("%s: state %s with %d revocations", r.Reason, stored.State, revoked[r.Items[0].AccessStateID])
		}
	}
	t.Logf("%d races: %d approvals won, %d rejections won, never both", races, approved, rejected)
	if approved+rejected != races {
		t.Errorf("%d approved + %d rejected != %d", approved, rejected, races)
	}
}
