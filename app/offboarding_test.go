package app

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"revokebot/apiclient/owltest"
	"revokebot/sandbox/fakeslack"
)

// offboardee adds a person known to AccessOwl and Slack with n active accesses spread over apps
// applications, and returns their Slack ID and access states.
func (w *world) offboardee(first string, n, apps int) (string, []owltest.AccessState) {
	w.t.Helper()
	email := strings.ToLower(first) + ".leaver@" + owltest.SeedDomain
	u := w.owl.AddUser(owltest.User{Email: email, FirstName: first, LastName: "Leaver"})
	slackID := w.slack.AddUser(fakeslack.User{Name: strings.ToLower(first), RealName: u.FullName, Email: email})
	var applications []owltest.Application
	for i := range apps {
		applications = append(applications, w.owl.AddApplication(owltest.Application{
			Title:       fmt.Sprintf("%s App %02d", first, i),
			Resources:   []owltest.Resource{{Title: "workspace-a"}, {Title: "workspace-b"}},
			Permissions: []owltest.Permission{{Title: "Member"}, {Title: "Admin", Elevated: true}},
		}))
	}
	var states []owltest.AccessState
	for i := range n {
		a := applications[i%apps]
		states = append(states, w.owl.AddAccessState(owltest.AccessState{
			ApplicationID:       a.ID,
			GranteeUserID:       u.ID,
			ResourceID:          a.Resources[(i/apps)%2].ID,
			TargetPermissionIDs: []string{a.Permissions[(i/apps/2)%2].ID},
		}))
	}
	return slackID, states
}

// askOffboarding makes a person with n accesses over apps applications, has the requester ask
// for all of them with reason, and returns the approval message and the access states.
func (w *world) askOffboarding(first string, n, apps int, reason string) (fakeslack.Message, []owltest.AccessState) {
	w.t.Helper()
	slackID, states := w.offboardee(first, n, apps)
	w.revoke(w.requester, fmt.Sprintf("all <@%s|%s> %s", slackID, strings.ToLower(first), reason))
	return w.approvalMessage(first + " Leaver"), states
}

// offboardingRequestID is the ID of the request /revoke made, read from the approval message's
// button, which names it.
func offboardingRequestID(t *testing.T, m fakeslack.Message) uuid.UUID {
	t.Helper()
	v := buttonValue(m, "revokebot_approve")
	i := strings.Index(v, `"id":"`)
	if i < 0 {
		t.Fatalf("the Approve button names no request: %q", v)
	}
	id, err := uuid.Parse(v[i+6 : i+6+36])
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// assertEachRevokedOnce checks that AccessOwl has exactly one revocation for each access state,
// and that every submission of an item used that item's own key.
func assertEachRevokedOnce(t *testing.T, w *world, requestID uuid.UUID, states []owltest.AccessState) {
	t.Helper()
	per := map[string]int{}
	for _, r := range w.owl.Revocations() {
		per[r.AccessStateID]++
	}
	for _, s := range states {
		if per[s.ID] != 1 {
			t.Errorf("access state %s has %d revocations, want 1", s.ID, per[s.ID])
		}
	}
	keys := map[string]bool{}
	for _, s := range states {
		keys[uuid.NewSHA1(requestID, []byte(s.ID)).String()] = true
	}
	bodies := map[string]string{}
	for _, c := range w.posts() {
		k := c.IdempotencyKey
		if !keys[k] {
			t.Errorf("a revocation was sent with key %q, not one of the request's items'", k)
		}
		if first, ok := bodies[k]; ok && first != string(c.Body) {
			t.Errorf("key %s was sent with two bodies:\n%s\n%s", k, first, c.Body)
		}
		bodies[k] = string(c.Body)
	}
}

// countReplies counts the thread's replies containing text.
func repliesSaying(w *world, m fakeslack.Message, text string) int {
	n := 0
	for _, r := range w.slack.Thread(w.channel, m.TS) {
		if strings.Contains(r.Text, text) {
			n++
		}
	}
	return n
}

func TestAnOffboardingRevokesEveryAccessOnceUnderFaults(t *testing.T) {
	w := newWorld(t)
	w.start()
	dev, states := w.offboardee("Devi", 23, 9)
	// A fifth of the submissions' answers are lost after AccessOwl filed them, a tenth fail.
	w.owl.SetFault("POST /api/v1/access_revocations", owltest.Fault{DropRate: 0.2, ServerErrorRate: 0.1})

	if ack := w.revoke(w.requester, fmt.Sprintf("all <@%s|devi> left the company", dev)); !strings.Contains(string(ack.Payload), "Looking up all of") {
		t.Errorf("the command was acknowledged with %s", ack.Payload)
	}
	m := w.approvalMessage("Devi Leaver")
	text := blocksText(m)
	for _, want := range []string{"Offboarding", "Devi App 00", "Devi App 08", "workspace-a", "Admin (elevated)", "left the company", "Revoke all 23 accesses of Devi Leaver?"} {
		if !strings.Contains(text, want) {
			t.Errorf("the approval message does not show %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "more — the full list") {
		t.Errorf("23 accesses fit in the message, but it points at the thread:\n%s", text)
	}
	w.ephemeral(w.requester, "all 23 of Devi Leaver's accesses is posted")
	id := offboardingRequestID(t, m)

	// Two approvers click at the same moment.
	var wg sync.WaitGroup
	for _, who := range []string{w.approver, w.member} {
		wg.Go(func() { w.click(who, m, "Approve") })
	}
	wg.Wait()
	w.reply(m, "Done: all 23 accesses of Devi Leaver are revoked")
	told := 0
	for _, who := range []string{w.approver, w.member} {
		for _, e := range w.slack.Ephemerals(who) {
			if strings.Contains(e.Text, "already submitted") {
				told++
			}
		}
	}
	if told != 1 {
		t.Errorf("%d approvers were told the offboarding was already submitted, want the second one", told)
	}
	w.owl.ClearFaults()

	assertEachRevokedOnce(t, w, id, states)
	if got := w.owl.Stats().RevocationsCreated; got != 23 {
		t.Errorf("%d revocations created, want 23", got)
	}
	for what, want := range map[string]int{"Progress:": 1, "Done:": 1, "Status: *revoked*": 0, "Every access this request revokes": 0} {
		if got := repliesSaying(w, m, what); got != want {
			t.Errorf("%d replies say %q, want %d\nthread:\n%s", got, what, want, w.thread(m))
		}
	}
	progress := w.reply(m, "Progress:")
	if !strings.Contains(progress.Text, "23 of 23 revoked") {
		t.Errorf("the progress reply was left at %q", progress.Text)
	}
	final := w.parent(m, "showed every access revoked", func(m fakeslack.Message) bool { return strings.Contains(m.Text, "23 of 23 revoked") })
	if hasButtons(final) {
		t.Error("the approved offboarding still offers its buttons")
	}
	t.Logf("offboarding of 23 accesses, two approvers, 20%% answers lost, 10%% 5xx: %s", costs(w))
}

// costs counts the requests AccessOwl and Slack received, by route and by method.
func costs(w *world) string {
	slackCalls := map[string]int{}
	for _, c := range w.slack.Calls() {
		slackCalls[c.Method]++
	}
	owlCalls := map[string]int{}
	for _, c := range w.owl.Calls() {
		owlCalls[c.Route]++
	}
	return fmt.Sprintf("AccessOwl requests %v; Slack calls %v", owlCalls, slackCalls)
}

func TestAnOffboardingSendsEachAccessOnceWhenNothingFails(t *testing.T) {
	w := newWorld(t)
	w.start()
	m, states := w.askOffboarding("Eve", 23, 9, "left the company")
	id := offboardingRequestID(t, m)
	w.click(w.approver, m, "Approve")
	w.reply(m, "Done: all 23 accesses of Eve Leaver are revoked")
	assertEachRevokedOnce(t, w, id, states)
	if n := len(w.posts()); n != 23 {
		t.Errorf("%d submissions for 23 accesses when AccessOwl answers every one", n)
	}
	t.Logf("offboarding of 23 accesses, nothing failing: %s", costs(w))
}

func TestAnOffboardingOf150AccessesListsThemInItsThread(t *testing.T) {
	w := newWorld(t)
	w.start()
	m, states := w.askOffboarding("Lee", 150, 12, "contract ended")
	if text := blocksText(m); !strings.Contains(text, "more — the full list is in the thread") {
		t.Errorf("150 accesses do not fit in one message, but it does not point at the thread:\n%s", text)
	}
	w.reply(m, "page 3 of 3")
	listed := ""
	for _, r := range w.slack.Thread(w.channel, m.TS) {
		if strings.Contains(r.Text, "Every access this request revokes (150)") {
			listed += r.Text
		}
	}
	for _, s := range states {
		if !strings.Contains(listed, s.ID) {
			t.Fatalf("access state %s is not in the thread's list", s.ID)
		}
	}
	id := offboardingRequestID(t, m)
	w.click(w.approver, m, "Approve")
	w.reply(m, "Done: all 150 accesses of Lee Leaver are revoked")
	assertEachRevokedOnce(t, w, id, states)
	if got := repliesSaying(w, m, "Every access this request revokes"); got != 3 {
		t.Errorf("the list takes %d replies, want 3", got)
	}
}

func TestAnOffboardingTellsWhichAccessAccessOwlRefused(t *testing.T) {
	w := newWorld(t)
	w.start()
	m, states := w.askOffboarding("Kai", 23, 9, "left")
	// The access ends at AccessOwl between the request and its approval: AccessOwl refuses its
	// revocation, and the others go on.
	if err := w.owl.EndAccess(states[4].ID); err != nil {
		t.Fatal(err)
	}
	w.click(w.approver, m, "Approve")
	refused := w.reply(m, "AccessOwl refused the revocation of Kai App 04")
	if strings.Count(refused.Text, "refused") != 1 {
		t.Errorf("the refusal reply is %q", refused.Text)
	}
	w.reply(m, "Done: 22 of 23 accesses of Kai Leaver are revoked; the other one was not")
	if got := w.owl.Stats().RevocationsCreated; got != 22 {
		t.Errorf("%d revocations created, want 22", got)
	}
}

func TestARejectedOffboardingIgnoresAStaleApprove(t *testing.T) {
	w := newWorld(t)
	w.start()
	m, _ := w.askOffboarding("Mo", 5, 3, "wrong person")
	w.click(w.approver, m, "Reject")
	w.reply(m, "rejected this request")
	// An approver whose Slack still shows the buttons clicks Approve afterwards.
	if _, err := w.slack.ClickStaleButton(w.ctx(), w.member, m, "Approve"); err != nil {
		t.Fatal(err)
	}
	// Its answer comes after the click was judged, and a submission would have come before.
	w.ephemeral(w.member, "already rejected")
	if n := len(w.posts()); n != 0 {
		t.Errorf("%d revocations were sent for a rejected offboarding", n)
	}
}

func TestAnOffboardingKilledMidwaySendsTheRestOnce(t *testing.T) {
	const total = 20
	w := newWorld(t)
	ida, states := w.offboardee("Ida", total, 5)
	// Slow answers, so that the kill comes while submissions are on their way.
	w.owl.SetFault("POST /api/v1/access_revocations", owltest.Fault{Latency: 300 * time.Millisecond})
	child := w.startProcess()
	w.revoke(w.requester, fmt.Sprintf("all <@%s|ida> left", ida))
	m := w.approvalMessage("Ida Leaver")
	id := offboardingRequestID(t, m)
	w.click(w.approver, m, "Approve")
	if err := w.owl.Await(w.ctx(), func(f *owltest.Fake) bool { return f.Stats().RevocationsCreated >= 7 }); err != nil {
		t.Fatal(err)
	}
	if err := child.Process.Kill(); err != nil { // SIGKILL: no shutdown, no drain
		t.Fatal(err)
	}
	_ = child.Wait()
	before := w.owl.Stats().RevocationsCreated
	if before >= total {
		t.Fatalf("all %d were created before the kill; the test did not kill mid-way", before)
	}
	w.owl.ClearFaults()

	w.startProcess()
	w.reply(m, fmt.Sprintf("Done: all %d accesses of Ida Leaver are revoked", total))
	t.Logf("killed after %d of %d revocations were created", before, total)
	assertEachRevokedOnce(t, w, id, states)
	if got := w.owl.Stats().RevocationsCreated; got != total {
		t.Errorf("%d revocations created, want %d", got, total)
	}
	for what, want := range map[string]int{"Progress:": 1, "Done:": 1} {
		if got := repliesSaying(w, m, what); got != want {
			t.Errorf("%d replies say %q, want %d\nthread:\n%s", got, what, want, w.thread(m))
		}
	}
}

func TestTheFormOffboardsWithItsFirstChoice(t *testing.T) {
	w := newWorld(t)
	w.start()
	ola, states := w.offboardee("Ola", 6, 3)
	w.revoke(w.requester, "")
	if _, err := w.slack.WaitModal(w.ctx(), w.requester, func(v fakeslack.View) bool { return v.CallbackID == "revokebot_request" }); err != nil {
		t.Fatalf("/revoke opened no form: %v\n%s", err, w.logs)
	}
	if _, err := w.slack.SetModalInput(w.ctx(), w.requester, "person", fakeslack.UserValue(ola)); err != nil {
		t.Fatal(err)
	}
	view, err := w.slack.WaitModal(w.ctx(), w.requester, func(v fakeslack.View) bool { return len(staticOptions(v)) > 0 })
	if err != nil {
		t.Fatalf("choosing a person loaded no access: %v\n%s", err, w.logs)
	}
	all := staticOptions(view)[0]
	if all.Text != "All of their access (6)" {
		t.Fatalf("the first choice is %q", all.Text)
	}
	for action, v := range map[string]fakeslack.Value{"access": fakeslack.OptionValue(all.Text, all.Value), "reason": fakeslack.TextValue("Last day today")} {
		if _, err := w.slack.SetModalInput(w.ctx(), w.requester, action, v); err != nil {
			t.Fatalf("set %s: %v", action, err)
		}
	}
	if res, err := w.slack.SubmitModal(w.ctx(), w.requester); err != nil || res.ResponseAction != "" {
		t.Fatalf("the form was not accepted: %+v %v\n%s", res, err, w.logs)
	}
	m := w.approvalMessage("Ola Leaver")
	if text := blocksText(m); !strings.Contains(text, "Revoke all 6 accesses of Ola Leaver?") {
		t.Errorf("the approval message is not an offboarding of 6:\n%s", text)
	}
	id := offboardingRequestID(t, m)
	w.click(w.approver, m, "Approve")
	w.reply(m, "Done: all 6 accesses of Ola Leaver are revoked")
	assertEachRevokedOnce(t, w, id, states)
}

func TestAnOffboardingOfSomeoneWithoutAccessMakesNoRequest(t *testing.T) {
	w := newWorld(t)
	w.start()
	nia, _ := w.offboardee("Nia", 0, 1)
	w.revoke(w.requester, fmt.Sprintf("all <@%s|nia> left", nia))
	w.ephemeral(w.requester, "Nia Leaver has no active access in AccessOwl, so there is nothing to revoke and no request was made.")
	for _, m := range w.slack.Messages(w.channel) {
		if strings.Contains(m.Text, "Nia Leaver") {
			t.Errorf("a message was posted for a person without access: %s", m.Text)
		}
	}
}
