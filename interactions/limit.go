package interactions

import (
	"fmt"
	"sync"
	"time"
)

const (
	// lookupBurst and lookupEvery bound the lookups one person can start (/revoke status, a
	// person chosen in the form, its search): ten at once, then one every six seconds. A person
	// at work never meets the bound; one member typing /revoke status in a loop cannot spend the
	// hour's AccessOwl budget that everyone's approvals need.
	lookupBurst = 10
	lookupEvery = 6 * time.Second
	// requestBurst and requestEvery bound the requests one person can make by command (/revoke
	// <id> …, /revoke @person …), each a lookup first: thirty at once, for someone pasting a
	// list, then one every two seconds. Requests are posted under their author's name, so they
	// are bounded for the budget's sake, not hidden.
	requestBurst = 30
	requestEvery = 2 * time.Second
)

// limiter bounds how often each person may start work that asks AccessOwl: burst at once, then
// one every interval (a generic cell rate algorithm: each person's next free moment, no
// timers). It forgets a person once they are back to a full burst.
type limiter struct {
	burst int
	every time.Duration

	mu        sync.Mutex
	next      map[string]time.Time // when each person's allowance is next full minus one step
	lastSweep time.Time
}

func newLimiter(burst int, every time.Duration) *limiter {
	return &limiter{burst: burst, every: every, next: make(map[string]time.Time)}
}

// allow spends one of user's lookups at now, or says how long until they have one again.
func (l *limiter) allow(user string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) > time.Minute {
		for u, t := range l.next {
			if !t.After(now) {
				delete(l.next, u)
			}
		}
		l.lastSweep = now
	}
	t := l.next[user]
	if t.Before(now) {
		t = now
	}
	// t is when all the lookups spent so far will have been paid back at one per interval; up
	// to burst-1 intervals of debt are allowed.
	if wait := t.Sub(now) - time.Duration(l.burst-1)*l.every; wait > 0 {
		return false, wait
	}
	l.next[user] = t.Add(l.every)
	return true, 0
}

// slowDownText is what a person over l's bound is told; what names what they did.
func (l *limiter) slowDownText(what string, wait time.Duration) string {
	secs := int((wait + time.Second - 1) / time.Second)
	unit := "seconds"
	if secs == 1 {
		unit = "second"
	}
	return fmt.Sprintf("Please slow down: revokebot takes %d %s from one person at once and then one every %d seconds, so that nobody can use up the hourly AccessOwl request budget that everyone's approvals need. Try again in %d %s.",
		l.burst, what, int(l.every/time.Second), secs, unit)
}
