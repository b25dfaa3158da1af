package owltest

import (
	"net/http"
	"slices"
	"time"
)

// Call is one request the Fake received.
type Call struct {
	Time           time.Time // when the Fake took it up, on its clock
	Method         string
	Path           string // as the Fake saw it, below any prefix it is mounted under
	RawQuery       string
	Route          string // the route it matched (see Routes), "" for none
	IdempotencyKey string // "" when the header was absent
	Body           []byte
	// Status is the answer's status code, also when the answer was never delivered (Dropped,
	// Canceled).
	Status int
	// Dropped: the request was processed and the connection then closed without an answer.
	Dropped bool
	// Canceled: the client stopped waiting during an injected Latency; the request was processed.
	Canceled bool
}

// Stats counts the requests the Fake received, by outcome.
type Stats struct {
	Requests           int
	RevocationsCreated int // over HTTP or with CreateRevocation
	Conflicts          int // 409
	Unprocessable      int // 422
	RateLimited        int // 429
	ServerErrors       int // 5xx
	Dropped            int
}

// Calls returns every request received so far, in the order the Fake decided their answers
// (for mutations, the order they were carried out).
func (f *Fake) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := slices.Clone(f.calls)
	for i := range out {
		out[i].Body = slices.Clone(out[i].Body)
	}
	return out
}

// Stats returns the counters so far.
func (f *Fake) Stats() Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stats
}

// record appends a call whose answer is decided, counts it and returns its index. Callers hold
// f.mu.
func (f *Fake) record(c Call) int {
	f.calls = append(f.calls, c)
	f.stats.Requests++
	switch {
	case c.Status == http.StatusConflict:
		f.stats.Conflicts++
	case c.Status == http.StatusUnprocessableEntity:
		f.stats.Unprocessable++
	case c.Status == http.StatusTooManyRequests:
		f.stats.RateLimited++
	case c.Status >= 500:
		f.stats.ServerErrors++
	}
	if c.Dropped {
		f.stats.Dropped++
	}
	f.broadcast()
	return len(f.calls) - 1
}
