// Package apiclient is the AccessOwl REST client every part of revokebot uses.
//
// One Client per API token: it carries the token (never in a URL, a log line or an error), the
// retry policy and the token's request budget. Every method takes a context first and returns
// typed models; lists come as one page (ListX, returning the next cursor) or as an iterator
// (AllX) that asks for 100 a page and follows cursors until AccessOwl says there are no more.
//
// # Errors
//
// Every non-2xx answer becomes an *Error that unwraps to a sentinel: ErrUnauthorized (401),
// ErrForbidden (403), ErrNotFound (404), ErrInvalidRequest (400, 422; Message holds the
// server's words), ErrConflict (409 without an Idempotency-Key), ErrRateLimited (429, as a
// *RateLimitError with RetryAfter) and ErrServer (5xx). Branch with errors.Is and errors.As.
//
// # Retries
//
// A call makes up to WithRetry's number of attempts (4 by default). Network errors, attempt
// timeouts, 5xx and 429 are retried; every other status is final. A 429 waits its Retry-After
// (seconds or an HTTP date) — and holds the client's other calls for as long — unless that is
// longer than WithMaxRetryAfter (60 s by default), in which case the call fails at once with the
// *RateLimitError. Other retries back off exponentially with jitter. Every wait ends as soon as
// the context does.
//
// A POST is built once: its body is marshalled before the first attempt and its
// Idempotency-Key fixed, so every retry is byte-identical and AccessOwl processes it at most
// once. AccessOwl does not replay answers: a key it has seen before gets 409. So a 409 on a
// request with a key is an *AlreadySubmittedError (errors.Is ErrAlreadySubmitted), which says
// which of two things happened:
//
//   - EarlierAttemptUnseen: this call had already sent the key and not seen the outcome (a
//     network error, a timeout, a 5xx, or net/http resending on a broken connection). The 409
//     means that earlier attempt got through; FindRevocation finds the revocation it created.
//   - otherwise someone else sent the key first: another replica, an earlier run, a repeated
//     click. The request was submitted; the 409 does not say whether it succeeded.
//
// # Budget
//
// AccessOwl allows 1,000 requests per hour per token. The client keeps its own budget
// (WithRateLimit, 1,000 by default) so that its own volume never causes a 429: every attempt,
// retries included, takes one request, and no rolling hour holds more than the budget. The
// whole hour may be spent in a burst. Calls are people's unless their context is marked with
// Background; background calls (pollers, sweeps) leave a reserve to people
// (WithBackgroundReserve) and slow down as the hour fills, so a person's call goes out at once
// while the hour has room, whatever background work does. AccessOwl's Retry-After and its
// X-RateLimit-Remaining and X-RateLimit-Reset headers are believed when they say less.
// BackgroundDelay says how long a background call would wait now, so a poller can plan. The
// default budget lives in memory (MemoryBudget); replicas sharing a token plug in a shared one
// with WithBudget.
package apiclient
