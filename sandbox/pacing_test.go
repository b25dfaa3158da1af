package sandbox

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"revokebot/apiclient/owltest"
	"revokebot/sandbox/fakeslack"
)

// statusOf is the AccessOwl status a bot reply announces, from its metadata.
func statusOf(m fakeslack.Message) string {
	var md struct {
		Payload struct {
			Status string `json:"status"`
		} `json:"event_payload"`
	}
	_ = json.Unmarshal(m.Metadata, &md)
	return md.Payload.Status
}

// TestAnAdminsClickInThePanelReachesTheThreadWithinSeconds approves three admin-provisioned
// revocations, lets them wait past the tracker's fast checks, where its backoff used to space
// checks half a minute apart, then marks each revoked in the panel and measures how long its
// thread takes to say so.
func TestAnAdminsClickInThePanelReachesTheThreadWithinSeconds(t *testing.T) {
	s := startSandbox(t)
	requester, approver := s.World.Requester, s.World.Approvers[0]
	states := []owltest.AccessState{
		activeState(t, s.Owl, approver2Email, "Notion"),
		activeState(t, s.Owl, approver2Email, "Figma"),
		activeState(t, s.Owl, owltest.SeedManyGrantsEmail, owltest.SeedAdminApp),
	}
	var threads []string
	for _, st := range states {
		var seen []string
		for _, m := range s.Slack.Messages(s.World.Channel) {
			seen = append(seen, m.TS)
		}
		if _, err := s.Slack.RunSlashCommand(waitCtx(t), requester, s.World.Channel, "/revoke", st.ID+" Moved teams"); err != nil {
			t.Fatal(err)
		}
		m, err := s.Slack.WaitMessage(waitCtx(t), s.World.Channel, func(m fakeslack.Message) bool {
			// The predicate runs under the workspace's lock: it reads nothing else of it.
			return !m.IsReply() && strings.Contains(m.Text, "Access revocation request") && !slices.Contains(seen, m.TS)
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Slack.ClickButton(waitCtx(t), approver, s.World.Channel, m.TS, "revokebot_approve"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Slack.WaitReply(waitCtx(t), s.World.Channel, m.TS, func(r fakeslack.Message) bool { return statusOf(r) == "processing_access" }); err != nil {
			t.Fatalf("no processing reply: %v", err)
		}
		threads = append(threads, m.TS)
	}

	// Wait, by AccessOwl's own count, for a dozen status checks: past the eight fast ones.
	lists := func(f *owltest.Fake) int {
		n := 0
		for _, c := range f.Calls() {
			if c.Method == "GET" && strings.HasPrefix(c.Path, "/api/v1/access_revocations") {
				n++
			}
		}
		return n
	}
	start := lists(s.Owl)
	ctx, cancel := context.WithTimeout(t.Context(), 2*waitTimeout)
	defer cancel()
	if err := s.Owl.Await(ctx, func(f *owltest.Fake) bool { return lists(f) >= start+12 }); err != nil {
		t.Fatalf("AccessOwl saw %d status checks, want 12 within %s: the checks have slowed down", lists(s.Owl)-start, 2*waitTimeout)
	}

	var took []time.Duration
	for i, st := range states {
		rev := revocationsOf(s.Owl, st.ID)
		if len(rev) != 1 {
			t.Fatalf("%d revocations of %s", len(rev), st.ID)
		}
		clicked := time.Now()
		call(t, "POST", s.URL+"sandbox/owl/revoke", map[string]string{"id": rev[0].ID}, nil, nil)
		if _, err := s.Slack.WaitReply(waitCtx(t), s.World.Channel, threads[i], func(r fakeslack.Message) bool { return statusOf(r) == "revoked" }); err != nil {
			t.Fatalf("no revoked reply: %v", err)
		}
		took = append(took, time.Since(clicked))
	}
	slices.Sort(took)
	t.Logf("Mark revoked → thread reply: median %s, max %s (of %d)", took[len(took)/2].Round(time.Millisecond), took[len(took)-1].Round(time.Millisecond), len(took))
}
