package apiclient

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// Option configures a Client.
type Option func(*config) error

type config struct {
	httpClient    *http.Client
	version       string
	logger        *slog.Logger
	timeout       time.Duration
	maxAttempts   int
	baseBackoff   time.Duration
	maxBackoff    time.Duration
	maxRetryAfter time.Duration
	maxBudgetWait time.Duration
	perHour       int
	reserve       int // -1 means DefaultReserve(perHour)
	budget        Budget
	random        func() float64
	observer      func(Attempt)
}

// WithHTTPClient sends requests through hc (its Transport, proxies, TLS settings). Timeouts are
// per attempt and come from WithTimeout, so hc.Timeout is best left zero.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) error {
		if hc == nil {
			return errors.New("nil HTTP client")
		}
		c.httpClient = hc
		return nil
	}
}

// WithTimeout bounds each attempt (not the whole call, which the context bounds).
func WithTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("timeout %s must be positive", d)
		}
		c.timeout = d
		return nil
	}
}

// WithVersion sets the User-Agent to revokebot/<version>.
func WithVersion(version string) Option {
	return func(c *config) error {
		if version == "" {
			return errors.New("empty version")
		}
		c.version = version
		return nil
	}
}

// WithLogger logs each attempt (method, path, query, attempt, status, duration) and each retry
// decision at debug level. Tokens and bodies are never logged.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("nil logger")
		}
		c.logger = l
		return nil
	}
}

// WithRetry sets how many attempts a call makes at most (1 disables retries) and the
// exponential backoff between them, from base up to maxWait.
func WithRetry(maxAttempts int, base, maxWait time.Duration) Option {
	return func(c *config) error {
		if maxAttempts < 1 || base <= 0 || maxWait < base {
			return fmt.Errorf("retry: need maxAttempts ≥ 1 and 0 < base ≤ max, got %d, %s, %s", maxAttempts, base, maxWait)
		}
		c.maxAttempts, c.baseBackoff, c.maxBackoff = maxAttempts, base, maxWait
		return nil
	}
}

// WithMaxRetryAfter caps how long a call waits on a 429's Retry-After. A longer Retry-After
// ends the call at once with a *RateLimitError carrying the full wait, and until that wait is
// over later calls fail the same way (NotSent) without sending.
func WithMaxRetryAfter(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("max Retry-After %s must not be negative", d)
		}
		c.maxRetryAfter = d
		return nil
	}
}

// WithMaxBudgetWait caps how long a person's call waits for the hourly budget (see Budget): a
// longer wait fails at once with a *BudgetError saying when room frees. 0 waits as long as the
// call's context allows. Background calls always wait.
func WithMaxBudgetWait(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("max budget wait %s must not be negative", d)
		}
		c.maxBudgetWait = d
		return nil
	}
}

// WithRateLimit sets the budget: at most perHour requests (every attempt counts) in any
// rolling hour, all of which people may spend at once (see MemoryBudget). The default is
// DefaultRateLimit, AccessOwl's own limit; set it lower when something else shares the token.
// It shapes the client's own MemoryBudget, and so has no effect with WithBudget.
func WithRateLimit(perHour int) Option {
	return func(c *config) error {
		c.perHour = perHour
		return nil
	}
}

// WithBackgroundReserve sets how many requests of the rolling hour background calls leave to
// people's calls. The default is DefaultReserve, a tenth of the rate limit (100 of 1,000); it
// must be below the rate limit. It shapes the client's own MemoryBudget, and so has no effect
// with WithBudget.
func WithBackgroundReserve(requests int) Option {
	return func(c *config) error {
		if requests < 0 {
			return fmt.Errorf("background reserve %d must not be negative", requests)
		}
		c.reserve = requests
		return nil
	}
}

// WithBudget makes the client take its requests from b instead of a MemoryBudget of its own,
// so that several clients (replicas sharing a token) share one hour.
func WithBudget(b Budget) Option {
	return func(c *config) error {
		if b == nil {
			return errors.New("nil budget")
		}
		c.budget = b
		return nil
	}
}

// WithRand sets the source of backoff jitter, a function returning values in [0, 1), so tests
// can make waits deterministic. It must be safe for concurrent use.
func WithRand(random func() float64) Option {
	return func(c *config) error {
		if random == nil {
			return errors.New("nil random source")
		}
		c.random = random
		return nil
	}
}

// Attempt describes one HTTP attempt of a call, for metrics.
type Attempt struct {
	Method string
	// Route is the path with its IDs replaced by {id} (such as /access_revocations/{id}), so it
	// can label a metric without one series per revocation.
	Route string
	// Status is the HTTP status AccessOwl answered, or 0 when no answer came (network error,
	// timeout).
	Status int
	// Number counts the call's attempts from 1.
	Number int
	// Retry reports that another attempt follows, for RetryReason: "server error (503)",
	// "rate limited (429)", "attempt timed out", "network error".
	Retry       bool
	RetryReason string
}

// WithObserver calls observe after every attempt, from the goroutine making the call. It must
// return at once.
func WithObserver(observe func(Attempt)) Option {
	return func(c *config) error {
		if observe == nil {
			return errors.New("nil observer")
		}
		c.observer = observe
		return nil
	}
}
