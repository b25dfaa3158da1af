package apiclient

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

const (
	// DefaultRateLimit is AccessOwl's documented limit: 1,000 requests per hour per token.
	DefaultRateLimit = 1000
	// burstDivisor sets the bucket's burst to a twentieth of the hourly budget (50 of 1,000):
	// enough for a person's burst of lookups, small enough that the steady rate stays at 95%
	// of the budget.
	burstDivisor = 20
)

type backgroundKey struct{}

// Background marks ctx so that calls made with it are background work (a status poller, a
// sweep): they spend only what the budget holds above the interactive reserve, and so wait
// while people's calls need the room. Calls with an unmarked context are interactive and go
// first.
func Background(ctx context.Context) context.Context {
	return context.WithValue(ctx, backgroundKey{}, true)
}

// IsBackground reports whether ctx was marked with Background.
func IsBackground(ctx context.Context) bool {
	b, _ := ctx.Value(backgroundKey{}).(bool)
	return b
}

// budget is the client's own request budget: a token bucket that admits at most perHour
// requests in any rolling hour, with a reserve that only interactive calls may spend, and a
// pause that a 429's Retry-After sets for every call.
//
// A bucket with burst b and rate r admits b + r·T requests in any window T, so r is
// (perHour − b) per hour: a full bucket plus an hour's refill is exactly perHour.
type budget struct {
	mu          sync.Mutex
	lim         *rate.Limiter
	reserve     float64
	pausedUntil time.Time
}

// budgetShape returns the burst and the default background reserve for perHour.
func budgetShape(perHour int) (burst, reserve int) {
	burst = max(1, perHour/burstDivisor)
	return burst, burst / 2
}

func newBudget(perHour, reserve int) (*budget, error) {
	burst, defReserve := budgetShape(perHour)
	if perHour <= burst {
		return nil, fmt.Errorf("rate limit %d per hour is too small: it must exceed the burst of %d", perHour, burst)
	}
	if reserve < 0 {
		reserve = defReserve
	}
	if reserve >= burst {
		return nil, fmt.Errorf("background reserve %d must be below the burst of %d, or background calls never go", reserve, burst)
	}
	perSecond := rate.Limit(float64(perHour-burst) / time.Hour.Seconds())
	return &budget{lim: rate.NewLimiter(perSecond, burst), reserve: float64(reserve)}, nil
}

// wait blocks until one request may be sent, then spends it. Interactive calls queue on the
// bucket (and may take the reserve); background calls wait until a token is free above the
// reserve. A pause set by a 429 holds everyone, unless it is longer than maxPause, in which case
// wait fails at once with a *RateLimitError rather than hold a person for minutes.
func (b *budget) wait(ctx context.Context, background bool, maxPause time.Duration) error {
	for {
		b.mu.Lock()
		now := time.Now()
		if pause := b.pausedUntil.Sub(now); pause > 0 {
			b.mu.Unlock()
			if pause > maxPause {
				return pausedError{remaining: pause}
			}
			if err := sleep(ctx, pause); err != nil {
				return err
			}
			continue
		}
		if !background {
			r := b.lim.ReserveN(now, 1)
			b.mu.Unlock()
			if err := sleep(ctx, r.DelayFrom(now)); err != nil {
				r.Cancel()
				return err
			}
			return nil
		}
		d := b.backgroundDelayLocked(now)
		if d == 0 {
			b.lim.AllowN(now, 1)
			b.mu.Unlock()
			return nil
		}
		b.mu.Unlock()
		if err := sleep(ctx, d); err != nil {
			return err
		}
	}
}

// pausedError says a call was not sent because a 429 asked for a longer wait than the cap.
type pausedError struct{ remaining time.Duration }

func (e pausedError) Error() string {
	return fmt.Sprintf("rate limited by an earlier 429 for another %s", e.remaining)
}

// delay reports how long a background call made now would wait, if nothing else spends first.
func (b *budget) delay() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	return max(b.pausedUntil.Sub(now), b.backgroundDelayLocked(now))
}

func (b *budget) backgroundDelayLocked(now time.Time) time.Duration {
	missing := b.reserve + 1 - b.lim.TokensAt(now)
	if missing <= 0 {
		return 0
	}
	// Round up so the waiter wakes with the token there, not a nanosecond short of it.
	return time.Duration(math.Ceil(missing/float64(b.lim.Limit())*float64(time.Second))) + time.Nanosecond
}

// pause holds every call until now+d, the Retry-After of a 429.
func (b *budget) pause(d time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if until := time.Now().Add(d); until.After(b.pausedUntil) {
		b.pausedUntil = until
	}
}

// sleep waits d or until ctx ends, whichever is first; it never outlasts the caller.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// available reports how many requests could go out at once now: none while a 429's pause lasts.
func (b *budget) available() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	if b.pausedUntil.After(now) {
		return 0
	}
	return max(0, int(b.lim.TokensAt(now)))
}
