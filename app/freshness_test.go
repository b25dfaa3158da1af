package app

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"revokebot/apiclient"
	"revokebot/apiclient/owltest"
	"revokebot/sandbox/fakeslack"
)

// routePost is AccessOwl's route for filing a revocation.
const routePost = "POST /api/v1/access_revocations"

// waitReply waits up to patience for a reply in m's thread that contains text, and returns when
// it was posted, read from its ts (the fake Slack stamps messages with the real time).
func waitReply(t *testing.T, w *world, m fakeslack.Message, text string, patience time.Duration) (fakeslack.Message, time.Time) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), patience)
	defer cancel()
	r, err := w.slack.WaitReply(ctx, w.channel, m.TS, func(r fakeslack.Message) bool { return strings.Contains(r.Text, text) })
	if err != nil {
		t.Fatalf("no reply saying %q within %s: %v\nthread:\n%s", text, patience, err, w.thread(m))
	}
	sec, micro, _ := strings.Cut(r.TS, ".")
	var s, us int64
	fmt.Sscan(sec, &s)
	fmt.Sscan(micro, &us)
	return r, time.Unix(s, us*1000)
}

// TestStatusesReachTheirThreadWithinSecondsWhileTheHourHasRoom runs the bot with
// REVOKE_STATUS_POLL=1s and AccessOwl's default budget, and flips two admin-provisioned
// revocations a few seconds apart: each change reaches its thread within 3 s of AccessOwl
// reporting it.
func TestStatusesReachTheirThreadWithinSecondsWhileTheHourHasRoom(t *testing.T) {
	w := newWorld(t)
	w.cfg.StatusPoll = time.Second
	w.cfg.AccessOwlRate = apiclient.DefaultRateLimit
	w.start()

	var msgs []fakeslack.Message
	var states []owltest.AccessState
	aws, _ := w.owl.ApplicationByTitle(owltest.SeedAdminApp)
	for _, email := range []string{"lena.vogel@" + owltest.SeedDomain, owltest.SeedManyGrantsEmail} {
		s := w.owl.AddAccessState(owltest.AccessState{ApplicationID: aws.ID, GranteeUserID: w.owlUser(email).ID})
		m := w.requestState(s, "Moved teams")
		w.click(w.approver, m, "Approve")
		w.reply(m, "processing_access")
		msgs, states = append(msgs, m), append(states, s)
	}
	var delays []time.Duration
	for i, m := range msgs {
		time.Sleep(3 * time.Second) // the second changes a few seconds after the first
		if _, err := w.owl.Revoke(w.revocationOf(states[i]).ID); err != nil {
			t.Fatal(err)
		}
		flipped := time.Now()
		_, at := waitReply(t, w, m, "*revoked*", 30*time.Second)
		delays = append(delays, at.Sub(flipped))
	}
	t.Logf("status change to thread reply: %v (REVOKE_STATUS_POLL=1s)", delays)
	for i, d := range delays {
		if d > 3*time.Second {
			t.Errorf("revocation %d: revoked reached its thread %s after AccessOwl reported it, want within 3 s", i+1, d)
		}
	}
}

// TestAnApprovalAccessOwlDidNotTakeLandsWithoutAnotherClick has AccessOwl answer every POST with
// a 5xx for 15 s around one Approve: exactly one revocation is created within 30 s of AccessOwl
// recovering, with no other click, and every POST carries the same key and body. Meanwhile the
// message keeps its way to retry.
func TestAnApprovalAccessOwlDidNotTakeLandsWithoutAnotherClick(t *testing.T) {
	w := newWorld(t)
	w.start()
	_, s := w.personWithOneAccess(owltest.SeedAdminApp)
	m := w.requestState(s, "Left the company")
	w.owl.SetFault(routePost, owltest.Fault{ServerErrorRate: 1})
	down := time.Now()
	w.click(w.approver, m, "Approve")
	told := w.ephemeral(w.approver, "did not answer")
	if strings.Contains(told.Text, "Click Approve") {
		t.Errorf("the approver is asked to click a button the message no longer has: %q", told.Text)
	}
	w.parent(m, "offered Retry now", func(p fakeslack.Message) bool { return strings.Contains(string(p.Blocks), "revokebot_retry") })
	time.Sleep(15*time.Second - time.Since(down))
	w.owl.ClearFaults()
	recovered := time.Now()

	rev := w.revocationOf(s)
	created := rev.InsertedAt.Add(time.Second) // AccessOwl's times are to the second
	t.Logf("revocation created %s after AccessOwl recovered", created.Sub(recovered).Round(time.Second))
	if created.Sub(recovered) > 30*time.Second {
		t.Errorf("revocation created %s after AccessOwl recovered, want within 30 s", created.Sub(recovered))
	}
	w.reply(m, "processing_access")
	w.parent(m, "dropped Retry now once it landed", func(p fakeslack.Message) bool {
		return !strings.Contains(string(p.Blocks), "revokebot_retry") && strings.Contains(blocksText(p), "remov")
	})
	posts := w.posts()
	for _, p := range posts {
		if p.IdempotencyKey != posts[0].IdempotencyKey || string(p.Body) != string(posts[0].Body) {
			t.Errorf("POSTs differ: %+v", statuses(posts))
			break
		}
	}
	if got := w.owl.Stats().RevocationsCreated; got != 1 {
		t.Errorf("%d revocations created, want 1", got)
	}
}

// TestARestartDuringTheBackoffResumesTheSubmission stops the bot while it waits to submit again
// an approval AccessOwl did not answer: the next start submits it.
func TestARestartDuringTheBackoffResumesTheSubmission(t *testing.T) {
	w := newWorld(t)
	b := w.start()
	_, s := w.personWithOneAccess(owltest.SeedAdminApp)
	m := w.requestState(s, "Left the company")
	w.owl.SetFault(routePost, owltest.Fault{ServerErrorRate: 1})
	w.click(w.approver, m, "Approve")
	w.ephemeral(w.approver, "did not answer")
	if _, err := b.stop(); err != nil {
		t.Fatal(err)
	}
	w.owl.ClearFaults()
	w.start()
	rev := w.revocationOf(s)
	if _, ok := w.owl.Revocation(rev.ID); !ok {
		t.Fatal("no revocation after the restart")
	}
	w.reply(m, "processing_access")
	if got := w.owl.Stats().RevocationsCreated; got != 1 {
		t.Errorf("%d revocations created, want 1", got)
	}
}

// TestABurstUnderFaultsFinishesEveryThreadWithinSeconds approves 12 requests, each clicked twice,
// while AccessOwl answers 30% of requests with a 5xx and 10% with a 429 and loses 20% of POST
// answers after committing them, the Slack socket is cut every 5 s and Slack's channel limit is
// on. Once all 12 revocations exist, every thread gets its final reply within 20 s of AccessOwl
// revoking the access, exactly one each, and no status is posted twice.
func TestABurstUnderFaultsFinishesEveryThreadWithinSeconds(t *testing.T) {
	if testing.Short() {
		t.Skip("a minute long")
	}
	const n = 12
	w := newWorld(t)
	w.cfg.StatusPoll = time.Second
	w.cfg.AccessOwlRate = apiclient.DefaultRateLimit
	w.start()
	github, _ := w.owl.ApplicationByTitle(owltest.SeedAutomaticApp)
	grantee := w.owlUser("lena.vogel@" + owltest.SeedDomain)
	var (
		msgs   []fakeslack.Message
		states []owltest.AccessState
	)
	for i := range n {
		s := w.owl.AddAccessState(owltest.AccessState{ApplicationID: github.ID, GranteeUserID: grantee.ID})
		states = append(states, s)
		msgs = append(msgs, w.requestState(s, fmt.Sprintf("burst %d", i)))
	}

	w.owl.SetFault(routePost, owltest.Fault{DropRate: 0.20})
	w.owl.SetFault("", owltest.Fault{ServerErrorRate: 0.30})
	ctx, cancel := context.WithCancel(t.Context())
	var chaos sync.WaitGroup
	chaos.Go(func() { burstTrouble(ctx, w) })
	defer func() { cancel(); chaos.Wait() }()

	var clicks sync.WaitGroup
	for _, m := range msgs {
		for _, who := range []string{w.approver, w.member} {
			clicks.Go(func() {
				// A socket cut can lose the click before Slack delivers it; the person clicks again.
				for try := 0; try < 3; try++ {
					if _, err := w.slack.ClickStaleButton(ctx, who, m, "Approve"); err == nil {
						return
					}
				}
			})
		}
	}
	clicks.Wait()

	// When every revocation exists, each finishes a second later at AccessOwl.
	if err := w.owl.Await(w.longCtx(2*time.Minute), func(f *owltest.Fake) bool {
		for _, s := range states {
			if !hasRevocation(f, s.ID) {
				return false
			}
		}
		return true
	}); err != nil {
		t.Fatalf("not every approval became a revocation: %v\n%s", err, w.logs)
	}
	var delays []time.Duration
	for i, m := range msgs {
		rev := w.revocationOf(states[i])
		revokedAt := rev.InsertedAt.Add(time.Second) // the world's automatic delay
		_, at := waitReply(t, w, m, "*revoked*", 45*time.Second)
		delays = append(delays, at.Sub(revokedAt))
	}
	cancel()
	chaos.Wait()
	sort.Slice(delays, func(i, j int) bool { return delays[i] < delays[j] })
	t.Logf("revoked to final reply, %d threads: min %s, median %s, max %s", n, delays[0].Round(time.Millisecond),
		delays[n/2].Round(time.Millisecond), delays[n-1].Round(time.Millisecond))
	for i, d := range delays {
		if d > 20*time.Second {
			t.Errorf("a final reply came %s after AccessOwl revoked the access, want within 20 s (%d of %d)", d, i+1, n)
		}
	}
	if t.Failed() {
		t.Logf("logs:\n%s", w.logs.Bytes())
	}
	for i, m := range msgs {
		if got := len(w.revocationsOf(states[i].ID)); got != 1 {
			t.Errorf("request %d: %d revocations, want 1", i, got)
		}
		assertRepliesOnce(t, w, m, "revoked")
		seen := map[string]int{}
		for _, r := range w.slack.Thread(w.channel, m.TS) {
			if r.IsReply() {
				seen[r.Text]++
			}
		}
		for text, count := range seen {
			if count > 1 {
				t.Errorf("request %d: %q posted %d times", i, text, count)
			}
		}
	}
}

// burstTrouble cuts the Slack socket every 5 s and answers the next requests 429 now and then
// (10% of requests overall, in bursts), until ctx ends.
func burstTrouble(ctx context.Context, w *world) {
	cut := time.NewTicker(5 * time.Second)
	defer cut.Stop()
	limit := time.NewTicker(2 * time.Second)
	defer limit.Stop()
	var cuts atomic.Int64
	for {
		select {
		case <-ctx.Done():
			return
		case <-cut.C:
			w.slack.CutConnections()
			cuts.Add(1)
		case <-limit.C:
			w.owl.SetFault("", owltest.Fault{ServerErrorRate: 0.30, RateLimits: 1, RetryAfter: time.Second})
		}
	}
}

func hasRevocation(f *owltest.Fake, accessStateID string) bool {
	for _, r := range f.Revocations() {
		if r.AccessStateID == accessStateID {
			return true
		}
	}
	return false
}

// revocationsOf returns AccessOwl's revocations of an access state.
func (w *world) revocationsOf(accessStateID string) []owltest.Revocation {
	var out []owltest.Revocation
	for _, r := range w.owl.Revocations() {
		if r.AccessStateID == accessStateID {
			out = append(out, r)
		}
	}
	return out
}

// longCtx is a context that ends after d, for waits longer than the world's usual patience.
func (w *world) longCtx(d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(w.t.Context(), d)
	w.t.Cleanup(cancel)
	return ctx
}
