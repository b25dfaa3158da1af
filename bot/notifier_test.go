package bot

import (
	"testing"

	"github.com/slack-go/slack"

	"revokebot/apiclient"
	"revokebot/revoke"
	"revokebot/sandbox/fakeslack"
	"revokebot/store"
	"revokebot/store/storetest"
)

// TestFindReplyReadsTheThreadThroughSlacksWebAPI posts replies and looks for them through
// slack-go against the fake Slack workspace, so the metadata that marks a reply is checked on
// its way through chat.postMessage and conversations.replies as Slack encodes it.
func TestFindReplyReadsTheThreadThroughSlacksWebAPI(t *testing.T) {
	srv := fakeslack.NewServer(fakeslack.Config{})
	defer srv.Close()
	org := srv.Seed()
	api := slack.New(srv.BotToken(), slack.OptionAPIURL(srv.APIURL()))
	out := NewOutput(api, nopObserver{}, discardLog())
	n := NewNotifier(out, api)
	ctx := t.Context()

	req := storetest.NewRequest(1)
	req.Channel = org.Revocations
	ts, err := n.PostRequest(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	req.MessageTS = ts
	status := func(revocationID string, s store.Status) revoke.Event {
		return revoke.Event{Kind: revoke.StatusChanged, Item: req.Items[0], RevocationID: revocationID, Status: s}
	}
	ours, other, rejected := status("rev-1", apiclient.RevocationProcessing), status("rev-other", apiclient.RevocationProcessing), revoke.Event{Kind: revoke.RequestRejected}
	// Enough other replies that the thread takes more than one page to read.
	for range repliesPageSize/100 + 2 {
		if _, err := n.Reply(ctx, req, other); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range []revoke.Event{ours, rejected} {
		if _, found, err := n.FindReply(ctx, req, e); err != nil || found {
			t.Fatalf("FindReply(%s) before it was posted = %v, %v; want not found", e.Key(), found, err)
		}
	}
	for _, e := range []revoke.Event{ours, rejected} {
		posted, err := n.Reply(ctx, req, e)
		if err != nil {
			t.Fatal(err)
		}
		got, found, err := n.FindReply(ctx, req, e)
		if err != nil || !found || got != posted {
			t.Errorf("FindReply(%s) = %q, %v, %v; want the reply posted as %s", e.Key(), got, found, err, posted)
		}
	}
	// A status reply of a release before replies had keys.
	legacy, err := out.Post(ctx, req.Channel, slack.MsgOptionText("Status: *revoked*.", false), slack.MsgOptionTS(ts),
		slack.MsgOptionMetadata(slack.SlackMetadata{EventType: ReplyMetadataType, EventPayload: map[string]any{
			"request_id": req.ID.String(), "revocation_id": "rev-legacy", "status": "revoked",
		}}))
	if err != nil {
		t.Fatal(err)
	}
	if got, found, err := n.FindReply(ctx, req, status("rev-legacy", apiclient.RevocationRevoked)); err != nil || !found || got != legacy {
		t.Errorf("FindReply of an old status reply = %q, %v, %v; want %s", got, found, err, legacy)
	}
}

func TestUpdateRequestShowsButtonsOnlyWhilePending(t *testing.T) {
	fs := &fakeSlack{}
	n := NewNotifier(NewOutput(fs, nopObserver{}, discardLog()), fs)
	req := storetest.NewRequest(1)
	req.MessageTS = fs.post(req.Channel)
	for _, state := range []store.State{store.Pending, store.Approved} {
		req.State = state
		if err := n.UpdateRequest(t.Context(), req); err != nil {
			t.Fatal(err)
		}
		if got := fs.lastUpdate(req.MessageTS).hasButtons(); got != (state == store.Pending) {
			t.Errorf("a %s request shown with buttons: %v", state, got)
		}
	}
}
