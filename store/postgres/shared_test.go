package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"revokebot/apiclient"
	"revokebot/store"
	"revokebot/store/postgres/pgtest"
	"revokebot/store/storetest"
)

// replicas opens n stores on one database, each with its own connections, as n replicas would.
func replicas(t *testing.T, n int) []*Store {
	t.Helper()
	url := pgtest.NewDatabase(t)
	out := make([]*Store, n)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { out[i], errs[i] = Open(t.Context(), url) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("replica %d: %v", i, err)
		}
		t.Cleanup(func() { out[i].Close() })
	}
	return out
}

func TestReplicasStartingTogetherMigrateOnce(t *testing.T) {
	stores := replicas(t, 5)
	v, err := readVersion(t.Context(), stores[0].pool)
	if err != nil || v != SchemaVersion() {
		t.Errorf("schema version = %d, %v; want %d", v, err, SchemaVersion())
	}
}

func TestOpenRefusesANewerSchema(t *testing.T) {
	url := pgtest.NewDatabase(t)
	s, err := Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(t.Context(), `UPDATE schema_version SET version = 99`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := Open(t.Context(), url); !errors.Is(err, ErrNewerSchema) {
		t.Errorf("Open(newer schema) error = %v, want ErrNewerSchema", err)
	}
}

func TestErrorsNeverShowThePassword(t *testing.T) {
	for _, url := range []string{
		"postgres://revokebot:s3cr3t-pw@127.0.0.1:1/revokebot?connect_timeout=1",
		"postgres://127.0.0.1:1/revokebot?user=revokebot&password=s3cr3t-pw&connect_timeout=1",
		"postgres://revokebot:s3cr3t-pw@[::1/revokebot",
	} {
		_, err := Open(t.Context(), url)
		if err == nil {
			t.Fatalf("Open(%s) succeeded", Redact(url))
		}
		if strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("Open's error shows the password: %v", err)
		}
		if strings.Contains(Redact(url), "s3cr3t") {
			t.Errorf("Redact(%s) shows the password", Redact(url))
		}
	}
}

func TestDecisionsRacingAcrossReplicas(t *testing.T) {
	stores := replicas(t, 3)
	const n = 100
	var requests []store.Request
	for i := range n {
		r := storetest.NewRequest(i)
		if _, err := stores[0].CreateRequest(t.Context(), r); err != nil {
			t.Fatal(err)
		}
		requests = append(requests, r)
	}
	var wins [n]atomic.Int32
	var wg sync.WaitGroup
	for i, r := range requests {
		for j, s := range stores {
			state := store.Approved
			if j == 2 {
				state = store.Rejected
			}
			wg.Go(func() {
				_, decided, err := s.Decide(t.Context(), r.ID, store.Decision{State: state, By: fmt.Sprint("U", j), At: time.Now()})
				if err != nil {
					t.Error(err)
				}
				if decided {
					wins[i].Add(1)
				}
			})
		}
	}
	wg.Wait()
	for i := range n {
		if got := wins[i].Load(); got != 1 {
			t.Errorf("request %d: %d decisions won, want exactly 1", i, got)
		}
	}
}

func TestClaimsRacingAcrossReplicas(t *testing.T) {
	stores := replicas(t, 3)
	r := storetest.NewRequest(1)
	if _, err := stores[0].CreateRequest(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	var claimed atomic.Int32
	var wg sync.WaitGroup
	for range 10 {
		for j, s := range stores {
			wg.Go(func() {
				ok, err := s.ClaimPost(t.Context(), store.Post{RequestID: r.ID, Key: "status/rev/revoked", ClaimedAt: time.Now(), Claimer: fmt.Sprint(j)})
				if err != nil {
					t.Error(err)
				}
				if ok {
					claimed.Add(1)
				}
			})
		}
	}
	wg.Wait()
	if got := claimed.Load(); got != 1 {
		t.Errorf("%d claims of one reply won, want 1", got)
	}
}

func TestRevocationsRacingForOneItem(t *testing.T) {
	stores := replicas(t, 2)
	r := storetest.NewRequest(1)
	if _, err := stores[0].CreateRequest(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	var ok, conflicts atomic.Int32
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() {
			err := s.SetRevocation(t.Context(), r.ID, r.Items[0].AccessStateID, fmt.Sprint("rev-", i), time.Now())
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, store.ErrConflict):
				conflicts.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 1 || conflicts.Load() != 1 {
		t.Errorf("%d recorded and %d conflicts; want one of each", ok.Load(), conflicts.Load())
	}
}

func TestOneReplicaLeadsAndAnotherTakesOver(t *testing.T) {
	stores := replicas(t, 2)
	ctx := t.Context()
	const ttl = 2 * time.Second
	a, err := stores[0].Heartbeat(ctx, "background", "a", ttl)
	if err != nil || !a.Leader {
		t.Fatalf("first beat = %+v, %v; want the lease", a, err)
	}
	b, err := stores[1].Heartbeat(ctx, "background", "b", ttl)
	if err != nil || b.Leader || b.Holder != "a" || len(b.Live) != 2 {
		t.Fatalf("second replica's beat = %+v, %v; want a leading, both live", b, err)
	}
	// a stops beating: b takes over once the lease has expired, and not before.
	deadline := time.Now().Add(10 * ttl)
	for !b.Leader && time.Now().Before(deadline) {
		time.Sleep(ttl / 4)
		if b, err = stores[1].Heartbeat(ctx, "background", "b", ttl); err != nil {
			t.Fatal(err)
		}
	}
	if !b.Leader || len(b.Live) != 1 || len(b.Gone) != 1 {
		t.Fatalf("after a stopped: %+v; want b leading alone, a gone", b)
	}
	// b hands the lease over at once when it stops.
	if err := stores[1].Release(ctx, "background", "b"); err != nil {
		t.Fatal(err)
	}
	if a, err = stores[0].Heartbeat(ctx, "background", "a", ttl); err != nil || !a.Leader {
		t.Errorf("after b released the lease: %+v, %v; want a leading", a, err)
	}
}

func TestAClickIsFirstOnOneReplicaOnly(t *testing.T) {
	stores := replicas(t, 2)
	var firsts atomic.Int32
	var wg sync.WaitGroup
	for range 5 {
		for _, s := range stores {
			wg.Go(func() {
				first, err := s.FirstClick(t.Context(), "U1|approve|123.456|value", time.Minute)
				if err != nil {
					t.Error(err)
				}
				if first {
					firsts.Add(1)
				}
			})
		}
	}
	wg.Wait()
	if firsts.Load() != 1 {
		t.Errorf("%d replicas saw the click first, want 1", firsts.Load())
	}
}

// TestTheBudgetIsOneHourForAllReplicas takes from three replicas' budgets at once on one clock:
// together they never let more than perHour requests go within an hour, and after the hour the
// room is back.
func TestTheBudgetIsOneHourForAllReplicas(t *testing.T) {
	stores := replicas(t, 3)
	var mu sync.Mutex
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	const perHour = 50
	var budgets []*Budget
	for _, s := range stores {
		b, err := s.Budget(perHour, 5, clock)
		if err != nil {
			t.Fatal(err)
		}
		budgets = append(budgets, b)
	}
	var taken atomic.Int32
	seqs := sync.Map{}
	var wg sync.WaitGroup
	for i := range 3 * perHour {
		wg.Go(func() {
			slot, err := budgets[i%3].Take(context.Background(), apiclient.ClassPeople)
			if err != nil {
				t.Error(err)
				return
			}
			if slot.Duration == 0 {
				taken.Add(1)
				if _, dup := seqs.LoadOrStore(slot.Seq, true); dup {
					t.Errorf("Seq %d handed out twice", slot.Seq)
				}
			}
		})
	}
	wg.Wait()
	if got := taken.Load(); got != perHour {
		t.Errorf("%d requests went within the hour, want %d", got, perHour)
	}
	if n, err := budgets[1].Available(t.Context()); err != nil || n != 0 {
		t.Errorf("Available = %d, %v; want 0", n, err)
	}
	mu.Lock()
	now = now.Add(time.Hour)
	mu.Unlock()
	if n, err := budgets[2].Available(t.Context()); err != nil || n != perHour {
		t.Errorf("an hour later Available = %d, %v; want %d", n, err, perHour)
	}
	// A 429 heard by one replica holds the others.
	if err := budgets[0].Heed(t.Context(), apiclient.ServerLimit{PauseUntil: clock().Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	slot, err := budgets[1].Take(t.Context(), apiclient.ClassPeople)
	if err != nil || slot.Duration != time.Minute || !slot.FromAccessOwl {
		t.Errorf("Take after another replica heard a 429 = %+v, %v; want a minute's wait from AccessOwl", slot, err)
	}
}

func TestCheckDatabaseChangesNothing(t *testing.T) {
	url := pgtest.NewDatabase(t)
	r, err := CheckDatabase(t.Context(), url)
	if err != nil || r.Version != 0 {
		t.Fatalf("CheckDatabase(empty) = %+v, %v; want version 0", r, err)
	}
	s, err := Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if r, err = CheckDatabase(t.Context(), url); err != nil || r.Version != SchemaVersion() {
		t.Errorf("CheckDatabase(migrated) = %+v, %v; want version %d", r, err, SchemaVersion())
	}
	var leftover bool
	if err := s.pool.QueryRow(t.Context(), `SELECT to_regclass('revokebot_check_write') IS NOT NULL`).Scan(&leftover); err != nil || leftover {
		t.Errorf("the check's table was left behind (%v)", err)
	}
	if _, err := s.pool.Exec(t.Context(), `UPDATE schema_version SET version = 99`); err != nil {
		t.Fatal(err)
	}
	if _, err := CheckDatabase(t.Context(), url); !errors.Is(err, ErrNewerSchema) {
		t.Errorf("CheckDatabase(newer schema) = %v, want ErrNewerSchema", err)
	}
	if _, err := CheckDatabase(t.Context(), "postgres://revokebot:s3cr3t-pw@127.0.0.1:1/x?connect_timeout=1"); err == nil || strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("CheckDatabase(unreachable) = %v; want an error without the password", err)
	}
}

// TestTheSharedBudgetDecidesAsMemoryBudget drives the shared budget and a MemoryBudget through
// the same busy hours — people's and background calls, AccessOwl's counts of what remains, a
// 429's pause — on one clock: they give the same answers at every step.
func TestTheSharedBudgetDecidesAsMemoryBudget(t *testing.T) {
	s := open(t)
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	const perHour, reserve = 40, 4
	shared, err := s.Budget(perHour, reserve, clock)
	if err != nil {
		t.Fatal(err)
	}
	mem, err := apiclient.RestoreMemoryBudget(perHour, reserve, apiclient.BudgetState{}, clock)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	var (
		last          uint64
		taken, waited int
	)
	for step := range 300 {
		switch {
		case step%23 == 22:
			l := apiclient.ServerLimit{After: last, PauseUntil: now.Add(90 * time.Second)}
			mustNil(t, shared.Heed(ctx, l), mem.Heed(ctx, l))
		case step%7 == 6:
			l := apiclient.ServerLimit{After: last, Remaining: step % 11, ResetAt: now.Add(time.Duration(step%5) * 10 * time.Minute)}
			mustNil(t, shared.Heed(ctx, l), mem.Heed(ctx, l))
		}
		for _, c := range []apiclient.Class{apiclient.ClassPeople, apiclient.ClassBackground} {
			want, err1 := mem.Delay(ctx, c)
			got, err2 := shared.Delay(ctx, c)
			mustNil(t, err1, err2)
			if want != got {
				t.Fatalf("step %d: Delay(%s) = %+v, MemoryBudget says %+v", step, c, got, want)
			}
		}
		class := apiclient.ClassBackground
		if step%3 == 0 {
			class = apiclient.ClassPeople
		}
		want, err1 := mem.Take(ctx, class)
		got, err2 := shared.Take(ctx, class)
		mustNil(t, err1, err2)
		if want != got {
			t.Fatalf("step %d: Take(%s) = %+v, MemoryBudget says %+v", step, class, got, want)
		}
		if got.Seq != 0 {
			last = got.Seq
			taken++
		} else {
			waited++
		}
		now = now.Add(31 * time.Second)
	}
	t.Logf("300 steps: %d requests taken, %d told to wait", taken, waited)
	if taken == 0 || waited == 0 {
		t.Errorf("the steps took %d and waited %d: they must do both to compare anything", taken, waited)
	}
}

func mustNil(t *testing.T, errs ...error) {
	t.Helper()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}
