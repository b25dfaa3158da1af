// Package owltest is an in-memory AccessOwl: an http.Handler that serves the part of AccessOwl's
// REST API revokebot uses, with AccessOwl's documented semantics (bearer tokens, a per-token
// hourly rate limit, cursor pagination, Idempotency-Key without response replay, the revocation
// lifecycle) and faults a test can inject (latency, 5xx, 429, answers lost after commit).
//
// Every test that talks to AccessOwl uses it, and so does the `revokebot sandbox` command, which
// is why it does not import package testing. It shares no types with the client on purpose: it
// is a second, independent reading of AccessOwl's API reference (docs.accessowl.com), so a misreading in one shows up as
// a failing test instead of hiding in a shared type.
//
// A test starts a Server and gives its URL to the client:
//
//	srv := owltest.NewServer(owltest.WithClock(clock.Now))
//	defer srv.Close()
//	// srv.URL is a base URL ending in a path prefix; the client appends /api/v1/...
//	// and authenticates with owltest.DefaultToken.
//
// and then drives and inspects it through the embedded Fake: SetFault, Revoke, Reject, Calls,
// Stats, Await. The sandbox mounts a Fake itself, with http.StripPrefix.
//
// # Where AccessOwl's documentation is silent
//
// The Fake has to answer anyway. It answers the way that is stricter for a client, and the
// choices are:
//
//   - Order of checks: token (401), injected 429, rate limit (429), injected 5xx, route (404,
//     405), read-only token (403), Idempotency-Key (400, 409, 422), then the route's own rules.
//   - Rate limit: a sliding window of exactly one hour per token on the injected clock. Requests
//     answered 401 or 429 do not count; everything else does, injected 5xx included. Retry-After
//     is the time until the oldest counted request leaves the window, rounded up to a second.
//   - Idempotency-Key: kept per organisation, not per token; "the same request" means the same
//     method, path and raw body bytes, so re-encoded JSON is a different body (422). A key is
//     recorded once the request passes the checks before it, whatever the route then answers
//     (422 included); 401, 403, 429 and injected 5xx do not use it up. Only mutations look at it.
//   - IDs: a malformed UUID in a path is 404, like an unknown one; in a query filter it is 400;
//     in a revocation's body it is a 422 naming access_state_id. Upper case UUIDs name the same
//     object.
//   - Lists are in the order objects were added. limit must be a positive integer (else 400) and
//     is capped at 100. An unknown enum value or expand name is 400. next_cursor is null exactly
//     when no item follows.
//   - GET /users?email= keeps the status=active default, so a person who has left is only found
//     with status=all. email matches case-sensitively.
//   - Revocation bodies are read as JSON whatever their Content-Type; an empty body is {}; a body
//     that is not a JSON object is 400. A reason of only spaces is blank. Lengths count Unicode
//     code points.
//   - Errors are Phoenix-shaped: {"errors": {"detail": "..."}} in general and {"errors":
//     {"field": ["message"]}} for 422 and for a bad parameter's 400.
//   - An automatic revocation turns revoked WithAutomaticDelay after its inserted_at, and its
//     access state ends at that moment. Revoke and reject are allowed on automatic revocations
//     too while they are processing. A rejection's reason is optional and is not part of the
//     revocation's JSON (the document lists no field for it).
//   - inserted_at and effective_end are UTC to the second, as AccessOwl's examples are, so a
//     revocation can look a fraction of a second older than the request that filed it.
package owltest
