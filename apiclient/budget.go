package apiclient

import (
	"context"
	"errors"
	"fmt"
	"time"
)

const (
	// DefaultRateLimit is AccessOwl's documented limit: 1,000 requests per hour per token.
	DefaultRateLimit = 1000
	// budgetErrorDelay is what BackgroundDelay reports when the budget cannot be read (a shared
	// store that is down): long enough not to hammer it, short enough that work resumes soon
	// after it is back.
	budgetErrorDelay = 5 * time.Second
)

// Class says whose request is waiting for the budget.
type Class int

const (
	// ClassPeople is a call someone is waiting for that acts on what they decided (a
	// submission and what settles it): it may spend the whole hour and never waits on
	// anyone else's account.
	ClassPeople Class = iota
	// ClassBackground is work nobody waits for (tracking, readiness probes, resubmission): it
	// leaves a reserve for people and slows as the hour fills.
	ClassBackground
	// ClassLookup is a call someone is waiting for that only reads (who a person is, their
	// access, a revocation's status): it may spend the hour but for a part of the reserve kept
	// for submissions, so that lookups — which anyone in Slack can cause — can never leave an
	// approved revocation waiting for the hour to free.
	ClassLookup
)

func (c Class) String() string {
	switch c {
	case ClassBackground:
		return "background"
	case ClassLookup:
		return "lookup"
	}
	return "people"
}

type (
	backgroundKey struct{}
	lookupKey     struct{}
)

// Lookup marks ctx so that calls made with it are people's lookups (ClassLookup): they go
// before background work but leave the last of the hour to submissions.
func Lookup(ctx context.Context) context.Context {
	return context.WithValue(ctx, lookupKey{}, true)
}

// Background marks ctx so that calls made with it are background work (a status poller, a
// sweep): they leave a reserve of the hour to people's calls and slow down as the hour fills.
// Calls with an unmarked context are people's and go first.
func Background(ctx context.Context) context.Context {
	return context.WithValue(ctx, backgroundKey{}, true)
}

// IsBackground reports whether ctx was marked with Background.
func IsBackground(ctx context.Context) bool {
	b, _ := ctx.Value(backgroundKey{}).(bool)
	return b
}

// ClassOf returns the class of the calls made with ctx.
func ClassOf(ctx context.Context) Class {
	if IsBackground(ctx) {
		return ClassBackground
	}
	if lookup, _ := ctx.Value(lookupKey{}).(bool); lookup {
		return ClassLookup
	}
	return ClassPeople
}

// Budget decides when a request may go to AccessOwl, so that one token's requests stay within
// its hourly limit. The client asks it before every attempt, retries included. MemoryBudget,
// the default, keeps one process's record; replicas that share a token share one hour, and so
// plug in a Budget kept where they all see it (WithBudget).
//
// Methods must be safe for concurrent use. An error means the budget could not be consulted:
// the request is not sent.
type Budget interface {
	// Take spends one request for class if one may go now, returning a Slot whose Wait is zero
	// and whose Seq numbers the request. Otherwise it spends nothing and the Slot says how long
	// to wait before asking again.
	Take(ctx context.Context, class Class) (Slot, error)
	// Delay says how long a request of class would wait if it asked now and nothing else were
	// sent meanwhile. It spends nothing.
	Delay(ctx context.Context, class Class) (Wait, error)
	// Available says how many people's requests could go at once now: 0 while AccessOwl holds
	// the token.
	Available(ctx context.Context) (int, error)
	// Heed records what AccessOwl said about the token's limit in one answer.
	Heed(ctx context.Context, l ServerLimit) error
}

// Wait is how long a request must wait for the budget, and on whose account.
type Wait struct {
	// Duration is zero when the request may go now.
	Duration time.Duration
	// FromAccessOwl reports that AccessOwl asked for the wait (a 429's Retry-After, or its
	// X-RateLimit-Remaining spent before X-RateLimit-Reset), not the client's own hour being
	// full. The client fails a call at once rather than wait longer than WithMaxRetryAfter for
	// AccessOwl, so that nobody is held for minutes.
	FromAccessOwl bool
}

// Slot is Take's answer: a request taken (Wait zero, Seq set) or the wait before asking again.
type Slot struct {
	Wait
	// Seq numbers the requests taken from the budget, 1 upwards, so that Heed can tell which
	// were taken after an answered one.
	Seq uint64
}

// ServerLimit is what AccessOwl said about the token's limit in the answer to one request.
type ServerLimit struct {
	// After is the Seq of the answered request: requests taken after it count against Remaining.
	After uint64
	// PauseUntil, from a 429's Retry-After, holds every request until then; zero if none came.
	PauseUntil time.Time
	// Remaining requests may go until ResetAt (X-RateLimit-Remaining and X-RateLimit-Reset). A
	// zero ResetAt means the answer said nothing of the kind.
	Remaining int
	ResetAt   time.Time
}

// take waits until the budget lets one request of class go and returns its Seq. A wait that
// AccessOwl asked for and that is longer than maxRetryAfter fails at once with a pausedError,
// and a person's wait for the hour's room longer than maxBudgetWait with a *BudgetError, rather
// than hold someone for minutes; every other wait lasts as long as ctx allows.
func (c *Client) take(ctx context.Context, class Class) (uint64, error) {
	for {
		slot, err := c.budget.Take(ctx, class)
		if err != nil {
			return 0, fmt.Errorf("take a request from the budget: %w", err)
		}
		if slot.Duration <= 0 {
			return slot.Seq, nil
		}
		if slot.FromAccessOwl && slot.Duration > c.maxRetryAfter {
			return 0, pausedError{remaining: slot.Duration}
		}
		if !slot.FromAccessOwl && class != ClassBackground && c.maxBudgetWait > 0 && slot.Duration > c.maxBudgetWait {
			return 0, &BudgetError{Wait: slot.Duration}
		}
		// Waking up re-asks rather than assumes: people may have taken the room meanwhile.
		if err := sleep(ctx, slot.Duration); err != nil {
			return 0, err
		}
	}
}

// heed tells the budget what AccessOwl said, also when the caller has given up meanwhile: the
// token's limit concerns every call. A budget that cannot hear it only loses a hint, so the
// call goes on.
func (c *Client) heed(ctx context.Context, l ServerLimit) {
	if err := c.budget.Heed(context.WithoutCancel(ctx), l); err != nil {
		c.log.WarnContext(ctx, "accessowl budget: cannot record AccessOwl's limit", "error", err)
	}
}

// ErrBudgetSpent is what a *BudgetError matches with errors.Is.
var ErrBudgetSpent = errors.New("accessowl: the hourly request budget is spent")

// BudgetError is a person's call that was not sent because the token's hourly budget had no
// room for longer than WithMaxBudgetWait: the hour's requests (this process's, or every
// replica's with a shared Budget) were spent. Wait is when room frees, if nothing else takes it.
type BudgetError struct{ Wait time.Duration }

func (e *BudgetError) Error() string {
	return fmt.Sprintf("%s: room for the next request in %s", ErrBudgetSpent.Error(), e.Wait.Round(time.Second))
}

// Is makes errors.Is(err, ErrBudgetSpent) true.
func (e *BudgetError) Is(target error) bool { return target == ErrBudgetSpent }

// pausedError says a call was not sent because AccessOwl asked for a longer wait than the cap.
type pausedError struct{ remaining time.Duration }

func (e pausedError) Error() string {
	return fmt.Sprintf("AccessOwl asked to wait another %s", e.remaining)
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
