package apiclient

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// Callers in the budget tests name their class in the user ID they ask for, so the server's
// log tells people's requests from background ones.
const (
	personID     = "person"
	backgroundID = "background"
)

// sent is one request as the server received it.
type sent struct {
	at         time.Time
	background bool
}

// sendLog records when each request reached the server, and whose it was.
type sendLog struct {
	mu    sync.Mutex
	sends []sent
}

func (l *sendLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.mu.Lock()
	l.sends = append(l.sends, sent{at: time.Now(), background: r.URL.Path == "/api/v1/users/"+backgroundID})
	l.mu.Unlock()
	reply(http.StatusOK, `{"id":"user-1"}`)(w, r)
}

func (l *sendLog) sent() []sent {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.sends)
}

func timesOf(sends []sent) []time.Time {
	times := make([]time.Time, len(sends))
	for i, s := range sends {
		times[i] = s.at
	}
	return times
}

// maxInAnyHour returns the most requests sent within any rolling hour; every such window can be
// taken to start at a send.
func maxInAnyHour(times []time.Time) int {
	most, j := 0, 0
	for i := range times {
		for j < len(times) && times[j].Sub(times[i]) < time.Hour {
			j++
		}
		most = max(most, j-i)
	}
	return most
}

// hourBefore counts the sends in the hour before at, not counting those at at itself.
func hourBefore(sends []sent, at time.Time) int {
	n := 0
	for _, s := range sends {
		if s.at.Before(at) && at.Sub(s.at) < time.Hour {
			n++
		}
	}
	return n
}

// sentAt counts the sends at exactly at, background ones and people's.
func sentAt(sends []sent, at time.Time) (background, people int) {
	for _, s := range sends {
		if s.at.Equal(at) {
			if s.background {
				background++
			} else {
				people++
			}
		}
	}
	return background, people
}

// checkBackgroundLeftTheReserve fails the test if background work ever made the hour hold more
// than perHour − reserve. Requests taken at one instant may reach the server in any order, so
// for each instant it counts what came before plus the background requests of that instant,
// which the budget took while the hour had room above the reserve.
func checkBackgroundLeftTheReserve(t *testing.T, sends []sent, perHour, reserve int) {
	t.Helper()
	for i, s := range sends {
		if !s.background || (i > 0 && sends[i-1].at.Equal(s.at)) {
			continue
		}
		bg, _ := sentAt(sends, s.at)
		if n := hourBefore(sends, s.at) + bg; n > perHour-reserve {
			t.Errorf("at %s background made the hour hold %d, over %d − %d reserved for people", s.at, n, perHour, reserve)
			return
		}
	}
}

func TestTheBudgetHoldsUnderPeoplesBurstsAndHammeringBackgroundWork(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const (
			perHour, workers, burst = DefaultRateLimit, 30, 100
			run                     = 3*time.Hour + 30*time.Minute
		)
		reserve := DefaultReserve(perHour)
		srv := &sendLog{}
		c := newTestClient(t, srv, WithRateLimit(perHour))
		start := time.Now()
		bgCtx, stop := context.WithDeadline(Background(t.Context()), start.Add(run))
		defer stop()

		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for bgCtx.Err() == nil {
					if _, err := c.GetUser(bgCtx, backgroundID); err != nil && bgCtx.Err() == nil {
						t.Errorf("background call: %v", err)
						return
					}
				}
			})
		}

		// People's bursts come at random moments, 5 to 40 minutes apart; each call notes how
		// long it waited.
		random := rand.New(rand.NewPCG(1, 2))
		var (
			mu     sync.Mutex
			bursts []time.Time
			waits  []time.Duration
		)
		for {
			time.Sleep(5*time.Minute + time.Duration(random.Int64N(int64(35*time.Minute))))
			if time.Since(start) > run-30*time.Minute {
				break
			}
			bursts = append(bursts, time.Now())
			for range burst {
				wg.Go(func() {
					asked := time.Now()
					if _, err := c.GetUser(t.Context(), personID); err != nil {
						t.Errorf("person's call: %v", err)
					}
					mu.Lock()
					waits = append(waits, time.Since(asked))
					mu.Unlock()
				})
			}
		}
		wg.Wait()

		sends := srv.sent()
		busiest := maxInAnyHour(timesOf(sends))
		if busiest > perHour {
			t.Errorf("%d requests in one rolling hour, want at most %d", busiest, perHour)
		}
		checkBackgroundLeftTheReserve(t, sends, perHour, reserve)
		// At each burst, people took all the room there was, up to the burst: none of them
		// waited while background work held the budget.
		fullyAtOnce := 0
		for _, at := range bursts {
			bg, people := sentAt(sends, at)
			room := perHour - hourBefore(sends, at) - bg
			if people < min(burst, room) {
				t.Errorf("burst at %s: %d people's calls went at once with room for %d", at.Sub(start), people, room)
			}
			if people >= burst {
				fullyAtOnce++
			}
		}
		var peopleSent, firstHour int
		for _, s := range sends {
			if !s.background {
				peopleSent++
			}
			if s.at.Sub(start) < time.Hour {
				firstHour++
			}
		}
		if peopleSent != len(bursts)*burst {
			t.Errorf("%d people's calls sent, want %d", peopleSent, len(bursts)*burst)
		}
		// The hour is used, not wasted: background work alone fills it up to the reserve.
		if firstHour < perHour-reserve {
			t.Errorf("only %d requests in the first hour, want at least %d", firstHour, perHour-reserve)
		}
		t.Logf("%d requests over %s: busiest rolling hour %d (budget %d), first hour %d; %d bursts of %d, %d wholly at once; people's longest wait %s",
			len(sends), run, busiest, perHour, firstHour, len(bursts), burst, fullyAtOnce, slices.Max(waits))
	})
}

// A person's call that would wait longer than WithMaxBudgetWait for the hour's room fails at
// once, unsent, saying when room frees; a background call waits for it.
func TestAPersonIsToldRatherThanHeldWhenTheHourIsSpent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := &sendLog{}
		c := newTestClient(t, log, WithRateLimit(10), WithBackgroundReserve(0))
		for range 10 {
			if _, err := c.GetUser(t.Context(), personID); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(time.Minute)
		asked := time.Now()
		_, err := c.GetUser(t.Context(), personID)
		var spent *BudgetError
		if !errors.As(err, &spent) || !errors.Is(err, ErrBudgetSpent) || spent.Wait != 59*time.Minute {
			t.Fatalf("the 11th call: %v; want a *BudgetError with room in 59m", err)
		}
		if waited := time.Since(asked); waited != 0 {
			t.Errorf("the refused call took %s, want at once", waited)
		}
		if n := len(log.sent()); n != 10 {
			t.Errorf("%d requests sent, want the 10 the hour holds", n)
		}
		if _, err := c.GetUser(Background(t.Context()), personID); err != nil {
			t.Fatalf("a background call: %v; want it to wait for room", err)
		}
		if waited := time.Since(asked); waited != 59*time.Minute {
			t.Errorf("the background call waited %s, want 59m0s", waited)
		}
	})
}

func TestPeopleMaySpendTheWholeHourInABurst(t *testing.T) {
	tests := []struct {
		name  string
		calls int
		every time.Duration // between two calls
		// wantLastWait is how long the last call waits; every other goes at once.
		wantLastWait time.Duration
	}{
		{name: "200 calls in a minute in an empty hour all go at once", calls: 200, every: 300 * time.Millisecond},
		{name: "the whole hour at once goes at once", calls: DefaultRateLimit},
		{name: "one over the hour waits for the oldest to leave", calls: DefaultRateLimit + 1, wantLastWait: time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newTestClient(t, &sendLog{}, WithMaxBudgetWait(0))
				var waits []time.Duration
				for i := range tt.calls {
					if i > 0 {
						time.Sleep(tt.every)
					}
					asked := time.Now()
					if _, err := c.GetUser(t.Context(), personID); err != nil {
						t.Fatal(err)
					}
					waits = append(waits, time.Since(asked))
				}
				for i, w := range waits[:len(waits)-1] {
					if w != 0 {
						t.Fatalf("call %d waited %s, want at once", i+1, w)
					}
				}
				if last := waits[len(waits)-1]; last != tt.wantLastWait {
					t.Errorf("the last call waited %s, want %s", last, tt.wantLastWait)
				}
			})
		})
	}
}

func TestBackgroundGoesAtOnceInAnEmptyHourAndSlowsAsItFills(t *testing.T) {
	const perHour = DefaultRateLimit
	reserve := DefaultReserve(perHour)
	tests := []struct {
		name string
		// people spend this much of the hour first.
		people int
		// unpaced is how many background calls go at once before the pacing starts.
		unpaced int
		// wantFirstHour is how many background calls go in the first hour.
		wantFirstHour int
	}{
		{name: "in an empty hour half the hour goes at once and background stops at the reserve",
			unpaced: perHour / 2, wantFirstHour: perHour - reserve},
		{name: "after people's burst background spreads what is left above the reserve",
			people: 700, unpaced: 1, wantFirstHour: perHour - reserve - 700},
		{name: "with only the reserve left background waits for the burst to leave",
			people: perHour - reserve, unpaced: 0, wantFirstHour: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := &sendLog{}
				c := newTestClient(t, srv)
				start := time.Now()
				for range tt.people {
					if _, err := c.GetUser(t.Context(), personID); err != nil {
						t.Fatal(err)
					}
				}
				// 100 status checks in the first minute, then as fast as the budget allows for two
				// hours.
				bg := Background(t.Context())
				var waits []time.Duration
				for i := 0; time.Since(start) < 2*time.Hour; i++ {
					if i > 0 && i < 100 {
						time.Sleep(600 * time.Millisecond)
					}
					asked := time.Now()
					if _, err := c.GetUser(bg, backgroundID); err != nil {
						t.Fatal(err)
					}
					waits = append(waits, time.Since(asked))
				}
				if tt.unpaced >= 100 {
					for i, w := range waits[:100] {
						if w != 0 {
							t.Fatalf("status check %d of the first minute waited %s, want at once", i+1, w)
						}
					}
				}
				unpaced := 0
				for unpaced < len(waits) && waits[unpaced] == 0 {
					unpaced++
				}
				if unpaced != tt.unpaced {
					t.Errorf("%d background calls went at once before the first wait, want %d", unpaced, tt.unpaced)
				}
				sends := srv.sent()
				firstHour, lastGap := 0, time.Duration(0)
				var prev time.Time
				for _, s := range sends {
					if !s.background || s.at.Sub(start) >= time.Hour {
						continue
					}
					firstHour++
					// Once the calls come as fast as the budget allows, and while nothing leaves
					// the first hour, each gap is at least the last: background slows as the hour
					// fills, never speeds up.
					if firstHour > 100 {
						gap := s.at.Sub(prev)
						if gap < lastGap-time.Millisecond {
							t.Fatalf("at %s background sped up: %s after a gap of %s", s.at.Sub(start), gap, lastGap)
						}
						lastGap = gap
					}
					prev = s.at
				}
				if firstHour != tt.wantFirstHour {
					t.Errorf("%d background calls in the first hour, want %d", firstHour, tt.wantFirstHour)
				}
				checkBackgroundLeftTheReserve(t, sends, perHour, reserve)
				if most := maxInAnyHour(timesOf(sends)); most > perHour-reserve {
					t.Errorf("%d requests in one rolling hour, want at most %d with only background after the burst", most, perHour-reserve)
				}
				t.Logf("first hour: %d background calls, %d at once, then one every %s", firstHour, unpaced, lastGap)
			})
		})
	}
}

func TestBackgroundDelayIsTruthful(t *testing.T) {
	// 100 an hour with a reserve of 10: background goes at once below 50, paced up to 90.
	tests := []struct {
		name       string
		people     int    // people's calls made first
		background int    // then background calls
		retryAfter string // a 429's Retry-After before the check, if any
		want       time.Duration
	}{
		{name: "no wait while the hour is under half full", people: 40, background: 9},
		{name: "above half full the room left is spread until the oldest leaves", people: 59, background: 1,
			want: time.Hour / 31},
		{name: "with only the reserve left background waits for the hour to empty", people: 90,
			want: time.Hour},
		{name: "a 429's Retry-After holds background calls too", retryAfter: "45", want: 45 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := newScript(t)
				if tt.retryAfter != "" {
					srv.steps = append(srv.steps, reply(http.StatusTooManyRequests, `{}`, "Retry-After", tt.retryAfter))
				}
				for range tt.people + tt.background + 1 {
					srv.steps = append(srv.steps, reply(http.StatusOK, `{"id":"user-1"}`))
				}
				c := newTestClient(t, srv, WithRateLimit(100), WithBackgroundReserve(10), WithRetry(1, time.Second, time.Second))
				bg := Background(t.Context())
				if tt.retryAfter != "" {
					if _, err := c.GetUser(bg, "user-1"); err == nil {
						t.Fatal("want the 429 as an error with retries off")
					}
				}
				for i := range tt.people + tt.background {
					ctx := t.Context()
					if i >= tt.people {
						ctx = bg
					}
					if _, err := c.GetUser(ctx, "user-1"); err != nil {
						t.Fatal(err)
					}
				}
				d := c.BackgroundDelay()
				if d != tt.want {
					t.Fatalf("BackgroundDelay = %s, want %s", d, tt.want)
				}
				asked := time.Now()
				if _, err := c.GetUser(bg, "user-1"); err != nil {
					t.Fatal(err)
				}
				if waited := time.Since(asked); waited != d {
					t.Errorf("the next background call waited %s, BackgroundDelay said %s", waited, d)
				}
			})
		})
	}
}

func TestPeopleSpendTheReserveBackgroundLeaves(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &sendLog{}
		c := newTestClient(t, srv, WithRateLimit(100), WithBackgroundReserve(2))
		bg := Background(t.Context())
		start := time.Now()
		for range 98 {
			if _, err := c.GetUser(bg, backgroundID); err != nil {
				t.Fatal(err)
			}
		}
		if time.Since(start) >= time.Hour {
			t.Fatalf("98 background calls took %s, want them within the hour", time.Since(start))
		}
		ctx, cancel := context.WithCancel(bg)
		done := make(chan struct{})
		go func() {
			defer close(done)
			c.GetUser(ctx, backgroundID) // waits: only the reserve is left
		}()
		synctest.Wait()
		asked := time.Now()
		for range 2 {
			if _, err := c.GetUser(t.Context(), personID); err != nil {
				t.Fatal(err)
			}
		}
		if waited := time.Since(asked); waited != 0 {
			t.Errorf("people's calls waited %s with the reserve free, want none", waited)
		}
		if got := len(srv.sent()); got != 100 {
			t.Errorf("%d sent, want 100: the waiting background call must not have taken the reserve", got)
		}
		cancel()
		<-done
	})
}

func TestRetriesSpendTheBudgetToo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newScript(t, reply(500, `{}`), reply(502, `{}`), reply(503, `{}`), reply(http.StatusOK, `{"id":"user-1"}`))
		c := newTestClient(t, srv, WithRateLimit(100))
		if _, err := c.GetUser(t.Context(), "user-1"); err != nil {
			t.Fatal(err)
		}
		if got := c.BudgetAvailable(); got != 96 {
			t.Errorf("BudgetAvailable = %d after one call of four attempts, want 96", got)
		}
	})
}

// fakeBudget is a Budget whose every method a test supplies.
type fakeBudget struct {
	take      func(context.Context, Class) (Slot, error)
	delay     func(context.Context, Class) (Wait, error)
	available func(context.Context) (int, error)
	heed      func(context.Context, ServerLimit) error
}

var _ Budget = (*fakeBudget)(nil)

func (f *fakeBudget) Take(ctx context.Context, c Class) (Slot, error)  { return f.take(ctx, c) }
func (f *fakeBudget) Delay(ctx context.Context, c Class) (Wait, error) { return f.delay(ctx, c) }
func (f *fakeBudget) Available(ctx context.Context) (int, error)       { return f.available(ctx) }
func (f *fakeBudget) Heed(ctx context.Context, l ServerLimit) error    { return f.heed(ctx, l) }

func TestAPluggedBudgetDecidesEveryAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var (
			mu      sync.Mutex
			classes []Class
			heard   []ServerLimit
			seq     uint64
		)
		storeDown := errors.New("budget store down")
		fail := false
		b := &fakeBudget{
			take: func(_ context.Context, c Class) (Slot, error) {
				mu.Lock()
				defer mu.Unlock()
				if fail {
					return Slot{}, storeDown
				}
				classes = append(classes, c)
				if len(classes) == 1 {
					// The first ask is told to wait; the client asks again after.
					return Slot{Wait: Wait{Duration: 7 * time.Second}}, nil
				}
				seq++
				return Slot{Seq: seq}, nil
			},
			delay:     func(context.Context, Class) (Wait, error) { return Wait{Duration: 3 * time.Second}, nil },
			available: func(context.Context) (int, error) { return 42, nil },
			heed: func(_ context.Context, l ServerLimit) error {
				mu.Lock()
				defer mu.Unlock()
				heard = append(heard, l)
				return nil
			},
		}
		srv := newScript(t,
			reply(http.StatusTooManyRequests, `{}`, "Retry-After", "5"),
			reply(http.StatusOK, `{"id":"user-1"}`, "X-RateLimit-Remaining", "17", "X-RateLimit-Reset", "60"),
		)
		c := newTestClient(t, srv, WithBudget(b), WithRateLimit(1)) // the rate limit shapes only the default budget
		start := time.Now()
		if _, err := c.GetUser(Background(t.Context()), "user-1"); err != nil {
			t.Fatal(err)
		}
		if waited := time.Since(start); waited != 7*time.Second {
			t.Errorf("the call waited %s, want the 7 s the budget asked for", waited)
		}
		mu.Lock()
		if want := []Class{ClassBackground, ClassBackground, ClassBackground}; !slices.Equal(classes, want) {
			t.Errorf("Take asked for %v, want %v: one wait, then one take per attempt", classes, want)
		}
		wantHeard := []ServerLimit{
			{After: 1, PauseUntil: start.Add(7*time.Second + 5*time.Second)},
			{After: 2, Remaining: 17, ResetAt: start.Add(7*time.Second + time.Minute)},
		}
		if diff := cmp.Diff(wantHeard, heard); diff != "" {
			t.Errorf("what Heed heard (-want +got):\n%s", diff)
		}
		fail = true
		mu.Unlock()
		if d, n := c.BackgroundDelay(), c.BudgetAvailable(); d != 3*time.Second || n != 42 {
			t.Errorf("BackgroundDelay, BudgetAvailable = %s, %d; want the budget's 3s, 42", d, n)
		}
		if _, err := c.GetUser(t.Context(), "user-1"); !errors.Is(err, storeDown) {
			t.Errorf("with the budget failing: err = %v, want it to wrap %v", err, storeDown)
		}
		if got := len(srv.requests()); got != 2 {
			t.Errorf("the server saw %d requests, want 2: nothing is sent when the budget fails", got)
		}
	})
}
