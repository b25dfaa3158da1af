package app

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"revokebot/apiclient/owltest"
	"revokebot/bot"
	"revokebot/sandbox/fakeslack"
	"revokebot/store"
)

// Fault-injection suite sizes. CI runs the short variant; REVOKEBOT_FAULT_APPROVALS=200 runs the
// full one (see README.md, "Fault injection").
const (
	faultApprovalsEnv = "REVOKEBOT_FAULT_APPROVALS"
	faultApprovalsCI  = 40
	// faultThreads of the approvals are asked for with /revoke and so have an approval message
	// whose thread replies are counted; the others are clicks on buttons whose message is gone,
	// as in race_test.go. Slack paces posts at about one a second per channel and updates at 50
	// a minute, so 200 threads would measure that pacing rather than the faults.
	faultThreads = 8
	// faultPatience is how long the simulated approver waits for a sign of progress before
	// clicking Approve again, as a person would after "click Approve again to retry".
	faultPatience = 15 * time.Second
	// faultDeadline bounds the whole run.
	faultDeadline = 90 * time.Second
)

// faultRequest is one approved request of the suite and what the approver has seen of it.
type faultRequest struct {
	store.Request
	value     string
	clicks    int
	lastClick time.Time
}

// TestEveryApprovalRevokesOnceUnderFaults approves many requests while AccessOwl answers 30% of
// requests 5xx, drops 10% of revocation POSTs after committing them, answers 429 in bursts,
// and the Slack socket is cut every 5 seconds. Every approved request must end with exactly one
// revocation at AccessOwl and, where it has a thread, exactly one final reply.
func TestEveryApprovalRevokesOnceUnderFaults(t *testing.T) {
	n := faultApprovalsCI
	if v := os.Getenv(faultApprovalsEnv); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < faultThreads {
			t.Fatalf("%s=%q: want a number of approvals ≥ %d", faultApprovalsEnv, v, faultThreads)
		}
	}
	if testing.Short() {
		t.Skip("minutes long under -short")
	}
	w := newWorld(t)
	grantee := w.owlUser("lena.vogel@" + owltest.SeedDomain)
	github, _ := w.owl.ApplicationByTitle(owltest.SeedAutomaticApp) // revoked a second after filing

	requests := make([]*faultRequest, n)
	for i := range requests {
		s := w.owl.AddAccessState(owltest.AccessState{ApplicationID: github.ID, GranteeUserID: grantee.ID})
		r := store.Request{
			ID: uuid.New(), RequesterID: w.requester, Grantee: store.Person{AccessOwlID: grantee.ID, Name: grantee.FullName},
			Items:  []store.Item{{AccessStateID: s.ID, ApplicationID: github.ID, ApplicationTitle: github.Title}},
			Reason: fmt.Sprintf("fault suite %d", i), Channel: w.channel, CreatedAt: time.Now().UTC(),
		}
		value, err := bot.EncodeButton(r)
		if err != nil {
			t.Fatal(err)
		}
		requests[i] = &faultRequest{Request: r, value: value}
	}
	// The first faultThreads requests are asked for with /revoke, so they have an approval
	// message and a thread; the bot posts them before the faults start. The others are stored
	// as if their messages had been deleted.
	for _, r := range requests[faultThreads:] {
		w.seedRequests(r.Request)
	}
	b := w.start()
	for i, r := range requests[:faultThreads] {
		w.revoke(w.requester, r.Items[0].AccessStateID+" "+r.Reason)
		m, err := w.slack.WaitMessage(w.ctx(), w.channel, func(m fakeslack.Message) bool {
			return !m.IsReply() && strings.Contains(blocksText(m), r.Reason)
		})
		if err != nil {
			t.Fatalf("request %d not posted: %v\n%s", i, err, w.logs)
		}
		if r.value = buttonValue(m, bot.ActionApprove); r.value == "" {
			t.Fatalf("request %d has no Approve button: %s", i, m.Blocks)
		}
		r.MessageTS = m.TS
	}
	w.owl.SetFault("POST /api/v1/access_revocations", owltest.Fault{DropRate: 0.10})
	faults := func(burst int) owltest.Fault {
		return owltest.Fault{ServerErrorRate: 0.30, RateLimits: burst, RetryAfter: time.Second}
	}
	w.owl.SetFault("", faults(0))
	ctx, cancel := context.WithTimeout(t.Context(), faultDeadline)
	defer cancel()
	var (
		chaos sync.WaitGroup
		cuts  atomic.Int64
	)
	chaos.Go(func() { injectTrouble(ctx, w, faults, &cuts) })
	defer func() { cancel(); chaos.Wait() }()

	click := func(r *faultRequest) {
		r.clicks++
		r.lastClick = time.Now()
		container := map[string]any{"type": "message", "channel_id": r.Channel}
		if r.MessageTS != "" {
			container["message_ts"] = r.MessageTS
		}
		_, err := w.slack.SendEnvelope("interactive", map[string]any{
			"type":      "block_actions",
			"user":      map[string]any{"id": w.approver},
			"team":      map[string]any{"id": w.slack.TeamID()},
			"channel":   map[string]any{"id": r.Channel},
			"container": container,
			"actions": []any{map[string]any{
				"type": "button", "action_id": bot.ActionApprove, "block_id": "revokebot_decision",
				"value": r.value, "action_ts": fmt.Sprintf("%d.%06d", time.Now().Unix(), r.clicks),
			}},
		}, false)
		if err != nil {
			t.Fatalf("click %s: %v", r.Reason, err)
		}
	}
	for _, r := range requests {
		click(r)
	}

	// done: a request with a thread is done when its final reply is there; one without, when
	// AccessOwl has its revocation. Whatever is not done within faultPatience of its last click
	// is clicked again, which the design makes safe: the same key, and AccessOwl's 409 decides.
	revoked := func() map[string]int {
		out := map[string]int{}
		for _, rev := range w.owl.Revocations() {
			out[rev.AccessStateID]++
		}
		return out
	}
	done := func(r *faultRequest, revs map[string]int) bool {
		if r.MessageTS != "" {
			return finalReplies(w, r) > 0
		}
		return revs[r.Items[0].AccessStateID] > 0
	}
	for {
		revs := revoked()
		var left []string
		for _, r := range requests {
			if done(r, revs) {
				continue
			}
			left = append(left, fmt.Sprintf("%s (thread %v, %d revocations, %d clicks): %q", r.Reason, r.MessageTS != "", revs[r.Items[0].AccessStateID], r.clicks, threadText(w, r)))
			if time.Since(r.lastClick) > faultPatience {
				click(r)
			}
		}
		if len(left) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			if f := os.Getenv("REVOKEBOT_FAULT_LOG"); f != "" {
				_ = os.WriteFile(f, w.logs.Bytes(), 0o600)
			}
			t.Fatalf("%d of %d approvals not done after %s:\n%s\nlogs:\n%s", len(left), n, faultDeadline, strings.Join(left, "\n"), w.logs)
		case <-time.After(200 * time.Millisecond):
		}
	}
	cancel()
	chaos.Wait()
	w.owl.ClearFaults()
	// Once every envelope is acked Slack delivers nothing more, and stopping the bot drains the
	// work they started: the counts below are final, not a snapshot.
	for _, e := range w.slack.Envelopes() {
		if _, err := w.slack.WaitAck(w.ctx(), e.ID); err != nil {
			t.Fatalf("envelope %s never acked: %v", e.ID, err)
		}
	}
	if _, err := b.stop(); err != nil {
		t.Fatal(err)
	}

	revs := revoked()
	reclicks := 0
	for _, r := range requests {
		reclicks += r.clicks - 1
		if got := revs[r.Items[0].AccessStateID]; got != 1 {
			t.Errorf("%s: %d revocations, want exactly 1", r.Reason, got)
		}
		if r.MessageTS != "" {
			if got := finalReplies(w, r); got != 1 {
				t.Errorf("%s: %d final replies, want exactly 1:\n%s", r.Reason, got, threadText(w, r))
			}
		}
	}
	if got := w.owl.Stats().RevocationsCreated; got != n {
		t.Errorf("AccessOwl created %d revocations for %d approvals", got, n)
	}
	st := w.owl.Stats()
	t.Logf("%d approvals (%d with threads): %d revocations; AccessOwl saw %d requests, %d 5xx, %d dropped, %d 429, %d 409; %d extra clicks; %d socket cuts",
		n, faultThreads, st.RevocationsCreated, st.Requests, st.ServerErrors, st.Dropped, st.RateLimited, st.Conflicts, reclicks, cuts.Load())
}

// injectTrouble cuts the Slack socket every 5 seconds and makes AccessOwl answer the next three
// requests 429 every 10 seconds, until ctx ends. Bursts closer than the client's retries span
// starve whoever is calling at the time, which is a permanent rate limit rather than a burst.
func injectTrouble(ctx context.Context, w *world, faults func(burst int) owltest.Fault, cuts *atomic.Int64) {
	cut := time.NewTicker(5 * time.Second)
	defer cut.Stop()
	burst := time.NewTicker(10 * time.Second)
	defer burst.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-cut.C:
			w.slack.CutConnections()
			cuts.Add(1)
		case <-burst.C:
			w.owl.SetFault("", faults(3))
		}
	}
}

// finalReplies counts the thread replies that announce the request's final status.
func finalReplies(w *world, r *faultRequest) int {
	n := 0
	for _, m := range w.slack.Thread(r.Channel, r.MessageTS) {
		if m.IsReply() && (strings.Contains(m.Text, "*revoked*") || strings.Contains(m.Text, "*rejected*")) {
			n++
		}
	}
	return n
}

func threadText(w *world, r *faultRequest) string {
	var b strings.Builder
	for _, m := range w.slack.Thread(r.Channel, r.MessageTS) {
		b.WriteString(m.Text + "\n")
	}
	return b.String()
}

// buttonValue is the value of the message's button with this action ID.
func buttonValue(m fakeslack.Message, actionID string) string {
	var blocks []struct {
		Elements []struct {
			ActionID string `json:"action_id"`
			Value    string `json:"value"`
		} `json:"elements"`
	}
	if err := json.Unmarshal(m.Blocks, &blocks); err != nil {
		return ""
	}
	for _, b := range blocks {
		for _, e := range b.Elements {
			if e.ActionID == actionID {
				return e.Value
			}
		}
	}
	return ""
}
