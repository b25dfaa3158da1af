package app

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"revokebot/apiclient/owltest"
	"revokebot/sandbox/fakeslack"
)

func TestALookupFloodDoesNotDelayAnApprove(t *testing.T) {
	const (
		lookups = 200
		// owlLatency makes every AccessOwl answer slow, but below the client's 10 s attempt
		// timeout, so each lookup holds its worker for the whole latency.
		owlLatency = 8 * time.Second
		// approveBound is generous: the Approve needs a worker, a store write and the POST.
		approveBound = 15 * time.Second
	)
	w := newWorld(t)
	w.start()
	_, s := w.personWithOneAccess("GitHub")
	m := w.requestState(s, "Left the company")

	w.owl.SetFault("", owltest.Fault{Latency: owlLatency})
	// Someone who may decide nothing asks after revocations that do not exist, again and
	// again: every lookup would hold a worker for the whole latency, and spend the budget.
	began := time.Now()
	slowedDown := 0
	for range lookups {
		if ack := w.revoke(w.outsider, "status "+uuid.NewString()); strings.Contains(string(ack.Payload), "Please slow down") {
			slowedDown++
		}
	}
	// The bound lets a person start ten lookups, then one every six seconds.
	allowed := 10 + int(time.Since(began)/(6*time.Second)) + 1
	if started := lookups - slowedDown; started > allowed {
		t.Errorf("%d of %d lookups were started for one person, want at most %d; the rest told to slow down", started, lookups, allowed)
	}
	clicked := time.Now()
	w.click(w.approver, m, "Approve")
	var post owltest.Call
	if err := w.owl.Await(w.ctx(), func(f *owltest.Fake) bool {
		for _, c := range f.Calls() {
			if c.Method == "POST" && c.Path == "/api/v1/access_revocations" {
				post = c
				return true
			}
		}
		return false
	}); err != nil {
		t.Fatalf("the Approve never reached AccessOwl: %v", err)
	}
	delay := post.Time.Sub(clicked)
	t.Logf("the Approve's POST reached AccessOwl %s after the click, behind %d lookups", delay.Round(10*time.Millisecond), lookups)
	if delay > approveBound {
		t.Errorf("the Approve waited %s behind the lookups, want under %s", delay, approveBound)
	}
	gets := 0
	for _, c := range w.owl.Calls() {
		if c.Method == "GET" && strings.HasPrefix(c.Path, "/api/v1/access_revocations/") {
			gets++
		}
	}
	if gets > allowed {
		t.Errorf("AccessOwl was asked after %d revocations for the one person, want at most %d", gets, allowed)
	}
}

func TestAHungSlackCallFreesItsWorker(t *testing.T) {
	w := newWorld(t)
	w.start()
	w.slack.SetFault("chat.postMessage", fakeslack.Fault{Hang: true})

	hung := w.activeState("emma.schmidt@"+owltest.SeedDomain, "Figma")
	w.revoke(w.requester, hung.ID+" Contract ended")
	call, err := w.slack.WaitCall(w.ctx(), func(c fakeslack.Call) bool { return c.Method == "chat.postMessage" && c.Unanswered })
	if err != nil {
		t.Fatalf("the approval message was never sent: %v", err)
	}
	// The hung post gives up at its deadline, and the work goes on: the requester is told.
	w.ephemeral(w.requester, "could not post your request")
	released := time.Since(call.At)
	t.Logf("the worker was released %s after its chat.postMessage hung", released.Round(10*time.Millisecond))
	if released > slackCallTimeout+10*time.Second {
		t.Errorf("the worker was held %s by a hung call, want about %s", released, slackCallTimeout)
	}

	// Slack answers again, and the next request is posted.
	w.slack.ClearFaults()
	_, next := w.personWithOneAccess("GitHub")
	w.requestState(next, "Left the company")
}
