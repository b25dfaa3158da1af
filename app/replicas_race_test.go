package app

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"revokebot/apiclient/owltest"
	"revokebot/bot"
	"revokebot/revoke"
	"revokebot/store"
	"revokebot/store/postgres"
)

// TestClicksRacingAcrossReplicasDecideOnce has two replicas on one database take 100 requests'
// clicks, delivered to either connection at random: on even requests two approvers click Approve
// at once, on odd ones Approve races Reject, and every tenth click reaches both replicas. Each
// request is decided once; an approved one is revoked exactly once, a rejected one never.
func TestClicksRacingAcrossReplicasDecideOnce(t *testing.T) {
	const races = 100
	w, url := sharedWorld(t)
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
	// Stored as seedRequests does for SQLite: their approval messages were posted and since
	// deleted, so what is measured is the decision, not Slack's pacing of 200 message updates.
	st, err := postgres.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	key := revoke.Event{Kind: revoke.RequestPosted}.Key()
	for _, r := range requests {
		mustOK(t, func() error { _, err := st.CreateRequest(t.Context(), r); return err }())
		mustOK(t, func() error {
			_, err := st.ClaimPost(t.Context(), store.Post{RequestID: r.ID, Key: key, ClaimedAt: r.CreatedAt})
			return err
		}())
		mustOK(t, st.MarkPosted(t.Context(), r.ID, key, "none"))
	}
	a, b := w.start(), w.start()

	var envelopes []string
	for i, r := range requests {
		value, err := bot.EncodeButton(r)
		if err != nil {
			t.Fatal(err)
		}
		second := bot.ActionApprove
		if i%2 == 1 {
			second = bot.ActionReject
		}
		for j, c := range []struct{ user, action string }{{w.approver, bot.ActionApprove}, {w.member, second}} {
			id, err := w.slack.SendEnvelope("interactive", map[string]any{
				"type":      "block_actions",
				"user":      map[string]any{"id": c.user},
				"team":      map[string]any{"id": w.slack.TeamID()},
				"channel":   map[string]any{"id": w.channel},
				"container": map[string]any{"type": "message", "channel_id": w.channel},
				"actions": []any{map[string]any{
					"type": "button", "action_id": c.action, "block_id": "revokebot_decision",
					"value": value, "action_ts": fmt.Sprintf("%d.%06d", time.Now().Unix(), 2*i+j),
				}},
			}, false)
			if err != nil {
				t.Fatal(err)
			}
			if i%10 == 0 && j == 0 {
				if err := w.slack.DeliverOnEveryConnection(id); err != nil {
					t.Fatal(err)
				}
			}
			envelopes = append(envelopes, id)
		}
	}
	for _, id := range envelopes {
		if _, err := w.slack.WaitAck(w.ctx(), id); err != nil {
			t.Fatalf("envelope %s not acked: %v", id, err)
		}
	}
	for _, bot := range []*instance{a, b} { // each drains its clicks' work
		if _, err := bot.stop(); err != nil {
			t.Fatal(err)
		}
	}

	revoked := map[string]int{}
	for _, rev := range w.owl.Revocations() {
		revoked[rev.AccessStateID]++
	}
	var approved, rejected int
	for i, r := range requests {
		stored, err := st.Request(t.Context(), r.ID)
		if err != nil {
			t.Fatalf("request %s: %v", r.Reason, err)
		}
		n := revoked[r.Items[0].AccessStateID]
		switch {
		case stored.State == store.Approved && n == 1:
			approved++
		case stored.State == store.Rejected && n == 0 && i%2 == 1:
			rejected++
		default:
			t.Errorf("%s: state %s with %d revocations", r.Reason, stored.State, n)
		}
	}
	t.Logf("%d requests over two replicas: %d approved and revoked once, %d rejected and never revoked; %d POSTs",
		races, approved, rejected, len(w.posts()))
	// The clicks delivered to both replicas: each time, the one that did not handle it first
	// learned so from the database.
	if n := strings.Count(string(w.logs.Bytes()), "ignored a click another replica handled"); n != races/10 {
		t.Errorf("%d clicks ignored as handled by another replica, want %d (one per click delivered to both)", n, races/10)
	}
}
