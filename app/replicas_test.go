package app

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"revokebot/apiclient/owltest"
	"revokebot/sandbox/fakeslack"
	"revokebot/store/postgres/pgtest"
)

// sharedWorld is a world whose bots share one PostgreSQL database of the test's own.
func sharedWorld(t *testing.T) (*world, string) {
	t.Helper()
	url := pgtest.NewDatabase(t)
	w := newWorld(t)
	w.cfg.DatabaseURL = url
	return w, url
}

// requestStates asks, as the requester, to revoke each state and returns the approval messages.
func (w *world) requestStates(states []owltest.AccessState, tag string) []fakeslack.Message {
	w.t.Helper()
	var messages []fakeslack.Message
	for i, s := range states {
		w.revoke(w.requester, fmt.Sprintf("%s %s %d", s.ID, tag, i))
		m, err := w.slack.WaitMessage(w.ctx(), w.channel, func(m fakeslack.Message) bool {
			return !m.IsReply() && strings.Contains(blocksText(m), fmt.Sprintf("%s %d", tag, i))
		})
		if err != nil {
			w.t.Fatalf("request %d not posted: %v\n%s", i, err, w.logs)
		}
		messages = append(messages, m)
	}
	return messages
}

// TestReplicasBehaveAsOneBot runs two bots on one database, with Slack spreading envelopes over
// their connections: a slash command delivered to both posts one approval message, Approve
// clicked by two approvers at once (and one click delivered to both) revokes once, and Approve
// racing Reject never does both.
func TestReplicasBehaveAsOneBot(t *testing.T) {
	const requests = 20
	w, _ := sharedWorld(t)
	w.start()
	w.start()

	github, _ := w.owl.ApplicationByTitle(owltest.SeedAutomaticApp)
	grantee := w.owlUser("lena.vogel@" + owltest.SeedDomain)
	var states []owltest.AccessState
	for range requests {
		states = append(states, w.owl.AddAccessState(owltest.AccessState{ApplicationID: github.ID, GranteeUserID: grantee.ID}))
	}

	// The first request's command reaches both replicas.
	ack := w.revoke(w.requester, states[0].ID+" redelivered 0")
	if err := w.slack.DeliverOnEveryConnection(ack.EnvelopeID); err != nil {
		t.Fatal(err)
	}
	first := w.approvalMessage(grantee.FullName)
	messages := append([]fakeslack.Message{first}, w.requestStates(states[1:], "raced")...)
	if n := countApprovalMessages(w); n != requests {
		t.Errorf("%d approval messages for %d requests:\n%s", n, requests, w.dump())
	}

	// Every fourth request has Approve racing Reject; the others two Approves.
	var wg sync.WaitGroup
	for i, m := range messages {
		second := "Approve"
		if i%4 == 3 {
			second = "Reject"
		}
		wg.Go(func() { w.click(w.approver, m, "Approve") })
		wg.Go(func() { w.click(w.member, m, second) })
	}
	wg.Wait()
	// One click more reaches both replicas: it is handled once.
	ack = w.click(w.approver, messages[0], "Approve")
	if err := w.slack.DeliverOnEveryConnection(ack.EnvelopeID); err != nil {
		t.Fatal(err)
	}

	revokedStates := map[string]int{}
	for _, rev := range w.owl.Revocations() {
		revokedStates[rev.AccessStateID]++
	}
	revoked := 0
	for i, m := range messages {
		final := w.parent(m, "showed its decision", func(m fakeslack.Message) bool { return !hasButtons(m) })
		if strings.Contains(final.Text, ":x: Rejected by") {
			if i%4 != 3 {
				t.Errorf("request %d rejected with no Reject clicked", i)
			}
			if n := revokedStates[states[i].ID]; n != 0 {
				t.Errorf("request %d both rejected and revoked (%d revocations)", i, n)
			}
			continue
		}
		w.reply(m, "*revoked*")
		assertRepliesOnce(t, w, m, "revoked")
		if n := countReplies(w, m, "processing_access"); n > 1 {
			t.Errorf("request %d: %d replies announce processing_access, want at most 1", i, n)
		}
		revoked++
	}
	for i, s := range states {
		if n := revokedStates[s.ID]; n > 1 {
			t.Errorf("request %d's access revoked %d times, want at most once", i, n)
		}
	}
	created := w.owl.Stats().RevocationsCreated
	if created != revoked {
		t.Errorf("%d revocations created for %d approved requests", created, revoked)
	}
	t.Logf("%d requests over two replicas: %d approved, %d rejected, %d POSTs for %d revocations",
		requests, revoked, requests-revoked, len(w.posts()), created)
}

// leaseHolder returns the replica holding the background lease, or "" when none does.
func leaseHolder(t *testing.T, url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var holder string
	err = conn.QueryRow(ctx, `SELECT holder FROM leases WHERE name = $1 AND expires_at > now()`, leaseName).Scan(&holder)
	if err != nil && err != pgx.ErrNoRows {
		t.Fatal(err)
	}
	return holder
}

// waitLeaseHolder waits until the lease is held by a replica for which ok is true.
func waitLeaseHolder(t *testing.T, url string, ok func(string) bool) string {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		if h := leaseHolder(t, url); ok(h) {
			return h
		}
		if time.Now().After(deadline) {
			t.Fatalf("the lease never moved as expected; it is held by %q", leaseHolder(t, url))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestTheSurvivorTakesOverWhenTheLeaderIsKilled SIGKILLs the replica that tracks 20 revocations
// in flight; they finish meanwhile, and the other replica takes the lease over and posts exactly
// one final reply for each.
func TestTheSurvivorTakesOverWhenTheLeaderIsKilled(t *testing.T) {
	const inFlight = 20
	w, url := sharedWorld(t)
	t.Cleanup(func() {
		if t.Failed() {
			_ = os.WriteFile(os.TempDir()+"/revokebot-takeover.log", w.logs.Bytes(), 0o600)
		}
	})
	aws, _ := w.owl.ApplicationByTitle(owltest.SeedAdminApp) // admin-provisioned: stays processing
	grantee := w.owlUser("lena.vogel@" + owltest.SeedDomain)
	var states []owltest.AccessState
	for range inFlight {
		states = append(states, w.owl.AddAccessState(owltest.AccessState{ApplicationID: aws.ID, GranteeUserID: grantee.ID}))
	}

	leader := w.startProcess("DATABASE_URL=" + url)
	killed := waitLeaseHolder(t, url, func(h string) bool { return h != "" })
	w.start()

	messages := w.requestStates(states, "Offboarding, account")
	for _, m := range messages {
		w.click(w.approver, m, "Approve")
	}
	for _, m := range messages {
		w.reply(m, "processing_access")
	}

	if err := leader.Process.Kill(); err != nil { // SIGKILL: no shutdown, the lease not given up
		t.Fatal(err)
	}
	_ = leader.Wait()
	killedAt := time.Now()
	for _, rev := range w.owl.Revocations() {
		if rev.ApplicationID == aws.ID && rev.Status == owltest.Processing {
			if _, err := w.owl.Revoke(rev.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitLeaseHolder(t, url, func(h string) bool { return h != "" && h != killed })
	takeover := time.Since(killedAt)
	for deadline := time.Now().Add(waitTimeout); !anyReply(w, messages, "revoked"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no final reply after the leader died\n%s", w.logs)
		}
	}
	firstReply := time.Since(killedAt)
	for _, m := range messages {
		w.reply(m, "*revoked*")
	}
	finished := time.Since(killedAt)
	t.Logf("leader killed: lease taken over after %s, first final reply after %s, all %d after %s (Slack paces a channel's posts at about one a second)",
		takeover.Round(10*time.Millisecond), firstReply.Round(10*time.Millisecond), inFlight, finished.Round(10*time.Millisecond))
	// The design's bound is leaseTTL + beatInterval (12 s) plus REVOKE_STATUS_POLL; the
	// deadline here is generous for a loaded machine.
	if limit := 15*time.Second + w.cfg.StatusPoll + 10*time.Second; firstReply > limit {
		t.Errorf("the first final reply came %s after the leader died, want within %s", firstReply, limit)
	}
	for _, m := range messages {
		assertRepliesOnce(t, w, m, "processing_access", "revoked")
	}
	if got := w.owl.Stats().RevocationsCreated; got != inFlight {
		t.Errorf("%d revocations created, want %d", got, inFlight)
	}
}

// anyReply reports whether a thread under one of messages has a reply announcing status.
func anyReply(w *world, messages []fakeslack.Message, status string) bool {
	for _, m := range messages {
		if countReplies(w, m, status) > 0 {
			return true
		}
	}
	return false
}

// TestARollingRestartOfThreeReplicasLosesNothing restarts three replicas one at a time, as a
// Deployment's rolling update does, while requests are made and approved: every request is
// posted once, revoked once and announced once.
func TestARollingRestartOfThreeReplicasLosesNothing(t *testing.T) {
	const perRound, rounds = 4, 3
	w, url := sharedWorld(t)
	replicas := []*instance{w.start(), w.start(), w.start()}
	github, _ := w.owl.ApplicationByTitle(owltest.SeedAutomaticApp)
	grantee := w.owlUser("lena.vogel@" + owltest.SeedDomain)

	var messages []fakeslack.Message
	for round := range rounds {
		var states []owltest.AccessState
		for range perRound {
			states = append(states, w.owl.AddAccessState(owltest.AccessState{ApplicationID: github.ID, GranteeUserID: grantee.ID}))
		}
		batch := w.requestStates(states, fmt.Sprintf("rolling %d,", round))
		for _, m := range batch {
			w.click(w.approver, m, "Approve")
		}
		messages = append(messages, batch...)
		// The oldest replica goes while these are being submitted and tracked; a new one
		// replaces it.
		if took, err := replicas[round].stop(); err != nil {
			t.Fatalf("stopping replica %d after %s: %v", round, took, err)
		}
		replicas[round] = w.start()
	}
	for _, m := range messages {
		w.reply(m, "*revoked*")
	}
	for _, m := range messages {
		assertRepliesOnce(t, w, m, "revoked")
		if n := countReplies(w, m, "processing_access"); n > 1 {
			t.Errorf("%d replies announce processing_access, want at most 1:\n%s", n, w.thread(m))
		}
	}
	if n := countApprovalMessages(w); n != perRound*rounds {
		t.Errorf("%d approval messages, want %d", n, perRound*rounds)
	}
	if got := w.owl.Stats().RevocationsCreated; got != perRound*rounds {
		t.Errorf("%d revocations created, want %d", got, perRound*rounds)
	}
	if leaseHolder(t, url) == "" {
		t.Error("no replica holds the background lease after the restart")
	}
}

// TestReplicasShareOneHourOfAccessOwlBudget has two replicas answer far more /revoke status
// lookups than ACCESSOWL_RATE_LIMIT allows in an hour, spread over their connections: together
// they send AccessOwl no more than the limit, and AccessOwl never has to refuse one.
func TestReplicasShareOneHourOfAccessOwlBudget(t *testing.T) {
	const perHour, lookups = 40, 100
	w, _ := sharedWorld(t)
	owl := owltest.NewServer(owltest.WithRateLimit(perHour))
	t.Cleanup(owl.Close)
	w.owl, w.cfg.AccessOwlURL, w.cfg.AccessOwlRate = owl, owl.URL, perHour
	w.start()
	w.start()

	users := []string{w.requester, w.approver, w.member, w.outsider}
	var wg sync.WaitGroup
	for i := range lookups {
		wg.Go(func() {
			user := users[i%len(users)]
			if _, err := w.slack.RunSlashCommand(w.ctx(), user, w.channel, "/revoke", fmt.Sprintf("status 5b0c3d1e-0000-4000-8000-%012d", i)); err != nil {
				t.Errorf("/revoke status: %v", err)
			}
		})
	}
	wg.Wait()
	// Every lookup is answered, by AccessOwl or by "try again later".
	for _, u := range users {
		want := lookups / len(users)
		deadline := time.Now().Add(waitTimeout)
		for len(w.slack.Ephemerals(u)) < want && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
	}
	stats := owl.Stats()
	t.Logf("%d lookups over two replicas: AccessOwl received %d requests (limit %d an hour), refused %d", lookups, stats.Requests, perHour, stats.RateLimited)
	if stats.Requests > perHour {
		t.Errorf("AccessOwl received %d requests within the hour, more than ACCESSOWL_RATE_LIMIT=%d", stats.Requests, perHour)
	}
	if stats.RateLimited > 0 {
		t.Errorf("AccessOwl refused %d requests with 429: the replicas overspent their budget", stats.RateLimited)
	}
}

// TestTheSurvivorTakesOverWhenTheLeaderIsStopped cancels the context of the replica that leads
// while ten revocations it tracks are processing: it gives the lease up as it stops, and the
// other replica takes over at its next beat and posts each final reply once.
func TestTheSurvivorTakesOverWhenTheLeaderIsStopped(t *testing.T) {
	const inFlight = 10
	w, url := sharedWorld(t)
	aws, _ := w.owl.ApplicationByTitle(owltest.SeedAdminApp) // admin-provisioned: stays processing
	grantee := w.owlUser("lena.vogel@" + owltest.SeedDomain)
	var states []owltest.AccessState
	for range inFlight {
		states = append(states, w.owl.AddAccessState(owltest.AccessState{ApplicationID: aws.ID, GranteeUserID: grantee.ID}))
	}
	leader := w.start()
	first := waitLeaseHolder(t, url, func(h string) bool { return h != "" })
	w.start()

	messages := w.requestStates(states, "Stopped, account")
	for _, m := range messages {
		w.click(w.approver, m, "Approve")
	}
	for _, m := range messages {
		w.reply(m, "processing_access")
	}
	if _, err := leader.stop(); err != nil {
		t.Fatal(err)
	}
	stoppedAt := time.Now()
	waitLeaseHolder(t, url, func(h string) bool { return h != "" && h != first })
	t.Logf("leader stopped: lease taken over after %s", time.Since(stoppedAt).Round(10*time.Millisecond))
	for _, rev := range w.owl.Revocations() {
		if rev.ApplicationID == aws.ID && rev.Status == owltest.Processing {
			if _, err := w.owl.Revoke(rev.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, m := range messages {
		w.reply(m, "*revoked*")
	}
	for _, m := range messages {
		assertRepliesOnce(t, w, m, "processing_access", "revoked")
	}
	if got := w.owl.Stats().RevocationsCreated; got != inFlight {
		t.Errorf("%d revocations created, want %d", got, inFlight)
	}
}
