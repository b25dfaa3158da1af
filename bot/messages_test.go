package bot

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"revokebot/apiclient"
	"revokebot/revoke"
	"revokebot/store"
	"revokebot/store/storetest"
)

// rendered is a message as Slack would receive it.
type rendered struct {
	text     string
	blocks   string // the blocks' JSON
	buttons  []slack.ButtonBlockElement
	metadata slack.SlackMetadata
}

// render sends a message through slack-go to a stub Web API and returns what arrived: blocks
// and metadata are only encoded on the way out.
func render(t *testing.T, options []slack.MsgOption) rendered {
	t.Helper()
	var values url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Errorf("parse form: %v", err)
		}
		values = r.PostForm
		fmt.Fprint(w, `{"ok":true,"channel":"C1","ts":"1.000001"}`)
	}))
	defer srv.Close()
	api := slack.New("xoxb-test", slack.OptionAPIURL(srv.URL+"/"))
	if _, _, err := api.PostMessageContext(t.Context(), "C1", options...); err != nil {
		t.Fatal(err)
	}
	r := rendered{text: values.Get("text"), blocks: values.Get("blocks")}
	if r.blocks != "" {
		var blocks slack.Blocks
		if err := json.Unmarshal([]byte(r.blocks), &blocks); err != nil {
			t.Fatalf("blocks do not decode: %v", err)
		}
		// JSON's \u003c is <: undo encoding/json's HTML-safe escapes so tests can look for <@U…>
		// as Slack reads it.
		r.blocks = strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(r.blocks)
		for _, b := range blocks.BlockSet {
			if a, ok := b.(*slack.ActionBlock); ok {
				for _, e := range a.Elements.ElementSet {
					if btn, ok := e.(*slack.ButtonBlockElement); ok {
						r.buttons = append(r.buttons, *btn)
					}
				}
			}
		}
	}
	if m := values.Get("metadata"); m != "" {
		if err := json.Unmarshal([]byte(m), &r.metadata); err != nil {
			t.Fatalf("metadata does not decode: %v", err)
		}
	}
	return r
}

func TestPendingRequestHasApproveAndRejectButtons(t *testing.T) {
	r := storetest.NewRequest(1)
	m := render(t, ApprovalMessage(r, "VALUE"))
	if len(m.buttons) != 2 {
		t.Fatalf("%d buttons, want 2", len(m.buttons))
	}
	approve, reject := m.buttons[0], m.buttons[1]
	if approve.Text.Text != "Approve" || approve.Style != slack.StylePrimary || approve.Confirm == nil || approve.ActionID != ActionApprove {
		t.Errorf("approve button = %+v; want text Approve, primary, with a confirm dialog", approve)
	}
	if reject.Text.Text != "Reject" || reject.Style != slack.StyleDanger || reject.ActionID != ActionReject {
		t.Errorf("reject button = %+v; want text Reject, danger", reject)
	}
	if approve.Value != "VALUE" || reject.Value != "VALUE" {
		t.Errorf("buttons carry %q and %q, want the request's value", approve.Value, reject.Value)
	}
	for _, want := range []string{"Alex Doe", "GitHub", "acme/infra", "admin (elevated), write", "<@U0REQUEST>", "left the company", "Waiting for an approver"} {
		if !strings.Contains(m.blocks, want) {
			t.Errorf("message does not show %q", want)
		}
	}
	if !strings.Contains(m.text, "GitHub") {
		t.Errorf("notification text %q does not name the application", m.text)
	}
}

func TestDecidedRequestsLoseTheirButtonsAndSayWhoDecided(t *testing.T) {
	tests := []struct {
		name    string
		state   store.State
		status  store.Status
		refusal string
		want    string
	}{
		{"approved, not yet submitted", store.Approved, "", "", "Approved by <@U0BOSS>. Submitting to AccessOwl…"},
		{"approved and processing", store.Approved, apiclient.RevocationProcessing, "", ":hourglass_flowing_sand: Approved by <@U0BOSS>. AccessOwl is removing the access."},
		{"approved and revoked", store.Approved, apiclient.RevocationRevoked, "", ":white_check_mark: Approved by <@U0BOSS>. The access is *revoked*"},
		{"approved, AccessOwl rejected", store.Approved, apiclient.RevocationRejected, "", ":x: Approved by <@U0BOSS>. AccessOwl *rejected* the revocation: the access stays."},
		{"approved, AccessOwl refused", store.Approved, "", "access state is not active", ":warning: Approved by <@U0BOSS>. AccessOwl refused the revocation, so revokebot sent nothing more: access state is not active"},
		{"rejected", store.Rejected, "", "", "Rejected by <@U0BOSS>"},
		{"expired", store.Expired, "", "", "Expired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := storetest.NewRequest(1)
			r.State, r.DecidedBy = tt.state, "U0BOSS"
			r.Items[0].Status, r.Items[0].Refusal = tt.status, tt.refusal
			m := render(t, ApprovalMessage(r, "VALUE"))
			if len(m.buttons) != 0 {
				t.Errorf("a %s request still has %d buttons", tt.state, len(m.buttons))
			}
			if !strings.Contains(m.blocks, tt.want) {
				t.Errorf("message does not say %q:\n%s", tt.want, m.blocks)
			}
		})
	}
}

func TestStatusRepliesSayTheStatusInWordsAndMentionTheRequesterAtTheEnd(t *testing.T) {
	r := storetest.NewRequest(1)
	tests := []struct {
		status  store.Status
		words   string
		mention bool
	}{
		{apiclient.RevocationProcessing, "AccessOwl is removing the access.", false},
		{apiclient.RevocationRevoked, "The access is *revoked*", true},
		{apiclient.RevocationRejected, "AccessOwl *rejected* the revocation", true},
	}
	for _, tt := range tests {
		t.Run(string(tt.status), func(t *testing.T) {
			e := revoke.Event{Kind: revoke.StatusChanged, Item: r.Items[0], RevocationID: "rev-1", Status: tt.status}
			m := render(t, ThreadReply(r, e))
			if !strings.Contains(m.text, tt.words) {
				t.Errorf("reply %q does not say %q", m.text, tt.words)
			}
			if strings.Contains(m.text, "processing_access") {
				t.Errorf("reply %q shows people AccessOwl's status code", m.text)
			}
			if got := strings.Contains(m.text, "<@U0REQUEST>"); got != tt.mention {
				t.Errorf("reply %q mentions the requester: %v, want %v", m.text, got, tt.mention)
			}
			p := m.metadata.EventPayload
			if m.metadata.EventType != ReplyMetadataType || p["status"] != string(tt.status) || p["revocation_id"] != "rev-1" || p["key"] != e.Key() {
				t.Errorf("metadata = %+v; want the status, revocation and key", m.metadata)
			}
		})
	}
}

func TestPeopleCannotInjectMarkupThroughTheirWords(t *testing.T) {
	r := storetest.NewRequest(1)
	r.Reason = "<!channel> see <https://evil.example|the form> & <@U0BOSS>"
	r.Grantee.Name = "<!here>"
	r.Items[0].ApplicationTitle = "<https://evil.example>"
	m := render(t, ApprovalMessage(r, "VALUE"))
	for _, forbidden := range []string{"<!channel>", "<!here>", "<https://evil.example", "<@U0BOSS>"} {
		if strings.Contains(m.blocks, forbidden) || strings.Contains(m.text, forbidden) {
			t.Errorf("message contains %q unescaped", forbidden)
		}
	}
	if !strings.Contains(m.blocks, "&lt;!channel&gt;") {
		t.Errorf("the reason is not shown escaped:\n%s", m.blocks)
	}
}

func TestExpiredReplyTellsTheRequesterHowToAskAgain(t *testing.T) {
	m := render(t, ThreadReply(storetest.NewRequest(1), revoke.Event{Kind: revoke.RequestExpired}))
	for _, want := range []string{"<@U0REQUEST>", "expired", "/revoke"} {
		if !strings.Contains(m.text, want) {
			t.Errorf("reply %q does not say %q", m.text, want)
		}
	}
}

func TestRejectionsAndRefusalsTellTheRequesterTheAccessStays(t *testing.T) {
	r := storetest.NewRequest(1)
	r.State, r.DecidedBy = store.Rejected, "U0BOSS"
	refused := r.Items[0]
	refused.Refusal = "access state is not active."
	tests := []struct {
		name string
		e    revoke.Event
		want []string
	}{
		{"rejected", revoke.Event{Kind: revoke.RequestRejected}, []string{"<@U0BOSS> rejected", "<@U0REQUEST>", "the access stays"}},
		{"refused", revoke.Event{Kind: revoke.AccessRefused, Item: refused}, []string{"AccessOwl refused the revocation: access state is not active.", "<@U0REQUEST>", "nothing was revoked"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := render(t, ThreadReply(r, tt.e))
			for _, want := range tt.want {
				if !strings.Contains(m.text, want) {
					t.Errorf("reply %q does not say %q", m.text, want)
				}
			}
			if m.metadata.EventPayload["key"] != tt.e.Key() {
				t.Errorf("metadata %+v does not name the reply's key %s", m.metadata, tt.e.Key())
			}
		})
	}
}

func TestAnApprovalAccessOwlDidNotTakeSaysSoAndOffersToRetry(t *testing.T) {
	r := storetest.NewRequest(1)
	r.State, r.DecidedBy = store.Approved, "U0BOSS"
	r.Items[0].LastError = "accessowl: POST /api/v1/access_revocations: 503 Service Unavailable"
	m := render(t, ApprovalMessage(r, "VALUE"))
	if !strings.Contains(m.blocks, "AccessOwl did not answer") || !strings.Contains(m.blocks, "keeps retrying") {
		t.Errorf("the message does not say AccessOwl did not answer and it is retried:\n%s", m.blocks)
	}
	if len(m.buttons) != 1 || m.buttons[0].ActionID != ActionRetry || m.buttons[0].Value != "VALUE" {
		t.Errorf("buttons = %+v; want one Retry now button naming the request", m.buttons)
	}
	r.Items[0].RevocationID = "rev-1" // it landed
	if m := render(t, ApprovalMessage(r, "VALUE")); len(m.buttons) != 0 {
		t.Errorf("a settled request still offers %d buttons", len(m.buttons))
	}
}

func TestAnAdminProvisionedAccessSaysWhoseAdminItWaitsFor(t *testing.T) {
	r := storetest.NewRequest(1)
	r.State, r.DecidedBy = store.Approved, "U0BOSS"
	r.Items[0].ApplicationTitle = "Notion"
	r.Items[0].ProvisioningType = string(apiclient.ProvisioningApplicationAdmin)
	r.Items[0].Status = apiclient.RevocationProcessing
	const want = "Waiting for an admin of Notion to remove the access."
	if got := StatusLine(r); !strings.Contains(got, want) {
		t.Errorf("status line %q does not say %q", got, want)
	}
	e := revoke.Event{Kind: revoke.StatusChanged, Item: r.Items[0], RevocationID: "rev-1", Status: apiclient.RevocationProcessing}
	if m := render(t, ThreadReply(r, e)); !strings.Contains(m.text, want) {
		t.Errorf("reply %q does not say %q", m.text, want)
	}
}

func TestTheStatusLinesMarkMatchesHowAnOffboardingEnded(t *testing.T) {
	tests := []struct {
		name     string
		statuses []store.Status
		mark     string
	}{
		{"all revoked", []store.Status{apiclient.RevocationRevoked, apiclient.RevocationRevoked}, ":white_check_mark:"},
		{"one still in flight", []store.Status{apiclient.RevocationRevoked, apiclient.RevocationProcessing}, ":hourglass_flowing_sand:"},
		{"one rejected, none in flight", []store.Status{apiclient.RevocationRevoked, apiclient.RevocationRejected}, ":x:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := storetest.NewRequest(1)
			r.State, r.DecidedBy = store.Approved, "U0BOSS"
			first := r.Items[0]
			r.Items = nil
			for i, s := range tt.statuses {
				it := first
				it.AccessStateID, it.Status = fmt.Sprintf("as-%d", i), s
				r.Items = append(r.Items, it)
			}
			if got := StatusLine(r); !strings.HasPrefix(got, tt.mark+" ") {
				t.Errorf("status line %q does not start with %s", got, tt.mark)
			}
		})
	}
}

func TestRevocationStatusIsInWords(t *testing.T) {
	tests := []struct {
		status       store.Status
		provisioning string
		want         string
	}{
		{apiclient.RevocationProcessing, string(apiclient.ProvisioningAutomatic), "AccessOwl is removing the access."},
		{apiclient.RevocationProcessing, string(apiclient.ProvisioningApplicationAdmin), "Waiting for an admin of Notion to remove the access."},
		{apiclient.RevocationRevoked, "", "The access is *revoked*: it is gone."},
		{apiclient.RevocationRejected, "", "AccessOwl *rejected* the revocation: the access stays."},
		{"paused", "", "AccessOwl says the revocation is `paused`."},
	}
	for _, tt := range tests {
		t.Run(string(tt.status)+" "+tt.provisioning, func(t *testing.T) {
			if got := RevocationStatus(tt.status, tt.provisioning, "Notion"); got != tt.want {
				t.Errorf("RevocationStatus = %q, want %q", got, tt.want)
			}
		})
	}
}
