package owltest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"revokebot/apiclient/owltest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// start is an arbitrary moment, chosen after every seed date.
var start = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// clock is a manual clock for WithClock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: start} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// api talks to a Server over real HTTP, as a client would.
type api struct {
	t      *testing.T
	srv    *owltest.Server
	client *http.Client
	token  string
}

// newAPI starts a Server for the test and closes it, and the client's connections, at its end.
func newAPI(t *testing.T, opts ...owltest.Option) *api {
	t.Helper()
	srv := owltest.NewServer(opts...)
	transport := &http.Transport{}
	t.Cleanup(func() {
		transport.CloseIdleConnections()
		srv.Close()
	})
	return &api{t: t, srv: srv, client: &http.Client{Transport: transport}, token: owltest.DefaultToken}
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request; header holds name, value pairs. A transport error fails the test.
func (a *api) do(method, path, body string, header ...string) reply {
	a.t.Helper()
	r, err := a.send(a.t.Context(), a.client, method, path, body, header...)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

func (a *api) send(ctx context.Context, client *http.Client, method, path, body string, header ...string) (reply, error) {
	a.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.srv.URL+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header[http.CanonicalHeaderKey(header[i])] = append(req.Header[http.CanonicalHeaderKey(header[i])], header[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, err
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

func (a *api) get(path string) reply {
	a.t.Helper()
	return a.do(http.MethodGet, path, "")
}

// post sends a JSON body, with an Idempotency-Key unless key is "".
func (a *api) post(path, body, key string) reply {
	a.t.Helper()
	if key == "" {
		return a.do(http.MethodPost, path, body)
	}
	return a.do(http.MethodPost, path, body, "Idempotency-Key", key)
}

// expect fails the test unless the reply has the status.
func (r reply) expect(t *testing.T, status int) reply {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	return r
}

// decode reads the reply's JSON into v, rejecting fields v does not have so that an extra field
// on the wire fails the test.
func (r reply) decode(t *testing.T, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// data unwraps {"data": ...} into v.
func (r reply) data(t *testing.T, v any) {
	t.Helper()
	var env struct{ Data json.RawMessage }
	r.decode(t, &env)
	reply{body: env.Data}.decode(t, v)
}

// errorsOf returns the {"errors": {...}} object of an error reply.
func (r reply) errorsOf(t *testing.T) map[string]any {
	t.Helper()
	var body struct {
		Errors map[string]any `json:"errors"`
	}
	r.decode(t, &body)
	if body.Errors == nil {
		t.Fatalf("no errors object in %s", r.body)
	}
	return body.Errors
}

// Wire forms, written from the API document independently of the Fake's own types.

type wireUser struct {
	ID            string   `json:"id"`
	Email         string   `json:"email"`
	FirstName     *string  `json:"first_name"`
	LastName      *string  `json:"last_name"`
	FullName      string   `json:"full_name"`
	Status        string   `json:"status"`
	ManagerUserID *string  `json:"manager_user_id"`
	Departments   []string `json:"departments"`
	Teams         []string `json:"teams"`
}

type wireApplication struct {
	ID               string   `json:"id"`
	Title            string   `json:"title"`
	Status           string   `json:"status"`
	ProvisioningType string   `json:"provisioning_type"`
	OwnerUserID      *string  `json:"owner_user_id"`
	AdminUserIDs     []string `json:"admin_user_ids"`
	RiskLevel        *string  `json:"risk_level"`
	URL              *string  `json:"url"`
}

type wireResource struct {
	ID          string  `json:"id"`
	Title       *string `json:"title"`
	Description *string `json:"description"`
}

type wirePermission struct {
	ID       string `json:"id"`
	Title    string `json:"title"`
	Elevated bool   `json:"elevated"`
}

type wireAccessState struct {
	ID                   string     `json:"id"`
	ApplicationID        string     `json:"application_id"`
	GranteeUserID        *string    `json:"grantee_user_id"`
	GranteeUserAccountID *string    `json:"grantee_user_account_id"`
	ResourceID           *string    `json:"resource_id"`
	TargetPermissionIDs  []string   `json:"target_permission_ids"`
	EffectiveStart       time.Time  `json:"effective_start"`
	EffectiveEnd         *time.Time `json:"effective_end"`

	GranteeUser       *wireUser        `json:"grantee_user,omitempty"`
	Application       *wireApplication `json:"application,omitempty"`
	Resource          *wireResource    `json:"resource,omitempty"`
	TargetPermissions []wirePermission `json:"target_permissions,omitempty"`
}

type wireRevocation struct {
	ID               string    `json:"id"`
	ApplicationID    string    `json:"application_id"`
	Reason           string    `json:"reason"`
	Status           string    `json:"status"`
	GranteeUserID    *string   `json:"grantee_user_id"`
	RequestorUserID  *string   `json:"requestor_user_id"`
	ResourceID       *string   `json:"resource_id"`
	PermissionIDs    []string  `json:"permission_ids"`
	ProvisioningType string    `json:"provisioning_type"`
	InsertedAt       time.Time `json:"inserted_at"`
}

type meta struct {
	Limit      int     `json:"limit"`
	NextCursor *string `json:"next_cursor"`
}

// page decodes one list page.
func page[T any](t *testing.T, r reply) ([]T, meta) {
	t.Helper()
	var p struct {
		Data []T `json:"data"`
		Meta meta
	}
	r.expect(t, http.StatusOK).decode(t, &p)
	return p.Data, p.Meta
}

// listAll follows next_cursor from path to the last page and returns every item.
func listAll[T any](t *testing.T, a *api, path string) []T {
	t.Helper()
	u, err := url.Parse(path)
	if err != nil {
		t.Fatal(err)
	}
	var all []T
	for range 100 {
		items, m := page[T](t, a.get(u.String()))
		all = append(all, items...)
		if m.NextCursor == nil {
			return all
		}
		q := u.Query()
		q.Set("cursor", *m.NextCursor)
		u.RawQuery = q.Encode()
	}
	t.Fatalf("%s: no last page after 100 pages", path)
	return nil
}

// revocationBody is the body of POST /access_revocations.
func revocationBody(stateID, reason string) string {
	b, _ := json.Marshal(map[string]string{"access_state_id": stateID, "reason": reason})
	return string(b)
}

// activeState returns an active seed access state of a person in an application.
func activeState(t *testing.T, f *owltest.Fake, email, title string) owltest.AccessState {
	t.Helper()
	u, ok := f.UserByEmail(email)
	if !ok {
		t.Fatalf("no user %s", email)
	}
	app, ok := f.ApplicationByTitle(title)
	if !ok {
		t.Fatalf("no application %s", title)
	}
	for _, s := range f.ActiveAccessStates(u.ID) {
		if s.ApplicationID == app.ID {
			return s
		}
	}
	t.Fatalf("%s has no active access to %s", email, title)
	return owltest.AccessState{}
}

func ptr[T any](v T) *T { return &v }

// revocationsOf returns the revocations filed for an access state.
func revocationsOf(f *owltest.Fake, stateID string) []owltest.Revocation {
	var out []owltest.Revocation
	for _, v := range f.Revocations() {
		if v.AccessStateID == stateID {
			out = append(out, v)
		}
	}
	return out
}
