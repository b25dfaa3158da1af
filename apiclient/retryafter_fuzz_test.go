package apiclient

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzParseRetryAfter checks what must hold for any Retry-After header: parsing never panics,
// never yields a negative wait, and a plain number of seconds is read as exactly that, capped.
func FuzzParseRetryAfter(f *testing.F) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	for _, seed := range []string{
		"", "0", "1", "120", "-5", " 7 ", "1.5", "9223372036854775807", "99999999999999999999",
		"Sun, 22 Nov 2026 12:00:30 GMT", "Sunday, 22-Nov-26 12:00:30 GMT", "Sun Nov 22 12:00:30 2026",
		"Sun, 22 Nov 2026 11:59:00 GMT", "Fri, 31 Dec 9999 23:59:59 GMT", "soon", "1e3", "+3",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		d := parseRetryAfter(v, now)
		if d < 0 {
			t.Fatalf("parseRetryAfter(%q) = %s, a negative wait", v, d)
		}
		secs, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return
		}
		want := time.Duration(0)
		if secs > 0 {
			want = time.Duration(min(secs, int64(maxRetryAfterSeconds))) * time.Second
		}
		if d != want {
			t.Fatalf("parseRetryAfter(%q) = %s, want %s", v, d, want)
		}
	})
}
