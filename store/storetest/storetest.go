// Package storetest checks a store.Store implementation against the rules the bot relies on:
// idempotent creation, decisions as a compare-and-set that concurrent callers cannot both win,
// expiry of only what is still pending, one revocation per access of one request, replies
// claimed at most once, and retention that deletes only what is finished and old enough. Every implementation runs Run from its own tests.
package storetest

import (
	"fmt"
	"testing"
	"time"

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
		{"a request keeps its items in order, with their permissions", testItemsRoundTrip},
		{"an unknown request is not found", testUnknownRequest},
		{"the first decision wins and later ones see it", testFirstDecisionWins},
		{"a request the store never had cannot be decided", testDecideUnknown},
		{"pending requests with no message and no claimed post are unposted", testUnpostedRequests},
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
		{"an item's last error lasts until it is settled", testSubmitErrorUntilSettled},
		{"a request stored with its revocations is tracked", testCreateWithRevocation},
		{"a reply is claimed once", testClaimPostOnce},
		{"a claimed reply stays unposted until marked", testUnpostedPosts},
		{"a reply is found by its key", testPostByKey},
		{"the audit trail keeps order and request", testAuditTrail},
		{"audit records are read by time, oldest first", testAuditSince},
		{"retention deletes finished requests past the cutoff and nothing else", testRetentionDeletesOnlyFinished},
		{"retention deletes the oldest first, in batches", testRetentionDeletesOldestFirstInBatches},
		{"retention deletes audit records past the cutoff, in batches", testAuditRetention},
		{"the store counts its rows", testRetentionCounts},
		{"an ask is saved once, and the first one wins", testAskSavedOnce},
		{"unasked and waiting asks follow the revocation's status", testUnaskedAndWaiting},
		{"pending requests with a message are found for reminders, oldest first", testPendingPosted},
		{"retention deletes a finished request's asks", testRetentionDeletesAsks},
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
	if _, _, err := s.Decide(t.Context(), r.ID, store.Decision{State: store.Approved, By: "U0APPROVER", At: t0}); err != nil {
		t.Fatal(err)
	}
}

func mustSetRevocation(t *testing.T, s store.Store, r store.Request, item int, revocationID string, next time.Time) {
	t.Helper()
	if err := s.SetRevocation(t.Context(), r.ID, r.Items[item].AccessStateID, revocationID, next); err != nil {
		t.Fatalf("SetRevocation(%s): %v", revocationID, err)
	}
}
