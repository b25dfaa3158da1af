package apiclient

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestCreateRevocationRetries(t *testing.T) {
	created := reply(http.StatusCreated, revocationJSON)
	tests := []struct {
		name  string
		steps []http.HandlerFunc
		opts  []Option
		// waits are the gaps between consecutive attempts, on fake time.
		waits      []time.Duration
		wantErr    error
		wantUnseen bool // for a 409: EarlierAttemptUnseen
		wantMsg    string
	}{
		{
			name:  "429 waits Retry-After and resends the same key and body",
			steps: []http.HandlerFunc{reply(429, `{}`, "Retry-After", "7"), created},
			waits: []time.Duration{7 * time.Second},
		},
		{
			name: "429 with an HTTP-date Retry-After waits until that date",
			steps: []http.HandlerFunc{func(w http.ResponseWriter, r *http.Request) {
				reply(429, `{}`, "Retry-After", time.Now().Add(30*time.Second).UTC().Format(http.TimeFormat))(w, r)
			}, created},
			waits: []time.Duration{30 * time.Second},
		},
		{
			name:    "429 with Retry-After over the cap fails at once with a RateLimitError",
			steps:   []http.HandlerFunc{reply(429, `{}`, "Retry-After", "3600")},
			opts:    []Option{WithMaxRetryAfter(10 * time.Second)},
			wantErr: ErrRateLimited,
		},
		{
			name:  "429 without Retry-After backs off",
			steps: []http.HandlerFunc{reply(429, `{}`), created},
			waits: []time.Duration{500 * time.Millisecond},
		},
		{
			name:  "5xx is retried with the same key and body, backing off",
			steps: []http.HandlerFunc{reply(503, ``), reply(500, `{}`), created},
			waits: []time.Duration{500 * time.Millisecond, time.Second},
		},
		{
			name:  "a timed-out attempt is retried with the same key",
			steps: []http.HandlerFunc{hang, created},
			opts:  []Option{WithTimeout(2 * time.Second)},
			waits: []time.Duration{2*time.Second + 500*time.Millisecond},
		},
		{
			name:  "a broken connection is retried with the same key",
			steps: []http.HandlerFunc{abort, created},
			waits: []time.Duration{500 * time.Millisecond},
		},
		{
			name:    "422 is not retried and carries the server's message",
			steps:   []http.HandlerFunc{reply(422, `{"errors":{"reason":["is too long"]}}`)},
			wantErr: ErrInvalidRequest,
			wantMsg: "reason is too long",
		},
		{
			name:    "400 is not retried",
			steps:   []http.HandlerFunc{reply(400, `{"errors":{"detail":"Bad Request"}}`)},
			wantErr: ErrInvalidRequest,
			wantMsg: "Bad Request",
		},
		{
			name:    "attempts are bounded",
			steps:   []http.HandlerFunc{reply(502, ``), reply(502, ``), reply(502, ``), reply(502, ``)},
			waits:   []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second},
			wantErr: ErrServer,
		},
		{
			name:    "409 on the first attempt means someone else submitted the key",
			steps:   []http.HandlerFunc{reply(409, `{}`)},
			wantErr: ErrAlreadySubmitted,
		},
		{
			name:       "409 after a 5xx means our earlier attempt got through",
			steps:      []http.HandlerFunc{reply(500, `{}`), reply(409, `{}`)},
			waits:      []time.Duration{500 * time.Millisecond},
			wantErr:    ErrAlreadySubmitted,
			wantUnseen: true,
		},
		{
			name:       "409 after a broken connection means our earlier attempt got through",
			steps:      []http.HandlerFunc{abort, reply(409, `{}`)},
			waits:      []time.Duration{500 * time.Millisecond},
			wantErr:    ErrAlreadySubmitted,
			wantUnseen: true,
		},
		{
			name:    "409 after a 429 means someone else submitted the key",
			steps:   []http.HandlerFunc{reply(429, `{}`, "Retry-After", "1"), reply(409, `{}`)},
			waits:   []time.Duration{time.Second},
			wantErr: ErrAlreadySubmitted,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := newScript(t, tt.steps...)
				c := newTestClient(t, srv, tt.opts...)
				start := time.Now()
				rev, err := c.CreateRevocation(t.Context(), "request-7", NewRevocation{AccessStateID: "as-1", Reason: "left the team"})

				reqs := srv.requests()
				if len(reqs) != len(tt.steps) {
					t.Fatalf("server saw %d requests, want %d", len(reqs), len(tt.steps))
				}
				var waits []time.Duration
				for i, r := range reqs {
					if r.Key != "request-7" || r.Body != reqs[0].Body || r.Method != http.MethodPost {
						t.Errorf("attempt %d sent %s key %q body %s; want POST, the same key and body as attempt 1 (%s)",
							i+1, r.Method, r.Key, r.Body, reqs[0].Body)
					}
					if i > 0 {
						waits = append(waits, r.At.Sub(reqs[i-1].At))
					}
				}
				if reqs[0].At != start {
					t.Errorf("first attempt went after %s, want at once", reqs[0].At.Sub(start))
				}
				if diff := cmp.Diff(tt.waits, waits); diff != "" {
					t.Errorf("waits between attempts (-want +got):\n%s", diff)
				}
				if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if err == nil {
					if rev == nil || rev.ID != "rev-1" {
						t.Errorf("revocation = %+v, want rev-1", rev)
					}
					return
				}
				var apiErr *Error
				if !errors.As(err, &apiErr) {
					t.Fatalf("err %v is not an *Error", err)
				}
				if apiErr.Message != tt.wantMsg {
					t.Errorf("Message = %q, want %q", apiErr.Message, tt.wantMsg)
				}
				var already *AlreadySubmittedError
				if errors.As(err, &already) {
					if already.EarlierAttemptUnseen != tt.wantUnseen {
						t.Errorf("EarlierAttemptUnseen = %v, want %v", already.EarlierAttemptUnseen, tt.wantUnseen)
					}
					if !already.FirstAttemptAt.Equal(start) || already.PriorAttempts != len(reqs)-1 {
						t.Errorf("FirstAttemptAt %v PriorAttempts %d, want %v and %d", already.FirstAttemptAt, already.PriorAttempts, start, len(reqs)-1)
					}
				}
			})
		})
	}
}

func TestRetryAfterOverTheCapReportsTheWholeWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newScript(t, reply(429, `{}`, "Retry-After", "3600"))
		c := newTestClient(t, srv, WithMaxRetryAfter(time.Minute))
		_, err := c.GetUser(t.Context(), "user-1")
		var rl *RateLimitError
		if !errors.As(err, &rl) || rl.RetryAfter != time.Hour || rl.NotSent {
			t.Fatalf("err = %v, want a sent *RateLimitError with RetryAfter 1h", err)
		}
		// The rest of the client honours the same wait: it does not send, and says why.
		_, err = c.GetUser(t.Context(), "user-2")
		if !errors.As(err, &rl) || !rl.NotSent || rl.RetryAfter != time.Hour {
			t.Fatalf("next call: err = %v, want a NotSent *RateLimitError with RetryAfter 1h", err)
		}
		if got := len(srv.requests()); got != 1 {
			t.Errorf("server saw %d requests, want 1", got)
		}
	})
}

func TestCancellingTheContextEndsARetryAfterWaitAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newScript(t, reply(429, `{}`, "Retry-After", "30"))
		c := newTestClient(t, srv)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() {
			_, err := c.CreateRevocation(ctx, "request-7", NewRevocation{AccessStateID: "as-1", Reason: "x"})
			done <- err
		}()
		synctest.Wait() // the call now waits out Retry-After
		cancelledAt := time.Now()
		cancel()
		err := <-done
		if waited := time.Since(cancelledAt); waited != 0 {
			t.Errorf("call returned %s after cancel, want at once", waited)
		}
		var rl *RateLimitError
		if !errors.Is(err, context.Canceled) || !errors.As(err, &rl) {
			t.Errorf("err = %v, want context.Canceled wrapping the 429", err)
		}
		if got := len(srv.requests()); got != 1 {
			t.Errorf("server saw %d requests, want 1", got)
		}
	})
}

func TestCancellingTheContextEndsABackoffWaitAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newScript(t, reply(503, ``))
		c := newTestClient(t, srv, WithRetry(4, time.Minute, time.Hour))
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() {
			_, err := c.GetUser(ctx, "user-1")
			done <- err
		}()
		synctest.Wait()
		cancelledAt := time.Now()
		cancel()
		err := <-done
		if time.Since(cancelledAt) != 0 || !errors.Is(err, context.Canceled) || !errors.Is(err, ErrServer) {
			t.Errorf("err = %v after %s, want context.Canceled wrapping the 503 at once", err, time.Since(cancelledAt))
		}
	})
}

func TestRetryPolicy(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"429 is retried", &RateLimitError{Err: &Error{StatusCode: 429}}, true},
		{"500 is retried", &Error{StatusCode: 500}, true},
		{"503 is retried", &Error{StatusCode: 503}, true},
		{"400 is final", &Error{StatusCode: 400}, false},
		{"401 is final", &Error{StatusCode: 401}, false},
		{"404 is final", &Error{StatusCode: 404}, false},
		{"409 is final", &Error{StatusCode: 409}, false},
		{"422 is final", &Error{StatusCode: 422}, false},
		{"a timeout is retried", context.DeadlineExceeded, true},
		{"a network error is retried", errors.New("connection reset by peer"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, why := retryPolicy(tt.err)
			if got != tt.want || why == "" {
				t.Errorf("retryPolicy(%v) = %v, %q; want %v with a reason", tt.err, got, why, tt.want)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name, header string
		want         time.Duration
	}{
		{"seconds", "120", 2 * time.Minute},
		{"an HTTP date", "Sun, 22 Nov 2026 10:01:30 GMT", 90 * time.Second},
		{"a date in the past is no wait", "Sun, 22 Nov 2026 09:00:00 GMT", 0},
		{"missing is no wait", "", 0},
		{"garbage is no wait", "soon", 0},
		{"negative is no wait", "-5", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseRetryAfter(tt.header, now); got != tt.want {
				t.Errorf("parseRetryAfter(%q) = %s, want %s", tt.header, got, tt.want)
			}
		})
	}
}
