package app

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"revokebot/apiclient/owltest"
	"revokebot/sandbox/fakeslack"
)

const (
	routeMarkRevoked = "/api/v1/access_revocations/{id}/revoke"
	routeMarkReject  = "/api/v1/access_revocations/{id}/reject"
)

// hasAskButtons reports whether an ask still offers its two buttons.
func hasAskButtons(m fakeslack.Message) bool {
	return bytes.Contains(m.Blocks, []byte(`"Mark revoked"`)) && bytes.Contains(m.Blocks, []byte(`"Could not revoke"`))
}

// marks returns the calls AccessOwl received on an admin's route.
func (w *world) marks(route string) []owltest.Call {
	var out []owltest.Call
	for _, c := range w.owl.Calls() {
		if c.Method == "POST" && c.Route == "POST "+route {
			out = append(out, c)
		}
	}
	return out
}

// approvedAdminRequest asks for and approves the revocation of Farid's Figma access — Figma is
// admin-provisioned, and its admin Emma is in Slack but no approver — and returns the approval
// message, the ask that mentions whoever must act, and Emma's Slack ID.
func (w *world) approvedAdminRequest(mention string) (m, ask fakeslack.Message) {
	w.t.Helper()
	s := w.activeState(owltest.SeedOffboardedEmail, "Figma")
	m = w.requestState(s, "Left the company")
	w.click(w.approver, m, "Approve")
	w.reply(m, "processing_access")
	return m, w.reply(m, mention)
}

// TestAnAdminFinishesARevocationFromTheThread is the first, third and sixth cases: the
// admin, matched by email, is asked with both buttons; someone else is refused; Mark revoked
// makes one call, the thread says revoked once and the buttons go; a second click is "already
// marked".
func TestAnAdminFinishesARevocationFromTheThread(t *testing.T) {
	w := newWorld(t)
	w.start()
	emma := w.slackID["emma.schmidt@"+owltest.SeedDomain]
	m, ask := w.approvedAdminRequest("<@" + emma + ">")
	if !hasAskButtons(ask) {
		t.Fatalf("the ask has no Mark revoked / Could not revoke buttons: %s", ask.Blocks)
	}
	if !strings.Contains(ask.Text, "Figma") {
		t.Errorf("the ask does not say where to remove the access: %s", ask.Text)
	}

	if _, err := w.slack.ClickButton(w.ctx(), w.outsider, w.channel, ask.TS, "Mark revoked"); err != nil {
		t.Fatal(err)
	}
	w.ephemeral(w.outsider, "not allowed")
	if n := len(w.marks(routeMarkRevoked)); n != 0 {
		t.Fatalf("a refused click made %d revoke calls", n)
	}

	if _, err := w.slack.ClickButton(w.ctx(), emma, w.channel, ask.TS, "Mark revoked"); err != nil {
		t.Fatal(err)
	}
	w.reply(m, "*revoked*")
	closed, err := w.slack.WaitMessageState(w.ctx(), w.channel, ask.TS, func(a fakeslack.Message) bool { return !hasAskButtons(a) })
	if err != nil {
		t.Fatalf("the ask kept its buttons: %v\n%s", err, closed.Blocks)
	}
	// The approver's client still shows the buttons.
	if _, err := w.slack.ClickStaleButton(w.ctx(), w.approver, ask, "Mark revoked"); err != nil {
		t.Fatal(err)
	}
	w.ephemeral(w.approver, "already marked")

	calls := w.marks(routeMarkRevoked)
	if len(calls) != 2 || calls[0].IdempotencyKey == "" || calls[0].IdempotencyKey != calls[1].IdempotencyKey || calls[1].Status != 409 {
		t.Errorf("revoke calls %s: want two with one key, the second a 409", statuses(calls))
	}
	if got := w.owl.Stats().RevocationsCreated; got != 1 {
		t.Errorf("%d revocations created, want 1", got)
	}
	time.Sleep(10 * w.cfg.StatusPoll) // room for a wrong second reply to show
	assertRepliesOnce(t, w, m, "processing_access", "revoked")
	w.parent(m, "showed revoked", func(p fakeslack.Message) bool { return strings.Contains(blocksText(p), "*revoked*") })
}

// TestCouldNotRevokeRejectsWithTheReasonFromTheForm is the second case.
func TestCouldNotRevokeRejectsWithTheReasonFromTheForm(t *testing.T) {
	w := newWorld(t)
	w.start()
	emma := w.slackID["emma.schmidt@"+owltest.SeedDomain]
	m, ask := w.approvedAdminRequest("<@" + emma + ">")

	if _, err := w.slack.ClickButton(w.ctx(), emma, w.channel, ask.TS, "Could not revoke"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.slack.WaitModal(w.ctx(), emma, func(v fakeslack.View) bool { return v.CallbackID == "revokebot_could_not_revoke" }); err != nil {
		t.Fatalf("no Could not revoke form: %v\n%s", err, w.logs)
	}
	const reason = "Figma's SSO is down; removing by hand would lock the team out"
	if _, err := w.slack.SetModalInput(w.ctx(), emma, "reason", fakeslack.TextValue(reason)); err != nil {
		t.Fatal(err)
	}
	res, err := w.slack.SubmitModal(w.ctx(), emma)
	if err != nil || res.ResponseAction != "" {
		t.Fatalf("submitting the form: %+v, %v", res, err)
	}
	final := w.reply(m, "*rejected*")
	rev := w.revocationOf(w.activeState(owltest.SeedOffboardedEmail, "Figma"))
	if rev.RejectionReason != reason {
		t.Errorf("AccessOwl's rejection reason = %q, want the form's", rev.RejectionReason)
	}
	if !strings.Contains(final.Text, "rejected") || !strings.Contains(final.Text, reason) || !strings.Contains(final.Text, "<@"+emma+">") {
		t.Errorf("the final reply %q does not name rejected, the reason and who gave it", final.Text)
	}
	if _, err := w.slack.WaitMessageState(w.ctx(), w.channel, ask.TS, func(a fakeslack.Message) bool { return !hasAskButtons(a) }); err != nil {
		t.Fatalf("the ask kept its buttons: %v", err)
	}
	if calls := w.marks(routeMarkReject); len(calls) != 1 || !strings.Contains(string(calls[0].Body), reason) {
		t.Errorf("reject calls: %d, want one carrying the reason", len(calls))
	}
	time.Sleep(10 * w.cfg.StatusPoll)
	assertRepliesOnce(t, w, m, "processing_access", "rejected")
}

// TestWithNoAdminInSlackTheApproversAreAskedAndAccessOwlMayFinishIt is the fourth and
// sixth cases: an application whose admin is not in Slack asks the approvers; finished in
// AccessOwl's web app, the ask loses its buttons and the thread has one status reply.
func TestWithNoAdminInSlackTheApproversAreAskedAndAccessOwlMayFinishIt(t *testing.T) {
	w := newWorld(t)
	erpAdmin := w.owl.AddUser(owltest.User{Email: "erp.admin@" + owltest.SeedDomain, FirstName: "Erp", LastName: "Admin"})
	erp := w.owl.AddApplication(owltest.Application{Title: "Legacy ERP", Status: owltest.AppApproved, ProvisioningType: owltest.ApplicationAdmin,
		OwnerUserID: erpAdmin.ID, AdminUserIDs: []string{erpAdmin.ID}})
	s := w.owl.AddAccessState(owltest.AccessState{ApplicationID: erp.ID, GranteeUserID: w.owlUser(owltest.SeedOffboardedEmail).ID})
	w.start()

	m := w.requestState(s, "Left the company")
	w.click(w.approver, m, "Approve")
	ask := w.reply(m, "<!subteam^"+w.group+">")
	if !strings.Contains(ask.Text, "<@"+w.approver+">") || !hasAskButtons(ask) {
		t.Errorf("the ask does not ask the approvers with both buttons: %s", ask.Text)
	}
	rev := w.revocationOf(s)
	if _, err := w.owl.Revoke(rev.ID); err != nil {
		t.Fatal(err)
	}
	w.reply(m, "*revoked*")
	if _, err := w.slack.WaitMessageState(w.ctx(), w.channel, ask.TS, func(a fakeslack.Message) bool { return !hasAskButtons(a) }); err != nil {
		t.Fatalf("the ask kept its buttons: %v", err)
	}
	time.Sleep(10 * w.cfg.StatusPoll)
	assertRepliesOnce(t, w, m, "processing_access", "revoked")
	if n := len(w.marks(routeMarkRevoked)); n != 0 {
		t.Errorf("%d revoke calls from the bot, want none", n)
	}
}

// TestRemindersComeWithBackoffOnceAcrossARestart is the fifth case on a shortened clock:
// REVOKE_REMIND_AFTER of 3 s reminds at 3 s and 6 s, once each though the bot restarts between
// them, and never after the request is decided (the third would come at 12 s).
func TestRemindersComeWithBackoffOnceAcrossARestart(t *testing.T) {
	w := newWorld(t)
	w.cfg.RemindAfter, w.cfg.RemindMax = 3*time.Second, 3
	first := w.start()
	_, s := w.personWithOneAccess("GitHub")
	m := w.requestState(s, "Left the company")
	w.reply(m, "Reminder")
	if _, err := first.stop(); err != nil {
		t.Fatal(err)
	}
	w.start()
	w.reply(m, "Reminder: <@"+w.approver+"> <!subteam^"+w.group+">, this request still waits")
	waitFor(t, "the second reminder", func() bool { return countRepliesSaying(w, m, "Reminder") >= 2 })
	w.click(w.approver, m, "Reject")
	w.parent(m, "said who rejected", func(p fakeslack.Message) bool { return strings.Contains(blocksText(p), "Rejected by") })
	time.Sleep(7 * time.Second) // past the third reminder's time
	if n := countRepliesSaying(w, m, "Reminder"); n != 2 {
		t.Errorf("%d reminders, want 2 (3 s and 6 s; none after the decision):\n%s", n, w.thread(m))
	}
}

func countRepliesSaying(w *world, m fakeslack.Message, text string) int {
	n := 0
	for _, r := range w.slack.Thread(w.channel, m.TS) {
		if r.IsReply() && strings.Contains(r.Text, text) {
			n++
		}
	}
	return n
}
