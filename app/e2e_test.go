package app

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"revokebot/apiclient/owltest"
	"revokebot/sandbox/fakeslack"
)

// The end-to-end tests run the bot exactly as the program does (Run), against the fake Slack
// and the fake AccessOwl over real HTTP and WebSocket. slack-go is not mocked.

func TestModalRequestPostsTheApprovalMessage(t *testing.T) {
	w := newWorld(t)
	w.start()
	grantee := w.slackID[owltest.SeedManyGrantsEmail] // Dev Patel: several AWS accounts

	w.revoke(w.requester, "")
	if _, err := w.slack.WaitModal(w.ctx(), w.requester, func(v fakeslack.View) bool { return v.CallbackID == "revokebot_request" }); err != nil {
		t.Fatalf("/revoke opened no form: %v\n%s", err, w.logs)
	}
	if _, err := w.slack.SetModalInput(w.ctx(), w.requester, "person", fakeslack.UserValue(grantee)); err != nil {
		t.Fatal(err)
	}
	view, err := w.slack.WaitModal(w.ctx(), w.requester, func(v fakeslack.View) bool { return len(staticOptions(v)) > 0 })
	if err != nil {
		t.Fatalf("choosing a person loaded no access: %v\n%s", err, w.logs)
	}
	options := staticOptions(view)
	active := w.owl.ActiveAccessStates(w.owlUser(owltest.SeedManyGrantsEmail).ID)
	if len(options) != len(active)+1 {
		t.Errorf("the form offers %d choices, want all of their access and the %d AccessOwl has active for the person", len(options), len(active))
	}
	if want := fmt.Sprintf("All of their access (%d)", len(active)); options[0].Text != want {
		t.Errorf("the form's first choice is %q, want %q", options[0].Text, want)
	}
	var chosen fakeslack.Option
	for _, o := range options {
		if strings.HasPrefix(o.Text, "AWS · production") {
			chosen = o
		}
	}
	if chosen.Value == "" {
		t.Fatalf("no AWS production access offered among %+v", options)
	}
	set := func(action string, v fakeslack.Value) {
		t.Helper()
		if _, err := w.slack.SetModalInput(w.ctx(), w.requester, action, v); err != nil {
			t.Fatalf("set %s: %v", action, err)
		}
	}
	set("access", fakeslack.OptionValue(chosen.Text, chosen.Value))

	set("reason", fakeslack.TextValue(strings.Repeat("x", 256)))
	res, err := w.slack.SubmitModal(w.ctx(), w.requester)
	if err != nil {
		t.Fatal(err)
	}
	if res.ResponseAction != "errors" || !strings.Contains(res.Errors["reason"], "256") {
		t.Fatalf("a 256-character reason was not refused inline: %+v", res)
	}

	set("reason", fakeslack.TextValue("Moved to the data team; production access no longer needed"))
	res, err = w.slack.SubmitModal(w.ctx(), w.requester)
	if err != nil {
		t.Fatal(err)
	}
	if res.ResponseAction != "" || len(res.Errors) != 0 {
		t.Fatalf("a valid form was not accepted: %+v\n%s", res, w.logs)
	}
	m := w.approvalMessage("Dev Patel")
	text := blocksText(m)
	for _, want := range []string{"AWS", "production", "<@" + w.requester + ">", "Moved to the data team", "Approve", "Reject"} {
		if !strings.Contains(text, want) {
			t.Errorf("the approval message does not show %q:\n%s", want, text)
		}
	}
	// A form has no response_url: the requester hears where the request went by direct message.
	if _, err := w.slack.WaitCall(w.ctx(), func(c fakeslack.Call) bool {
		return c.Method == "chat.postMessage" && strings.Contains(c.Args["text"], "Your request to revoke")
	}); err != nil {
		t.Errorf("the requester was not told where the request went: %v", err)
	}
}

// staticOptions lists the options of the form's access select.
func staticOptions(v fakeslack.View) []fakeslack.Option {
	var blocks []struct {
		BlockID string `json:"block_id"`
		Element struct {
			Type    string `json:"type"`
			Options []struct {
				Text  struct{ Text string } `json:"text"`
				Value string                `json:"value"`
			} `json:"options"`
		} `json:"element"`
	}
	if err := json.Unmarshal(v.Blocks, &blocks); err != nil {
		return nil
	}
	var out []fakeslack.Option
	for _, b := range blocks {
		if strings.HasPrefix(b.BlockID, "access:") {
			for _, o := range b.Element.Options {
				out = append(out, fakeslack.Option{Text: o.Text.Text, Value: o.Value})
			}
		}
	}
	return out
}

func TestTextFormsPostTheApprovalMessage(t *testing.T) {
	w := newWorld(t)
	w.start()

	t.Run("by access state ID", func(t *testing.T) {
		s := w.activeState("emma.schmidt@"+owltest.SeedDomain, "Figma")
		m := w.requestState(s, "Contract ended")
		if text := blocksText(m); !strings.Contains(text, "Figma") || !strings.Contains(text, "Contract ended") {
			t.Errorf("message does not show the application and reason:\n%s", text)
		}
		w.ephemeral(w.requester, "is posted")
	})
	t.Run("by person and application", func(t *testing.T) {
		email, _ := w.personWithOneAccess("GitHub")
		u := w.owlUser(email)
		w.revoke(w.requester, "<@"+w.slackID[email]+"|"+strings.Split(email, "@")[0]+"> github Left the company")
		m := w.approvalMessage(u.FullName)
		if text := blocksText(m); !strings.Contains(text, "GitHub") || !strings.Contains(text, "<@"+w.slackID[email]+">") {
			t.Errorf("message does not show GitHub and the person:\n%s", text)
		}
	})
	t.Run("an ambiguous application lists the choices", func(t *testing.T) {
		before := len(w.slack.Messages(w.channel))
		dev := w.slackID[owltest.SeedManyGrantsEmail]
		w.revoke(w.requester, "<@"+dev+"|dev> aws Moved teams")
		e := w.ephemeral(w.requester, "Which one?")
		if n := strings.Count(e.Text, "/revoke "); n != 3 {
			t.Errorf("the answer lists %d commands, want one per AWS account (3):\n%s", n, e.Text)
		}
		if after := len(w.slack.Messages(w.channel)); after != before {
			t.Errorf("an ambiguous request posted %d messages", after-before)
		}
	})
}

func TestBadInputIsExplainedAndChangesNothing(t *testing.T) {
	w := newWorld(t)
	stranger := w.slack.AddUser(fakeslack.User{Name: "visitor", RealName: "Vic Visitor", Email: "vic@elsewhere.example"})
	w.start()
	state := w.activeState("emma.schmidt@"+owltest.SeedDomain, "Figma")
	tests := []struct {
		name, text, answer string
	}{
		{"an unknown person", "<@" + stranger + "|visitor> github left", "AccessOwl has no user"},
		{"an unknown application", "<@" + w.slackID["emma.schmidt@"+owltest.SeedDomain] + "|emma> photoshop left", "no active access to an application matching"},
		{"a missing reason", state.ID, "give a reason"},
		{"an over-long reason", state.ID + " " + strings.Repeat("y", 256), "256 characters long"},
		{"a malformed ID", "3f2b1c9e-7a4d-4e1b-9c2a left", "not a valid access state ID"},
		// AccessOwl's whole list of access states is read and does not hold it: no approval
		// message that nobody could ever act on.
		{"an access state AccessOwl does not have", "3f2b1c9e-7a4d-4e1b-9c2a-000000000000 left", "AccessOwl has no access state"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w.revoke(w.requester, tt.text)
			w.ephemeral(w.requester, tt.answer)
		})
	}
	if n := w.mutations(); n != 0 {
		t.Errorf("bad input caused %d mutations at AccessOwl", n)
	}
	if n := len(w.slack.Messages(w.channel)); n != 0 {
		t.Errorf("bad input posted %d messages in the channel", n)
	}
}

func TestTwoApproversMakeOneRevocation(t *testing.T) {
	w := newWorld(t)
	w.start()
	_, s := w.personWithOneAccess("GitHub")
	m := w.requestState(s, "Left the company")

	w.click(w.approver, m, "Approve")
	w.reply(m, "processing_access")
	// The second approver's client still shows the buttons.
	if _, err := w.slack.ClickStaleButton(w.ctx(), w.member, m, "Approve"); err != nil {
		t.Fatal(err)
	}
	w.ephemeral(w.member, "already submitted")

	posts := w.posts()
	if len(posts) != 2 {
		t.Fatalf("%d POSTs, want 2 (one per click)", len(posts))
	}
	if posts[0].IdempotencyKey == "" || posts[0].IdempotencyKey != posts[1].IdempotencyKey || string(posts[0].Body) != string(posts[1].Body) {
		t.Errorf("the POSTs differ: %q %s / %q %s", posts[0].IdempotencyKey, posts[0].Body, posts[1].IdempotencyKey, posts[1].Body)
	}
	if got := w.owl.Stats().RevocationsCreated; got != 1 {
		t.Errorf("%d revocations created, want 1", got)
	}
	parent := w.parent(m, "said who approved and lost its buttons", func(p fakeslack.Message) bool {
		return strings.Contains(blocksText(p), "Approved by <@"+w.approver+">") && !hasButtons(p)
	})
	if hasButtons(parent) {
		t.Error("the parent still has buttons")
	}
}

func TestRejectThenApproveRevokesNothing(t *testing.T) {
	w := newWorld(t)
	w.start()
	_, s := w.personWithOneAccess("GitHub")
	m := w.requestState(s, "Left the company")

	w.click(w.approver, m, "Reject")
	w.parent(m, "said who rejected", func(p fakeslack.Message) bool {
		return strings.Contains(blocksText(p), "Rejected by <@"+w.approver+">") && !hasButtons(p)
	})
	if _, err := w.slack.ClickStaleButton(w.ctx(), w.member, m, "Approve"); err != nil {
		t.Fatal(err)
	}
	w.ephemeral(w.member, "already rejected by <@"+w.approver+">")
	if n := len(w.posts()); n != 0 {
		t.Errorf("%d POSTs after a rejection, want none", n)
	}
}

func TestNonApproversAndRequestersCannotApprove(t *testing.T) {
	w := newWorld(t)
	w.start()
	_, s := w.personWithOneAccess("GitHub")
	m := w.requestState(s, "Left the company")

	w.click(w.outsider, m, "Approve")
	w.ephemeral(w.outsider, "You are not allowed to approve or reject")

	// An approver who asked may not approve their own request.
	_, other := w.personWithOneAccess("Slack")
	w.revoke(w.approver, other.ID+" Contractor left")
	own := w.approvalMessage(w.owlName(other.GranteeUserID))
	w.click(w.approver, own, "Approve")
	w.ephemeral(w.approver, "not allowed to approve your own request")

	if n := len(w.posts()); n != 0 {
		t.Errorf("%d POSTs, want none", n)
	}
	for _, msg := range []fakeslack.Message{m, own} {
		if cur, _ := w.slack.Message(w.channel, msg.TS); !hasButtons(cur) {
			t.Error("a refused click removed the buttons")
		}
	}
}

func TestRedeliveredEnvelopesActOnce(t *testing.T) {
	w := newWorld(t)
	first := w.start()
	_, s := w.personWithOneAccess("GitHub")

	t.Run("a slash command redelivered with retry_attempt 1 posts one message", func(t *testing.T) {
		ack := w.revoke(w.requester, s.ID+" Left the company")
		if err := w.slack.Redeliver(ack.EnvelopeID, "timeout"); err != nil {
			t.Fatal(err)
		}
		if _, err := w.slack.WaitDelivery(w.ctx(), ack.EnvelopeID, 1); err != nil {
			t.Fatal(err)
		}
		w.approvalMessage(w.owlName(s.GranteeUserID))
		// Both deliveries are acked only after their work was handed off; stopping the bot drains
		// that work, so the count below is final.
		if _, err := w.slack.WaitAck(w.ctx(), ack.EnvelopeID); err != nil {
			t.Fatal(err)
		}
	})
	second := w.start() // a second replica: a second connection
	t.Run("the same click on two connections makes one revocation", func(t *testing.T) {
		m := w.approvalMessage(w.owlName(s.GranteeUserID))
		ack := w.click(w.approver, m, "Approve")
		if err := w.slack.DeliverOnEveryConnection(ack.EnvelopeID); err != nil {
			t.Fatal(err)
		}
		w.reply(m, "processing_access")
	})
	for _, b := range []*instance{first, second} {
		if _, err := b.stop(); err != nil {
			t.Fatal(err)
		}
	}
	if n := countApprovalMessages(w); n != 1 {
		t.Errorf("%d approval messages, want 1", n)
	}
	if got := w.owl.Stats().RevocationsCreated; got != 1 {
		t.Errorf("%d revocations created, want 1", got)
	}
}

func TestRateLimitedSubmissionWaitsRetryAfter(t *testing.T) {
	w := newWorld(t)
	w.start()
	_, s := w.personWithOneAccess("GitHub")
	m := w.requestState(s, "Left the company")
	w.owl.SetFault("POST /api/v1/access_revocations", owltest.Fault{RateLimits: 1, RetryAfter: 2 * time.Second})

	w.click(w.approver, m, "Approve")
	w.reply(m, "processing_access")
	posts := w.posts()
	if len(posts) != 2 || posts[0].Status != 429 || posts[1].Status != 201 {
		t.Fatalf("POSTs = %+v, want a 429 then a 201", statuses(posts))
	}
	if gap := posts[1].Time.Sub(posts[0].Time); gap < 2*time.Second {
		t.Errorf("retried after %s, want no sooner than Retry-After's 2s", gap)
	}
	if posts[0].IdempotencyKey != posts[1].IdempotencyKey || string(posts[0].Body) != string(posts[1].Body) {
		t.Error("the retry changed the key or the body")
	}
	if got := w.owl.Stats().RevocationsCreated; got != 1 {
		t.Errorf("%d revocations created, want 1", got)
	}
}

func TestLostAnswerIsFoundTrackedAndReported(t *testing.T) {
	w := newWorld(t)
	w.start()
	_, s := w.personWithOneAccess("GitHub") // automatic: revoked after the fake's delay
	m := w.requestState(s, "Left the company")
	w.owl.SetFault("POST /api/v1/access_revocations", owltest.Fault{DropAfterCommit: 1})

	w.click(w.approver, m, "Approve")
	// Found after the 409, the revocation may already be revoked: then that is the first and
	// only status the thread hears.
	w.reply(m, "*revoked*")
	assertRepliesOnce(t, w, m, "revoked")
	if n := countReplies(w, m, "processing_access"); n > 1 {
		t.Errorf("%d replies announce processing_access, want at most 1", n)
	}
	posts := w.posts()
	if len(posts) != 2 || !posts[0].Dropped || posts[1].Status != 409 {
		t.Fatalf("POSTs = %+v, want a dropped one then a 409", statuses(posts))
	}
	if got := w.owl.Stats().RevocationsCreated; got != 1 {
		t.Errorf("%d revocations created, want 1", got)
	}
	if e := w.slack.Ephemerals(w.approver); len(e) != 0 {
		t.Errorf("the approver was told %q; their own click got through", e[0].Text)
	}
}

func TestStatusChangesAreEachAnnouncedOnce(t *testing.T) {
	w := newWorld(t)
	w.start()

	t.Run("an automatic application reaches revoked", func(t *testing.T) {
		_, s := w.personWithOneAccess("GitHub")
		m := w.requestState(s, "Left the company")
		w.click(w.approver, m, "Approve")
		final := w.reply(m, "revoked")
		if !strings.Contains(final.Text, "<@"+w.requester+">") {
			t.Errorf("the final reply does not mention the requester: %s", final.Text)
		}
		w.parent(m, "showed revoked", func(p fakeslack.Message) bool { return strings.Contains(blocksText(p), "*revoked*") })
		assertRepliesOnce(t, w, m, "processing_access", "revoked")
	})
	t.Run("an admin-provisioned application is rejected", func(t *testing.T) {
		_, s := w.personWithOneAccess("AWS")
		m := w.requestState(s, "Left the company")
		w.click(w.approver, m, "Approve")
		w.reply(m, "processing_access")
		rev := w.revocationOf(s)
		if _, err := w.owl.Reject(rev.ID, "Still needed for the migration"); err != nil {
			t.Fatal(err)
		}
		final := w.reply(m, "rejected")
		if !strings.Contains(final.Text, "<@"+w.requester+">") {
			t.Errorf("the final reply does not mention the requester: %s", final.Text)
		}
		w.parent(m, "showed rejected", func(p fakeslack.Message) bool { return strings.Contains(blocksText(p), "*rejected*") })
		assertRepliesOnce(t, w, m, "processing_access", "rejected")
	})
}

// countReplies counts the replies under m that announce status.
func countReplies(w *world, m fakeslack.Message, status string) int {
	n := 0
	for _, r := range w.slack.Thread(w.channel, m.TS) {
		if r.IsReply() && replyStatus(r) == status {
			n++
		}
	}
	return n
}

// assertRepliesOnce checks that each status was announced in exactly one reply.
func assertRepliesOnce(t *testing.T, w *world, m fakeslack.Message, statuses ...string) {
	t.Helper()
	for _, status := range statuses {
		if n := countReplies(w, m, status); n != 1 {
			t.Errorf("%d replies announce %s, want 1:\n%s", n, status, w.thread(m))
		}
	}
}

func countApprovalMessages(w *world) int {
	n := 0
	for _, m := range w.slack.Messages(w.channel) {
		if !m.IsReply() && strings.Contains(m.Text, "Access revocation request") {
			n++
		}
	}
	return n
}

func statuses(calls []owltest.Call) []string {
	var out []string
	for _, c := range calls {
		s := fmt.Sprint(c.Status)
		if c.Dropped {
			s += " (dropped)"
		}
		out = append(out, s)
	}
	return out
}

func TestAnInterruptedSubmissionIsFinishedOnRestart(t *testing.T) {
	w := newWorld(t)
	first := w.start()
	_, s := w.personWithOneAccess("GitHub")
	m := w.requestState(s, "Left the company")
	// AccessOwl is down for every attempt of the submission.
	w.owl.SetFault("POST /api/v1/access_revocations", owltest.Fault{ServerErrors: 100})
	w.click(w.approver, m, "Approve")
	w.ephemeral(w.approver, "AccessOwl did not answer")
	if _, err := first.stop(); err != nil {
		t.Fatal(err)
	}

	w.owl.ClearFaults()
	w.start()
	w.reply(m, "*revoked*")
	if got := w.owl.Stats().RevocationsCreated; got != 1 {
		t.Errorf("%d revocations created, want 1", got)
	}
	posts := w.posts()
	if last := posts[len(posts)-1]; last.Status != 201 || last.IdempotencyKey != posts[0].IdempotencyKey || string(last.Body) != string(posts[0].Body) {
		t.Errorf("the resumed POST differs from the first: %+v", statuses(posts))
	}
}

func TestAClickOnARequestTheStoreNeverHadIsRefusedAndAudited(t *testing.T) {
	w := newWorld(t)
	first := w.start()
	_, s := w.personWithOneAccess("GitHub")
	m := w.requestState(s, "Left the company")
	if _, err := first.stop(); err != nil {
		t.Fatal(err)
	}
	// A bot whose store never saw the request: the button only names it, so there is nothing
	// a click may act on.
	w.cfg.DataDir = t.TempDir()
	w.start()
	w.click(w.approver, m, "Approve")
	w.ephemeral(w.approver, "no record of this request")
	if n := len(w.posts()); n != 0 {
		t.Errorf("%d POSTs to AccessOwl, want none", n)
	}
	if !strings.Contains(w.logs.String(), "a click names a request revokebot has no record of") {
		t.Errorf("the refusal is not in the log:\n%s", w.logs)
	}
}
