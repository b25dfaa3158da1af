package apiclient

import (
	"context"
	"fmt"
	"sync"
	"time"
)

const (
	// window is the rolling hour AccessOwl counts a token's requests in. A request counts from
	// the moment it is sent until exactly one window later, as in the fake AccessOwl.
	window = time.Hour
	// maxRateLimit bounds the hourly budget MemoryBudget keeps a record for: a hundred times
	// AccessOwl's limit, at 8 bytes a request.
	maxRateLimit = 100_000
	// maxServerReset caps how long an X-RateLimit-Remaining is believed: no hourly limit resets
	// later than a window from now, so a longer Reset is a misreading, not a reason to stop.
	maxServerReset = window
	// initialRing is how many send times MemoryBudget makes room for at first: a busy hour at
	// AccessOwl's limit of 1,000. Larger limits grow the record as they are used.
	initialRing = 1024
)

// DefaultReserve returns how much of perHour background work leaves to people by default: a
// tenth (100 of 1,000), enough for a burst of lookups and an offboarding's submissions even
// when background work has taken everything else.
func DefaultReserve(perHour int) int { return perHour / 10 }

// MemoryBudget is the Budget of one process. It admits at most perHour requests in any rolling
// hour, exactly: it keeps the send times of the last hour's requests (a ring of at most perHour
// timestamps of 8 bytes, grown as the hour fills) and decides from that record alone.
//
// A person's request goes now if fewer than perHour were sent in the hour ending now; otherwise
// it waits until the oldest leaves the hour. People may spend the whole hour in one burst,
// because that is how their work comes. A person's lookup (ClassLookup) leaves half the reserve
// to submissions the same way: lookups anyone can cause never keep an approval waiting.
//
// A background request never makes the hour hold more than perHour − reserve, so people find
// the reserve free whatever background work does. Within that, with used the requests in the
// hour ending now:
//
//   - while used is below half of perHour, background requests go at once: half an hour's
//     budget is still free, and nothing is gained by slowing down;
//   - above that they are paced: with k = perHour − reserve − used requests left to
//     background, the next goes at last + (free − last)/(k+1), where last is the latest
//     background request (no earlier than an hour ago) and free is when the oldest request
//     leaves the hour, the moment room next grows. That spreads background's room evenly until
//     then, so a background rush cannot take in seconds what people may need later in the
//     hour; the fuller the hour, the smaller k and the slower the pace, and as old requests
//     leave the pace picks up again.
//
// AccessOwl is believed when it says less than the record (Heed): a 429's Retry-After holds
// every request until it ends, and X-RateLimit-Remaining caps the requests taken after the
// answered one until X-RateLimit-Reset. While such a cap is the smaller, it is the room in the
// rules above and room next grows at the reset.
type MemoryBudget struct {
	perHour, reserve int
	// freeBelow is how full the hour may be for background requests to go unpaced: half of
	// perHour, and never into the reserve.
	freeBelow int
	now       func() time.Time
	epoch     time.Time // the record's times are offsets from it: 8 bytes each

	mu    sync.Mutex
	sent  []time.Duration // a ring of the last hour's send times, oldest at head; grows to perHour
	head  int
	count int
	taken uint64 // requests taken ever, the last Seq handed out
	// lastBackground is when background work last took a request; valid once hasBackground.
	lastBackground time.Duration
	hasBackground  bool
	pausedUntil    time.Time
	server         serverCap
}

// serverCap is AccessOwl's latest X-RateLimit-Remaining: remaining requests after request
// number after, until resetAt.
type serverCap struct {
	after     uint64
	remaining int
	resetAt   time.Time
}

var _ Budget = (*MemoryBudget)(nil)

// NewMemoryBudget returns a budget of perHour requests in any rolling hour, of which background
// work leaves reserve to people (DefaultReserve is the usual choice).
func NewMemoryBudget(perHour, reserve int) (*MemoryBudget, error) {
	return newMemoryBudget(perHour, reserve, time.Now)
}

// newMemoryBudget is NewMemoryBudget on the clock now, which tests may replace.
func newMemoryBudget(perHour, reserve int, now func() time.Time) (*MemoryBudget, error) {
	if perHour < 1 || perHour > maxRateLimit {
		return nil, fmt.Errorf("rate limit %d per hour must be between 1 and %d", perHour, maxRateLimit)
	}
	if reserve < 0 || reserve >= perHour {
		return nil, fmt.Errorf("background reserve %d must be at least 0 and below the rate limit of %d, or background calls never go", reserve, perHour)
	}
	return &MemoryBudget{
		perHour:   perHour,
		reserve:   reserve,
		freeBelow: min((perHour+1)/2, perHour-reserve),
		now:       now,
		epoch:     now(),
		sent:      make([]time.Duration, min(perHour, initialRing)),
	}, nil
}

// Take spends one request for class if the rules above let it go now.
func (b *MemoryBudget) Take(ctx context.Context, class Class) (Slot, error) {
	if err := ctx.Err(); err != nil {
		return Slot{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if w := b.waitLocked(now, class); w.Duration > 0 {
		return Slot{Wait: w}, nil
	}
	at := now.Sub(b.epoch)
	if b.count == len(b.sent) {
		b.growLocked()
	}
	b.sent[(b.head+b.count)%len(b.sent)] = at
	b.count++
	b.taken++
	if class == ClassBackground {
		b.lastBackground, b.hasBackground = at, true
	}
	return Slot{Seq: b.taken}, nil
}

// submissionReserve is the part of the people's reserve that lookups leave to submissions:
// half of it (50 of the default 100 an hour of 1,000), room for 50 approvals after anyone's
// lookups have spent everything else.
func (b *MemoryBudget) submissionReserve() int { return b.reserve / 2 }

// growLocked doubles the ring, up to perHour, keeping its order; waitLocked never lets count
// pass perHour, so a full ring of perHour is never grown.
func (b *MemoryBudget) growLocked() {
	grown := make([]time.Duration, min(2*len(b.sent), b.perHour))
	n := copy(grown, b.sent[b.head:])
	copy(grown[n:], b.sent[:b.head])
	b.sent, b.head = grown, 0
}

// Delay says how long a request of class would wait now, if nothing else were sent meanwhile.
func (b *MemoryBudget) Delay(ctx context.Context, class Class) (Wait, error) {
	if err := ctx.Err(); err != nil {
		return Wait{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.waitLocked(b.now(), class), nil
}

// Available says how many people's requests could go at once now.
func (b *MemoryBudget) Available(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	b.forgetLocked(now.Sub(b.epoch))
	if now.Before(b.pausedUntil) {
		return 0, nil
	}
	room := b.perHour - b.count
	if srv, ok := b.serverRoomLocked(now); ok {
		room = min(room, srv)
	}
	return max(0, room), nil
}

// Heed records a 429's pause and AccessOwl's remaining requests. Of two reports of remaining
// requests the one about the later request wins, since it knows more; a reset in the past says
// nothing, and one further off than maxServerReset is cut to it.
func (b *MemoryBudget) Heed(ctx context.Context, l ServerLimit) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if l.PauseUntil.After(b.pausedUntil) {
		b.pausedUntil = l.PauseUntil
	}
	if l.ResetAt.After(now) && l.Remaining >= 0 {
		current := b.server.resetAt.After(now)
		if !current || l.After >= b.server.after {
			b.server = serverCap{after: l.After, remaining: l.Remaining, resetAt: minTime(l.ResetAt, now.Add(maxServerReset))}
		}
	}
	return nil
}

// serverRoomLocked returns how many requests AccessOwl's latest report leaves now, and whether
// a report holds now at all.
func (b *MemoryBudget) serverRoomLocked(now time.Time) (int, bool) {
	if !b.server.resetAt.After(now) {
		return 0, false
	}
	var since uint64 // taken after the answered request
	if b.taken > b.server.after {
		since = b.taken - b.server.after
	}
	if since >= uint64(b.server.remaining) {
		return 0, true
	}
	return b.server.remaining - int(since), true
}

// forgetLocked drops the requests that have left the hour ending at now.
func (b *MemoryBudget) forgetLocked(now time.Duration) {
	for b.count > 0 && b.sent[b.head]+window <= now {
		b.head = (b.head + 1) % len(b.sent)
		b.count--
	}
}

// leavesLocked returns when the i-th oldest request in the record leaves the hour.
func (b *MemoryBudget) leavesLocked(i int) time.Duration {
	return b.sent[(b.head+i)%len(b.sent)] + window
}

// waitLocked applies the rules of MemoryBudget to a request of class at now.
func (b *MemoryBudget) waitLocked(now time.Time, class Class) Wait {
	at := now.Sub(b.epoch)
	b.forgetLocked(at)
	if d := b.pausedUntil.Sub(now); d > 0 {
		return Wait{Duration: d, FromAccessOwl: true}
	}
	need := 1
	switch class {
	case ClassBackground:
		need = b.reserve + 1
	case ClassLookup:
		need = b.submissionReserve() + 1
	}
	srvRoom, srvHolds := b.serverRoomLocked(now)
	if srvHolds && srvRoom < need {
		// AccessOwl's count only grows until its reset, so nothing frees before.
		return Wait{Duration: b.server.resetAt.Sub(now), FromAccessOwl: true}
	}
	if class != ClassBackground {
		limit := b.perHour
		if class == ClassLookup {
			limit -= b.submissionReserve()
		}
		if b.count < limit {
			return Wait{}
		}
		// The hour must lose count − limit + 1 requests before one more fits.
		return Wait{Duration: b.leavesLocked(b.count-limit) - at}
	}
	var srv *serverCap
	if srvHolds {
		srv = &b.server
	}
	return Wait{Duration: b.backgroundAtLocked(at, srv, srvRoom) - at}
}

// backgroundAtLocked returns the earliest moment from now on at which a background request may
// go, if nothing else is sent meanwhile: it walks forward through the moments the record's
// requests leave the hour, since only those change what background may do. srv, when not nil,
// caps the room at srvRoom until its reset.
func (b *MemoryBudget) backgroundAtLocked(now time.Duration, srv *serverCap, srvRoom int) time.Duration {
	last := now - window
	if b.hasBackground {
		last = max(last, b.lastBackground)
	}
	var resetAt time.Duration
	if srv != nil {
		resetAt = srv.resetAt.Sub(b.epoch)
	}
	left := 0 // requests of the record that have left the hour by t
	for t := now; ; t = b.leavesLocked(left) {
		for left < b.count && b.leavesLocked(left) <= t {
			left++
		}
		room := b.perHour - (b.count - left)
		free := time.Duration(0) // when room next grows
		if left < b.count {
			free = b.leavesLocked(left)
		}
		if srv != nil && t < resetAt && srvRoom < room {
			room, free = srvRoom, resetAt
		}
		used := b.perHour - room
		if used < b.freeBelow {
			return t
		}
		if k := room - b.reserve; k > 0 {
			next := max(t, last+(free-last)/time.Duration(k+1))
			if next < free {
				return next
			}
		}
		// Room for background only grows when the next request leaves the hour. There is one:
		// with the whole record gone used is 0, below freeBelow, and AccessOwl's cap, when it
		// binds, leaves room above the reserve and a pace that ends before its reset.
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
