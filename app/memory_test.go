package app

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"revokebot/apiclient/owltest"
	"revokebot/store"
	"revokebot/store/sqlite"
)

// memoryEnv turns TestMemoryWithThousandTracked from a skip into the measurement described in
// the README, under "Performance and reliability".
const memoryEnv = "REVOKEBOT_MEMORY"

// TestMemoryWithThousandTracked measures the bot's resident memory with REVOKEBOT_MEMORY_TRACKED
// (default 1,000) revocations in flight. The store and AccessOwl are seeded as if they had all
// been approved and submitted (admin-provisioned, so they stay processing), then the bot runs
// as its own process — the test binary re-run, as in TestSurvivesSIGKILL, or the program named
// by REVOKEBOT_BOT_BINARY — so that its memory is not mixed with the fakes'. Once it has swept
// the whole list several times, its VmRSS, VmHWM, RssFile and RssAnon are read from
// /proc/<pid>/status.
func TestMemoryWithThousandTracked(t *testing.T) {
	if os.Getenv(memoryEnv) == "" {
		t.Skip("a measurement: set " + memoryEnv + "=1 (see README.md, \"Resident memory with 1,000 tracked revocations\")")
	}
	n := envInt(t, "REVOKEBOT_MEMORY_TRACKED", 1000)
	const sweeps = 5
	w := newWorld(t)
	aws, _ := w.owl.ApplicationByTitle(owltest.SeedAdminApp)
	grantee := w.owlUser("lena.vogel@" + owltest.SeedDomain)

	st, err := sqlite.Open(t.Context(), w.cfg.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	for i := range n {
		s := w.owl.AddAccessState(owltest.AccessState{ApplicationID: aws.ID, GranteeUserID: grantee.ID})
		r := store.Request{
			ID: uuid.New(), RequesterID: w.requester, Grantee: store.Person{AccessOwlID: grantee.ID, Name: grantee.FullName},
			Items:  []store.Item{{AccessStateID: s.ID, ApplicationID: aws.ID, ApplicationTitle: aws.Title}},
			Reason: fmt.Sprintf("memory %d", i), Channel: w.channel, MessageTS: fmt.Sprintf("%d.%06d", now.Unix(), i), CreatedAt: now,
		}
		rev, err := w.owl.CreateRevocation(s.ID, r.Reason)
		if err != nil {
			t.Fatal(err)
		}
		steps := []error{}
		_, err = st.CreateRequest(t.Context(), r)
		steps = append(steps, err)
		_, _, err = st.Decide(t.Context(), r.ID, store.Decision{State: store.Approved, By: w.approver, At: now})
		steps = append(steps, err)
		_, err = st.MarkSubmitting(t.Context(), r.ID, s.ID, now)
		steps = append(steps, err)
		steps = append(steps, st.SetRevocation(t.Context(), r.ID, s.ID, rev.ID, now))
		steps = append(steps, st.UpdateTracked(t.Context(), store.Tracked{RevocationID: rev.ID, Status: store.Status(rev.Status), NextCheck: now, UpdatedAt: now}))
		for _, err := range steps {
			if err != nil {
				t.Fatalf("seed tracked revocation %d: %v", i, err)
			}
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	pages := (n + 99) / 100
	lists := func() int {
		c := 0
		for _, call := range w.owl.Calls() {
			if call.Method == "GET" && call.Path == "/api/v1/access_revocations" && call.Status == 200 {
				c++
			}
		}
		return c
	}
	child := w.startProcess("LOG_LEVEL=info")
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	if err := w.owl.Await(ctx, func(*owltest.Fake) bool { return lists() >= sweeps*pages }); err != nil {
		t.Fatalf("the bot swept the %d tracked revocations fewer than %d times in 2 minutes (%d list pages): %v\n%s", n, sweeps, lists(), err, w.logs)
	}
	m, ok := readMemStatus(child.Process.Pid)
	if !ok {
		t.Fatalf("the bot process is gone\n%s", w.logs)
	}
	fmt.Printf("memory: tracked=%d list_pages_read=%d bot_vmrss_mb=%.1f bot_vmhwm_mb=%.1f bot_rssfile_mb=%.1f bot_rssanon_mb=%.1f\n",
		n, lists(), m.rss, m.hwm, m.file, m.anon)
	if err := child.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := child.Wait(); err != nil {
		t.Errorf("after SIGTERM the bot exited with %v\n%s", err, w.logs)
	}
}
