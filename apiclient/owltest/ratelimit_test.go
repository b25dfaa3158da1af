package owltest_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"revokebot/apiclient/owltest"
)

func TestRateLimit(t *testing.T) {
	clk := newClock()
	a := newAPI(t, owltest.WithClock(clk.Now), owltest.WithRateLimit(3), owltest.WithTokens("t1", "t2"))
	a.token = "t1"
	// Three requests spread over the first 20 minutes and a half second.
	a.get("/api/v1/users").expect(t, http.StatusOK)
	clk.Advance(10*time.Minute + 500*time.Millisecond)
	a.get("/api/v1/users").expect(t, http.StatusOK)
	clk.Advance(10 * time.Minute)
	a.get("/api/v1/users").expect(t, http.StatusOK)

	r := a.get("/api/v1/users").expect(t, http.StatusTooManyRequests)
	// The first request leaves the window at 60:00, 39:59.5 from now: rounded up to 2400 s.
	if got := r.header.Get("Retry-After"); got != "2400" {
		t.Fatalf("Retry-After %q, want 2400", got)
	}
	r.errorsOf(t)

	t.Run("another token has its own hour", func(t *testing.T) {
		a.token = "t2"
		defer func() { a.token = "t1" }()
		a.get("/api/v1/users").expect(t, http.StatusOK)
	})
	t.Run("a 429 does not count, so waiting as told is enough", func(t *testing.T) {
		for range 5 {
			a.get("/api/v1/users").expect(t, http.StatusTooManyRequests)
		}
		clk.Advance(2400*time.Second - time.Second)
		r := a.get("/api/v1/users").expect(t, http.StatusTooManyRequests)
		if got := r.header.Get("Retry-After"); got != "1" {
			t.Errorf("Retry-After %q a second before, want 1", got)
		}
		clk.Advance(time.Second)
		a.get("/api/v1/users").expect(t, http.StatusOK)
		// The window is full again until the second request leaves it.
		r = a.get("/api/v1/users").expect(t, http.StatusTooManyRequests)
		if got := r.header.Get("Retry-After"); got != "600" {
			t.Errorf("Retry-After %q, want 600", got)
		}
	})
	t.Run("a 401 does not count", func(t *testing.T) {
		b := newAPI(t, owltest.WithClock(clk.Now), owltest.WithRateLimit(1))
		b.token = "wrong"
		for range 3 {
			b.get("/api/v1/users").expect(t, http.StatusUnauthorized)
		}
		b.token = owltest.DefaultToken
		b.get("/api/v1/users").expect(t, http.StatusOK)
	})
}

func TestAClientWithinTheLimitNeverSeesA429(t *testing.T) {
	tests := []struct {
		name  string
		limit int
		// gaps between requests; a client within the limit never has more than limit requests
		// in any hour.
		gaps []time.Duration
	}{
		{"evenly spaced at the limit", 4, repeat(15*time.Minute, 20)},
		{"bursts of the limit an hour apart", 3, []time.Duration{0, 0, 0, time.Hour, 0, 0, time.Hour, 0, 0}},
		{"a burst, then one more each time the oldest leaves", 3,
			[]time.Duration{0, 20 * time.Minute, 20 * time.Minute, 20 * time.Minute, 20 * time.Minute, 20 * time.Minute}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			a := newAPI(t, owltest.WithClock(clk.Now), owltest.WithRateLimit(tt.limit))
			for i, gap := range tt.gaps {
				clk.Advance(gap)
				if r := a.get("/api/v1/users"); r.status != http.StatusOK {
					t.Fatalf("request %d: status %d, Retry-After %s", i, r.status, r.header.Get("Retry-After"))
				}
			}
		})
	}
}

func TestRetryAfterIsTruthful(t *testing.T) {
	// Whatever the moment of the refused request, waiting exactly Retry-After lets the next one
	// through, and waiting a second less does not.
	for _, offset := range []time.Duration{0, time.Millisecond, 999 * time.Millisecond, 17*time.Minute + 250*time.Millisecond} {
		t.Run(offset.String(), func(t *testing.T) {
			clk := newClock()
			a := newAPI(t, owltest.WithClock(clk.Now), owltest.WithRateLimit(1))
			a.get("/api/v1/users").expect(t, http.StatusOK)
			clk.Advance(offset)
			r := a.get("/api/v1/users").expect(t, http.StatusTooManyRequests)
			seconds, err := strconv.Atoi(r.header.Get("Retry-After"))
			if err != nil || seconds < 1 {
				t.Fatalf("Retry-After %q is not a positive whole number of seconds", r.header.Get("Retry-After"))
			}
			wait := time.Duration(seconds) * time.Second
			clk.Advance(wait - time.Second)
			a.get("/api/v1/users").expect(t, http.StatusTooManyRequests)
			clk.Advance(time.Second)
			a.get("/api/v1/users").expect(t, http.StatusOK)
		})
	}
}

func repeat(d time.Duration, n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = d
	}
	return out
}

func TestRateLimitZeroTurnsItOff(t *testing.T) {
	a := newAPI(t, owltest.WithRateLimit(0))
	for range 5 {
		a.get("/api/v1/users").expect(t, http.StatusOK)
	}
}
