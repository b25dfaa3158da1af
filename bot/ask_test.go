package bot

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"revokebot/apiclient"
	"revokebot/revoke"
	"revokebot/store/storetest"
)

func TestAnAskMentionsWhoIsAskedAndCarriesBothButtonsWhileItWaits(t *testing.T) {
	r := storetest.NewRequest(1)
	r.Items[0].RevocationID = "rev-1"
	n := (&Notifier{}).WithApprovers([]string{"U0APPROVER", "S0GROUP"})
	tests := []struct {
		name        string
		asked       []string
		status      string
		wantMention []string
		wantButtons []string
		wantText    string
	}{
		{"the admins in Slack are asked", []string{"U0ADMIN", "U0OWNER"}, string(apiclient.RevocationProcessing),
			[]string{"<@U0ADMIN>", "<@U0OWNER>"}, []string{"Mark revoked", "Could not revoke"}, "please remove it in GitHub"},
		{"the approvers when no admin is in Slack", nil, string(apiclient.RevocationProcessing),
			[]string{"<@U0APPROVER>", "<!subteam^S0GROUP>"}, []string{"Mark revoked", "Could not revoke"}, "please remove it"},
		{"a revoked revocation's ask has no buttons", []string{"U0ADMIN"}, string(apiclient.RevocationRevoked),
			nil, nil, "Done"},
		{"a rejected revocation's ask has no buttons", []string{"U0ADMIN"}, string(apiclient.RevocationRejected),
			nil, nil, "without removing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := revoke.Event{Kind: revoke.AdminsAsked, Item: r.Items[0], RevocationID: "rev-1", Status: apiclient.RevocationStatus(tt.status), Asked: tt.asked}
			options, err := n.threadReply(r, e)
			if err != nil {
				t.Fatal(err)
			}
			m := render(t, options)
			for _, mention := range tt.wantMention {
				if !strings.Contains(m.text, mention) || !strings.Contains(m.blocks, mention) {
					t.Errorf("ask does not mention %s: %q", mention, m.text)
				}
			}
			if !strings.Contains(m.blocks, tt.wantText) {
				t.Errorf("ask does not say %q:\n%s", tt.wantText, m.blocks)
			}
			// The status replies name the status, once each: the ask never does.
			for _, status := range []string{"revoked", "rejected", "processing_access"} {
				if strings.Contains(strings.ToLower(m.text), status) {
					t.Errorf("ask text names the status %s: %q", status, m.text)
				}
			}
			var labels []string
			for _, b := range m.buttons {
				labels = append(labels, b.Text.Text)
				got, err := DecodeAskButton(b.Value)
				if err != nil || got != (AskButton{RequestID: r.ID, RevocationID: "rev-1"}) {
					t.Errorf("button %s names %+v, %v; want the request and the revocation", b.Text.Text, got, err)
				}
			}
			if diff := cmp.Diff(tt.wantButtons, labels); diff != "" {
				t.Errorf("buttons (-want +got):\n%s", diff)
			}
			if m.metadata.EventPayload["key"] != e.Key() {
				t.Errorf("metadata %+v does not name the key %s", m.metadata, e.Key())
			}
		})
	}
}

func TestRemindersMentionWhoMustAct(t *testing.T) {
	r := storetest.NewRequest(1)
	n := (&Notifier{}).WithApprovers([]string{"S0GROUP"})
	for _, tt := range []struct {
		e    revoke.Event
		want string
	}{
		{revoke.Event{Kind: revoke.ApproversReminded, Reminder: 2}, "<!subteam^S0GROUP>"},
		{revoke.Event{Kind: revoke.AdminsReminded, Reminder: 1, RevocationID: "rev-1", Item: r.Items[0], Asked: []string{"U0ADMIN"}}, "<@U0ADMIN>"},
	} {
		options, err := n.threadReply(r, tt.e)
		if err != nil {
			t.Fatal(err)
		}
		m := render(t, options)
		if !strings.Contains(m.text, tt.want) || !strings.Contains(m.text, "Reminder") {
			t.Errorf("%s: %q does not remind %s", tt.e.Kind, m.text, tt.want)
		}
		if len(m.buttons) != 0 {
			t.Errorf("%s has buttons", tt.e.Kind)
		}
	}
}

func TestAskButtonValuesAreChecked(t *testing.T) {
	id := uuid.New()
	good, err := EncodeAskButton(id, "rev-1")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := DecodeAskButton(good); err != nil || got.RequestID != id || got.RevocationID != "rev-1" {
		t.Errorf("DecodeAskButton(%s) = %+v, %v", good, got, err)
	}
	for _, bad := range []string{"", "{}", `{"v":2,"id":"` + id.String() + `","rv":"x"}`, `{"v":1,"id":"nope","rv":"x"}`,
		`{"v":1,"id":"` + id.String() + `"}`, strings.Repeat("x", maxButtonValue+1)} {
		if _, err := DecodeAskButton(bad); err == nil {
			t.Errorf("DecodeAskButton(%q) succeeded", bad)
		}
	}
}

func TestTheReasonFormCarriesTheButtonAndAsksForAShortReason(t *testing.T) {
	view := ReasonModal("VALUE", storetest.NewItem(1))
	if view.CallbackID != ReasonCallback || view.PrivateMetadata != "VALUE" {
		t.Errorf("form %s with metadata %q; want %s with the button's value", view.CallbackID, view.PrivateMetadata, ReasonCallback)
	}
	if !strings.Contains(view.Title.Text, "Could not revoke") {
		t.Errorf("title %q", view.Title.Text)
	}
}

func TestAStatusMarkedInTheThreadSaysWhoAndWhy(t *testing.T) {
	r := storetest.NewRequest(1)
	e := revoke.Event{Kind: revoke.StatusChanged, Item: r.Items[0], RevocationID: "rev-1", Status: apiclient.RevocationRejected,
		MarkedBy: "U0ADMIN", Reason: "SSO is down <!channel>"}
	m := render(t, ThreadReply(r, e))
	if !strings.Contains(m.text, "*rejected*") || !strings.Contains(m.text, "<@U0ADMIN> could not remove it: SSO is down &lt;!channel&gt;") {
		t.Errorf("reply %q does not say rejected, who and why (escaped)", m.text)
	}
	e.Status, e.Reason = apiclient.RevocationRevoked, ""
	if m := render(t, ThreadReply(r, e)); !strings.Contains(m.text, "Marked by <@U0ADMIN>") {
		t.Errorf("reply %q does not say who marked it", m.text)
	}
}
