package owltest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/google/uuid"
)

// DefaultToken is the bearer token a Fake accepts unless WithTokens says otherwise.
const DefaultToken = "owltest-token"

const (
	defaultRateLimit      = 1000
	defaultAutomaticDelay = 2 * time.Second
	// keyRetention is how long AccessOwl remembers an Idempotency-Key.
	keyRetention = 14 * 24 * time.Hour
	// rateWindow is the length of the rolling window the rate limit counts in.
	rateWindow = time.Hour
)

// idNamespace makes generated IDs deterministic: the same sequence of calls on two Fakes gives
// the same IDs, so a failing test can be replayed.
// It is written out rather than parsed so that linking the Fake into a binary costs no work at
// start-up (6f0c1b7e-3d0a-4f4e-9a53-0e1d8e7f2a10).
var idNamespace = uuid.UUID{0x6f, 0x0c, 0x1b, 0x7e, 0x3d, 0x0a, 0x4f, 0x4e, 0x9a, 0x53, 0x0e, 0x1d, 0x8e, 0x7f, 0x2a, 0x10}

// Fake is the in-memory AccessOwl. It is an http.Handler serving /api/v1/... at its root, so it
// can be mounted under a prefix with http.StripPrefix. It is safe for concurrent use.
type Fake struct {
	now            func() time.Time
	tokens         map[string]bool
	readOnly       map[string]bool
	rateLimit      int
	automaticDelay time.Duration
	bare           bool
	requestor      string

	mu          sync.Mutex
	rand        *rand.Rand
	users       []User
	apps        []Application
	states      []AccessState
	revocations []Revocation
	nextID      int
	keys        map[string]idempotencyRecord
	rateLog     map[string][]time.Time
	faults      map[string]*Fault
	calls       []Call
	stats       Stats
	changed     chan struct{} // closed and replaced on every change, to wake Await
}

// Option configures a Fake.
type Option func(*config)

type config struct {
	now            func() time.Time
	tokens         []string
	readOnly       []string
	rateLimit      int
	automaticDelay time.Duration
	seed           bool
	bare           bool
	rand           *rand.Rand
	requestor      string
}

// WithTokens sets the bearer tokens the Fake accepts (instead of DefaultToken); any other token,
// or none, is answered 401.
func WithTokens(tokens ...string) Option {
	return func(c *config) { c.tokens = append(c.tokens, tokens...) }
}

// WithReadOnlyToken adds a token that may read but not change anything: its GETs are answered,
// its mutations get 403.
func WithReadOnlyToken(token string) Option {
	return func(c *config) { c.readOnly = append(c.readOnly, token) }
}

// WithClock sets the clock everything time-based reads: the rate-limit window, key expiry,
// timestamps and the automatic revocation delay. After moving it, call Notify so that Await
// re-checks its condition.
func WithClock(now func() time.Time) Option {
	return func(c *config) { c.now = now }
}

// WithRateLimit sets how many requests each token may make in any rolling hour (default 1000,
// AccessOwl's documented limit). Zero or less turns the limit off, for load tests that are about
// something else.
func WithRateLimit(perHour int) Option {
	return func(c *config) { c.rateLimit = perHour }
}

// WithAutomaticDelay sets how long after its creation a revocation of an automatic application
// turns revoked (default 2s on the Fake's clock).
func WithAutomaticDelay(d time.Duration) Option {
	return func(c *config) { c.automaticDelay = d }
}

// WithoutSeed starts the Fake with an empty organisation instead of the seed.
func WithoutSeed() Option {
	return func(c *config) { c.seed = false }
}

// WithBareObjects answers single objects bare, as AccessOwl's reference documents them, instead
// of wrapped in {"data": ...} as the live API sends them.
func WithBareObjects() Option {
	return func(c *config) { c.bare = true }
}

// WithRand sets the source of the probabilistic faults (ServerErrorRate, DropRate). The default
// has a fixed seed, so a run repeats exactly.
func WithRand(r *rand.Rand) Option {
	return func(c *config) { c.rand = r }
}

// WithRequestor makes revocations filed over the API name this user as their requestor. By
// default requestor_user_id is null, as for an API token that belongs to no person.
func WithRequestor(userID string) Option {
	return func(c *config) { c.requestor = userID }
}

// New returns a Fake holding the seed organisation (see seed.go) unless WithoutSeed is given.
func New(opts ...Option) *Fake {
	c := config{
		now:            time.Now,
		rateLimit:      defaultRateLimit,
		automaticDelay: defaultAutomaticDelay,
		seed:           true,
	}
	for _, opt := range opts {
		opt(&c)
	}
	if len(c.tokens) == 0 {
		c.tokens = []string{DefaultToken}
	}
	if c.rand == nil {
		c.rand = rand.New(rand.NewPCG(1, 2))
	}
	f := &Fake{
		now:            c.now,
		tokens:         make(map[string]bool),
		readOnly:       make(map[string]bool),
		rateLimit:      c.rateLimit,
		automaticDelay: c.automaticDelay,
		bare:           c.bare,
		requestor:      c.requestor,
		rand:           c.rand,
		keys:           make(map[string]idempotencyRecord),
		rateLog:        make(map[string][]time.Time),
		faults:         make(map[string]*Fault),
		changed:        make(chan struct{}),
	}
	for _, t := range c.tokens {
		f.tokens[t] = true
	}
	for _, t := range c.readOnly {
		f.tokens[t] = true
		f.readOnly[t] = true
	}
	if c.seed {
		seed(f)
	}
	return f
}

// newID returns the next generated ID of a kind ("user", "revocation", ...). Callers hold f.mu.
func (f *Fake) newID(kind string) string {
	f.nextID++
	return uuid.NewSHA1(idNamespace, fmt.Appendf(nil, "%s/%d", kind, f.nextID)).String()
}

// clock returns the Fake's time, in UTC and to the second as AccessOwl's timestamps are.
func (f *Fake) clock() time.Time { return f.now().UTC().Truncate(time.Second) }

// broadcast wakes every Await. Callers hold f.mu.
func (f *Fake) broadcast() {
	close(f.changed)
	f.changed = make(chan struct{})
}

// Notify wakes every Await so that it re-checks its condition. Call it after moving the clock
// given to WithClock: the Fake cannot see that happen, and an automatic revocation may have come
// due.
func (f *Fake) Notify() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.settle()
	f.broadcast()
}

// Await blocks until cond reports true or ctx ends, and then returns ctx's error, wrapped. cond is
// called at once and again after every change to the Fake (a request, an admin action, Notify),
// and when an automatic revocation comes due; it may call the Fake's methods.
func (f *Fake) Await(ctx context.Context, cond func(*Fake) bool) error {
	for {
		f.mu.Lock()
		f.settle()
		changed := f.changed
		due, pending := f.nextDue()
		f.mu.Unlock()

		if cond(f) {
			return nil
		}
		var timeout <-chan time.Time
		stop := func() bool { return false }
		if pending {
			// The clock may be injected and stand still: then this wakes once per remaining
			// delay to re-read it, which is a check, not a busy loop.
			timer := time.NewTimer(max(due.Sub(f.now()), time.Millisecond))
			timeout, stop = timer.C, timer.Stop
		}
		select {
		case <-ctx.Done():
			stop()
			return fmt.Errorf("owltest: condition not met: %w", ctx.Err())
		case <-changed:
		case <-timeout:
		}
		stop()
	}
}
