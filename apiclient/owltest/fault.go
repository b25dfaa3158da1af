package owltest

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// defaultRetryAfter is what an injected 429 asks for when the Fault names no RetryAfter.
const defaultRetryAfter = time.Second

// Fault is trouble to inject on a route. Counted faults (ServerErrors, RateLimits,
// DropAfterCommit) are used up one request at a time; rates apply to every request until the
// fault is replaced or cleared.
type Fault struct {
	// Latency is added after a request is processed and before its answer is written, as a slow
	// server or network would add it. A client that stops waiting gets no answer, but what it
	// asked for has been done.
	Latency time.Duration
	// ServerErrors: the next N requests are answered 503 without being processed, and their
	// Idempotency-Key is not recorded.
	ServerErrors int
	// RateLimits: the next N requests are answered 429 with RetryAfter, without being processed
	// and without counting against the rate limit.
	RateLimits int
	// RetryAfter is the Retry-After of the injected 429s, sent in whole seconds rounded up;
	// default 1s.
	RetryAfter time.Duration
	// DropAfterCommit: the next N requests are processed (their key recorded, their revocation
	// filed), then the connection is closed without an answer.
	DropAfterCommit int
	// ServerErrorRate is the probability that a request is answered 500, 502, 503 or 504 without
	// being processed, as ServerErrors are.
	ServerErrorRate float64
	// DropRate is the probability that a mutation is processed and then its connection closed
	// without an answer.
	DropRate float64
}

// Routes lists the routes a Fault can be set on, as "METHOD /api/v1/path/{id}".
func Routes() []string {
	names := make([]string, len(routes))
	for i, rt := range routes {
		names[i] = rt.name()
	}
	return names
}

// SetFault sets the fault of a route (one of Routes), replacing what it had; route "" applies to
// every request, unknown routes included. A request meets its route's fault first and then the
// one for every route: latencies add up, counted faults are used from the route's own first. It
// panics on a route the Fake does not serve, since a typo would otherwise inject nothing.
func (f *Fake) SetFault(route string, fault Fault) {
	if route != "" && !slices.Contains(Routes(), route) {
		panic(fmt.Sprintf("owltest: SetFault: unknown route %q; want one of:\n%s", route, strings.Join(Routes(), "\n")))
	}
	if fault.RetryAfter <= 0 {
		fault.RetryAfter = defaultRetryAfter
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults[route] = &fault
	f.broadcast()
}

// ClearFaults removes every fault.
func (f *Fake) ClearFaults() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.faults)
	f.broadcast()
}

// Faults returns the faults in force, with what is left of their counts.
func (f *Fake) Faults() map[string]Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]Fault, len(f.faults))
	for route, fault := range f.faults {
		out[route] = *fault
	}
	return out
}

// faultsFor returns the faults a request on route meets, its own first. Callers hold f.mu.
func (f *Fake) faultsFor(route string) []*Fault {
	var out []*Fault
	if fault, ok := f.faults[route]; ok && route != "" {
		out = append(out, fault)
	}
	if fault, ok := f.faults[""]; ok {
		out = append(out, fault)
	}
	return out
}

// takeCount uses up one of a counted fault, if any is left. Callers hold f.mu.
func takeCount(faults []*Fault, count func(*Fault) *int) (*Fault, bool) {
	for _, fault := range faults {
		if n := count(fault); *n > 0 {
			*n--
			return fault, true
		}
	}
	return nil, false
}

// draw reports whether one of the faults' rates comes up. It draws only for rates above zero, so
// that setting no rate leaves the random sequence alone. Callers hold f.mu.
func (f *Fake) draw(faults []*Fault, rate func(*Fault) float64) bool {
	for _, fault := range faults {
		if p := rate(fault); p > 0 && f.rand.Float64() < p {
			return true
		}
	}
	return false
}
