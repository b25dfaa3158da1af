// Package storetest checks a store.Store implementation against the rules the bot relies on:
// idempotent creation, decisions as a compare-and-set that concurrent callers cannot both win,
// expiry of only what is still pending, and statuses claimed at most once. Every implementation
// runs Run from its own tests.
package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"revokebot/store"
)

// t0 is a fixed moment at microsecond precision, which every implementation can keep exactly.
var t0 = time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC)

// Run runs the conformance tests against stores made by open, each test with a fresh, empty one.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(*testing.T, store.Store)
	}{
		{"creating a request twice keeps the first", testCreateIsIdempotent},
		{"an unknown request is not found", testUnknownRequest},
		{"the first decision wins and later ones see it", testFirstDecisionWins},
		{"a decision creates a request missing from the store", testDecideCreatesMissing},
		{"racing decisions: exactly one wins", testRacingDecisions},
		{"only a decision can be recorded", testDecideRejectsNonDecision},
		{"expiry takes only pending requests older than the cutoff", testExpiry},
		{"an expired request cannot be decided", testExpiredCannotBeDecided},
		{"submission keeps the earliest attempt", testMarkSubmittingKeepsEarliest},
		{"a request is found by its revocation", testRequestByRevocation},
		{"setting the message of an unknown request fails", testSetMessageUnknown},
		{"approved requests with neither revocation nor refusal are unsubmitted", testUnsubmitted},
		{"tracking is idempotent and final ones drop out", testTracking},
		{"a status is claimed once", testClaimStatusOnce},
		{"a claimed status stays unposted until marked", testUnpostedStatuses},
		{"the audit trail keeps order and request", testAuditTrail},
		{"ping answers", testPing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { s.Close() })
			tt.fn(t, s)
		})
	}
}

// NewRequest returns a pending request with every field set, as the bot would create it.
func NewRequest(n int) store.Request {
	return store.Request{
		ID:          uuid.NewSHA1(uuid.NameSpaceOID, fmt.Appendf(nil, "request-%d", n)),
		RequesterID: "U0REQUEST",
		Grantee: store.Person{
			AccessOwlID: "5b0c3d1e-0000-4000-8000-000000000001",
			SlackID:     "U0GRANTEE",
			Name:        "Alex Doe",
			Email:       "alex@example.com",
		},
		AccessStateID:    fmt.Sprintf("9a1e0000-0000-4000-8000-%012d", n),
		ApplicationID:    "a0000000-0000-4000-8000-000000000001",
		ApplicationTitle: "GitHub",
		ProvisioningType: "automatic",
		ResourceID:       "r0000000-0000-4000-8000-000000000001",
		ResourceTitle:    "acme/infra",
		Permissions:      []string{"admin", "write"},
		Reason:           "left the company — see ticket #42",
		Channel:          "C0REVOKE",
		CreatedAt:        t0.Add(time.Duration(n) * time.Minute),
		State:            store.Pending,
	}
}

func mustCreate(t *testing.T, s store.Store, r store.Request) {
	t.Helper()
	created, err := s.CreateRequest(t.Context(), r)
	if err != nil || !created {
		t.Fatalf("CreateRequest(%s) = %v, %v; want created", r.ID, created, err)
	}
}

func mustGet(t *testing.T, s store.Store, id uuid.UUID) store.Request {
	t.Helper()
	r, err := s.Request(t.Context(), id)
	if err != nil {
		t.Fatalf("Request(%s): %v", id, err)
	}
	return r
}

func testCreateIsIdempotent(t *testing.T, s store.Store) {
	r := NewRequest(1)
	mustCreate(t, s, r)
	again := r
	again.Reason = "a different reason"
	created, err := s.CreateRequest(t.Context(), again)
	if err != nil || created {
		t.Fatalf("second CreateRequest = %v, %v; want not created", created, err)
	}
	if diff := cmp.Diff(r, mustGet(t, s, r.ID)); diff != "" {
		t.Errorf("stored request (-want +got):\n%s", diff)
	}
}

func testUnknownRequest(t *testing.T, s store.Store) {
	if _, err := s.Request(t.Context(), uuid.New()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Request(unknown) error = %v, want ErrNotFound", err)
	}
	if _, err := s.RequestByRevocation(t.Context(), "no-such-revocation"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RequestByRevocation(unknown) error = %v, want ErrNotFound", err)
	}
}

func testFirstDecisionWins(t *testing.T, s store.Store) {
	r := NewRequest(1)
	mustCreate(t, s, r)
	approve := store.Decision{State: store.Approved, By: "U0APPROVER", At: t0.Add(time.Hour)}
	stored, decided, err := s.Decide(t.Context(), r, approve)
	if err != nil || !decided {
		t.Fatalf("first Decide = %v, %v; want decided", decided, err)
	}
	want := r
	want.State, want.DecidedBy, want.DecidedAt = store.Approved, approve.By, approve.At
	if diff := cmp.Diff(want, stored); diff != "" {
		t.Errorf("decided request (-want +got):\n%s", diff)
	}
	for _, later := range []store.Decision{
		{State: store.Rejected, By: "U0OTHER", At: t0.Add(2 * time.Hour)},
		{State: store.Approved, By: "U0OTHER", At: t0.Add(2 * time.Hour)},
	} {
		stored, decided, err := s.Decide(t.Context(), r, later)
		if err != nil || decided {
			t.Fatalf("later Decide(%s) = %v, %v; want not decided", later.State, decided, err)
		}
		if diff := cmp.Diff(want, stored); diff != "" {
			t.Errorf("after a later %s (-want +got):\n%s", later.State, diff)
		}
	}
}

func testDecideCreatesMissing(t *testing.T, s store.Store) {
	r := NewRequest(2)
	d := store.Decision{State: store.Rejected, By: "U0APPROVER", At: t0.Add(time.Hour)}
	stored, decided, err := s.Decide(t.Context(), r, d)
	if err != nil || !decided {
		t.Fatalf("Decide on a missing request = %v, %v; want decided", decided, err)
	}
	if stored.State != store.Rejected || stored.Reason != r.Reason || stored.AccessStateID != r.AccessStateID {
		t.Errorf("stored = %+v; want the button's request, rejected", stored)
	}
}

func testRacingDecisions(t *testing.T, s store.Store) {
	const requests, clickers = 20, 10
	for n := range requests {
		r := NewRequest(n)
		mustCreate(t, s, r)
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			winners []store.Decision
			seen    = map[store.State]int{}
		)
		for c := range clickers {
			d := store.Decision{State: store.Approved, By: fmt.Sprintf("U0APPROVE%d", c), At: t0}
			if c%2 == 1 {
				d.State, d.By = store.Rejected, fmt.Sprintf("U0REJECT%d", c)
			}
			wg.Go(func() {
				stored, decided, err := s.Decide(t.Context(), r, d)
				if err != nil {
					t.Errorf("Decide: %v", err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				seen[stored.State]++
				if decided {
					winners = append(winners, d)
				}
			})
		}
		wg.Wait()
		if len(winners) != 1 {
			t.Fatalf("request %d: %d decisions won, want exactly 1: %+v", n, len(winners), winners)
		}
		if seen[winners[0].State] != clickers {
			t.Fatalf("request %d: clickers saw %v, want all %d to see the winner's %s", n, seen, clickers, winners[0].State)
		}
	}
}

func testDecideRejectsNonDecision(t *testing.T, s store.Store) {
	r := NewRequest(1)
	mustCreate(t, s, r)
	for _, state := range []store.State{store.Pending, store.Expired, ""} {
		if _, _, err := s.Decide(t.Context(), r, store.Decision{State: state, By: "U1", At: t0}); err == nil {
			t.Errorf("Decide(%q) succeeded; want an error", state)
		}
	}
	if got := mustGet(t, s, r.ID).State; got != store.Pending {
		t.Errorf("state after refused decisions = %s, want pending", got)
	}
}

func testExpiry(t *testing.T, s store.Store) {
	old, decided, fresh := NewRequest(1), NewRequest(2), NewRequest(10)
	for _, r := range []store.Request{old, decided, fresh} {
		mustCreate(t, s, r)
	}
	if _, _, err := s.Decide(t.Context(), decided, store.Decision{State: store.Approved, By: "U1", At: t0}); err != nil {
		t.Fatal(err)
	}
	cutoff := t0.Add(5 * time.Minute)
	expired, err := s.ExpirePending(t.Context(), cutoff)
	if err != nil {
		t.Fatal(err)
	}
	if len(expired) != 1 || expired[0].ID != old.ID || expired[0].State != store.Expired {
		t.Fatalf("ExpirePending = %+v; want only the old pending request, expired", expired)
	}
	if again, err := s.ExpirePending(t.Context(), cutoff); err != nil || len(again) != 0 {
		t.Errorf("second ExpirePending = %d requests, %v; want none", len(again), err)
	}
	if got := mustGet(t, s, decided.ID).State; got != store.Approved {
		t.Errorf("decided request is %s after expiry, want approved", got)
	}
	if got := mustGet(t, s, fresh.ID).State; got != store.Pending {
		t.Errorf("fresh request is %s after expiry, want pending", got)
	}
}

func testExpiredCannotBeDecided(t *testing.T, s store.Store) {
	r := NewRequest(1)
	mustCreate(t, s, r)
	if _, err := s.ExpirePending(t.Context(), t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	stored, decided, err := s.Decide(t.Context(), r, store.Decision{State: store.Approved, By: "U1", At: t0})
	if err != nil || decided || stored.State != store.Expired {
		t.Errorf("Decide on expired = %s, %v, %v; want expired, not decided", stored.State, decided, err)
	}
}

func testMarkSubmittingKeepsEarliest(t *testing.T, s store.Store) {
	r := NewRequest(1)
	mustCreate(t, s, r)
	first, second := t0.Add(time.Hour), t0.Add(2*time.Hour)
	for _, at := range []time.Time{first, second} {
		stored, err := s.MarkSubmitting(t.Context(), r.ID, at)
		if err != nil {
			t.Fatal(err)
		}
		if !stored.SubmittedAt.Equal(first) {
			t.Errorf("SubmittedAt = %v, want the first attempt %v", stored.SubmittedAt, first)
		}
	}
	if _, err := s.MarkSubmitting(t.Context(), uuid.New(), first); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("MarkSubmitting(unknown) error = %v, want ErrNotFound", err)
	}
}

func testRequestByRevocation(t *testing.T, s store.Store) {
	r := NewRequest(1)
	mustCreate(t, s, r)
	if err := s.SetMessage(t.Context(), r.ID, "C0REVOKE", "1700000000.000100"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRevocation(t.Context(), r.ID, "rev-1"); err != nil {
		t.Fatal(err)
	}
	got, err := s.RequestByRevocation(t.Context(), "rev-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != r.ID || got.MessageTS != "1700000000.000100" || got.RevocationID != "rev-1" {
		t.Errorf("RequestByRevocation = %+v", got)
	}
}

func testUnsubmitted(t *testing.T, s store.Store) {
	pending, interrupted, done, refused, rejected := NewRequest(1), NewRequest(2), NewRequest(3), NewRequest(4), NewRequest(5)
	for _, r := range []store.Request{pending, interrupted, done, refused, rejected} {
		mustCreate(t, s, r)
	}
	for _, r := range []store.Request{interrupted, done, refused} {
		if _, _, err := s.Decide(t.Context(), r, store.Decision{State: store.Approved, By: "U1", At: t0}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := s.Decide(t.Context(), rejected, store.Decision{State: store.Rejected, By: "U1", At: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRevocation(t.Context(), done.ID, "rev-3"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRefusal(t.Context(), refused.ID, "access state is not active"); err != nil {
		t.Fatal(err)
	}
	got, err := s.Unsubmitted(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != interrupted.ID {
		t.Fatalf("Unsubmitted = %+v; want only the interrupted approval", got)
	}
	if r := mustGet(t, s, refused.ID); r.Refusal != "access state is not active" {
		t.Errorf("refusal not kept: %q", r.Refusal)
	}
	if err := s.SetRefusal(t.Context(), uuid.New(), "x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SetRefusal(unknown) error = %v, want ErrNotFound", err)
	}
}

func testSetMessageUnknown(t *testing.T, s store.Store) {
	if err := s.SetMessage(t.Context(), uuid.New(), "C1", "1.2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SetMessage(unknown) error = %v, want ErrNotFound", err)
	}
	if err := s.SetRevocation(t.Context(), uuid.New(), "rev"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SetRevocation(unknown) error = %v, want ErrNotFound", err)
	}
}

func testTracking(t *testing.T, s store.Store) {
	a, b := NewRequest(1), NewRequest(2)
	mustCreate(t, s, a)
	mustCreate(t, s, b)
	ta := store.Tracked{RevocationID: "rev-a", RequestID: a.ID, Status: "processing_access", NextCheck: t0.Add(2 * time.Minute), UpdatedAt: t0}
	tb := store.Tracked{RevocationID: "rev-b", RequestID: b.ID, Status: "processing_access", NextCheck: t0.Add(time.Minute), UpdatedAt: t0}
	for _, tr := range []store.Tracked{ta, tb, ta} {
		if err := s.Track(t.Context(), tr); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Tracking(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]store.Tracked{tb, ta}, got); diff != "" {
		t.Errorf("Tracking, soonest first (-want +got):\n%s", diff)
	}
	tb.Status, tb.Final, tb.UpdatedAt = "revoked", true, t0.Add(3*time.Minute)
	if err := s.UpdateTracked(t.Context(), tb); err != nil {
		t.Fatal(err)
	}
	ta.Unchanged, ta.NextCheck = 3, t0.Add(10*time.Minute)
	if err := s.UpdateTracked(t.Context(), ta); err != nil {
		t.Fatal(err)
	}
	got, err = s.Tracking(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]store.Tracked{ta}, got); diff != "" {
		t.Errorf("Tracking after b is final (-want +got):\n%s", diff)
	}
	if err := s.UpdateTracked(t.Context(), store.Tracked{RevocationID: "rev-unknown"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateTracked(unknown) error = %v, want ErrNotFound", err)
	}
}

func testClaimStatusOnce(t *testing.T, s store.Store) {
	r := NewRequest(1)
	mustCreate(t, s, r)
	p := store.StatusPost{RevocationID: "rev-1", RequestID: r.ID, Status: "revoked", ClaimedAt: t0}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		claims int
	)
	for range 10 {
		wg.Go(func() {
			claimed, err := s.ClaimStatus(t.Context(), p)
			if err != nil {
				t.Errorf("ClaimStatus: %v", err)
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
	p.Status = "rejected"
	if claimed, err := s.ClaimStatus(t.Context(), p); err != nil || !claimed {
		t.Errorf("claiming another status = %v, %v; want claimed", claimed, err)
	}
}

func testUnpostedStatuses(t *testing.T, s store.Store) {
	r := NewRequest(1)
	mustCreate(t, s, r)
	first := store.StatusPost{RevocationID: "rev-1", RequestID: r.ID, Status: "processing_access", ClaimedAt: t0}
	second := store.StatusPost{RevocationID: "rev-1", RequestID: r.ID, Status: "revoked", ClaimedAt: t0.Add(time.Minute)}
	for _, p := range []store.StatusPost{second, first} {
		if _, err := s.ClaimStatus(t.Context(), p); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.UnpostedStatuses(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]store.StatusPost{first, second}, got); diff != "" {
		t.Errorf("UnpostedStatuses, oldest first (-want +got):\n%s", diff)
	}
	if err := s.MarkStatusPosted(t.Context(), "rev-1", "processing_access", "1.000200"); err != nil {
		t.Fatal(err)
	}
	got, err = s.UnpostedStatuses(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]store.StatusPost{second}, got); diff != "" {
		t.Errorf("UnpostedStatuses after posting the first (-want +got):\n%s", diff)
	}
	if err := s.MarkStatusPosted(t.Context(), "rev-1", "never-claimed", "1.1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("MarkStatusPosted(unclaimed) error = %v, want ErrNotFound", err)
	}
}

func testAuditTrail(t *testing.T, s store.Store) {
	a, b := NewRequest(1), NewRequest(2)
	records := []store.AuditRecord{
		{At: t0, RequestID: a.ID, Actor: "U0REQUEST", Action: "request", Outcome: "ok"},
		{At: t0.Add(time.Second), RequestID: b.ID, Actor: "U0REQUEST", Action: "request", Outcome: "ok"},
		{At: t0.Add(time.Minute), RequestID: a.ID, Actor: "U0APPROVER", Action: "approve", Outcome: "ok", Detail: "first click"},
		{At: t0.Add(time.Minute), RequestID: a.ID, Actor: "revokebot", Action: "submit", Outcome: "created", Detail: "rev-1"},
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
