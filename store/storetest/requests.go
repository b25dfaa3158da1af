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
