package apiclient

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// manualClock is a clock that moves only when told.
type manualClock struct{ t time.Time }

func (c *manualClock) now() time.Time          { return c.t }
func (c *manualClock) advance(d time.Duration) { c.t = c.t.Add(d) }

// budgetState builds a MemoryBudget's record step by step on a manual clock.
type budgetState struct {
	t     *testing.T
	b     *MemoryBudget
	clock *manualClock
}

func newBudgetState(t *testing.T, perHour, reserve int) *budgetState {
	t.Helper()
	clock := &manualClock{t: time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)}
	b, err := newMemoryBudget(perHour, reserve, clock.now)
	if err != nil {
		t.Fatal(err)
	}
	return &budgetState{t: t, b: b, clock: clock}
}

// take takes n requests of class now, failing the test if any has to wait.
func (s *budgetState) take(class Class, n int) {
	s.t.Helper()
	for i := range n {
		slot, err := s.b.Take(context.Background(), class)
		if err != nil || slot.Duration != 0 {
			s.t.Fatalf("%s request %d of %d: %+v, %v; want it taken", class, i+1, n, slot, err)
		}
	}
}

func (s *budgetState) heed(l ServerLimit) {
	s.t.Helper()
	if err := s.b.Heed(context.Background(), l); err != nil {
		s.t.Fatal(err)
	}
}

func (s *budgetState) delay(class Class) Wait {
	s.t.Helper()
	w, err := s.b.Delay(context.Background(), class)
	if err != nil {
		s.t.Fatal(err)
	}
	return w
}

func TestMemoryBudgetRules(t *testing.T) {
	const perHour, reserve = 100, 10 // background goes unpaced below 50 and never above 90
	tests := []struct {
		name           string
		fill           func(s *budgetState)
		wantPeople     Wait
		wantBackground Wait
		wantAvailable  int
	}{
		{
			name:          "an empty hour lets both go at once",
			fill:          func(*budgetState) {},
			wantAvailable: 100,
		},
		{
			name:          "background goes at once while the hour is under half full",
			fill:          func(s *budgetState) { s.take(ClassPeople, 30); s.take(ClassBackground, 19) },
			wantAvailable: 51,
		},
		{
			name: "above half full background spreads its room evenly until the oldest request leaves",
			// 40 left to background after this one: the next of them one forty-first of the
			// hour later.
			fill:           func(s *budgetState) { s.take(ClassPeople, 49); s.take(ClassBackground, 1) },
			wantBackground: Wait{Duration: time.Hour / 41},
			wantAvailable:  50,
		},
		{
			name: "the pace is measured from the last background request",
			fill: func(s *budgetState) {
				s.take(ClassPeople, 49)
				s.take(ClassBackground, 1)
				s.clock.advance(time.Minute)
			},
			wantBackground: Wait{Duration: time.Hour/41 - time.Minute},
			wantAvailable:  50,
		},
		{
			name:           "the fuller the hour the slower background goes",
			fill:           func(s *budgetState) { s.take(ClassPeople, 80); s.take(ClassBackground, 1) },
			wantBackground: Wait{Duration: time.Hour / 10},
			wantAvailable:  19,
		},
		{
			name: "the first background request after people's burst goes at once",
			// Background has not spent for an hour, so it is not behind its pace.
			fill:          func(s *budgetState) { s.take(ClassPeople, 80) },
			wantAvailable: 20,
		},
		{
			name: "with only the reserve left background waits for room while people go at once",
			fill: func(s *budgetState) {
				s.take(ClassPeople, 45)
				s.clock.advance(30 * time.Minute)
				s.take(ClassPeople, 45)
				s.clock.advance(10 * time.Minute)
			},
			// At the full hour the first 45 leave; 45 in the hour is under half: at once.
			wantBackground: Wait{Duration: 20 * time.Minute},
			wantAvailable:  10,
		},
		{
			name: "background at the reserve waits for room to free and then for its pace",
			fill: func(s *budgetState) {
				s.take(ClassPeople, 5)
				s.clock.advance(40 * time.Minute)
				s.take(ClassPeople, 84)
				s.clock.advance(19 * time.Minute)
				s.take(ClassBackground, 1)
			},
			// At the full hour 5 leave: 85 in the hour leave background 5, spread over the 41
			// minutes from its last request until the 84 leave, one sixth of them each.
			wantBackground: Wait{Duration: 41 * time.Minute / 6},
			wantAvailable:  10,
		},
		{
			name: "a full hour holds people until the oldest request leaves",
			fill: func(s *budgetState) {
				s.take(ClassPeople, 60)
				s.clock.advance(15 * time.Minute)
				s.take(ClassPeople, 40)
				s.clock.advance(5 * time.Minute)
			},
			wantPeople:     Wait{Duration: 40 * time.Minute},
			wantBackground: Wait{Duration: 40 * time.Minute},
		},
		{
			name: "a 429's pause holds everyone on AccessOwl's account",
			fill: func(s *budgetState) {
				s.heed(ServerLimit{PauseUntil: s.clock.now().Add(30 * time.Second)})
			},
			wantPeople:     Wait{Duration: 30 * time.Second, FromAccessOwl: true},
			wantBackground: Wait{Duration: 30 * time.Second, FromAccessOwl: true},
		},
		{
			name: "AccessOwl's remaining spent holds everyone until its reset",
			fill: func(s *budgetState) {
				s.take(ClassPeople, 1)
				s.heed(ServerLimit{After: 1, Remaining: 2, ResetAt: s.clock.now().Add(20 * time.Second)})
				s.take(ClassPeople, 2)
			},
			wantPeople:     Wait{Duration: 20 * time.Second, FromAccessOwl: true},
			wantBackground: Wait{Duration: 20 * time.Second, FromAccessOwl: true},
		},
		{
			name: "background leaves people the reserve of what AccessOwl says remains",
			fill: func(s *budgetState) {
				s.take(ClassPeople, 1)
				s.heed(ServerLimit{After: 1, Remaining: 5, ResetAt: s.clock.now().Add(20 * time.Second)})
			},
			wantBackground: Wait{Duration: 20 * time.Second, FromAccessOwl: true},
			wantAvailable:  5,
		},
		{
			name: "background spreads what AccessOwl says remains above the reserve until its reset",
			fill: func(s *budgetState) {
				s.take(ClassBackground, 1)
				s.heed(ServerLimit{After: 1, Remaining: 13, ResetAt: s.clock.now().Add(40 * time.Second)})
			},
			// 13 remain, 10 of them the reserve: 3 in 4 steps of 10 s.
			wantBackground: Wait{Duration: 10 * time.Second},
			wantAvailable:  13,
		},
		{
			name: "AccessOwl's remaining above the record's room changes nothing",
			fill: func(s *budgetState) {
				s.take(ClassPeople, 1)
				s.heed(ServerLimit{After: 1, Remaining: 5000, ResetAt: s.clock.now().Add(time.Minute)})
			},
			wantAvailable: 99,
		},
		{
			name: "a report about an earlier request does not undo a later one",
			fill: func(s *budgetState) {
				s.take(ClassPeople, 2)
				s.heed(ServerLimit{After: 2, Remaining: 0, ResetAt: s.clock.now().Add(20 * time.Second)})
				s.heed(ServerLimit{After: 1, Remaining: 50, ResetAt: s.clock.now().Add(20 * time.Second)})
			},
			wantPeople:     Wait{Duration: 20 * time.Second, FromAccessOwl: true},
			wantBackground: Wait{Duration: 20 * time.Second, FromAccessOwl: true},
		},
		{
			name: "AccessOwl's remaining ends at its reset",
			fill: func(s *budgetState) {
				s.take(ClassPeople, 1)
				s.heed(ServerLimit{After: 1, Remaining: 0, ResetAt: s.clock.now().Add(20 * time.Second)})
				s.clock.advance(20 * time.Second)
			},
			wantAvailable: 99,
		},
		{
			name: "a reset further off than an hour is believed for an hour",
			fill: func(s *budgetState) {
				s.take(ClassPeople, 1)
				s.heed(ServerLimit{After: 1, Remaining: 0, ResetAt: s.clock.now().Add(24 * time.Hour)})
			},
			wantPeople:     Wait{Duration: time.Hour, FromAccessOwl: true},
			wantBackground: Wait{Duration: time.Hour, FromAccessOwl: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newBudgetState(t, perHour, reserve)
			tt.fill(s)
			if diff := cmp.Diff(tt.wantPeople, s.delay(ClassPeople)); diff != "" {
				t.Errorf("people's wait (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantBackground, s.delay(ClassBackground)); diff != "" {
				t.Errorf("background wait (-want +got):\n%s", diff)
			}
			got, err := s.b.Available(context.Background())
			if err != nil || got != tt.wantAvailable {
				t.Errorf("Available = %d, %v; want %d", got, err, tt.wantAvailable)
			}
			// Take agrees with Delay: it takes exactly when Delay says zero.
			for _, class := range []Class{ClassPeople, ClassBackground} {
				want := s.delay(class)
				slot, err := s.b.Take(context.Background(), class)
				if err != nil || slot.Wait != want {
					t.Errorf("Take(%s) = %+v, %v; Delay said %+v", class, slot, err, want)
				}
				if slot.Duration == 0 {
					break // the record changed
				}
			}
		})
	}
}

func TestMemoryBudgetRefusesAShapeThatCannotWork(t *testing.T) {
	tests := []struct {
		name             string
		perHour, reserve int
	}{
		{"a rate limit below one", 0, 0},
		{"a rate limit too large to keep a record of", maxRateLimit + 1, 0},
		{"a negative reserve", 100, -1},
		{"a reserve that leaves background nothing", 100, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if b, err := NewMemoryBudget(tt.perHour, tt.reserve); err == nil {
				t.Errorf("NewMemoryBudget(%d, %d) = %v, want an error", tt.perHour, tt.reserve, b)
			}
		})
	}
}

func TestPacedBackgroundRequestsAreEvenlySpacedUntilRoomFrees(t *testing.T) {
	s := newBudgetState(t, 100, 10)
	start := s.clock.now()
	s.take(ClassPeople, 50)
	var at []time.Duration
	for s.clock.now().Before(start.Add(2 * time.Hour)) {
		w := s.delay(ClassBackground)
		s.clock.advance(w.Duration)
		s.take(ClassBackground, 1)
		at = append(at, s.clock.now().Sub(start))
	}
	// The first goes at once; the other 39 of the room are spaced by the hour over 40, the last
	// an hour/40 before the people's burst leaves.
	if at[0] != 0 {
		t.Errorf("first background request at %s, want at once", at[0])
	}
	for i := 1; i < 40; i++ {
		if got, want := at[i]-at[i-1], time.Hour/40; got < want-time.Microsecond || got > want+time.Microsecond {
			t.Fatalf("gap before background request %d is %s, want %s", i+1, got, want)
		}
	}
	if at[40] != time.Hour {
		t.Errorf("request 41 at %s, want at the hour, when the burst leaves", at[40])
	}
}

// The record starts small and grows as the hour fills, also when it has wrapped round: the hour
// still holds exactly perHour, and the requests leave it in the order they were sent.
func TestMemoryBudgetRecordGrowsWithoutLosingOrder(t *testing.T) {
	const perHour = 3 * initialRing
	s := newBudgetState(t, perHour, 0)
	s.take(ClassPeople, initialRing-24) // moves the ring's head once they leave
	s.clock.advance(time.Hour)
	start := s.clock.t
	for range perHour / 2 { // one a second: wraps round the first ring, then grows it twice
		s.take(ClassPeople, 1)
		s.clock.advance(time.Second)
	}
	s.clock.t = start.Add(30 * time.Minute)
	s.take(ClassPeople, perHour-perHour/2)
	if got := len(s.b.sent); got != perHour {
		t.Errorf("record of %d after a full hour, want %d", got, perHour)
	}
	if w := s.delay(ClassPeople); w.Duration != 30*time.Minute {
		t.Fatalf("a full hour: a person waits %s, want 30m0s, until the first request leaves", w.Duration)
	}
	s.clock.advance(30 * time.Minute)
	s.take(ClassPeople, 1)
	if w := s.delay(ClassPeople); w.Duration != time.Second {
		t.Errorf("full again: a person waits %s, want 1s, until the second request leaves", w.Duration)
	}
}

func TestLookupsLeaveTheirPartOfTheReserveToSubmissions(t *testing.T) {
	const perHour, reserve = 100, 10 // lookups stop at 95; submissions may take all 100
	s := newBudgetState(t, perHour, reserve)
	s.take(ClassLookup, 60)
	s.clock.advance(10 * time.Minute)
	s.take(ClassLookup, 35)
	if w := s.delay(ClassLookup); w.Duration != 50*time.Minute {
		t.Errorf("a lookup with 95 of 100 spent waits %s, want until the first 60 leave the hour (50m)", w.Duration)
	}
	if w := s.delay(ClassPeople); w.Duration != 0 {
		t.Errorf("a submission with 95 of 100 spent by lookups waits %s, want it to go at once", w.Duration)
	}
	s.take(ClassPeople, 5)
	if w := s.delay(ClassPeople); w.Duration != 50*time.Minute {
		t.Errorf("a submission with the hour spent waits %s, want 50m", w.Duration)
	}
	// ClassOf reads the mark a lookup's context carries.
	if got := ClassOf(Lookup(context.Background())); got != ClassLookup {
		t.Errorf("a lookup's context is of class %s", got)
	}
}
