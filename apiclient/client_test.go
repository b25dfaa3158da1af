package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"revokebot/secret"
)

func ptr[T any](v T) *T { return &v }

func TestSingleObjectsDecodeBareAndWrapped(t *testing.T) {
	const user = `{"id":"user-1","email":"ada@example.com","first_name":"Ada","last_name":null,"full_name":"Ada",
		"status":"offboarding","manager_user_id":null,"departments":[],"teams":[]}`
	const app = `{"id":"app-1","title":"GitHub","status":"requestable","provisioning_type":"application_admin",
		"owner_user_id":"user-2","admin_user_ids":["user-3"],"risk_level":"high","url":null}`
	wantUser := &User{ID: "user-1", Email: "ada@example.com", FirstName: ptr("Ada"), FullName: "Ada",
		Status: UserStatusOffboarding, Departments: []json.RawMessage{}, Teams: []json.RawMessage{}}
	wantApp := &Application{ID: "app-1", Title: "GitHub", Status: ApplicationStatusRequestable,
		ProvisioningType: ProvisioningApplicationAdmin, OwnerUserID: ptr("user-2"), AdminUserIDs: []string{"user-3"}, RiskLevel: ptr("high")}
	wantRev := &Revocation{ID: "rev-1", ApplicationID: "app-1", Reason: "left the team", Status: RevocationProcessing,
		GranteeUserID: ptr("user-1"), PermissionIDs: []string{}, ProvisioningType: ProvisioningAutomatic,
		InsertedAt: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)}

	tests := []struct {
		name string
		body string
		get  func(context.Context, *Client) (any, error)
		want any
	}{
		{"a bare user decodes", user, func(ctx context.Context, c *Client) (any, error) { return c.GetUser(ctx, "user-1") }, wantUser},
		{"a wrapped user decodes", `{"data":` + user + `}`, func(ctx context.Context, c *Client) (any, error) { return c.GetUser(ctx, "user-1") }, wantUser},
		{"a bare application decodes", app, func(ctx context.Context, c *Client) (any, error) { return c.GetApplication(ctx, "app-1") }, wantApp},
		{"a wrapped application decodes", `{"data":` + app + `}`, func(ctx context.Context, c *Client) (any, error) { return c.GetApplication(ctx, "app-1") }, wantApp},
		{"a bare revocation decodes", revocationJSON, func(ctx context.Context, c *Client) (any, error) { return c.GetRevocation(ctx, "rev-1") }, wantRev},
		{"a wrapped revocation decodes", `{"data":` + revocationJSON + `}`, func(ctx context.Context, c *Client) (any, error) { return c.GetRevocation(ctx, "rev-1") }, wantRev},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestClient(t, newScript(t, reply(http.StatusOK, tt.body)))
			got, err := tt.get(t.Context(), c)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("decoded (-want +got):\n%s", diff)
			}
		})
	}
}

func TestA2xxWithoutABodyIsAnError(t *testing.T) {
	for _, body := range []string{"", "null"} {
		c := newTestClient(t, newScript(t, reply(http.StatusOK, body)))
		if u, err := c.GetUser(t.Context(), "user-1"); !errors.Is(err, ErrEmptyResponse) {
			t.Errorf("body %q: GetUser = %v, %v; want ErrEmptyResponse", body, u, err)
		}
	}
}

func TestExpandedAccessStatesDecode(t *testing.T) {
	const body = `{"data":[{"id":"as-1","application_id":"app-1","grantee_user_id":"user-1","grantee_user_account_id":"acc-1",
		"resource_id":"res-1","target_permission_ids":["perm-1"],"effective_start":"2026-01-02T03:04:05Z","effective_end":null,
		"application":{"id":"app-1","title":"GitHub"},"grantee_user":{"id":"user-1","email":"ada@example.com"},
		"resource":{"id":"res-1","title":null,"description":"the monorepo"},
		"target_permissions":[{"id":"perm-1","title":"Admin","elevated":true}]},
		{"id":"as-2","application_id":"app-1","grantee_user_id":null,"grantee_user_account_id":"acc-2","resource_id":null,
		"target_permission_ids":[],"effective_start":"2025-01-01T00:00:00Z","effective_end":"2025-06-01T00:00:00Z"}],
		"meta":{"limit":20,"next_cursor":null}}`
	c := newTestClient(t, newScript(t, reply(http.StatusOK, body)))
	got, next, err := c.ListAccessStates(t.Context(), AccessStateListOptions{Expand: ExpandAll})
	if err != nil {
		t.Fatal(err)
	}
	end := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	want := []AccessState{
		{ID: "as-1", ApplicationID: "app-1", GranteeUserID: ptr("user-1"), GranteeUserAccountID: ptr("acc-1"), ResourceID: ptr("res-1"),
			TargetPermissionIDs: []string{"perm-1"}, EffectiveStart: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
			Application: &Application{ID: "app-1", Title: "GitHub"}, GranteeUser: &User{ID: "user-1", Email: "ada@example.com"},
			Resource:          &Resource{ID: "res-1", Description: ptr("the monorepo")},
			TargetPermissions: []Permission{{ID: "perm-1", Title: "Admin", Elevated: true}}},
		{ID: "as-2", ApplicationID: "app-1", GranteeUserAccountID: ptr("acc-2"), TargetPermissionIDs: []string{},
			EffectiveStart: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), EffectiveEnd: &end},
	}
	if diff := cmp.Diff(want, got); diff != "" || next != "" {
		t.Errorf("next cursor %q; decoded (-want +got):\n%s", next, diff)
	}
	if !got[0].Active() || got[1].Active() {
		t.Errorf("Active() = %v, %v; want true, false", got[0].Active(), got[1].Active())
	}
}

// page answers a list request with items and a next cursor (nil for null).
func page(ids []string, next *string) http.HandlerFunc {
	items := make([]map[string]string, len(ids))
	for i, id := range ids {
		items[i] = map[string]string{"id": id}
	}
	body, _ := json.Marshal(map[string]any{"data": items, "meta": map[string]any{"limit": 100, "next_cursor": next}})
	return reply(http.StatusOK, string(body))
}

func TestIteratorFollowsCursors(t *testing.T) {
	tests := []struct {
		name        string
		steps       []http.HandlerFunc
		stopAfter   int // break out of the loop after this many items; 0 never
		wantIDs     []string
		wantCursors []string // the cursor each request sent
		wantErr     error
	}{
		{
			name:        "follows next_cursor, asks for 100 a page, and stops on null",
			steps:       []http.HandlerFunc{page([]string{"a", "b"}, ptr("c1")), page([]string{"c"}, ptr("c2")), page(nil, nil)},
			wantIDs:     []string{"a", "b", "c"},
			wantCursors: []string{"", "c1", "c2"},
		},
		{
			name:        "stops on an empty cursor",
			steps:       []http.HandlerFunc{page([]string{"a"}, ptr(""))},
			wantIDs:     []string{"a"},
			wantCursors: []string{""},
		},
		{
			name:        "a repeated cursor is an error, not a silent loop",
			steps:       []http.HandlerFunc{page([]string{"a"}, ptr("c1")), page([]string{"b"}, ptr("c2")), page([]string{"c"}, ptr("c1"))},
			wantIDs:     []string{"a", "b", "c"},
			wantCursors: []string{"", "c1", "c2"},
			wantErr:     ErrRepeatedCursor,
		},
		{
			name:        "a failed page ends the iteration with its error",
			steps:       []http.HandlerFunc{page([]string{"a"}, ptr("c1")), reply(http.StatusForbidden, `{}`)},
			wantIDs:     []string{"a"},
			wantCursors: []string{"", "c1"},
			wantErr:     ErrForbidden,
		},
		{
			name:        "breaking out of the loop fetches no further page",
			steps:       []http.HandlerFunc{page([]string{"a", "b"}, ptr("c1"))},
			stopAfter:   1,
			wantIDs:     []string{"a"},
			wantCursors: []string{""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newScript(t, tt.steps...)
			c := newTestClient(t, srv)
			var ids []string
			var gotErr error
			for u, err := range c.AllUsers(t.Context(), UserListOptions{Status: UserStatusAll}) {
				if err != nil {
					gotErr = err
					break
				}
				ids = append(ids, u.ID)
				if len(ids) == tt.stopAfter {
					break
				}
			}
			if !errors.Is(gotErr, tt.wantErr) || (tt.wantErr == nil) != (gotErr == nil) {
				t.Errorf("err = %v, want %v", gotErr, tt.wantErr)
			}
			if diff := cmp.Diff(tt.wantIDs, ids); diff != "" {
				t.Errorf("items (-want +got):\n%s", diff)
			}
			var cursors []string
			for _, r := range srv.requests() {
				cursors = append(cursors, r.Query.Get("cursor"))
				if r.Query.Get("limit") != "100" || r.Query.Get("status") != "all" {
					t.Errorf("page request %v: want limit=100 and the filter kept", r.Query)
				}
			}
			if diff := cmp.Diff(tt.wantCursors, cursors); diff != "" {
				t.Errorf("cursors sent (-want +got):\n%s", diff)
			}
		})
	}
}

func TestListsSendTheirFilters(t *testing.T) {
	empty := `{"data":[],"meta":{"next_cursor":null}}`
	tests := []struct {
		name      string
		list      func(context.Context, *Client) error
		wantPath  string
		wantQuery url.Values
	}{
		{
			name: "users by email and status",
			list: func(ctx context.Context, c *Client) error {
				_, _, err := c.ListUsers(ctx, UserListOptions{Email: "ada+owl@example.com", Status: UserStatusAll, ListOptions: ListOptions{Limit: 5, Cursor: "xyz"}})
				return err
			},
			wantPath:  "/api/v1/users",
			wantQuery: url.Values{"email": {"ada+owl@example.com"}, "status": {"all"}, "limit": {"5"}, "cursor": {"xyz"}},
		},
		{
			name: "applications by title, limit capped at 100",
			list: func(ctx context.Context, c *Client) error {
				_, _, err := c.ListApplications(ctx, ApplicationListOptions{TitleLike: "Git Hub", ListOptions: ListOptions{Limit: 500}})
				return err
			},
			wantPath:  "/api/v1/applications",
			wantQuery: url.Values{"title_like": {"Git Hub"}, "limit": {"100"}},
		},
		{
			name: "access states by grantee and application, expanded",
			list: func(ctx context.Context, c *Client) error {
				_, _, err := c.ListAccessStates(ctx, AccessStateListOptions{GranteeUserID: "user-1", ApplicationID: "app-1", Expand: ExpandAll})
				return err
			},
			wantPath: "/api/v1/access_states",
			wantQuery: url.Values{"grantee_user_id": {"user-1"}, "application_id": {"app-1"},
				"expand": {"grantee_user,application,resource,target_permissions"}},
		},
		{
			name: "revocations by status, user and application",
			list: func(ctx context.Context, c *Client) error {
				_, _, err := c.ListRevocations(ctx, RevocationListOptions{Status: RevocationProcessing, UserID: "user-1", ApplicationID: "app-1"})
				return err
			},
			wantPath:  "/api/v1/access_revocations",
			wantQuery: url.Values{"status": {"processing_access"}, "user_id": {"user-1"}, "application_id": {"app-1"}},
		},
		{
			name: "no filters send no parameters",
			list: func(ctx context.Context, c *Client) error {
				_, _, err := c.ListRevocations(ctx, RevocationListOptions{})
				return err
			},
			wantPath:  "/api/v1/access_revocations",
			wantQuery: url.Values{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newScript(t, reply(http.StatusOK, empty))
			if err := tt.list(t.Context(), newTestClient(t, srv)); err != nil {
				t.Fatal(err)
			}
			r := srv.requests()[0]
			if r.Method != http.MethodGet || r.Path != tt.wantPath {
				t.Errorf("sent %s %s, want GET %s", r.Method, r.Path, tt.wantPath)
			}
			if diff := cmp.Diff(tt.wantQuery, r.Query); diff != "" {
				t.Errorf("query (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRevokeAndRejectPostToTheRevocation(t *testing.T) {
	srv := newScript(t, reply(http.StatusOK, revocationJSON), reply(http.StatusOK, `{"data":`+revocationJSON+`}`))
	c := newTestClient(t, srv)
	if _, err := c.RevokeRevocation(t.Context(), "key-revoke", "rev-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RejectRevocation(t.Context(), "key-reject", "rev-1", "still needed"); err != nil {
		t.Fatal(err)
	}
	reqs := srv.requests()
	got := [][3]string{{reqs[0].Method, reqs[0].Path, reqs[0].Body}, {reqs[1].Method, reqs[1].Path, reqs[1].Body}}
	want := [][3]string{
		{"POST", "/api/v1/access_revocations/rev-1/revoke", ""},
		{"POST", "/api/v1/access_revocations/rev-1/reject", `{"reason":"still needed"}`},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	if reqs[0].Key != "key-revoke" || reqs[1].Key != "key-reject" {
		t.Errorf("keys %q and %q: want the callers' key-revoke and key-reject", reqs[0].Key, reqs[1].Key)
	}
}

func TestIDsCannotChangeThePath(t *testing.T) {
	srv := newScript(t, reply(http.StatusOK, `{"id":"x"}`))
	c := newTestClient(t, srv)
	for _, id := range []string{"", ".", ".."} {
		if _, err := c.GetRevocation(t.Context(), id); err == nil {
			t.Errorf("GetRevocation(%q) succeeded, want an error", id)
		}
	}
	if _, err := c.GetRevocation(t.Context(), "a/../b?c"); err != nil {
		t.Fatal(err)
	}
	if got := srv.requests()[0].Path; got != "/api/v1/access_revocations/a/../b?c" {
		t.Errorf("path = %q, want the ID escaped as one segment", got)
	}
}

func TestEveryRequestIsIdentifiedAndAuthenticated(t *testing.T) {
	var got http.Header
	var rawQuery string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, rawQuery = r.Header.Clone(), r.URL.RawQuery
		reply(http.StatusOK, `{"id":"user-1"}`)(w, r)
	})
	c := newTestClient(t, h, WithVersion("1.4.2"))
	if _, err := c.GetUser(t.Context(), "user-1"); err != nil {
		t.Fatal(err)
	}
	if ua := got.Get("User-Agent"); ua != "revokebot/1.4.2" {
		t.Errorf("User-Agent = %q, want revokebot/1.4.2", ua)
	}
	if auth := got.Get("Authorization"); auth != "Bearer "+testToken {
		t.Errorf("Authorization = %q, want the bearer token", auth)
	}
	if strings.Contains(rawQuery, testToken) {
		t.Errorf("token in the URL: %q", rawQuery)
	}
}

func TestTheTokenAppearsInNoLogLineAndNoError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs bytes.Buffer
		logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		srv := newScript(t,
			reply(http.StatusOK, `{"id":"user-1"}`),
			reply(http.StatusUnauthorized, `{"errors":{"detail":"Unauthorized"}}`),
			reply(http.StatusInternalServerError, `{}`), abort, hang, reply(http.StatusConflict, `{}`),
			reply(http.StatusUnprocessableEntity, `{"errors":{"reason":["bad"]}}`),
		)
		c := newTestClient(t, srv, WithLogger(logger), WithTimeout(time.Second))
		var errs []error
		_, err := c.GetUser(t.Context(), "user-1")
		errs = append(errs, err)
		_, err = c.GetUser(t.Context(), "user-1")
		errs = append(errs, err)
		_, err = c.CreateRevocation(t.Context(), "k", NewRevocation{AccessStateID: "as-1", Reason: "r"})
		errs = append(errs, err)
		_, err = c.CreateRevocation(t.Context(), "k2", NewRevocation{AccessStateID: "as-1", Reason: "r"})
		errs = append(errs, err)

		if errs[0] != nil || errs[1] == nil || errs[2] == nil || errs[3] == nil {
			t.Fatalf("errors %v: want success then three failures", errs)
		}
		for _, err := range errs[1:] {
			if strings.Contains(err.Error(), testToken) || strings.Contains(err.Error(), "Bearer") {
				t.Errorf("error leaks the token: %v", err)
			}
		}
		out := logs.String()
		if strings.Contains(out, testToken) || strings.Contains(out, "Bearer") {
			t.Errorf("logs leak the token:\n%s", out)
		}
		var lines int
		for line := range strings.Lines(out) {
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatalf("log line %q: %v", line, err)
			}
			if rec["msg"] != "accessowl request" {
				continue
			}
			lines++
			for _, key := range []string{"method", "path", "status", "attempt", "duration"} {
				if _, ok := rec[key]; !ok {
					t.Errorf("log line lacks %s: %s", key, line)
				}
			}
		}
		if lines != len(srv.requests()) {
			t.Errorf("%d request log lines for %d requests", lines, len(srv.requests()))
		}
	})
}

func TestNewRejectsBadConfiguration(t *testing.T) {
	tok := secret.New(testToken)
	tests := []struct {
		name  string
		base  string
		token secret.Token
		opts  []Option
	}{
		{"an empty token", testBase, secret.Token{}, nil},
		{"a relative base URL", "/accessowl", tok, nil},
		{"a base URL of another scheme", "ftp://owl.test", tok, nil},
		{"a base URL with a query", "https://owl.test/?token=x", tok, nil},
		{"zero attempts", testBase, tok, []Option{WithRetry(0, time.Second, time.Second)}},
		{"a rate limit below one", testBase, tok, []Option{WithRateLimit(0)}},
		{"a reserve that leaves background nothing", testBase, tok, []Option{WithBackgroundReserve(DefaultRateLimit)}},
		{"a nil budget", testBase, tok, []Option{WithBudget(nil)}},
		{"a nil HTTP client", testBase, tok, []Option{WithHTTPClient(nil)}},
		{"a zero timeout", testBase, tok, []Option{WithTimeout(0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if c, err := New(tt.base, tt.token, tt.opts...); err == nil {
				t.Errorf("New succeeded (%v), want an error", c)
			}
		})
	}
}

func TestCreateRevocationRequiresAKey(t *testing.T) {
	srv := newScript(t)
	c := newTestClient(t, srv)
	for _, key := range []string{"", strings.Repeat("k", 256)} {
		if _, err := c.CreateRevocation(t.Context(), key, NewRevocation{AccessStateID: "as-1", Reason: "r"}); err == nil {
			t.Errorf("key of %d bytes accepted, want an error before sending", len(key))
		}
	}
}
