package apiclient

import (
	"net/http"
	"time"
)

// serverLimitOf reads what an answer says about the token's limit: a 429's Retry-After (rl,
// already parsed). It reports false when the answer says nothing usable.
func serverLimitOf(_ http.Header, rl *RateLimitError, seq uint64, now time.Time) (ServerLimit, bool) {
	l := ServerLimit{After: seq}
	if rl != nil && rl.RetryAfter > 0 {
		l.PauseUntil = now.Add(rl.RetryAfter)
		return l, true
	}
	return l, false
}
