package apiclient

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// limitedOwl answers like an API that counts a token's requests in fixed windows and says so in
// X-RateLimit-Remaining and X-RateLimit-Reset; over its limit it answers 429.
type limitedOwl struct {
	limit     int
	window    time.Duration
	unixReset bool // Reset as a Unix time rather than seconds until it

	mu       sync.Mutex
	resetAt  time.Time
	used     int
	times    []time.Time
	rejected int
}

func (o *limitedOwl) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := time.Now()
	if !now.Before(o.resetAt) {
		o.used, o.resetAt = 0, now.Add(o.window)
	}
	o.times = append(o.times, now)
	untilReset := strconv.Itoa(int(math.Ceil(o.resetAt.Sub(now).Seconds())))
	reset := untilReset
	if o.unixReset {
		reset = strconv.FormatInt(o.resetAt.Unix(), 10)
	}
	if o.used >= o.limit {
		o.rejected++
		reply(http.StatusTooManyRequests, `{}`, "Retry-After", untilReset,
			"X-RateLimit-Remaining", "0", "X-RateLimit-Reset", reset)(w, r)
		return
	}
	o.used++
	reply(http.StatusOK, `{"id":"user-1"}`,
		"X-RateLimit-Remaining", strconv.Itoa(o.limit-o.used), "X-RateLimit-Reset", reset)(w, r)
}

func TestAccessOwlsRateLimitHeadersAreBelieved(t *testing.T) {
	tests := []struct {
		name       string
		unixReset  bool
		background bool
		// wantFirstWindow is how many requests go before AccessOwl's first reset.
		wantFirstWindow int
	}{
		{name: "remaining 3 with the reset in seconds: three more before the reset, the rest after",
			wantFirstWindow: 4},
		{name: "remaining 3 with the reset as a Unix time: three more before the reset, the rest after",
			unixReset: true, wantFirstWindow: 4},
		{name: "background work leaves what AccessOwl says remains to people",
			background: true, wantFirstWindow: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				// The client's own hour would allow all ten calls at once; AccessOwl allows 4
				// every 30 s, and its first answer says 3 remain.
				owl := &limitedOwl{limit: 4, window: 30 * time.Second, unixReset: tt.unixReset}
				c := newTestClient(t, owl)
				ctx := t.Context()
				if tt.background {
					ctx = Background(ctx)
				}
				start := time.Now()
				for i := range 10 {
					if _, err := c.GetUser(ctx, "user-1"); err != nil {
						t.Fatalf("call %d: %v", i+1, err)
					}
				}
				owl.mu.Lock()
				defer owl.mu.Unlock()
				if owl.rejected != 0 {
					t.Errorf("AccessOwl answered %d requests 429, want none", owl.rejected)
				}
				firstWindow := 0
				for _, at := range owl.times {
					if at.Sub(start) < owl.window {
						firstWindow++
					}
				}
				if firstWindow != tt.wantFirstWindow {
					t.Errorf("%d requests before AccessOwl's reset, want %d", firstWindow, tt.wantFirstWindow)
				}
				if got := len(owl.times); got != 10 {
					t.Errorf("AccessOwl saw %d requests, want 10", got)
				}
			})
		})
	}
}

func TestARemainingOfNoneFailsPeoplesCallsAtOnceWhenItsResetIsOverTheCap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		owl := &limitedOwl{limit: 1, window: 10 * time.Minute}
		c := newTestClient(t, owl, WithMaxRetryAfter(time.Minute))
		if _, err := c.GetUser(t.Context(), "user-1"); err != nil {
			t.Fatal(err)
		}
		asked := time.Now()
		_, err := c.GetUser(t.Context(), "user-1")
		var rl *RateLimitError
		if !errors.As(err, &rl) || !rl.NotSent || rl.RetryAfter != 10*time.Minute {
			t.Fatalf("err = %v, want a NotSent *RateLimitError with RetryAfter 10m", err)
		}
		if waited := time.Since(asked); waited != 0 {
			t.Errorf("the call waited %s before failing, want at once", waited)
		}
		if got := c.BudgetAvailable(); got != 0 {
			t.Errorf("BudgetAvailable = %d while AccessOwl says none remain, want 0", got)
		}
		owl.mu.Lock()
		defer owl.mu.Unlock()
		if len(owl.times) != 1 {
			t.Errorf("AccessOwl saw %d requests, want 1", len(owl.times))
		}
	})
}

func TestServerLimitOf(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		headers []string
		rl      *RateLimitError
		want    ServerLimit
		wantOK  bool
	}{
		{name: "no headers say nothing"},
		{name: "remaining and a reset in seconds", headers: []string{"X-RateLimit-Remaining", "3", "X-RateLimit-Reset", "30"},
			want: ServerLimit{After: 7, Remaining: 3, ResetAt: now.Add(30 * time.Second)}, wantOK: true},
		{name: "remaining and a reset as a Unix time", headers: []string{"X-RateLimit-Remaining", "0", "X-RateLimit-Reset", strconv.FormatInt(now.Unix()+90, 10)},
			want: ServerLimit{After: 7, Remaining: 0, ResetAt: now.Add(90 * time.Second)}, wantOK: true},
		{name: "the IETF draft's names without X-", headers: []string{"RateLimit-Remaining", "12", "RateLimit-Reset", "5"},
			want: ServerLimit{After: 7, Remaining: 12, ResetAt: now.Add(5 * time.Second)}, wantOK: true},
		{name: "remaining without a reset is not acted on", headers: []string{"X-RateLimit-Remaining", "0"}},
		{name: "a reset in the past is not acted on", headers: []string{"X-RateLimit-Remaining", "0", "X-RateLimit-Reset", strconv.FormatInt(now.Unix()-5, 10)}},
		{name: "a negative remaining is not acted on", headers: []string{"X-RateLimit-Remaining", "-1", "X-RateLimit-Reset", "30"}},
		{name: "a 429's Retry-After pauses", rl: &RateLimitError{RetryAfter: 45 * time.Second},
			want: ServerLimit{After: 7, PauseUntil: now.Add(45 * time.Second)}, wantOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for i := 0; i+1 < len(tt.headers); i += 2 {
				h.Set(tt.headers[i], tt.headers[i+1])
			}
			got, ok := serverLimitOf(h, tt.rl, 7, now)
			if ok != tt.wantOK || (ok && (got.After != tt.want.After || got.Remaining != tt.want.Remaining ||
				!got.ResetAt.Equal(tt.want.ResetAt) || !got.PauseUntil.Equal(tt.want.PauseUntil))) {
				t.Errorf("serverLimitOf = %+v, %v; want %+v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

// FuzzParseReset checks what must hold for any Reset header: parsing never panics, a reset it
// accepts is in the future, and a small whole number is read as exactly that many seconds.
func FuzzParseReset(f *testing.F) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	for _, seed := range []string{
		"", "0", "1", "30", "3600", "-5", " 7 ", "1.5", "1795435230", "1795435230.25", "31536000",
		"31536001", "9223372036854775807", "1e300", "NaN", "Inf", "soon",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		at, ok := parseReset(v, now)
		if !ok {
			return
		}
		if !at.After(now) {
			t.Fatalf("parseReset(%q) = %s, not after now", v, at)
		}
		secs, err := strconv.Atoi(strings.TrimSpace(v))
		if err == nil && secs > 0 && secs <= unixTimeAfter {
			if want := now.Add(time.Duration(secs) * time.Second); !at.Equal(want) {
				t.Fatalf("parseReset(%q) = %s, want %s", v, at, want)
			}
		}
	})
}
