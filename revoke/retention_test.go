package revoke

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"revokebot/apiclient"
	"revokebot/store"
	"revokebot/store/memstore"
	"revokebot/store/storetest"
)

// batchStore is a store that records what each retention delete was asked and did.
type batchStore struct {
	store.Store
	mu       sync.Mutex
	finished []int // requests deleted by each call of DeleteFinishedBefore
	audit    []int // records deleted by each call of DeleteAuditBefore
	limits   []int // the limit of every call
}

func (b *batchStore) DeleteFinishedBefore(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	n, err := b.Store.DeleteFinishedBefore(ctx, cutoff, limit)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.finished, b.limits = append(b.finished, n), append(b.limits, limit)
	return n, err
}

func (b *batchStore) DeleteAuditBefore(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	n, err := b.Store.DeleteAuditBefore(ctx, cutoff, limit)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.audit, b.limits = append(b.audit, n), append(b.limits, limit)
	return n, err
}

// calls returns the deletes recorded so far and forgets them.
func (b *batchStore) calls() (finished, audit, limits []int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	finished, audit, limits = b.finished, b.audit, b.limits
	b.finished, b.audit, b.limits = nil, nil, nil
	return finished, audit, limits
}

// seeder stores requests in given states at given ages on the bubble's clock.
type seeder struct {
	t   *testing.T
	st  store.Store
	seq int
}

// request stores a request created at created and, unless state is pending or expired, decided
// at created plus a minute.
func (s *seeder) request(state store.State, created time.Time) store.Request {
	s.t.Helper()
	s.seq++
	r := storetest.NewRequest(s.seq)
	r.CreatedAt = created
	if state == store.Expired {
		r.State = store.Expired
	}
	if _, err := s.st.CreateRequest(s.t.Context(), r); err != nil {
		s.t.Fatal(err)
	}
	if state == store.Approved || state == store.Rejected {
		if _, _, err := s.st.Decide(s.t.Context(), r.ID, store.Decision{State: state, By: approverID, At: created.Add(time.Minute)}); err != nil {
			s.t.Fatal(err)
		}
	}
	stored, err := s.st.Request(s.t.Context(), r.ID)
	if err != nil {
		s.t.Fatal(err)
	}
	return stored
}

// revoked gives r's access a revocation last checked at at, with status.
func (s *seeder) revoked(r store.Request, status store.Status, at time.Time) {
	s.t.Helper()
	id := "rev-" + r.ID.String()
	if err := s.st.SetRevocation(s.t.Context(), r.ID, r.Items[0].AccessStateID, id, at); err != nil {
		s.t.Fatal(err)
	}
	tr := store.Tracked{RevocationID: id, RequestID: r.ID, AccessStateID: r.Items[0].AccessStateID, Status: status,
		NextCheck: at.Add(maxRetentionTestBackoff), UpdatedAt: at}
	if err := s.st.UpdateTracked(s.t.Context(), tr); err != nil {
		s.t.Fatal(err)
	}
}

// maxRetentionTestBackoff puts a tracked revocation's next check far enough ahead that the
// tracker leaves it alone while the test runs.
const maxRetentionTestBackoff = 365 * 24 * time.Hour

// reply claims a reply of r at at, posted or not.
func (s *seeder) reply(r store.Request, key string, at time.Time, posted bool) {
	s.t.Helper()
	if _, err := s.st.ClaimPost(s.t.Context(), store.Post{RequestID: r.ID, Key: key, ClaimedAt: at, Claimer: "gone"}); err != nil {
		s.t.Fatal(err)
	}
	if posted {
		if err := s.st.MarkPosted(s.t.Context(), r.ID, key, "1.000100"); err != nil {
			s.t.Fatal(err)
		}
	}
}

func TestRetentionSweepDeletesExactlyTheFinishedPastTheCutoffInBatches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const (
			keep      = 90 * 24 * time.Hour
			keepAudit = 365 * 24 * time.Hour
		)
		st := &batchStore{Store: memstore.New()}
		r := newRig(t, st)
		sd := &seeder{t: t, st: st}
		now := time.Now()
		past, within := now.Add(-keep-24*time.Hour), now.Add(-keep+24*time.Hour)

		var deleted, kept []uuid.UUID
		// 230 rejected long ago: three batches of 100, 100 and 30.
		for range 230 {
			deleted = append(deleted, sd.request(store.Rejected, past).ID)
		}
		approvedRevoked := sd.request(store.Approved, past)
		sd.revoked(approvedRevoked, apiclient.RevocationRevoked, past)
		sd.reply(approvedRevoked, "status/revoked", past, true)
		expired := sd.request(store.Expired, past)
		sd.reply(expired, "expired", past, true)
		deleted = append(deleted, approvedRevoked.ID, expired.ID)

		pending := sd.request(store.Pending, past)
		processing := sd.request(store.Approved, past)
		sd.revoked(processing, apiclient.RevocationProcessing, past)
		unanswered := sd.request(store.Approved, past)
		if err := st.SetRevocation(t.Context(), unanswered.ID, unanswered.Items[0].AccessStateID, "rev-unanswered", now.Add(maxRetentionTestBackoff)); err != nil {
			t.Fatal(err)
		}
		unposted := sd.request(store.Approved, past)
		sd.revoked(unposted, apiclient.RevocationRevoked, past)
		sd.reply(unposted, "status/revoked", past, false)
		expiredUnposted := sd.request(store.Expired, past)
		sd.reply(expiredUnposted, "expired", past, false)
		recent := sd.request(store.Rejected, within)
		revokedRecently := sd.request(store.Approved, past)
		sd.revoked(revokedRecently, apiclient.RevocationRevoked, within)
		kept = append(kept, pending.ID, processing.ID, unanswered.ID, unposted.ID, expiredUnposted.ID, recent.ID, revokedRecently.ID)
		// Crosses the cutoff half an hour from now: the next sweep takes it.
		crossing := sd.request(store.Rejected, now.Add(-keep-time.Minute+30*time.Minute))

		// 150 audit records older than the audit retention, 10 younger.
		for i := range 160 {
			at := now.Add(-keepAudit - time.Hour)
			if i >= 150 {
				at = now.Add(-keepAudit + time.Hour)
			}
			a := store.AuditRecord{At: at, RequestID: pending.ID, Actor: store.BotActor, Action: store.ActionStatus, Outcome: store.OutcomeOK, Detail: fmt.Sprint(i)}
			if err := st.Audit(t.Context(), a); err != nil {
				t.Fatal(err)
			}
		}

		// The sweep alone: the other loops of Run would post the unposted replies and expire the
		// pending request first (TestRunSweepsAnIntervalAfterStart has them together).
		sweeper := r.service(func(c *Config) { c.Retention, c.AuditRetention = keep, keepAudit }).retention
		if err := sweeper.sweep(t.Context()); err != nil {
			t.Fatal(err)
		}

		finished, audit, limits := st.calls()
		if diff := cmp.Diff([]int{100, 100, 32}, finished); diff != "" {
			t.Errorf("requests deleted per batch (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]int{100, 50}, audit); diff != "" {
			t.Errorf("audit records deleted per batch (-want +got):\n%s", diff)
		}
		for _, l := range limits {
			if l != retentionBatch {
				t.Errorf("a delete asked for %d rows, want batches of %d", l, retentionBatch)
			}
		}
		for _, id := range deleted {
			if _, err := st.Request(t.Context(), id); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("finished request %s past the cutoff is still stored (%v)", id, err)
			}
		}
		for _, id := range append(kept, crossing.ID) {
			if _, err := st.Request(t.Context(), id); err != nil {
				t.Errorf("request %s was deleted, though it is not finished or not past the cutoff: %v", id, err)
			}
		}
		var left []string
		if err := st.AuditSince(t.Context(), time.Time{}, time.Time{}, func(a store.AuditRecord) error {
			left = append(left, a.Detail)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(left) != 10 || left[0] != "150" {
			t.Errorf("audit records left: %q; want the 10 within a year", left)
		}

		time.Sleep(time.Hour)
		if err := sweeper.sweep(t.Context()); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Request(t.Context(), crossing.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a request that crossed the cutoff is still stored an hour later (%v); want the next sweep to take it", err)
		}
		for _, id := range kept {
			if _, err := st.Request(t.Context(), id); err != nil {
				t.Errorf("request %s was deleted by the second sweep: %v", id, err)
			}
		}
	})
}

func TestRunSweepsAnIntervalAfterStartAndThenEveryInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const keep = 90 * 24 * time.Hour
		st := &batchStore{Store: memstore.New()}
		r := newRig(t, st)
		sd := &seeder{t: t, st: st}
		now := time.Now()
		finished := sd.request(store.Rejected, now.Add(-keep-24*time.Hour))
		// Left pending by a stop longer than the retention: the start expires it and says so in
		// its thread, and that reply, claimed now, keeps it for another retention.
		pending := sd.request(store.Pending, now.Add(-keep-24*time.Hour))
		if err := st.SetMessage(t.Context(), pending.ID, testChannel, r.notes.post(pending)); err != nil {
			t.Fatal(err)
		}
		crossing := sd.request(store.Rejected, now.Add(-keep+90*time.Minute))
		stored := func(req store.Request) bool {
			t.Helper()
			_, err := st.Request(t.Context(), req.ID)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				t.Fatal(err)
			}
			return err == nil
		}

		stop := run(t, r.service(func(c *Config) { c.Retention = keep }))
		defer stop()
		synctest.Wait()
		if !stored(finished) {
			t.Error("a finished request was deleted at start; want the first sweep an interval later")
		}
		time.Sleep(DefaultRetentionInterval)
		synctest.Wait()
		if stored(finished) {
			t.Error("a finished request past the cutoff is still stored after the first sweep")
		}
		if got, err := st.Request(t.Context(), pending.ID); err != nil || got.State != store.Expired {
			t.Errorf("the request left pending = %v, %v; want it expired, announced and kept", got.State, err)
		}
		if !stored(crossing) {
			t.Error("a request within its retention was deleted")
		}
		time.Sleep(DefaultRetentionInterval)
		synctest.Wait()
		if stored(crossing) {
			t.Error("a request that crossed the cutoff is still stored after the next sweep")
		}
		if !stored(pending) {
			t.Error("the expired request, announced an hour ago, was deleted")
		}
	})
}

func TestZeroRetentionKeepsEverything(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &batchStore{Store: memstore.New()}
		r := newRig(t, st)
		sd := &seeder{t: t, st: st}
		old := sd.request(store.Rejected, time.Now().Add(-10*365*24*time.Hour))
		stop := run(t, r.service())
		defer stop()
		time.Sleep(2 * DefaultRetentionInterval)
		synctest.Wait()
		if _, err := st.Request(t.Context(), old.ID); err != nil {
			t.Errorf("with no retention configured a ten-year-old request was deleted: %v", err)
		}
		if finished, audit, _ := st.calls(); len(finished)+len(audit) != 0 {
			t.Errorf("with no retention configured the store was asked to delete: %v, %v", finished, audit)
		}
	})
}
