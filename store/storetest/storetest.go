// Package storetest checks a store.Store implementation against the rules the bot relies on:
// idempotent creation, decisions as a compare-and-set that concurrent callers cannot both win,
// expiry of only what is still pending, one revocation per access of one request, and replies
// claimed at most once. Every implementation runs Run from its own tests.
package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"revokebot/apiclient"
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
		{"a request keeps its items in order, with their permissions", testItemsRoundTrip},
		{"an unknown request is not found", testUnknownRequest},
		{"the first decision wins and later ones see it", testFirstDecisionWins},
		{"a decision creates a request missing from the store", testDecideCreatesMissing},
		{"racing decisions: exactly one wins", testRacingDecisions},
		{"only a decision can be recorded", testDecideRejectsNonDecision},
		{"expiry takes only pending requests older than the cutoff", testExpiry},
		{"an expired request cannot be decided", testExpiredCannotBeDecided},
		{"submission keeps the earliest attempt", testMarkSubmittingKeepsEarliest},
		{"a request is found by its revocation", testRequestByRevocation},
		{"writes to an unknown request or item fail", testWritesToUnknown},
		{"a revocation belongs to one item, and an item to one revocation", testOneRevocationPerItem},
		{"approved items with neither revocation nor refusal are unsubmitted", testUnsubmitted},
		{"tracking follows revocations until final, soonest first", testTracking},
		{"a tracked revocation is found by its ID", testTrackedRevocation},
		{"a request stored with its revocations is tracked", testCreateWithRevocation},
		{"a reply is claimed once", testClaimPostOnce},
		{"a claimed reply stays unposted until marked", testUnpostedPosts},
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

// NewRequest returns a pending request for one access with every field set, as the bot would
// create it.
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
		Reason:    "left the company — see ticket #42",
		Items:     []store.Item{NewItem(n)},
		Channel:   "C0REVOKE",
		CreatedAt: t0.Add(time.Duration(n) * time.Minute),
		State:     store.Pending,
	}
}

// NewItem returns an access with every field a new request's item has.
func NewItem(n int) store.Item {
	return store.Item{
		AccessStateID:    fmt.Sprintf("9a1e0000-0000-4000-8000-%012d", n),
		ApplicationID:    "a0000000-0000-4000-8000-000000000001",
		ApplicationTitle: "GitHub",
		ProvisioningType: "automatic",
		ResourceID:       "r0000000-0000-4000-8000-000000000001",
		ResourceTitle:    "acme/infra",
		Permissions: []store.Permission{
			{ID: "p0000000-0000-4000-8000-000000000001", Title: "admin", Elevated: true},
			{ID: "p0000000-0000-4000-8000-000000000002", Title: "write"},
		},
	}
}

// newOffboarding returns a pending request for every one of n accesses.
func newOffboarding(n int) store.Request {
	r := NewRequest(1000 + n)
	r.All = true
	r.Items = nil
	for i := range n {
		it := NewItem(1000*n + i)
		it.ApplicationTitle = fmt.Sprintf("App %d", i)
		r.Items = append(r.Items, it)
	}
	return r
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

func mustApprove(t *testing.T, s store.Store, r store.Request) {
	t.Helper()
	if _, _, err := s.Decide(t.Context(), r, store.Decision{State: store.Approved, By: "U0APPROVER", At: t0}); err != nil {
		t.Fatal(err)
	}
}

func mustSetRevocation(t *testing.T, s store.Store, r store.Request, item int, revocationID string, next time.Time) {
	t.Helper()
	if err := s.SetRevocation(t.Context(), r.ID, r.Items[item].AccessStateID, revocationID, next); err != nil {
		t.Fatalf("SetRevocation(%s): %v", revocationID, err)
	}
}

func testCreateIsIdempotent(t *testing.T, s store.Store) {
	r := NewRequest(1)
	mustCreate(t, s, r)
	again := r
	again.Reason = "a different reason"
	again.Items = []store.Item{NewItem(2)}
	created, err := s.CreateRequest(t.Context(), again)
	if err != nil || created {
		t.Fatalf("second CreateRequest = %v, %v; want not created", created, err)
	}
	if diff := cmp.Diff(r, mustGet(t, s, r.ID)); diff != "" {
		t.Errorf("stored request (-want +got):\n%s", diff)
	}
}

func testItemsRoundTrip(t *testing.T, s store.Store) {
	r := newOffboarding(25)
	r.Items[3].Permissions = nil
	r.Items[4].ResourceID, r.Items[4].ResourceTitle = "", ""
	mustCreate(t, s, r)
	got := mustGet(t, s, r.ID)
	if diff := cmp.Diff(r, got); diff != "" {
		t.Errorf("stored offboarding (-want +got):\n%s", diff)
	}
}

func testUnknownRequest(t *testing.T, s store.Store) {
	if _, err := s.Request(t.Context(), uuid.New()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Request(unknown) error = %v, want ErrNotFound", err)
	}
	if _, err := s.RequestByRevocation(t.Context(), "no-such-revocation"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RequestByRevocation(unknown) error = %v, want ErrNotFound", err)
	}
	if _, err := s.RequestByRevocation(t.Context(), ""); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RequestByRevocation(\"\") error = %v, want ErrNotFound", err)
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
	want := r
	want.State, want.DecidedBy, want.DecidedAt = store.Rejected, d.By, d.At
	if diff := cmp.Diff(want, stored); diff != "" {
		t.Errorf("request created by its decision (-want +got):\n%s", diff)
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
	mustApprove(t, s, decided)
	cutoff := t0.Add(5 * time.Minute)
	expired, err := s.ExpirePending(t.Context(), cutoff)
	if err != nil {
		t.Fatal(err)
	}
	want := old
	want.State = store.Expired
	if diff := cmp.Diff([]store.Request{want}, expired); diff != "" {
		t.Fatalf("ExpirePending: want only the old pending request, expired, with its items (-want +got):\n%s", diff)
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
	r := newOffboarding(2)
	mustCreate(t, s, r)
	first, second := t0.Add(time.Hour), t0.Add(2*time.Hour)
	for _, at := range []time.Time{first, second} {
		item, err := s.MarkSubmitting(t.Context(), r.ID, r.Items[1].AccessStateID, at)
		if err != nil {
			t.Fatal(err)
		}
		if !item.SubmittedAt.Equal(first) || item.AccessStateID != r.Items[1].AccessStateID {
			t.Errorf("MarkSubmitting = %+v; want item 1 with the first attempt %v", item, first)
		}
	}
	if got := mustGet(t, s, r.ID).Items[0].SubmittedAt; !got.IsZero() {
		t.Errorf("the other item's SubmittedAt = %v, want it untouched", got)
	}
	if _, err := s.MarkSubmitting(t.Context(), uuid.New(), r.Items[0].AccessStateID, first); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("MarkSubmitting(unknown request) error = %v, want ErrNotFound", err)
	}
	if _, err := s.MarkSubmitting(t.Context(), r.ID, "no-such-access", first); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("MarkSubmitting(unknown item) error = %v, want ErrNotFound", err)
	}
}

func testRequestByRevocation(t *testing.T, s store.Store) {
	r := newOffboarding(3)
	mustCreate(t, s, r)
	if err := s.SetMessage(t.Context(), r.ID, "C0REVOKE", "1700000000.000100"); err != nil {
		t.Fatal(err)
	}
	mustSetRevocation(t, s, r, 2, "rev-1", t0)
	got, err := s.RequestByRevocation(t.Context(), "rev-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != r.ID || got.MessageTS != "1700000000.000100" || got.Items[2].RevocationID != "rev-1" || got.Items[0].RevocationID != "" {
		t.Errorf("RequestByRevocation = %+v", got)
	}
}

func testWritesToUnknown(t *testing.T, s store.Store) {
	r := NewRequest(1)
	mustCreate(t, s, r)
	as := r.Items[0].AccessStateID
	for name, err := range map[string]error{
		"SetMessage(unknown request)":    s.SetMessage(t.Context(), uuid.New(), "C1", "1.2"),
		"SetRevocation(unknown request)": s.SetRevocation(t.Context(), uuid.New(), as, "rev", t0),
		"SetRevocation(unknown item)":    s.SetRevocation(t.Context(), r.ID, "no-such-access", "rev", t0),
		"SetRefusal(unknown request)":    s.SetRefusal(t.Context(), uuid.New(), as, "x"),
		"SetRefusal(unknown item)":       s.SetRefusal(t.Context(), r.ID, "no-such-access", "x"),
		"UpdateTracked(unknown)":         s.UpdateTracked(t.Context(), store.Tracked{RevocationID: "rev-unknown"}),
		"MarkPosted(unclaimed)":          s.MarkPosted(t.Context(), r.ID, "never-claimed", "1.1"),
	} {
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s error = %v, want ErrNotFound", name, err)
		}
	}
}

func testOneRevocationPerItem(t *testing.T, s store.Store) {
	a, b := NewRequest(1), newOffboarding(2)
	mustCreate(t, s, a)
	mustCreate(t, s, b)
	mustSetRevocation(t, s, a, 0, "rev-a", t0)
	mustSetRevocation(t, s, a, 0, "rev-a", t0.Add(time.Hour)) // the same again: no change
	if err := s.SetRevocation(t.Context(), a.ID, a.Items[0].AccessStateID, "rev-other", t0); !errors.Is(err, store.ErrConflict) {
		t.Errorf("a second revocation for the same item: error = %v, want ErrConflict", err)
	}
	if err := s.SetRevocation(t.Context(), b.ID, b.Items[0].AccessStateID, "rev-a", t0); !errors.Is(err, store.ErrConflict) {
		t.Errorf("another request's revocation: error = %v, want ErrConflict", err)
	}
	if err := s.SetRevocation(t.Context(), b.ID, b.Items[1].AccessStateID, "rev-a", t0); !errors.Is(err, store.ErrConflict) {
		t.Errorf("another item's revocation: error = %v, want ErrConflict", err)
	}
	got := mustGet(t, s, a.ID).Items[0]
	if got.RevocationID != "rev-a" {
		t.Errorf("item's revocation = %q, want rev-a", got.RevocationID)
	}
	tracked, err := s.TrackedRevocation(t.Context(), "rev-a")
	if err != nil || !tracked.NextCheck.Equal(t0) {
		t.Errorf("TrackedRevocation(rev-a) = %+v, %v; want the first next check kept", tracked, err)
	}
	for _, it := range mustGet(t, s, b.ID).Items {
		if it.RevocationID != "" {
			t.Errorf("the other request's item got revocation %q", it.RevocationID)
		}
	}
}

func testUnsubmitted(t *testing.T, s store.Store) {
	pending, interrupted, done, refused, rejected, partly := NewRequest(1), NewRequest(2), NewRequest(3), NewRequest(4), NewRequest(5), newOffboarding(3)
	for _, r := range []store.Request{pending, interrupted, done, refused, rejected, partly} {
		mustCreate(t, s, r)
	}
	for _, r := range []store.Request{interrupted, done, refused, partly} {
		mustApprove(t, s, r)
	}
	if _, _, err := s.Decide(t.Context(), rejected, store.Decision{State: store.Rejected, By: "U1", At: t0}); err != nil {
		t.Fatal(err)
	}
	mustSetRevocation(t, s, done, 0, "rev-3", t0)
	if err := s.SetRefusal(t.Context(), refused.ID, refused.Items[0].AccessStateID, "access state is not active"); err != nil {
		t.Fatal(err)
	}
	mustSetRevocation(t, s, partly, 0, "rev-p0", t0)
	if err := s.SetRefusal(t.Context(), partly.ID, partly.Items[2].AccessStateID, "already ended"); err != nil {
		t.Fatal(err)
	}
	got, err := s.Unsubmitted(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var ids []uuid.UUID
	for _, r := range got {
		ids = append(ids, r.ID)
	}
	if diff := cmp.Diff([]uuid.UUID{interrupted.ID, partly.ID}, ids); diff != "" {
		t.Fatalf("Unsubmitted: want the interrupted approval and the partly submitted offboarding, oldest first (-want +got):\n%s", diff)
	}
	if it := got[1].Items; it[0].RevocationID != "rev-p0" || it[1].Settled() || it[2].Refusal != "already ended" {
		t.Errorf("the partly submitted offboarding's items = %+v", it)
	}
	if r := mustGet(t, s, refused.ID); r.Items[0].Refusal != "access state is not active" {
		t.Errorf("refusal not kept: %+v", r.Items[0])
	}
}

func testTracking(t *testing.T, s store.Store) {
	a, b, c := NewRequest(1), NewRequest(2), NewRequest(3)
	for _, r := range []store.Request{a, b, c} {
		mustCreate(t, s, r)
	}
	mustSetRevocation(t, s, a, 0, "rev-a", t0.Add(2*time.Minute))
	mustSetRevocation(t, s, b, 0, "rev-b", t0.Add(time.Minute))
	ta := store.Tracked{RevocationID: "rev-a", RequestID: a.ID, AccessStateID: a.Items[0].AccessStateID, NextCheck: t0.Add(2 * time.Minute)}
	tb := store.Tracked{RevocationID: "rev-b", RequestID: b.ID, AccessStateID: b.Items[0].AccessStateID, NextCheck: t0.Add(time.Minute)}
	got, err := s.Tracking(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]store.Tracked{tb, ta}, got); diff != "" {
		t.Errorf("Tracking, soonest first, only items with a revocation (-want +got):\n%s", diff)
	}
	tb.Status, tb.UpdatedAt = apiclient.RevocationRevoked, t0.Add(3*time.Minute)
	if err := s.UpdateTracked(t.Context(), tb); err != nil {
		t.Fatal(err)
	}
	ta.Status, ta.Unchanged, ta.NextCheck, ta.UpdatedAt = apiclient.RevocationProcessing, 3, t0.Add(10*time.Minute), t0.Add(3*time.Minute)
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
	if st := mustGet(t, s, b.ID).Items[0].Status; st != apiclient.RevocationRevoked {
		t.Errorf("b's item status = %q, want the tracked status revoked", st)
	}
}

func testTrackedRevocation(t *testing.T, s store.Store) {
	r := newOffboarding(2)
	mustCreate(t, s, r)
	mustSetRevocation(t, s, r, 1, "rev-1", t0)
	want := store.Tracked{RevocationID: "rev-1", RequestID: r.ID, AccessStateID: r.Items[1].AccessStateID, NextCheck: t0}
	got, err := s.TrackedRevocation(t.Context(), "rev-1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("TrackedRevocation (-want +got):\n%s", diff)
	}
	want.Status = apiclient.RevocationRejected
	if err := s.UpdateTracked(t.Context(), want); err != nil {
		t.Fatal(err)
	}
	if got, err := s.TrackedRevocation(t.Context(), "rev-1"); err != nil || got.Status != apiclient.RevocationRejected {
		t.Errorf("a final revocation is still found: %+v, %v", got, err)
	}
	if _, err := s.TrackedRevocation(t.Context(), "rev-unknown"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("TrackedRevocation(unknown) error = %v, want ErrNotFound", err)
	}
}

func testCreateWithRevocation(t *testing.T, s store.Store) {
	r := newOffboarding(2)
	r.State, r.DecidedBy, r.DecidedAt = store.Approved, "U0APPROVER", t0
	r.Items[0].SubmittedAt, r.Items[0].RevocationID, r.Items[0].Status = t0, "rev-0", apiclient.RevocationProcessing
	mustCreate(t, s, r)
	if diff := cmp.Diff(r, mustGet(t, s, r.ID)); diff != "" {
		t.Errorf("stored request (-want +got):\n%s", diff)
	}
	got, err := s.Tracking(t.Context())
	want := []store.Tracked{{RevocationID: "rev-0", RequestID: r.ID, AccessStateID: r.Items[0].AccessStateID, Status: apiclient.RevocationProcessing}}
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Tracking (-want +got):\n%s", diff)
	}
	if byRev, err := s.RequestByRevocation(t.Context(), "rev-0"); err != nil || byRev.ID != r.ID {
		t.Errorf("RequestByRevocation = %v, %v", byRev.ID, err)
	}
	if err := s.SetRevocation(t.Context(), r.ID, r.Items[1].AccessStateID, "rev-0", t0); !errors.Is(err, store.ErrConflict) {
		t.Errorf("linking its revocation to another item: error = %v, want ErrConflict", err)
	}
}

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
	first := store.Post{RequestID: r.ID, Key: "status/rev-1/processing_access", ClaimedAt: t0}
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
