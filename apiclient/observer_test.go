package apiclient

import (
	"net/http"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/google/go-cmp/cmp"
)

func TestObserverSeesEveryAttemptWithItsRouteStatusAndRetryReason(t *testing.T) {
	tests := []struct {
		name  string
		steps []http.HandlerFunc
		call  func(t *testing.T, c *Client)
		want  []Attempt
	}{
		{
			name:  "a 503 then a 201 are two attempts, the first retried as a server error",
			steps: []http.HandlerFunc{reply(503, ``), reply(http.StatusCreated, revocationJSON)},
			call: func(t *testing.T, c *Client) {
				if _, err := c.CreateRevocation(t.Context(), "key-1", NewRevocation{AccessStateID: "as-1", Reason: "left"}); err != nil {
					t.Fatal(err)
				}
			},
			want: []Attempt{
				{Method: "POST", Route: "/access_revocations", Status: 503, Number: 1, Retry: true, RetryReason: "server error (503)"},
				{Method: "POST", Route: "/access_revocations", Status: 201, Number: 2},
			},
		},
		{
			name:  "a 429 is retried as rate limited and the ID leaves the route",
			steps: []http.HandlerFunc{reply(429, `{}`, "Retry-After", "1"), reply(200, revocationJSON)},
			call: func(t *testing.T, c *Client) {
				if _, err := c.GetRevocation(t.Context(), "rev-1"); err != nil {
					t.Fatal(err)
				}
			},
			want: []Attempt{
				{Method: "GET", Route: "/access_revocations/{id}", Status: 429, Number: 1, Retry: true, RetryReason: "rate limited (429)"},
				{Method: "GET", Route: "/access_revocations/{id}", Status: 200, Number: 2},
			},
		},
		{
			name:  "a broken connection has no status",
			steps: []http.HandlerFunc{abort, reply(200, revocationJSON)},
			call: func(t *testing.T, c *Client) {
				if _, err := c.RevokeRevocation(t.Context(), "key-1", "rev-1"); err != nil {
					t.Fatal(err)
				}
			},
			want: []Attempt{
				{Method: "POST", Route: "/access_revocations/{id}/revoke", Status: 0, Number: 1, Retry: true, RetryReason: "network error"},
				{Method: "POST", Route: "/access_revocations/{id}/revoke", Status: 200, Number: 2},
			},
		},
		{
			name:  "a final 404 is one attempt, not retried",
			steps: []http.HandlerFunc{reply(404, `{}`)},
			call: func(t *testing.T, c *Client) {
				if _, err := c.GetUser(t.Context(), "user-1"); err == nil {
					t.Fatal("a 404 succeeded")
				}
			},
			want: []Attempt{{Method: "GET", Route: "/users/{id}", Status: 404, Number: 1}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var (
					mu  sync.Mutex
					got []Attempt
				)
				c := newTestClient(t, newScript(t, tt.steps...), WithObserver(func(a Attempt) {
					mu.Lock()
					defer mu.Unlock()
					got = append(got, a)
				}))
				tt.call(t, c)
				mu.Lock()
				defer mu.Unlock()
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("attempts (-want +got):\n%s", diff)
				}
			})
		})
	}
}

func TestBudgetAvailableIsZeroWhileA429Pauses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestClient(t, newScript(t, reply(429, `{}`, "Retry-After", "30")), WithRetry(1, 1, 1), WithRateLimit(1000))
		if got := c.BudgetAvailable(); got != 1000 {
			t.Errorf("a fresh client of 1,000 an hour has %d available, want the whole hour", got)
		}
		if _, err := c.GetRevocation(t.Context(), "rev-1"); err == nil {
			t.Fatal("a 429 succeeded")
		}
		if got := c.BudgetAvailable(); got != 0 {
			t.Errorf("during Retry-After %d requests are available, want 0", got)
		}
	})
}
