package apiclient

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// unixTimeAfter tells the two readings of a Reset header apart: a number of seconds above it
// is a Unix time, since no hourly limit resets a year from now and no Unix time that small is
// still to come.
const unixTimeAfter = 365 * 24 * 60 * 60

// serverLimitOf reads what an answer says about the token's limit: a 429's Retry-After (rl,
// already parsed) and the X-RateLimit-Remaining and X-RateLimit-Reset pair that APIs like
// AccessOwl's commonly send (also without the X- prefix, as the IETF draft names them). It
// reports false when the answer says nothing usable. A Remaining without a usable Reset is not
// acted on: it does not say when room comes back, and believing it for longer could stop the
// bot for no reason.
func serverLimitOf(h http.Header, rl *RateLimitError, seq uint64, now time.Time) (ServerLimit, bool) {
	l := ServerLimit{After: seq}
	ok := false
	if rl != nil && rl.RetryAfter > 0 {
		l.PauseUntil, ok = now.Add(rl.RetryAfter), true
	}
	for _, prefix := range []string{"X-RateLimit-", "RateLimit-"} {
		remaining, err := strconv.Atoi(strings.TrimSpace(h.Get(prefix + "Remaining")))
		if err != nil || remaining < 0 {
			continue
		}
		if reset, found := parseReset(h.Get(prefix+"Reset"), now); found {
			l.Remaining, l.ResetAt, ok = remaining, reset, true
			break
		}
	}
	return l, ok
}

// parseReset reads a Reset header as seconds until the reset (as the IETF draft and many APIs
// send it) or as the Unix time of the reset (as GitHub does), telling them apart by size (see
// unixTimeAfter). Fractions of a second are kept. Anything else, or a reset not in the future,
// yields false.
func parseReset(v string, now time.Time) (time.Time, bool) {
	secs, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || math.IsNaN(secs) || math.IsInf(secs, 0) || secs <= 0 {
		return time.Time{}, false
	}
	var at time.Time
	if secs > unixTimeAfter {
		whole, frac := math.Modf(secs)
		at = time.Unix(int64(min(whole, math.MaxInt64/2)), int64(frac*1e9))
	} else {
		at = now.Add(time.Duration(secs * float64(time.Second)))
	}
	if !at.After(now) {
		return time.Time{}, false
	}
	return at, true
}
