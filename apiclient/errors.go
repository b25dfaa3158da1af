package apiclient

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Sentinel errors that callers branch on with errors.Is. Every error a non-2xx response produces
// is an *Error (or wraps one) whose Unwrap returns one of the status sentinels.
var (
	ErrUnauthorized     = errors.New("accessowl: unauthorized")
	ErrForbidden        = errors.New("accessowl: forbidden")
	ErrNotFound         = errors.New("accessowl: not found")
	ErrConflict         = errors.New("accessowl: conflict")
	ErrAlreadySubmitted = errors.New("accessowl: already submitted")
	ErrInvalidRequest   = errors.New("accessowl: invalid request")
	ErrRateLimited      = errors.New("accessowl: rate limited")
	ErrServer           = errors.New("accessowl: server error")
	ErrUnexpectedStatus = errors.New("accessowl: unexpected status")
	ErrRepeatedCursor   = errors.New("accessowl: pagination cursor repeated")
	// ErrEmptyResponse is a 2xx without the object it should carry. For a POST the request was
	// processed all the same.
	ErrEmptyResponse = errors.New("accessowl: response without a body")
)

const (
	// maxErrorBody bounds what is read of an error response: enough for any validation message,
	// small enough that a misbehaving proxy cannot make the bot buffer megabytes per attempt.
	maxErrorBody = 16 << 10
	// maxBodyExcerpt bounds the raw body kept on an *Error for logs.
	maxBodyExcerpt = 512
	// maxMessage bounds the server message kept on an *Error, since it reaches Slack threads.
	maxMessage = 300
	// maxExcerptInError bounds how much raw body Error() shows when there is no message.
	maxExcerptInError = 200
)

// Error is a response AccessOwl answered with a status other than 2xx.
type Error struct {
	StatusCode int
	Method     string
	Path       string // URL path without the query
	Message    string // the server's message, parsed leniently; may be empty
	Body       string // a bounded excerpt of the raw body, for logs
	kind       error
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = truncate(e.Body, maxExcerptInError)
	}
	s := fmt.Sprintf("accessowl: %s %s: %d %s", e.Method, e.Path, e.StatusCode, http.StatusText(e.StatusCode))
	if msg != "" {
		s += ": " + msg
	}
	return s
}

// Unwrap returns the sentinel for the status, so errors.Is(err, ErrNotFound) works.
func (e *Error) Unwrap() error { return e.kind }

// RateLimitError is a 429. RetryAfter is zero when AccessOwl sent no usable Retry-After.
type RateLimitError struct {
	Err        *Error
	RetryAfter time.Duration
	// NotSent is true when the client refused to send at all because an earlier 429 asked it to
	// wait longer than its cap (see WithMaxRetryAfter).
	NotSent bool
}

func (e *RateLimitError) Error() string {
	s := e.Err.Error()
	if e.RetryAfter > 0 {
		s += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	return s
}

// Unwrap returns the *Error, which unwraps to ErrRateLimited.
func (e *RateLimitError) Unwrap() error { return e.Err }

// AlreadySubmittedError is a 409 on a request that carried an Idempotency-Key: AccessOwl received
// that key before and did not process the request again. It does not say whether the first
// request succeeded.
//
// When EarlierAttemptUnseen is true, this client had itself sent the key before without seeing
// the outcome (a network error, a timeout, a 5xx, or a transport-level resend): the 409 most
// likely means that earlier attempt got through, and the caller should look the result up
// (FindRevocation for a revocation). When it is false, someone else — another replica, an
// earlier process, a repeated click — submitted the key first.
type AlreadySubmittedError struct {
	Err                  *Error
	Key                  string
	EarlierAttemptUnseen bool
	// PriorAttempts is how many attempts this call sent before the one answered 409.
	PriorAttempts int
	// FirstAttemptAt is when this call first sent the key; a revocation it created was inserted
	// no earlier (allowing for clock skew).
	FirstAttemptAt time.Time
}

func (e *AlreadySubmittedError) Error() string {
	who := "submitted earlier by someone else"
	if e.EarlierAttemptUnseen {
		who = "our earlier attempt got through unseen"
	}
	return e.Err.Error() + " (" + who + ")"
}

// Unwrap returns the *Error, which unwraps to ErrAlreadySubmitted.
func (e *AlreadySubmittedError) Unwrap() error { return e.Err }

// checkResponse turns a non-2xx response into a typed error, reading at most maxErrorBody of
// its body. It is the one place where statuses become errors. A 409 means "already submitted"
// only when the request carried an Idempotency-Key.
func checkResponse(req *http.Request, resp *http.Response) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	e := &Error{
		StatusCode: resp.StatusCode,
		Method:     req.Method,
		Path:       req.URL.Path,
		Message:    truncate(serverMessage(body), maxMessage),
		Body:       truncate(strings.TrimSpace(string(body)), maxBodyExcerpt),
	}
	switch code := resp.StatusCode; {
	case code == http.StatusUnauthorized:
		e.kind = ErrUnauthorized
	case code == http.StatusForbidden:
		e.kind = ErrForbidden
	case code == http.StatusNotFound:
		e.kind = ErrNotFound
	case code == http.StatusConflict && req.Header.Get("Idempotency-Key") != "":
		e.kind = ErrAlreadySubmitted
	case code == http.StatusConflict:
		e.kind = ErrConflict
	case code == http.StatusBadRequest || code == http.StatusUnprocessableEntity:
		e.kind = ErrInvalidRequest
	case code == http.StatusTooManyRequests:
		e.kind = ErrRateLimited
		return &RateLimitError{Err: e, RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
	case code >= 500:
		e.kind = ErrServer
	default:
		e.kind = ErrUnexpectedStatus
	}
	return e
}

// serverMessage extracts a readable message from an error body whose schema AccessOwl does not
// publish. It understands {"errors": {"field": ["msg"]}}, {"errors": {"detail": "msg"}},
// {"errors": ["msg", {"detail": "msg"}]}, and top-level "message", "error" or "detail"; anything
// else yields "" and the caller falls back to the raw excerpt.
func serverMessage(body []byte) string {
	var top map[string]any
	if json.Unmarshal(body, &top) != nil {
		return ""
	}
	var parts []string
	if errs, ok := top["errors"]; ok {
		parts = flattenErrors("", errs)
	}
	for _, key := range []string{"message", "error", "detail"} {
		if len(parts) > 0 {
			break
		}
		parts = flattenErrors("", top[key])
	}
	return strings.Join(parts, "; ")
}

// flattenErrors renders a lenient errors value; field names prefix their messages so that
// {"reason": ["is too long"]} reads "reason is too long".
func flattenErrors(field string, v any) []string {
	prefix := func(s string) string {
		if field == "" || field == "detail" || field == "message" {
			return s
		}
		return field + " " + s
	}
	switch v := v.(type) {
	case string:
		if v == "" {
			return nil
		}
		return []string{prefix(v)}
	case float64, bool:
		return []string{prefix(fmt.Sprint(v))}
	case []any:
		var out []string
		for _, item := range v {
			out = append(out, flattenErrors(field, item)...)
		}
		return out
	case map[string]any:
		for _, key := range []string{"detail", "message", "title"} {
			if s, ok := v[key].(string); ok && s != "" {
				return []string{prefix(s)}
			}
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var out []string
		for _, k := range keys {
			out = append(out, flattenErrors(k, v[k])...)
		}
		return out
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary so the excerpt stays valid UTF-8.
	for n > 0 && !isRuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
