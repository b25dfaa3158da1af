package apiclient

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestARestoredBudgetDecidesAsTheOriginal drives a budget through a busy hour and, at every step,
// restores a copy from its state: the copy gives the same answers, so a budget kept in a
// database and restored for each call follows MemoryBudget's rules exactly.
func TestARestoredBudgetDecidesAsTheOriginal(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	const perHour, reserve = 40, 4
	b, err := newMemoryBudget(perHour, reserve, clock)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := b.Heed(ctx, ServerLimit{After: 0, Remaining: 35, ResetAt: now.Add(40 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	for step := range 200 {
		class := ClassPeople
		if step%3 != 0 {
			class = ClassBackground
		}
		restored, err := RestoreMemoryBudget(perHour, reserve, b.State(), clock)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []Class{ClassPeople, ClassBackground} {
			want, _ := b.Delay(ctx, c)
			got, _ := restored.Delay(ctx, c)
			if want != got {
				t.Fatalf("step %d: restored Delay(%s) = %+v, want %+v", step, c, got, want)
			}
		}
		wantN, _ := b.Available(ctx)
		gotN, _ := restored.Available(ctx)
		if wantN != gotN {
			t.Fatalf("step %d: restored Available = %d, want %d", step, gotN, wantN)
		}
		want, _ := b.Take(ctx, class)
		got, _ := restored.Take(ctx, class)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("step %d: restored Take(%s) differs (-original +restored):\n%s", step, class, diff)
		}
		if diff := cmp.Diff(b.State(), restored.State()); diff != "" {
			t.Fatalf("step %d: states differ after Take (-original +restored):\n%s", step, diff)
		}
		now = now.Add(37 * time.Second)
	}
}
