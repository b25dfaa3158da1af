package app

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"revokebot/apiclient/owltest"
	"revokebot/revoke"
	"revokebot/store"
	"revokebot/store/postgres"
	"revokebot/store/postgres/pgtest"
	"revokebot/store/sqlite"
	"revokebot/store/storetest"
)

// TestMigrateStoreCopiesEverythingOnce copies a store of 1,000 tracked revocations, each with
// its approval message and status reply posted and its audit trail, and checks that the copy
// holds the same, that a second copy is refused, and that a forced one adds nothing.
func TestMigrateStoreCopiesEverythingOnce(t *testing.T) {
	const n = 1000
	dir := t.TempDir()
	src, err := sqlite.Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	mustDo := func(ok bool, err error) {
		t.Helper()
		if err != nil || !ok {
			t.Fatalf("= %v, %v; want true", ok, err)
		}
	}
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for i := range n {
		r := storetest.NewRequest(i)
		r.MessageTS = fmt.Sprintf("1700000000.%06d", i)
		mustDo(src.CreateRequest(ctx, r))
		_, _, err := src.Decide(ctx, r.ID, store.Decision{State: store.Approved, By: "U0APPROVER", At: at})
		mustOK(t, err)
		mustOK(t, src.SetRevocation(ctx, r.ID, r.Items[0].AccessStateID, fmt.Sprint("rev-", i), at.Add(time.Minute)))
		mustOK(t, src.UpdateTracked(ctx, store.Tracked{RevocationID: fmt.Sprint("rev-", i), Status: "processing_access", NextCheck: at.Add(time.Minute), UpdatedAt: at}))
		for _, key := range []string{revoke.Event{Kind: revoke.RequestPosted}.Key(), fmt.Sprintf("status/rev-%d/processing_access", i)} {
			mustDo(src.ClaimPost(ctx, store.Post{RequestID: r.ID, Key: key, ClaimedAt: at, Claimer: "old"}))
			mustOK(t, src.MarkPosted(ctx, r.ID, key, "1700000001.000001"))
		}
		for _, action := range []store.Action{store.ActionRequest, store.ActionApprove, store.ActionSubmit} {
			mustOK(t, src.Audit(ctx, store.AuditRecord{At: at, RequestID: r.ID, Actor: "U0APPROVER", Action: action, Outcome: store.OutcomeOK}))
		}
	}
	want, err := src.Count(ctx)
	mustOK(t, err)
	wantTracking, err := src.Tracking(ctx)
	mustOK(t, err)
	sample, err := src.Request(ctx, storetest.NewRequest(n/2).ID)
	mustOK(t, err)
	src.Close()

	url := pgtest.NewDatabase(t)
	began := time.Now()
	var out strings.Builder
	if err := MigrateStore(ctx, dir, url, false, &out); err != nil {
		t.Fatal(err)
	}
	t.Logf("copied %d requests, %d replies and %d audit records in %s:\n%s", want.Requests, want.Posts, want.Audit, time.Since(began).Round(time.Millisecond), out.String())

	dst, err := postgres.Open(ctx, url)
	mustOK(t, err)
	defer dst.Close()
	check := func(when string) {
		t.Helper()
		got, err := dst.Count(ctx)
		mustOK(t, err)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: counts differ (-sqlite +postgres):\n%s", when, diff)
		}
	}
	check("after the copy")
	gotTracking, err := dst.Tracking(ctx)
	mustOK(t, err)
	if diff := cmp.Diff(wantTracking, gotTracking); diff != "" {
		t.Errorf("tracked revocations differ (-sqlite +postgres):\n%s", diff)
	}
	gotSample, err := dst.Request(ctx, sample.ID)
	mustOK(t, err)
	if diff := cmp.Diff(sample, gotSample); diff != "" {
		t.Errorf("a request differs (-sqlite +postgres):\n%s", diff)
	}
	if unposted, err := dst.UnpostedPosts(ctx); err != nil || len(unposted) != 0 {
		t.Errorf("UnpostedPosts after the copy = %d, %v; want none: every reply was posted", len(unposted), err)
	}

	if err := MigrateStore(ctx, dir, url, false, io.Discard); !errors.Is(err, ErrTargetNotEmpty) {
		t.Errorf("a second copy: %v, want ErrTargetNotEmpty", err)
	}
	out.Reset()
	if err := MigrateStore(ctx, dir, url, true, &out); err != nil {
		t.Fatal(err)
	}
	if strings.Count(out.String(), " 0 new") != 5 { // requests, items, posts, asks, audit
		t.Errorf("a forced second copy added rows:\n%s", out.String())
	}
	check("after a forced second copy")
}

// TestThreadsContinueAfterMigratingToPostgres runs the bot on SQLite until ten revocations are
// processing, copies its store into PostgreSQL, and has two replicas on it finish them: each
// thread gets its final reply once and no reply it had is posted again.
func TestThreadsContinueAfterMigratingToPostgres(t *testing.T) {
	const inFlight = 10
	w := newWorld(t)
	url := pgtest.NewDatabase(t)
	aws, _ := w.owl.ApplicationByTitle(owltest.SeedAdminApp) // admin-provisioned: stays processing
	grantee := w.owlUser("lena.vogel@" + owltest.SeedDomain)
	var states []owltest.AccessState
	for range inFlight {
		states = append(states, w.owl.AddAccessState(owltest.AccessState{ApplicationID: aws.ID, GranteeUserID: grantee.ID}))
	}
	single := w.start()
	messages := w.requestStates(states, "Moving, account")
	for _, m := range messages {
		w.click(w.approver, m, "Approve")
	}
	for _, m := range messages {
		w.reply(m, "processing_access")
	}
	if _, err := single.stop(); err != nil {
		t.Fatal(err)
	}
	if err := MigrateStore(t.Context(), w.cfg.DataDir, url, false, io.Discard); err != nil {
		t.Fatal(err)
	}

	w.cfg.DatabaseURL = url
	w.cfg.DataDir = t.TempDir() // nothing of the old store is left to the replicas
	w.start()
	w.start()
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
	if n := countApprovalMessages(w); n != inFlight {
		t.Errorf("%d approval messages, want %d: none posted again", n, inFlight)
	}
	if got := w.owl.Stats().RevocationsCreated; got != inFlight {
		t.Errorf("%d revocations created, want %d", got, inFlight)
	}
}

func mustOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
