package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"revokebot/store"
)

func testClaimPostOnce(t *testing.T, s store.Store) {
	r, other := NewRequest(1), NewRequest(2)
	mustCreate(t, s, r)
	mustCreate(t, s, other)
	p := store.Post{RequestID: r.ID, Key: "status/rev-1/revoked", ClaimedAt: t0}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		claims int
	)
	for range 10 {
		wg.Go(func() {
			claimed, err := s.ClaimPost(t.Context(), p)
			if err != nil {
				t.Errorf("ClaimPost: %v", err)
			}
			if claimed {
				mu.Lock()
				claims++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if claims != 1 {
		t.Fatalf("%d of 10 concurrent claims won, want 1", claims)
	}
	for _, q := range []store.Post{
		{RequestID: r.ID, Key: "status/rev-1/rejected", ClaimedAt: t0},
		{RequestID: other.ID, Key: p.Key, ClaimedAt: t0},
	} {
		if claimed, err := s.ClaimPost(t.Context(), q); err != nil || !claimed {
			t.Errorf("claiming %s of %s = %v, %v; want claimed", q.Key, q.RequestID, claimed, err)
		}
	}
}

func testUnpostedPosts(t *testing.T, s store.Store) {
	r := NewRequest(1)
	mustCreate(t, s, r)
	first := store.Post{RequestID: r.ID, Key: "status/rev-1/processing_access", ClaimedAt: t0, Claimer: "process-a"}
	second := store.Post{RequestID: r.ID, Key: "status/rev-1/revoked", ClaimedAt: t0.Add(time.Minute)}
	for _, p := range []store.Post{second, first} {
		if _, err := s.ClaimPost(t.Context(), p); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.UnpostedPosts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]store.Post{first, second}, got); diff != "" {
		t.Errorf("UnpostedPosts, oldest first (-want +got):\n%s", diff)
	}
	if err := s.MarkPosted(t.Context(), r.ID, first.Key, "1.000200"); err != nil {
		t.Fatal(err)
	}
	got, err = s.UnpostedPosts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]store.Post{second}, got); diff != "" {
		t.Errorf("UnpostedPosts after posting the first (-want +got):\n%s", diff)
	}
}

func testPostByKey(t *testing.T, s store.Store) {
	r := NewRequest(1)
	mustCreate(t, s, r)
	if _, err := s.Post(t.Context(), r.ID, "progress"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Post before a claim: %v, want ErrNotFound", err)
	}
	claim := store.Post{RequestID: r.ID, Key: "progress", ClaimedAt: t0, Claimer: "replica-1"}
	if claimed, err := s.ClaimPost(t.Context(), claim); err != nil || !claimed {
		t.Fatalf("ClaimPost = %v, %v", claimed, err)
	}
	got, err := s.Post(t.Context(), r.ID, "progress")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(claim, got); diff != "" {
		t.Errorf("Post of an unposted claim (-want +got):\n%s", diff)
	}
	if err := s.MarkPosted(t.Context(), r.ID, "progress", "1700000000.000200"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Post(t.Context(), r.ID, "progress"); err != nil || got.PostedTS != "1700000000.000200" {
		t.Errorf("Post once posted = %+v, %v; want its ts", got, err)
	}
	if _, err := s.Post(t.Context(), r.ID, "final"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Post of another key: %v, want ErrNotFound", err)
	}
}

func testAuditTrail(t *testing.T, s store.Store) {
	a, b := NewRequest(1), NewRequest(2)
	records := []store.AuditRecord{
		{At: t0, RequestID: a.ID, Actor: "U0REQUEST", Action: store.ActionRequest, Outcome: store.OutcomeCreated},
		{At: t0.Add(time.Second), RequestID: b.ID, Actor: "U0REQUEST", Action: store.ActionRequest, Outcome: store.OutcomeCreated},
		{At: t0.Add(time.Minute), RequestID: a.ID, Actor: "U0APPROVER", Action: store.ActionApprove, Outcome: store.OutcomeApproved, Detail: "first click"},
		{At: t0.Add(time.Minute), RequestID: a.ID, Actor: store.BotActor, Action: store.ActionSubmit, Outcome: store.OutcomeCreated, Detail: "rev-1"},
	}
	for _, rec := range records {
		if err := s.Audit(t.Context(), rec); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.AuditTrail(t.Context(), a.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.AuditRecord{records[0], records[2], records[3]}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("AuditTrail (-want +got):\n%s", diff)
	}
}

func testPing(t *testing.T, s store.Store) {
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}
}
