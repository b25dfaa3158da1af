package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"revokebot/apiclient"
	"revokebot/store"
)

// retentionCutoff is the moment the retention tests delete before: a day after t0, so that
// "old" is anything near t0 and "late" is after it.
var (
	retentionCutoff = t0.Add(24 * time.Hour)
	late            = retentionCutoff.Add(time.Hour)
	old             = t0.Add(time.Hour)
)

// aged is a request in one state of its life, and whether retention may delete it.
type aged struct {
	name  string
	items int
	// stored is the state the request is stored in; empty for pending.
	stored  store.State
	state   func(t *testing.T, s store.Store, r store.Request)
	deleted bool
}

// agedRequests are requests in every state, aged past and within the cutoff: only those that are
// finished and whose every row is older than the cutoff may go.
var agedRequests = []aged{
	{name: "pending, however old", state: func(*testing.T, store.Store, store.Request) {}},
	{name: "rejected long ago", deleted: true, state: func(t *testing.T, s store.Store, r store.Request) {
		decide(t, s, r, store.Rejected, old)
	}},
	{name: "rejected after the cutoff", state: func(t *testing.T, s store.Store, r store.Request) {
		decide(t, s, r, store.Rejected, late)
	}},
	{name: "expired, its reply posted", stored: store.Expired, deleted: true, state: func(t *testing.T, s store.Store, r store.Request) {
		claim(t, s, r, "expired", old, true)
	}},
	{name: "expired, its reply claimed but not posted", stored: store.Expired, state: func(t *testing.T, s store.Store, r store.Request) {
		claim(t, s, r, "expired", old, false)
	}},
	{name: "approved, its access revoked and announced", deleted: true, state: func(t *testing.T, s store.Store, r store.Request) {
		decide(t, s, r, store.Approved, old)
		track(t, s, r, 0, apiclient.RevocationRevoked, old)
		claim(t, s, r, "status/revoked", old, true)
	}},
	{name: "approved, one access refused and one rejected", items: 2, deleted: true, state: func(t *testing.T, s store.Store, r store.Request) {
		decide(t, s, r, store.Approved, old)
		if err := s.SetRefusal(t.Context(), r.ID, r.Items[0].AccessStateID, "it does not know this access."); err != nil {
			t.Fatal(err)
		}
		track(t, s, r, 1, apiclient.RevocationRejected, old)
	}},
	{name: "approved, an access still processing", items: 2, state: func(t *testing.T, s store.Store, r store.Request) {
		decide(t, s, r, store.Approved, old)
		track(t, s, r, 0, apiclient.RevocationRevoked, old)
		track(t, s, r, 1, apiclient.RevocationProcessing, old)
	}},
	{name: "approved, an access submitted with no answer yet", state: func(t *testing.T, s store.Store, r store.Request) {
		decide(t, s, r, store.Approved, old)
		mustSetRevocation(t, s, r, 0, "rev-"+r.ID.String(), old)
	}},
	{name: "approved, an access never submitted", state: func(t *testing.T, s store.Store, r store.Request) {
		decide(t, s, r, store.Approved, old)
	}},
	{name: "approved and revoked, but checked after the cutoff", state: func(t *testing.T, s store.Store, r store.Request) {
		decide(t, s, r, store.Approved, old)
		track(t, s, r, 0, apiclient.RevocationRevoked, late)
	}},
	{name: "approved and revoked, with a reply claimed but not posted", state: func(t *testing.T, s store.Store, r store.Request) {
		decide(t, s, r, store.Approved, old)
		track(t, s, r, 0, apiclient.RevocationRevoked, old)
		claim(t, s, r, "status/revoked", old, false)
	}},
	{name: "approved and revoked, with a reply claimed after the cutoff", state: func(t *testing.T, s store.Store, r store.Request) {
		decide(t, s, r, store.Approved, old)
		track(t, s, r, 0, apiclient.RevocationRevoked, old)
		claim(t, s, r, "status/revoked", late, true)
	}},
	{name: "approved and refused, first submitted after the cutoff", state: func(t *testing.T, s store.Store, r store.Request) {
		decide(t, s, r, store.Approved, old)
		if _, err := s.MarkSubmitting(t.Context(), r.ID, r.Items[0].AccessStateID, late); err != nil {
			t.Fatal(err)
		}
		if err := s.SetRefusal(t.Context(), r.ID, r.Items[0].AccessStateID, "refused"); err != nil {
			t.Fatal(err)
		}
	}},
}

func decide(t *testing.T, s store.Store, r store.Request, state store.State, at time.Time) {
	t.Helper()
	if _, decided, err := s.Decide(t.Context(), r.ID, store.Decision{State: state, By: "U0APPROVER", At: at}); err != nil || !decided {
		t.Fatalf("Decide(%s) = %v, %v", r.ID, decided, err)
	}
}

// track gives item i of r a revocation whose last check, at, found status.
func track(t *testing.T, s store.Store, r store.Request, i int, status store.Status, at time.Time) {
	t.Helper()
	revocationID := fmt.Sprintf("rev-%s-%d", r.ID, i)
	if _, err := s.MarkSubmitting(t.Context(), r.ID, r.Items[i].AccessStateID, old); err != nil {
		t.Fatal(err)
	}
	mustSetRevocation(t, s, r, i, revocationID, old)
	tr := store.Tracked{RevocationID: revocationID, RequestID: r.ID, AccessStateID: r.Items[i].AccessStateID,
		Status: status, NextCheck: at.Add(time.Minute), UpdatedAt: at}
	if err := s.UpdateTracked(t.Context(), tr); err != nil {
		t.Fatal(err)
	}
}

// claim claims a reply of r at at, and posts it if posted.
func claim(t *testing.T, s store.Store, r store.Request, key string, at time.Time, posted bool) {
	t.Helper()
	if claimed, err := s.ClaimPost(t.Context(), store.Post{RequestID: r.ID, Key: key, ClaimedAt: at, Claimer: "process-a"}); err != nil || !claimed {
		t.Fatalf("ClaimPost(%s) = %v, %v", key, claimed, err)
	}
	if posted {
		if err := s.MarkPosted(t.Context(), r.ID, key, "1.000100"); err != nil {
			t.Fatal(err)
		}
	}
}

// storeAged stores every request of cases, each in its state, and returns them as stored.
func storeAged(t *testing.T, s store.Store, cases []aged) []store.Request {
	t.Helper()
	var out []store.Request
	for i, c := range cases {
		r := NewRequest(i + 1)
		for j := 1; j < c.items; j++ {
			r.Items = append(r.Items, NewItem(100*(i+1)+j))
		}
		if c.stored != "" {
			r.State = c.stored
		}
		mustCreate(t, s, r)
		c.state(t, s, r)
		out = append(out, mustGet(t, s, r.ID))
	}
	return out
}

func testRetentionDeletesOnlyFinished(t *testing.T, s store.Store) {
	stored := storeAged(t, s, agedRequests)
	unpostedBefore, err := s.UnpostedPosts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	const limit = 2
	total := 0
	for range len(agedRequests) {
		n, err := s.DeleteFinishedBefore(t.Context(), retentionCutoff, limit)
		if err != nil {
			t.Fatal(err)
		}
		if n > limit {
			t.Fatalf("DeleteFinishedBefore deleted %d requests in one call, over its limit of %d", n, limit)
		}
		total += n
		if n == 0 {
			break
		}
	}
	var want int
	for i, c := range agedRequests {
		r := stored[i]
		got, err := s.Request(t.Context(), r.ID)
		switch {
		case c.deleted:
			want++
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s: still stored after the sweep (%v); want it deleted", c.name, err)
			}
			for _, it := range r.Items {
				if it.RevocationID == "" {
					continue
				}
				if _, err := s.RequestByRevocation(t.Context(), it.RevocationID); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("%s: its revocation %s still leads to a request: %v", c.name, it.RevocationID, err)
				}
				if _, err := s.TrackedRevocation(t.Context(), it.RevocationID); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("%s: its revocation %s is still tracked: %v", c.name, it.RevocationID, err)
				}
			}
		case err != nil:
			t.Errorf("%s: deleted (%v); want it kept", c.name, err)
		default:
			if diff := cmp.Diff(r, got); diff != "" {
				t.Errorf("%s: changed by the sweep (-before +after):\n%s", c.name, diff)
			}
		}
	}
	if total != want {
		t.Errorf("DeleteFinishedBefore deleted %d requests in all, want %d", total, want)
	}
	unposted, err := s.UnpostedPosts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(unpostedBefore, unposted); diff != "" {
		t.Errorf("unposted replies after the sweep (-before +after):\n%s", diff)
	}
}

func testRetentionDeletesOldestFirstInBatches(t *testing.T, s store.Store) {
	var ids []uuid.UUID
	for i := range 5 {
		r := NewRequest(5 - i) // stored newest first, to show the order is the store's
		mustCreate(t, s, r)
		decide(t, s, r, store.Rejected, old)
		ids = append([]uuid.UUID{r.ID}, ids...)
	}
	var batches []int
	for range 5 {
		n, err := s.DeleteFinishedBefore(t.Context(), retentionCutoff, 2)
		if err != nil {
			t.Fatal(err)
		}
		batches = append(batches, n)
		if n == 0 {
			break
		}
		if n == 2 && len(batches) == 1 {
			for i, id := range ids {
				_, err := s.Request(t.Context(), id)
				if gone := errors.Is(err, store.ErrNotFound); gone != (i < 2) {
					t.Errorf("after the first batch, request %d (oldest first) gone: %v; want the two oldest gone", i+1, gone)
				}
			}
		}
	}
	if diff := cmp.Diff([]int{2, 2, 1, 0}, batches); diff != "" {
		t.Errorf("requests deleted per call of 2 (-want +got):\n%s", diff)
	}
}

func testRetentionCounts(t *testing.T, s store.Store) {
	if c, err := s.Count(t.Context()); err != nil || c != (store.Counts{}) {
		t.Errorf("Count of an empty store = %+v, %v", c, err)
	}
	one, two := NewRequest(1), newOffboarding(3)
	mustCreate(t, s, one)
	mustCreate(t, s, two)
	claim(t, s, one, "request", old, true)
	if err := s.Audit(t.Context(), store.AuditRecord{At: old, RequestID: one.ID, Actor: "U0REQUEST", Action: store.ActionRequest, Outcome: store.OutcomeCreated}); err != nil {
		t.Fatal(err)
	}
	c, err := s.Count(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(store.Counts{Requests: 2, Items: 4, Posts: 1, Audit: 1}, c); diff != "" {
		t.Errorf("Count (-want +got):\n%s", diff)
	}
	decide(t, s, one, store.Rejected, old)
	if _, err := s.DeleteFinishedBefore(t.Context(), retentionCutoff, 10); err != nil {
		t.Fatal(err)
	}
	c, err = s.Count(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(store.Counts{Requests: 1, Items: 3, Posts: 0, Audit: 1}, c); diff != "" {
		t.Errorf("Count after deleting the rejected request (-want +got):\n%s", diff)
	}
}

// auditAt returns an audit record of request n made at at.
func auditAt(n int, at time.Time, detail string) store.AuditRecord {
	return store.AuditRecord{At: at, RequestID: NewRequest(n).ID, Actor: store.BotActor, Action: store.ActionStatus,
		Outcome: store.Outcome(apiclient.RevocationRevoked), Detail: detail}
}

func testAuditRetention(t *testing.T, s store.Store) {
	records := []store.AuditRecord{
		auditAt(1, t0.Add(2*time.Hour), "third oldest"),
		auditAt(2, t0, "oldest"),
		auditAt(3, t0.Add(time.Hour), "second oldest"),
		auditAt(4, retentionCutoff, "at the cutoff"),
		auditAt(5, late, "after the cutoff"),
	}
	for _, a := range records {
		if err := s.Audit(t.Context(), a); err != nil {
			t.Fatal(err)
		}
	}
	var batches []int
	for range 5 {
		n, err := s.DeleteAuditBefore(t.Context(), retentionCutoff, 2)
		if err != nil {
			t.Fatal(err)
		}
		batches = append(batches, n)
		if len(batches) == 1 {
			if got := auditDetails(t, s, time.Time{}, time.Time{}); !cmp.Equal(got, []string{"third oldest", "at the cutoff", "after the cutoff"}) {
				t.Errorf("after the first batch of 2 the audit trail holds %q; want the two oldest gone", got)
			}
		}
		if n == 0 {
			break
		}
	}
	if diff := cmp.Diff([]int{2, 1, 0}, batches); diff != "" {
		t.Errorf("audit records deleted per call of 2 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"at the cutoff", "after the cutoff"}, auditDetails(t, s, time.Time{}, time.Time{})); diff != "" {
		t.Errorf("audit trail kept (-want +got):\n%s", diff)
	}
}

func testAuditSince(t *testing.T, s store.Store) {
	records := []store.AuditRecord{
		auditAt(1, t0.Add(time.Minute), "b"),
		auditAt(2, t0, "a"),
		auditAt(3, t0.Add(2*time.Minute), "c, appended first at this time"),
		auditAt(3, t0.Add(2*time.Minute), "d, appended second at the same time"),
		auditAt(4, t0.Add(3*time.Minute), "e"),
	}
	for _, a := range records {
		if err := s.Audit(t.Context(), a); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name         string
		since, until time.Time
		want         []string
	}{
		{"everything, oldest first", time.Time{}, time.Time{}, []string{"a", "b", "c, appended first at this time", "d, appended second at the same time", "e"}},
		{"since is included", t0.Add(time.Minute), time.Time{}, []string{"b", "c, appended first at this time", "d, appended second at the same time", "e"}},
		{"until is not", t0, t0.Add(2 * time.Minute), []string{"a", "b"}},
		{"an empty range", t0.Add(time.Hour), time.Time{}, nil},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, auditDetails(t, s, tt.since, tt.until)); diff != "" {
			t.Errorf("%s: AuditSince (-want +got):\n%s", tt.name, diff)
		}
	}
	var whole []store.AuditRecord
	if err := s.AuditSince(t.Context(), time.Time{}, time.Time{}, func(a store.AuditRecord) error {
		whole = append(whole, a)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]store.AuditRecord{records[1], records[0], records[2], records[3], records[4]}, whole); diff != "" {
		t.Errorf("AuditSince returns records as appended (-want +got):\n%s", diff)
	}
	stop := errors.New("stop")
	calls := 0
	err := s.AuditSince(t.Context(), time.Time{}, time.Time{}, func(store.AuditRecord) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("AuditSince with fn failing = %v after %d calls; want fn's error after 1", err, calls)
	}
}

// auditDetails returns the details of the audit records AuditSince reads in [since, until).
func auditDetails(t *testing.T, s store.Store, since, until time.Time) []string {
	t.Helper()
	var out []string
	err := s.AuditSince(t.Context(), since, until, func(a store.AuditRecord) error {
		out = append(out, a.Detail)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
