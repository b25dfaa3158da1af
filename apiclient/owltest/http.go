package owltest

import (
	"crypto/sha256"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

const (
	// maxBody bounds what the Fake reads of a request body; AccessOwl's bodies are tiny.
	maxBody = 1 << 20
	// maxKey is the longest Idempotency-Key AccessOwl takes, in characters.
	maxKey = 255
)

// request is what a route's handler sees.
type request struct {
	id    string // the {id} of the path, if the route has one
	query url.Values
	body  []byte
}

// response is an answer decided under the lock and written after it is released, so that an
// injected latency or drop never holds the Fake up.
type response struct {
	status int
	header http.Header
	body   []byte
	drop   bool
}

type route struct {
	method  string
	pattern string
	handle  func(*Fake, request) response
}

func (rt route) name() string { return rt.method + " " + rt.pattern }

var routes = []route{
	{http.MethodGet, "/api/v1/users", (*Fake).listUsers},
	{http.MethodGet, "/api/v1/users/{id}", (*Fake).getUser},
	{http.MethodGet, "/api/v1/applications", (*Fake).listApplications},
	{http.MethodGet, "/api/v1/applications/{id}", (*Fake).getApplication},
	{http.MethodGet, "/api/v1/access_states", (*Fake).listAccessStates},
	{http.MethodPost, "/api/v1/access_revocations", (*Fake).postRevocation},
	{http.MethodGet, "/api/v1/access_revocations", (*Fake).listRevocations},
	{http.MethodGet, "/api/v1/access_revocations/{id}", (*Fake).getRevocation},
	{http.MethodPost, "/api/v1/access_revocations/{id}/revoke", (*Fake).postRevoke},
	{http.MethodPost, "/api/v1/access_revocations/{id}/reject", (*Fake).postReject},
}

// match finds the route for a request. With no route for the method it returns the methods the
// path does have, for a 405.
func match(method, path string) (rt route, id string, allowed []string, ok bool) {
	for _, candidate := range routes {
		pathID, matched := matchPattern(candidate.pattern, path)
		switch {
		case !matched:
		case candidate.method == method:
			return candidate, pathID, nil, true
		default:
			allowed = append(allowed, candidate.method)
		}
	}
	return route{}, "", allowed, false
}

// matchPattern matches a path against a pattern whose {id} stands for one non-empty segment.
func matchPattern(pattern, path string) (id string, ok bool) {
	want, got := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(want) != len(got) {
		return "", false
	}
	for i := range want {
		switch {
		case want[i] == "{id}" && got[i] != "":
			id = got[i]
		case want[i] != got[i]:
			return "", false
		}
	}
	return id, true
}

func isMutation(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

// ServeHTTP answers one request of AccessOwl's API at /api/v1/....
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, readErr := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if len(body) == 0 {
		body = nil // so a recorded Call without a body compares equal to one written by hand
	}
	rt, id, allowed, found := match(r.Method, r.URL.Path)

	f.mu.Lock()
	now := f.now()
	call := Call{
		Time:           now,
		Method:         r.Method,
		Path:           r.URL.Path,
		RawQuery:       r.URL.RawQuery,
		IdempotencyKey: r.Header.Get("Idempotency-Key"),
		Body:           body,
	}
	if found {
		call.Route = rt.name()
	}
	faults := f.faultsFor(call.Route)
	resp := f.decide(r, now, rt, request{id: id, query: r.URL.Query(), body: body}, faults, found, allowed, readErr)
	call.Status, call.Dropped = resp.status, resp.drop
	index := f.record(call)
	var latency time.Duration
	for _, fault := range faults {
		latency += fault.Latency
	}
	f.mu.Unlock()

	if latency > 0 {
		timer := time.NewTimer(latency)
		select {
		case <-timer.C:
		case <-r.Context().Done():
			timer.Stop()
			f.mu.Lock()
			f.calls[index].Canceled = true
			f.broadcast()
			f.mu.Unlock()
			return
		}
	}
	if resp.drop {
		// The server's way to close the connection without writing anything: the client sees the
		// request vanish after it was carried out.
		panic(http.ErrAbortHandler)
	}
	for k, v := range resp.header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(resp.status)
	w.Write(resp.body)
}

// decide runs AccessOwl's checks in order and then the route, all under f.mu. The order fixes
// what the documentation leaves open:
//  1. a missing or unknown token is 401 and counts against nothing;
//  2. an injected 429 comes next and, like a real one, uses no budget;
//  3. the rate limit: a request within it is counted, a 429 is not, so a client that keeps
//     under the limit in every rolling hour never meets a 429;
//  4. an injected 5xx: counted against the limit, key not recorded, nothing processed;
//  5. unknown route 404, wrong method 405, read-only token on a mutation 403;
//  6. Idempotency-Key: malformed 400; seen before 409 or 422; otherwise recorded, whatever
//     processing then answers;
//  7. the route's handler, and then an injected drop.
func (f *Fake) decide(r *http.Request, now time.Time, rt route, req request, faults []*Fault, found bool, allowed []string,
	readErr error) response {
	f.settle()

	token, hasToken := bearerToken(r.Header.Get("Authorization"))
	if !hasToken || !f.tokens[token] {
		return errorResponse(http.StatusUnauthorized, "Unauthorized")
	}
	if fault, ok := takeCount(faults, func(f *Fault) *int { return &f.RateLimits }); ok {
		return tooManyRequests(fault.RetryAfter)
	}
	if wait, over := f.overRateLimit(token, now); over {
		return tooManyRequests(wait)
	}
	if _, ok := takeCount(faults, func(f *Fault) *int { return &f.ServerErrors }); ok {
		return errorResponse(http.StatusServiceUnavailable, "Service Unavailable")
	}
	if f.draw(faults, func(f *Fault) float64 { return f.ServerErrorRate }) {
		statuses := []int{http.StatusInternalServerError, http.StatusBadGateway,
			http.StatusServiceUnavailable, http.StatusGatewayTimeout}
		status := statuses[f.rand.IntN(len(statuses))]
		return errorResponse(status, http.StatusText(status))
	}
	if !found && len(allowed) == 0 {
		return errorResponse(http.StatusNotFound, "Not Found")
	}
	if !found {
		resp := errorResponse(http.StatusMethodNotAllowed, "Method Not Allowed")
		resp.header = http.Header{"Allow": {strings.Join(allowed, ", ")}}
		return resp
	}
	mutation := isMutation(rt.method)
	if mutation && f.readOnly[token] {
		return errorResponse(http.StatusForbidden, "Forbidden")
	}
	if mutation {
		if resp, refused := f.checkIdempotencyKey(r, req.body, now); refused {
			return resp
		}
	}

	var resp response
	if readErr != nil {
		resp = errorResponse(http.StatusBadRequest, "Bad Request")
	} else {
		resp = rt.handle(f, req)
	}
	if _, ok := takeCount(faults, func(f *Fault) *int { return &f.DropAfterCommit }); ok {
		resp.drop = true
	} else if mutation && f.draw(faults, func(f *Fault) float64 { return f.DropRate }) {
		resp.drop = true
	}
	return resp
}

func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return token, true
}

// overRateLimit counts a request against its token's rolling hour, or, if the hour is full,
// says how long until its oldest request leaves it. Callers hold f.mu.
func (f *Fake) overRateLimit(token string, now time.Time) (time.Duration, bool) {
	if f.rateLimit <= 0 {
		return 0, false
	}
	log := f.rateLog[token]
	// A request counts for exactly one hour: at its timestamp plus one hour it has left.
	start := 0
	for start < len(log) && !now.Before(log[start].Add(rateWindow)) {
		start++
	}
	log = log[start:]
	if len(log) >= f.rateLimit {
		f.rateLog[token] = log
		return log[len(log)-f.rateLimit].Add(rateWindow).Sub(now), true
	}
	f.rateLog[token] = append(log, now)
	return 0, false
}

func tooManyRequests(wait time.Duration) response {
	resp := errorResponse(http.StatusTooManyRequests, "Too Many Requests")
	// Rounded up, so a client that waits exactly this long is let through.
	seconds := int(math.Ceil(wait.Seconds()))
	resp.header = http.Header{"Retry-After": {strconv.Itoa(max(seconds, 1))}}
	return resp
}

// idempotencyRecord is what the Fake keeps of a key: a digest of the request it came with.
type idempotencyRecord struct {
	digest [sha256.Size]byte
	at     time.Time
}

// checkIdempotencyKey applies AccessOwl's key rules to a mutation and records a new key. Keys are
// kept per organisation (the Fake is one), not per token: the documentation does not say which,
// and per organisation is the stricter for a client. A request is "the same" when its method,
// path and raw body bytes are. Callers hold f.mu.
func (f *Fake) checkIdempotencyKey(r *http.Request, body []byte, now time.Time) (response, bool) {
	values, present := r.Header[http.CanonicalHeaderKey("Idempotency-Key")]
	if !present {
		return response{}, false
	}
	if len(values) != 1 || values[0] == "" || utf8.RuneCountInString(values[0]) > maxKey {
		return validationResponse(http.StatusBadRequest, "idempotency_key",
			"must be between 1 and 255 characters"), true
	}
	key := values[0]
	digest := sha256.Sum256(slices.Concat([]byte(r.Method+" "+r.URL.Path+"\n"), body))
	if seen, ok := f.keys[key]; ok && now.Before(seen.at.Add(keyRetention)) {
		if seen.digest == digest {
			return errorResponse(http.StatusConflict, "a request with this Idempotency-Key was already received"), true
		}
		return validationResponse(http.StatusUnprocessableEntity, "idempotency_key",
			"was already used for a different request"), true
	}
	if len(f.keys)%1024 == 0 {
		// Forget expired keys now and then, so that a long-running sandbox does not keep them all.
		for k, seen := range f.keys {
			if !now.Before(seen.at.Add(keyRetention)) {
				delete(f.keys, k)
			}
		}
	}
	f.keys[key] = idempotencyRecord{digest: digest, at: now}
	return response{}, false
}

// errorResponse answers in Phoenix's default error shape, {"errors": {"detail": "..."}}, which
// matches the only error AccessOwl is seen to send, a 422's {"errors": {...}}.
func errorResponse(status int, detail string) response {
	return jsonResponse(status, map[string]any{"errors": map[string]string{"detail": detail}})
}

// validationResponse answers {"errors": {"field": ["message"]}}.
func validationResponse(status int, field, msg string) response {
	return jsonResponse(status, map[string]any{"errors": map[string][]string{field: {msg}}})
}

func jsonResponse(status int, v any) response {
	return response{status: status, body: append(encode(v), '\n')}
}

var jsonNull = json.RawMessage("null")

// encode marshals one of the Fake's own values, which cannot fail: a failure is a bug here.
func encode(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("owltest: encode answer: " + err.Error())
	}
	return b
}

// objectResponse answers one object, wrapped in {"data": ...} as the live API does unless
// WithBareObjects asked for the documented bare form.
func (f *Fake) objectResponse(status int, v any) response {
	if f.bare {
		return jsonResponse(status, v)
	}
	return jsonResponse(status, map[string]any{"data": v})
}
