package apiclient

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// sendLog records when each request reached the server.
type sendLog struct {
	mu    sync.Mutex
	times []time.Time
}

func (l *sendLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.mu.Lock()
	l.times = append(l.times, time.Now())
	l.mu.Unlock()
	reply(http.StatusOK, `{"id":"user-1"}`)(w, r)
}

func (l *sendLog) sent() []time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.times)
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

func TestBackgroundWorkNeverExceedsTheBudgetAndPeopleStillGoFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const perHour, workers, callsEach = DefaultRateLimit, 30, 100 // 3,000 background calls
		srv := &sendLog{}
		c := newTestClient(t, srv, WithRateLimit(perHour))
		start := time.Now()
		ctx := Background(t.Context())
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for range callsEach {
					if _, err := c.GetUser(ctx, "user-1"); err != nil {
						t.Errorf("background call: %v", err)
						return
					}
				}
			})
		}

		// Half an hour in, background work has the budget saturated…
		time.Sleep(30 * time.Minute)
		if d := c.BackgroundDelay(); d == 0 {
			t.Errorf("BackgroundDelay = 0 while 30 workers wait, want a positive delay")
		}
		// …and a person's call still goes out at once.
		asked := time.Now()
		if _, err := c.GetUser(t.Context(), "user-1"); err != nil {
			t.Fatal(err)
		}
		waited := time.Since(asked)
		if waited > time.Second {
			t.Errorf("interactive call waited %s behind background work, want under a second", waited)
		}
		wg.Wait()

		times := srv.sent()
		if len(times) != workers*callsEach+1 {
			t.Fatalf("%d requests sent, want %d", len(times), workers*callsEach+1)
		}
		if most := maxInAnyHour(times); most > perHour {
			t.Errorf("%d requests in one rolling hour, want at most %d", most, perHour)
		}
		// The budget is used, not wasted: the first hour sends all but the interactive reserve.
		firstHour := 0
		for _, at := range times {
			if at.Sub(start) < time.Hour {
				firstHour++
			}
		}
		if firstHour < perHour-50 {
			t.Errorf("only %d requests in the first hour, want close to %d", firstHour, perHour)
		}
		t.Logf("%d calls took %s of simulated time; busiest rolling hour %d (budget %d); first hour %d; interactive call waited %s",
			len(times), times[len(times)-1].Sub(start).Round(time.Minute), maxInAnyHour(times), perHour, firstHour, waited)
	})
}

func TestBackgroundDelayIsTruthful(t *testing.T) {
	// 100 an hour: burst 5, reserve 2, and a token every hour/95.
	tokenEvery := time.Hour / 95
	tests := []struct {
		name        string
		spend       int    // background calls made first
		retryAfter  string // a 429's Retry-After before the check, if any
		wantAtLeast time.Duration
		wantAtMost  time.Duration
	}{
		{name: "no wait while the bucket is above the reserve", spend: 2, wantAtMost: 0},
		{name: "the time to the next token once only the reserve is left", spend: 3,
			wantAtLeast: tokenEvery, wantAtMost: tokenEvery + time.Millisecond},
		{name: "a 429's Retry-After holds background calls too", spend: 0, retryAfter: "45",
			wantAtLeast: 45 * time.Second, wantAtMost: 45 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				steps := []http.HandlerFunc{}
				if tt.retryAfter != "" {
					steps = append(steps, reply(http.StatusTooManyRequests, `{}`, "Retry-After", tt.retryAfter))
				}
				for range tt.spend + 1 {
					steps = append(steps, reply(http.StatusOK, `{"id":"user-1"}`))
				}
				srv := newScript(t, steps...)
				c := newTestClient(t, srv, WithRateLimit(100), WithRetry(1, time.Second, time.Second))
				ctx := Background(t.Context())
				if tt.retryAfter != "" {
					if _, err := c.GetUser(ctx, "user-1"); err == nil {
						t.Fatal("want the 429 as an error with retries off")
					}
				}
				for range tt.spend {
					if _, err := c.GetUser(ctx, "user-1"); err != nil {
						t.Fatal(err)
					}
				}
				d := c.BackgroundDelay()
				if d < tt.wantAtLeast || d > tt.wantAtMost {
					t.Fatalf("BackgroundDelay = %s, want between %s and %s", d, tt.wantAtLeast, tt.wantAtMost)
				}
				asked := time.Now()
				if _, err := c.GetUser(ctx, "user-1"); err != nil {
					t.Fatal(err)
				}
				if waited := time.Since(asked); waited != d {
					t.Errorf("the next background call waited %s, BackgroundDelay said %s", waited, d)
				}
			})
		})
	}
}

func TestInteractiveCallsSpendTheReserveBackgroundCallsLeave(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &sendLog{}
		c := newTestClient(t, srv, WithRateLimit(100)) // burst 5, reserve 2
		bg := Background(t.Context())
		for range 3 {
			if _, err := c.GetUser(bg, "user-1"); err != nil {
				t.Fatal(err)
			}
		}
		ctx, cancel := context.WithCancel(bg)
		done := make(chan struct{})
		go func() {
			defer close(done)
			c.GetUser(ctx, "user-1") // waits: only the reserve is left
		}()
		synctest.Wait()
		start := time.Now()
		for range 2 {
			if _, err := c.GetUser(t.Context(), "user-1"); err != nil {
				t.Fatal(err)
			}
		}
		if time.Since(start) != 0 {
			t.Errorf("interactive calls waited %s with the reserve free, want none", time.Since(start))
		}
		if got := len(srv.sent()); got != 5 {
			t.Errorf("%d sent, want 5: the waiting background call must not have taken the reserve", got)
		}
		cancel()
		<-done
	})
}

func TestBudgetShape(t *testing.T) {
	tests := []struct {
		perHour, wantBurst, wantReserve int
	}{
		{1000, 50, 25},
		{100, 5, 2},
		{20, 1, 0},
		{2, 1, 0},
	}
	for _, tt := range tests {
		burst, reserve := budgetShape(tt.perHour)
		if burst != tt.wantBurst || reserve != tt.wantReserve {
			t.Errorf("budgetShape(%d) = %d, %d; want %d, %d", tt.perHour, burst, reserve, tt.wantBurst, tt.wantReserve)
		}
		b, err := newBudget(tt.perHour, -1)
		if err != nil {
			t.Fatalf("newBudget(%d): %v", tt.perHour, err)
		}
		// A full bucket plus an hour's refill is exactly the budget.
		if got := float64(b.lim.Burst()) + float64(b.lim.Limit())*time.Hour.Seconds(); got < float64(tt.perHour)-1e-6 || got > float64(tt.perHour)+1e-6 {
			t.Errorf("perHour %d: burst + hourly refill = %f", tt.perHour, got)
		}
	}
}

func TestRetriesSpendTheBudgetToo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newScript(t, reply(500, `{}`), reply(502, `{}`), reply(503, `{}`), reply(http.StatusOK, `{"id":"user-1"}`))
		c := newTestClient(t, srv, WithRateLimit(100)) // burst 5, reserve 2
		if _, err := c.GetUser(t.Context(), "user-1"); err != nil {
			t.Fatal(err)
		}
		// Four attempts left about one token of five: background calls must wait for the
		// reserve to refill. Had the call spent one, three would be free above the reserve.
		if d := c.BackgroundDelay(); d == 0 {
			t.Errorf("BackgroundDelay = 0 after one call of four attempts, want a wait")
		}
	})
}
