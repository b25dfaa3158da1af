package apiclient

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"revokebot/secret"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	testToken = "owl-test-token-5f2a9c"
	// testPrefix mounts the API under a path, as the sandbox does, so that a client building
	// absolute paths fails loudly.
	testPrefix = "/accessowl"
	testBase   = "http://owl.test" + testPrefix
)

// handlerTransport sends requests straight to an http.Handler without sockets, so tests can run
// inside a synctest bubble, whose fake clock only moves while every goroutine is blocked on
// something it understands. A handler that panics with http.ErrAbortHandler becomes a broken
// connection, as it does on a real server.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(req *http.Request) (resp *http.Response, err error) {
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	var body []byte
	if req.Body != nil {
		body, err = io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
	}
	sreq := req.Clone(req.Context())
	sreq.Body = io.NopCloser(bytes.NewReader(body))
	sreq.RequestURI = req.URL.RequestURI()
	rec := httptest.NewRecorder()
	defer func() {
		if p := recover(); p != nil {
			if p != http.ErrAbortHandler {
				panic(p)
			}
			resp, err = nil, errors.New("read: connection reset by peer")
		}
	}()
	t.h.ServeHTTP(rec, sreq)
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	resp = rec.Result()
	resp.Request = req
	return resp, nil
}

// underPrefix serves h at testPrefix and fails the test for any request outside it.
func underPrefix(t *testing.T, h http.Handler) http.Handler {
	t.Helper()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, testPrefix+"/api/v1/") {
			t.Errorf("request outside the base URL: %s %s", r.Method, r.URL.Path)
			http.NotFound(w, r)
			return
		}
		http.StripPrefix(testPrefix, h).ServeHTTP(w, r)
	})
}

// newTestClient returns a client that reaches h in memory. Retries back off 1 s, 2 s, 4 s…
// with no jitter (the wait is half of each), so tests can assert exact waits on fake time.
func newTestClient(t *testing.T, h http.Handler, opts ...Option) *Client {
	t.Helper()
	base := []Option{
		WithHTTPClient(&http.Client{Transport: handlerTransport{underPrefix(t, h)}}),
		WithRetry(DefaultMaxAttempts, time.Second, 8*time.Second),
		WithRand(func() float64 { return 0 }),
	}
	c, err := New(testBase, secret.New(testToken), append(base, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// seen is one request as the server received it.
type seen struct {
	Method, Path, Key, Body string
	Query                   url.Values
	At                      time.Time
}

// script answers the n-th request with the n-th step and records every request. Past the last
// step it fails the test.
type script struct {
	t     *testing.T
	mu    sync.Mutex
	steps []http.HandlerFunc
	reqs  []seen
}

func newScript(t *testing.T, steps ...http.HandlerFunc) *script {
	return &script{t: t, steps: steps}
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	n := len(s.reqs)
	s.reqs = append(s.reqs, seen{Method: r.Method, Path: r.URL.Path, Key: r.Header.Get("Idempotency-Key"),
		Body: string(body), Query: r.URL.Query(), At: time.Now()})
	s.mu.Unlock()
	if n >= len(s.steps) {
		s.t.Errorf("unexpected request %d: %s %s", n+1, r.Method, r.URL.Path)
		http.Error(w, "no more steps", http.StatusTeapot)
		return
	}
	s.steps[n](w, r)
}

func (s *script) requests() []seen {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]seen(nil), s.reqs...)
}

// reply answers with status, a JSON body and header pairs.
func reply(status int, body string, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// abort breaks the connection without an answer.
func abort(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) }

// hang never answers; the attempt's timeout ends it.
func hang(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }

const revocationJSON = `{"id":"rev-1","application_id":"app-1","reason":"left the team","status":"processing_access",
"grantee_user_id":"user-1","requestor_user_id":null,"resource_id":null,"permission_ids":[],
"provisioning_type":"automatic","inserted_at":"2026-11-20T10:00:00Z"}`
