package apiclient

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// retryPolicy is the one place that decides whether a failed attempt is worth another, and
// says why. Network errors, timeouts, 5xx and 429 are retried; every other status is final.
// Requests are retried whatever their method: a POST carries its Idempotency-Key and the same
// body on every attempt, so AccessOwl processes it at most once.
func retryPolicy(err error) (retry bool, why string) {
	var apiErr *Error
	if errors.As(err, &apiErr) {
		switch {
		case apiErr.StatusCode == http.StatusTooManyRequests:
			return true, "rate limited (429)"
		case apiErr.StatusCode >= 500:
			return true, fmt.Sprintf("server error (%d)", apiErr.StatusCode)
		default:
			return false, fmt.Sprintf("status %d is final", apiErr.StatusCode)
		}
	}
	var unknownCA x509.UnknownAuthorityError
	var badCert x509.CertificateInvalidError
	var hostErr x509.HostnameError
	if errors.As(err, &unknownCA) || errors.As(err, &badCert) || errors.As(err, &hostErr) {
		return false, "TLS certificate not trusted"
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true, "attempt timed out"
	}
	return true, "network error"
}

// mayHaveBeenProcessed reports whether a failed attempt may nonetheless have been processed by
// AccessOwl: a 5xx, a timeout or a broken connection after the request left. A failure to
// connect, a 429 and other 4xx mean it was not (the 429 by inference: rate limiting comes
// before processing).
func mayHaveBeenProcessed(err error) bool {
	var apiErr *Error
	if errors.As(err, &apiErr) {
		return apiErr.StatusCode >= 500
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return false
	}
	return true
}

// backoff returns the wait before retry number attempt: exponential from base, capped at max,
// with "equal jitter" (half fixed, half random) so replicas that failed together spread out.
func backoff(attempt int, base, maxWait time.Duration, random func() float64) time.Duration {
	d := base
	for i := 1; i < attempt && d < maxWait; i++ {
		d *= 2
	}
	d = min(d, maxWait)
	return d/2 + time.Duration(random()*float64(d/2))
}

// retryWait returns how long to wait before the next attempt. After a 429 with Retry-After the
// client is paused and the budget's gate does the waiting, unless the wait is over the cap, in
// which case the call gives up now.
func (c *Client) retryWait(attempt int, err error, why string) (time.Duration, bool, string) {
	var rl *RateLimitError
	if errors.As(err, &rl) && rl.RetryAfter > 0 {
		if rl.RetryAfter > c.maxRetryAfter {
			return 0, false, fmt.Sprintf("%s, but Retry-After %s is over the cap of %s", why, rl.RetryAfter, c.maxRetryAfter)
		}
		return 0, true, fmt.Sprintf("%s, waiting Retry-After %s", why, rl.RetryAfter)
	}
	return backoff(attempt, c.baseBackoff, c.maxBackoff, c.random), true, why
}

// parseRetryAfter reads Retry-After as delay-seconds or an HTTP-date; anything else, or a date
// in the past, yields 0.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, int64(maxRetryAfterSeconds))) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(at.Sub(now), 0)
	}
	return 0
}

// maxRetryAfterSeconds keeps an absurd Retry-After from overflowing time.Duration.
const maxRetryAfterSeconds = 1 << 31
