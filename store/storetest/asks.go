package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"revokebot/apiclient"
	"revokebot/store"
)

// adminRequest stores an approved request for one admin-provisioned access whose revocation
// was announced with status, and returns it with its revocation's ID.
func adminRequest(t *testing.T, s store.Store, n int, status store.Status, submitted time.Time) (store.Request, string) {
	t.Helper()
	r := NewRequest(n)
	r.Items[0].ProvisioningType = string(apiclient.ProvisioningApplicationAdmin)
	mustCreate(t, s, r)
	mustApprove(t, s, r)
	revocationID := fmt.Sprintf("rev-admin-%d", n)
	if _, err := s.MarkSubmitting(t.Context(), r.ID, r.Items[0].AccessStateID, submitted); err != nil {
		t.Fatal(err)
	}
	mustSetRevocation(t, s, r, 0, revocationID, submitted)
	if status != "" {
		tr := store.Tracked{RevocationID: revocationID, RequestID: r.ID, AccessStateID: r.Items[0].AccessStateID,
			Status: status, NextCheck: submitted.Add(time.Minute), UpdatedAt: submitted}
		if err := s.UpdateTracked(t.Context(), tr); err != nil {
			t.Fatal(err)
		}
	}
	return r, revocationID
}

func askOf(r store.Request, revocationID string, at time.Time, asked ...string) store.Ask {
	return store.Ask{RevocationID: revocationID, RequestID: r.ID, AccessStateID: r.Items[0].AccessStateID, Asked: asked, AskedAt: at}
}

func testAskSavedOnce(t *testing.T, s store.Store) {
	r, rev := adminRequest(t, s, 1, apiclient.RevocationProcessing, t0)
	if _, err := s.Ask(t.Context(), rev); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Ask before any was saved: err = %v, want ErrNotFound", err)
	}
	first := askOf(r, rev, t0.Add(time.Minute), "U0ADMIN", "U0OWNER")
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		seen []store.Ask
	)
	for i := range 8 {
		wg.Go(func() {
			a := first
			if i > 0 {
				a = askOf(r, rev, t0.Add(time.Duration(i+1)*time.Minute), fmt.Sprintf("U0OTHER%d", i))
			}
			stored, err := s.SaveAsk(t.Context(), a)
			if err != nil {
				t.Errorf("SaveAsk: %v", err)
			}
			mu.Lock()
			seen = append(seen, stored)
			mu.Unlock()
		})
	}
	wg.Wait()
	got, err := s.Ask(t.Context(), rev)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range seen {
		if diff := cmp.Diff(got, a); diff != "" {
			t.Errorf("a racing SaveAsk returned another ask than the stored one (-stored +returned):\n%s", diff)
		}
	}
	if _, err := s.SaveAsk(t.Context(), askOf(NewRequest(99), "rev-x", t0)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SaveAsk of an unknown request: err = %v, want ErrNotFound", err)
	}
	// The approvers asked: no one by name.
	r2, rev2 := adminRequest(t, s, 2, apiclient.RevocationProcessing, t0)
	if _, err := s.SaveAsk(t.Context(), askOf(r2, rev2, t0)); err != nil {
		t.Fatal(err)
	}
	got2, err := s.Ask(t.Context(), rev2)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(askOf(r2, rev2, t0), got2); diff != "" {
		t.Errorf("an ask of the approvers (-want +got):\n%s", diff)
	}
}

func testUnaskedAndWaiting(t *testing.T, s store.Store) {
	automatic := NewRequest(1)
	mustCreate(t, s, automatic)
	mustApprove(t, s, automatic)
	mustSetRevocation(t, s, automatic, 0, "rev-automatic", t0)
	if err := s.UpdateTracked(t.Context(), store.Tracked{RevocationID: "rev-automatic", RequestID: automatic.ID,
		AccessStateID: automatic.Items[0].AccessStateID, Status: apiclient.RevocationProcessing, NextCheck: t0}); err != nil {
		t.Fatal(err)
	}
	adminRequest(t, s, 2, "", t0) // not announced yet: its submission reply comes first
	later, laterRev := adminRequest(t, s, 3, apiclient.RevocationProcessing, t0.Add(2*time.Minute))
	sooner, soonerRev := adminRequest(t, s, 4, apiclient.RevocationProcessing, t0.Add(time.Minute))
	adminRequest(t, s, 5, apiclient.RevocationRevoked, t0)

	unasked := func() []string {
		t.Helper()
		rows, err := s.Unasked(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, row := range rows {
			ids = append(ids, row.RevocationID)
		}
		return ids
	}
	if diff := cmp.Diff([]string{soonerRev, laterRev}, unasked()); diff != "" {
		t.Errorf("unasked: only processing admin-provisioned revocations, oldest submission first (-want +got):\n%s", diff)
	}
	for _, a := range []store.Ask{askOf(later, laterRev, t0.Add(time.Hour), "U0ADMIN"), askOf(sooner, soonerRev, t0.Add(30*time.Minute))} {
		if _, err := s.SaveAsk(t.Context(), a); err != nil {
			t.Fatal(err)
		}
	}
	if got := unasked(); len(got) != 0 {
		t.Errorf("unasked after both were asked = %v, want none", got)
	}
	waiting := func() []string {
		t.Helper()
		asks, err := s.WaitingAsks(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, a := range asks {
			ids = append(ids, a.RevocationID)
		}
		return ids
	}
	if diff := cmp.Diff([]string{soonerRev, laterRev}, waiting()); diff != "" {
		t.Errorf("waiting asks, oldest ask first (-want +got):\n%s", diff)
	}
	if err := s.UpdateTracked(t.Context(), store.Tracked{RevocationID: laterRev, RequestID: later.ID,
		AccessStateID: later.Items[0].AccessStateID, Status: apiclient.RevocationRejected, NextCheck: t0}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{soonerRev}, waiting()); diff != "" {
		t.Errorf("waiting asks after one was rejected (-want +got):\n%s", diff)
	}
}

func testPendingPosted(t *testing.T, s store.Store) {
	newer, older, unposted, decided := NewRequest(3), NewRequest(1), NewRequest(2), NewRequest(4)
	for _, r := range []store.Request{newer, older, unposted, decided} {
		mustCreate(t, s, r)
	}
	for i, r := range []store.Request{newer, older, decided} {
		if err := s.SetMessage(t.Context(), r.ID, r.Channel, fmt.Sprintf("1.00000%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	mustApprove(t, s, decided)
	got, err := s.PendingPosted(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range got {
		ids = append(ids, r.ID.String())
		if len(r.Items) != 1 {
			t.Errorf("pending request %s has %d items, want its one", r.ID, len(r.Items))
		}
	}
	if diff := cmp.Diff([]string{older.ID.String(), newer.ID.String()}, ids); diff != "" {
		t.Errorf("pending posted requests, oldest first (-want +got):\n%s", diff)
	}
}

func testRetentionDeletesAsks(t *testing.T, s store.Store) {
	r, rev := adminRequest(t, s, 1, apiclient.RevocationRevoked, old)
	if _, err := s.SaveAsk(t.Context(), askOf(r, rev, old, "U0ADMIN")); err != nil {
		t.Fatal(err)
	}
	n, err := s.DeleteFinishedBefore(t.Context(), old.Add(24*time.Hour), 10)
	if err != nil || n != 1 {
		t.Fatalf("DeleteFinishedBefore = %d, %v; want 1 deleted", n, err)
	}
	if _, err := s.Ask(t.Context(), rev); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the ask of a deleted request: err = %v, want ErrNotFound", err)
	}
}
