package apiclient

import (
	"fmt"
	"time"
)

// BudgetState is everything a MemoryBudget decides from: the send times of the hour's requests
// and what AccessOwl last said. A Budget kept where several replicas see it (a shared database)
// loads it, lets a MemoryBudget restored from it apply the very same rules, and saves what
// changed, so that one process and many share one definition of the hour.
type BudgetState struct {
	// Sent are the send times of the requests still in the hour, oldest first.
	Sent []time.Time
	// Taken is how many requests were ever taken, the last Seq handed out.
	Taken uint64
	// LastBackground is when background work last took a request; zero if never.
	LastBackground time.Time
	// PausedUntil holds every request until then (a 429's Retry-After).
	PausedUntil time.Time
	// Server is AccessOwl's latest count of remaining requests; a zero ResetAt if none holds.
	Server ServerLimit
}

// RestoreMemoryBudget returns a budget of perHour requests with reserve left to people, in state
// st, on the clock now. Send times older than an hour are forgotten; more than perHour are
// refused, since the rules never let the hour hold more.
func RestoreMemoryBudget(perHour, reserve int, st BudgetState, now func() time.Time) (*MemoryBudget, error) {
	b, err := newMemoryBudget(perHour, reserve, now)
	if err != nil {
		return nil, err
	}
	if len(st.Sent) > perHour {
		st.Sent = st.Sent[len(st.Sent)-perHour:]
	}
	if len(st.Sent) > len(b.sent) {
		b.sent = make([]time.Duration, min(perHour, max(len(st.Sent), initialRing)))
	}
	for i, at := range st.Sent {
		if i > 0 && at.Before(st.Sent[i-1]) {
			return nil, fmt.Errorf("budget state: send times out of order at %d", i)
		}
		b.sent[i] = at.Sub(b.epoch)
	}
	b.count = len(st.Sent)
	b.taken = st.Taken
	if !st.LastBackground.IsZero() {
		b.lastBackground, b.hasBackground = st.LastBackground.Sub(b.epoch), true
	}
	b.pausedUntil = st.PausedUntil
	b.server = serverCap{after: st.Server.After, remaining: st.Server.Remaining, resetAt: st.Server.ResetAt}
	return b, nil
}

// State returns the budget's state, for a shared Budget to save.
func (b *MemoryBudget) State() BudgetState {
	b.mu.Lock()
	defer b.mu.Unlock()
	st := BudgetState{Taken: b.taken, PausedUntil: b.pausedUntil,
		Server: ServerLimit{After: b.server.after, Remaining: b.server.remaining, ResetAt: b.server.resetAt}}
	for i := range b.count {
		st.Sent = append(st.Sent, b.epoch.Add(b.sent[(b.head+i)%len(b.sent)]))
	}
	if b.hasBackground {
		st.LastBackground = b.epoch.Add(b.lastBackground)
	}
	return st
}
