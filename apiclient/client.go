package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"revokebot/secret"
)

const (
	// DefaultTimeout bounds one attempt; AccessOwl answers in well under a second, so ten
	// seconds means the attempt is lost, and a retry with the same key is the cure.
	DefaultTimeout = 10 * time.Second
	// DefaultMaxAttempts is one attempt plus three retries: enough to ride out a blip, few
	// enough that a person clicking Approve hears back within seconds.
	DefaultMaxAttempts = 4
	// DefaultBaseBackoff and DefaultMaxBackoff shape the exponential backoff between retries.
	DefaultBaseBackoff = 500 * time.Millisecond
	DefaultMaxBackoff  = 30 * time.Second
	// DefaultMaxRetryAfter caps how long a call waits on a 429's Retry-After; a longer wait
	// fails at once so a person is told instead of being held.
	DefaultMaxRetryAfter = 60 * time.Second
	// DefaultMaxBudgetWait caps how long a person's call waits for the token's hourly budget;
	// a longer wait fails at once with a *BudgetError, so the person is told "try again later"
	// rather than held. Background calls wait as long as their context allows.
	DefaultMaxBudgetWait = 10 * time.Second
	// maxResponseBody bounds a successful response: a page of 100 expanded access states is a
	// few hundred kilobytes.
	maxResponseBody = 16 << 20
	// maxKeyLength is AccessOwl's limit on an Idempotency-Key.
	maxKeyLength = 255
	apiPrefix    = "api/v1"
)

// Client talks to AccessOwl's REST API. It is safe for concurrent use; create one per token,
// since the rate budget belongs to the token.
type Client struct {
	base          *url.URL // the base URL with /api/v1 appended
	token         secret.Token
	http          *http.Client
	userAgent     string
	log           *slog.Logger
	timeout       time.Duration
	maxAttempts   int
	baseBackoff   time.Duration
	maxBackoff    time.Duration
	maxRetryAfter time.Duration
	maxBudgetWait time.Duration
	budget        Budget
	random        func() float64
	observe       func(Attempt)
}

// New returns a client for the AccessOwl API at baseURL (such as https://api.accessowl.com; a
// path prefix is kept, the client adds /api/v1/…).
func New(baseURL string, token secret.Token, opts ...Option) (*Client, error) {
	if token.IsZero() {
		return nil, errors.New("accessowl: empty API token")
	}
	base, err := url.Parse(baseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("accessowl: base URL %q must be an absolute http or https URL", baseURL)
	}
	if base.RawQuery != "" || base.Fragment != "" || base.User != nil {
		return nil, fmt.Errorf("accessowl: base URL %q must not carry a query, fragment or credentials", baseURL)
	}
	cfg := config{
		httpClient:    http.DefaultClient,
		version:       "dev",
		logger:        slog.New(slog.DiscardHandler),
		timeout:       DefaultTimeout,
		maxAttempts:   DefaultMaxAttempts,
		baseBackoff:   DefaultBaseBackoff,
		maxBackoff:    DefaultMaxBackoff,
		maxRetryAfter: DefaultMaxRetryAfter,
		maxBudgetWait: DefaultMaxBudgetWait,
		perHour:       DefaultRateLimit,
		reserve:       -1,
		random:        rand.Float64,
		observer:      func(Attempt) {},
	}
	for _, opt := range opts {
		if err := opt(&cfg); err != nil {
			return nil, fmt.Errorf("accessowl: %w", err)
		}
	}
	b := cfg.budget
	if b == nil {
		reserve := cfg.reserve
		if reserve < 0 {
			reserve = DefaultReserve(cfg.perHour)
		}
		mb, err := NewMemoryBudget(cfg.perHour, reserve)
		if err != nil {
			return nil, fmt.Errorf("accessowl: %w", err)
		}
		b = mb
	}
	return &Client{
		base:          base.JoinPath(apiPrefix),
		token:         token,
		http:          cfg.httpClient,
		userAgent:     "revokebot/" + cfg.version,
		log:           cfg.logger,
		timeout:       cfg.timeout,
		maxAttempts:   cfg.maxAttempts,
		baseBackoff:   cfg.baseBackoff,
		maxBackoff:    cfg.maxBackoff,
		maxRetryAfter: cfg.maxRetryAfter,
		maxBudgetWait: cfg.maxBudgetWait,
		budget:        b,
		random:        cfg.random,
		observe:       cfg.observer,
	}, nil
}

// BackgroundDelay reports how long a background call made now would wait for the budget (its
// pacing, its reserve for people, or AccessOwl's Retry-After or X-RateLimit-Reset), assuming
// nothing else spends first. A poller uses it to plan its next sweep instead of queueing
// blindly. If the budget cannot be read it reports a short wait, so the poller looks again.
func (c *Client) BackgroundDelay() time.Duration {
	w, err := c.budget.Delay(context.Background(), ClassBackground)
	if err != nil {
		c.log.Warn("accessowl budget: cannot read the background delay", "error", err)
		return budgetErrorDelay
	}
	return w.Duration
}

// BudgetAvailable reports how many requests people could send at once now without waiting for
// the budget: what the rolling hour has left (up to all of ACCESSOWL_RATE_LIMIT when the hour
// is empty), less when AccessOwl said fewer remain, and 0 while a 429's Retry-After holds the
// client or the budget cannot be read.
func (c *Client) BudgetAvailable() int {
	n, err := c.budget.Available(context.Background())
	if err != nil {
		c.log.Warn("accessowl budget: cannot read what is available", "error", err)
		return 0
	}
	return n
}

// request is one API call, built once and sent unchanged on every attempt: the body is
// marshalled before the first attempt and the Idempotency-Key fixed, so every retry is
// byte-identical.
type request struct {
	method string
	path   string // escaped, relative to /api/v1
	query  url.Values
	body   []byte
	key    string
}

func newRequest(method, path string, query url.Values, body any, key string) (*request, error) {
	if key != "" && len(key) > maxKeyLength {
		return nil, fmt.Errorf("accessowl: idempotency key is %d bytes, over the limit of %d", len(key), maxKeyLength)
	}
	req := &request{method: method, path: path, query: query, key: key}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("accessowl: encode %s %s: %w", method, path, err)
		}
		req.body = b
	}
	return req, nil
}

// routeOf returns a request path with its IDs replaced, for metrics: paths are a collection,
// then an ID, then a verb, so every second segment is an ID.
func routeOf(path string) string {
	segments := strings.Split(path, "/")
	for i := 1; i < len(segments); i += 2 {
		segments[i] = "{id}"
	}
	return "/" + strings.Join(segments, "/")
}

// escapePath joins escaped path segments, refusing IDs that would change which resource is meant.
func escapePath(segments ...string) (string, error) {
	for i, s := range segments {
		if s == "" || s == "." || s == ".." {
			return "", fmt.Errorf("accessowl: invalid path segment %q", s)
		}
		segments[i] = url.PathEscape(s)
	}
	return strings.Join(segments, "/"), nil
}

// do sends req until it succeeds, fails for good, or runs out of attempts, and decodes a
// successful body into v. Every attempt first takes a request from the budget.
func (c *Client) do(ctx context.Context, req *request, v any) error {
	class := ClassOf(ctx)
	var (
		unseen  bool // an earlier attempt with this key may have been processed
		firstAt time.Time
		lastErr error
	)
	for attempt := 1; ; attempt++ {
		seq, err := c.take(ctx, class)
		if err != nil {
			return c.waitError(req, err, lastErr)
		}
		if attempt == 1 {
			firstAt = time.Now()
		}
		body, status, resent, err := c.send(ctx, req, attempt, seq)
		if err == nil {
			c.observe(Attempt{Method: req.method, Route: routeOf(req.path), Status: status, Number: attempt})
			return decode(body, v)
		}
		if ctx.Err() != nil {
			c.observe(Attempt{Method: req.method, Route: routeOf(req.path), Status: status, Number: attempt})
			return c.waitError(req, ctx.Err(), err)
		}
		var apiErr *Error
		if errors.As(err, &apiErr) && errors.Is(apiErr, ErrAlreadySubmitted) {
			c.observe(Attempt{Method: req.method, Route: routeOf(req.path), Status: status, Number: attempt})
			return &AlreadySubmittedError{
				Err:                  apiErr,
				Key:                  req.key,
				EarlierAttemptUnseen: unseen || resent,
				PriorAttempts:        attempt - 1,
				FirstAttemptAt:       firstAt,
			}
		}
		unseen = unseen || resent || mayHaveBeenProcessed(err)
		lastErr = err
		retry, why := retryPolicy(err)
		reason := why
		if retry && attempt >= c.maxAttempts {
			retry, why = false, fmt.Sprintf("%s, but %d attempts are spent", why, attempt)
		}
		var wait time.Duration
		if retry {
			wait, retry, why = c.retryWait(attempt, err, why)
		}
		a := Attempt{Method: req.method, Route: routeOf(req.path), Status: status, Number: attempt, Retry: retry}
		if retry {
			a.RetryReason = reason
		}
		c.observe(a)
		c.log.DebugContext(ctx, "accessowl retry decision", "method", req.method, "path", c.pathOf(req),
			"attempt", attempt, "retry", retry, "why", why, "wait", wait)
		if !retry {
			if attempt > 1 {
				return fmt.Errorf("after %d attempts: %w", attempt, err)
			}
			return err
		}
		if err := sleep(ctx, wait); err != nil {
			return c.waitError(req, err, lastErr)
		}
	}
}

// waitError reports a call that ended while waiting: the context ended, or a 429's pause was
// longer than the cap. The last attempt's error stays reachable with errors.Is/As.
func (c *Client) waitError(req *request, err, lastErr error) error {
	var spent *BudgetError
	if errors.As(err, &spent) && lastErr == nil {
		return fmt.Errorf("accessowl: %s %s: not sent: %w", req.method, c.pathOf(req), err)
	}
	var paused pausedError
	if errors.As(err, &paused) {
		return &RateLimitError{RetryAfter: paused.remaining, NotSent: true, Err: &Error{
			StatusCode: http.StatusTooManyRequests,
			Method:     req.method,
			Path:       c.pathOf(req),
			Message:    "not sent: " + paused.Error(),
			kind:       ErrRateLimited,
		}}
	}
	if lastErr != nil {
		return fmt.Errorf("accessowl: %s %s: %w (last attempt: %w)", req.method, c.pathOf(req), err, lastErr)
	}
	return fmt.Errorf("accessowl: %s %s: %w", req.method, c.pathOf(req), err)
}

// pathOf returns the URL path req is sent to, for errors and logs.
func (c *Client) pathOf(req *request) string { return c.base.JoinPath(req.path).Path }

// call sends one request for one object and decodes it. A 2xx without an object is
// ErrEmptyResponse, so a caller never holds a nil result without an error.
func call[T any](ctx context.Context, c *Client, method, path string, body any, key string) (*T, error) {
	req, err := newRequest(method, path, nil, body, key)
	if err != nil {
		return nil, err
	}
	var out *T
	if err := c.do(ctx, req, &out); err != nil {
		return nil, err
	}
	if out == nil {
		return nil, fmt.Errorf("accessowl: %s %s: %w", method, c.pathOf(req), ErrEmptyResponse)
	}
	return out, nil
}

// send makes one attempt, the request numbered seq by the budget, and tells the budget what
// AccessOwl's answer says about the token's limit. resent reports that the transport itself
// wrote the request more than once — net/http replays requests that carry an Idempotency-Key
// when a reused connection breaks — so an earlier copy of this attempt may have been processed
// unseen.
func (c *Client) send(ctx context.Context, req *request, attempt int, seq uint64) (body []byte, status int, resent bool, err error) {
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var writes atomic.Int32
	actx = httptrace.WithClientTrace(actx, &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { writes.Add(1) },
	})
	u := c.base.JoinPath(req.path)
	u.RawQuery = req.query.Encode()
	var rd io.Reader
	if req.body != nil {
		rd = bytes.NewReader(req.body)
	}
	hreq, err := http.NewRequestWithContext(actx, req.method, u.String(), rd)
	if err != nil {
		return nil, 0, false, fmt.Errorf("accessowl: build %s %s: %w", req.method, req.path, err)
	}
	hreq.Header.Set("Authorization", "Bearer "+c.token.Reveal())
	hreq.Header.Set("Accept", "application/json")
	hreq.Header.Set("User-Agent", c.userAgent)
	if req.body != nil {
		hreq.Header.Set("Content-Type", "application/json")
	}
	if req.key != "" {
		hreq.Header.Set("Idempotency-Key", req.key)
	}

	start := time.Now()
	defer func() {
		attrs := []any{"method", req.method, "path", u.Path, "query", u.RawQuery, "attempt", attempt,
			"status", status, "duration", time.Since(start)}
		if err != nil {
			attrs = append(attrs, "error", err.Error())
		}
		c.log.DebugContext(ctx, "accessowl request", attrs...)
	}()

	resp, err := c.http.Do(hreq)
	resent = writes.Load() > 1
	if err != nil {
		if ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("attempt timed out after %s: %w", c.timeout, err)
		}
		return nil, 0, resent, err
	}
	defer resp.Body.Close()
	status = resp.StatusCode
	err = checkResponse(hreq, resp)
	// A 429's Retry-After asks the token to wait, so every call of this client waits, not just
	// this one; the rate-limit headers may come on any answer.
	var rl *RateLimitError
	errors.As(err, &rl)
	if limit, ok := serverLimitOf(resp.Header, rl, seq, time.Now()); ok {
		c.heed(ctx, limit)
	}
	if err != nil {
		return nil, status, resent, err
	}
	body, err = io.ReadAll(io.LimitReader(resp.Body, maxResponseBody+1))
	if err != nil {
		return nil, status, resent, fmt.Errorf("accessowl: %s %s: read response: %w", req.method, u.Path, err)
	}
	if len(body) > maxResponseBody {
		return nil, status, resent, fmt.Errorf("accessowl: %s %s: response over %d bytes", req.method, u.Path, maxResponseBody)
	}
	return body, status, resent, nil
}
