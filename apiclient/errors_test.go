package apiclient

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

func TestStatusesMapToErrors(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		body    string
		key     bool // send with an Idempotency-Key (a POST)
		want    error
		wantMsg string
	}{
		{name: "401 is ErrUnauthorized", status: 401, body: `{"errors":{"detail":"Unauthorized"}}`, want: ErrUnauthorized, wantMsg: "Unauthorized"},
		{name: "403 is ErrForbidden", status: 403, want: ErrForbidden},
		{name: "404 is ErrNotFound", status: 404, body: `{"errors":{"detail":"Not Found"}}`, want: ErrNotFound, wantMsg: "Not Found"},
		{name: "409 without a key is a plain conflict", status: 409, want: ErrConflict},
		{name: "409 with a key is ErrAlreadySubmitted", status: 409, key: true, want: ErrAlreadySubmitted},
		{name: "422 is ErrInvalidRequest with the server's message", status: 422, body: `{"errors":{"reason":["can't be blank"]}}`, want: ErrInvalidRequest, wantMsg: "reason can't be blank"},
		{name: "500 is ErrServer", status: 500, want: ErrServer},
		{name: "429 is ErrRateLimited", status: 429, want: ErrRateLimited},
		{name: "an undocumented status is ErrUnexpectedStatus", status: 418, want: ErrUnexpectedStatus},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newScript(t, reply(tt.status, tt.body))
			c := newTestClient(t, srv, WithRetry(1, 1, 1))
			var err error
			method, path := http.MethodGet, testPrefix+"/api/v1/users/user-1"
			if tt.key {
				method, path = http.MethodPost, testPrefix+"/api/v1/access_revocations"
				_, err = c.CreateRevocation(t.Context(), "k", NewRevocation{AccessStateID: "as-1", Reason: "r"})
			} else {
				_, err = c.GetUser(t.Context(), "user-1")
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			var apiErr *Error
			if !errors.As(err, &apiErr) {
				t.Fatalf("err %v is not an *Error", err)
			}
			if apiErr.StatusCode != tt.status || apiErr.Method != method || apiErr.Path != path || apiErr.Message != tt.wantMsg {
				t.Errorf("Error = {%d %s %s %q}, want {%d %s %s %q}", apiErr.StatusCode, apiErr.Method, apiErr.Path, apiErr.Message,
					tt.status, method, path, tt.wantMsg)
			}
		})
	}
}

func TestServerMessageIsParsedLeniently(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"field errors", `{"errors":{"reason":["is too long","is invalid"],"access_state_id":["is not a UUID"]}}`,
			"access_state_id is not a UUID; reason is too long; reason is invalid"},
		{"a detail object", `{"errors":{"detail":"Not Found"}}`, "Not Found"},
		{"a list of strings", `{"errors":["first","second"]}`, "first; second"},
		{"a list of objects", `{"errors":[{"title":"Invalid","source":"x"},{"detail":"Missing"}]}`, "Invalid; Missing"},
		{"a message", `{"message":"Rate limit exceeded"}`, "Rate limit exceeded"},
		{"an error string", `{"error":"invalid_token"}`, "invalid_token"},
		{"not JSON", `<html>Bad Gateway</html>`, ""},
		{"an empty body", ``, ""},
		{"JSON without a message", `{"status":500}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := serverMessage([]byte(tt.body)); got != tt.want {
				t.Errorf("serverMessage(%s) = %q, want %q", tt.body, got, tt.want)
			}
		})
	}
}

// countingBody counts what the client reads of a response body.
type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

type countingTransport struct {
	next http.RoundTripper
	n    atomic.Int64
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(r)
	if err == nil {
		resp.Body = countingBody{resp.Body, &t.n}
	}
	return resp, err
}

func TestErrorBodiesAreReadThroughASizeLimit(t *testing.T) {
	huge := `{"errors":{"detail":"` + strings.Repeat("x", 4<<20) + `"}}`
	srv := newScript(t, reply(http.StatusBadRequest, huge))
	tr := &countingTransport{next: handlerTransport{underPrefix(t, srv)}}
	c := newTestClient(t, nil, WithHTTPClient(&http.Client{Transport: tr}))
	_, err := c.GetUser(t.Context(), "user-1")
	var apiErr *Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("err = %v, want an *Error", err)
	}
	if read := tr.n.Load(); read > maxErrorBody {
		t.Errorf("client read %d bytes of the error body, want at most %d", read, maxErrorBody)
	}
	if len(apiErr.Body) > maxBodyExcerpt+len("…") || len(apiErr.Message) > maxMessage+len("…") {
		t.Errorf("excerpt %d bytes, message %d bytes: want at most %d and %d", len(apiErr.Body), len(apiErr.Message), maxBodyExcerpt, maxMessage)
	}
	if len(err.Error()) > 1024 {
		t.Errorf("error string is %d bytes, want a short one", len(err.Error()))
	}
}
