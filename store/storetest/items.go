package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"revokebot/apiclient"
	"revokebot/store"
)

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
