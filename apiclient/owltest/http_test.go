package owltest_test

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"revokebot/apiclient/owltest"
)

func TestAuthentication(t *testing.T) {
	tests := []struct {
		name   string
		opts   []owltest.Option
		header []string // replaces the default Authorization
		method string
		want   int
	}{
		{name: "the default token is accepted", want: http.StatusOK},
		{name: "no Authorization header answers 401", header: []string{}, want: http.StatusUnauthorized},
		{name: "an unknown token answers 401", header: []string{"Authorization", "Bearer nope"}, want: http.StatusUnauthorized},
		{name: "a scheme other than Bearer answers 401", header: []string{"Authorization", "Basic " + owltest.DefaultToken}, want: http.StatusUnauthorized},
		{name: "an empty bearer token answers 401", header: []string{"Authorization", "Bearer "}, want: http.StatusUnauthorized},
		{name: "the scheme is case-insensitive", header: []string{"Authorization", "bearer " + owltest.DefaultToken}, want: http.StatusOK},
		{name: "a token given to WithTokens is accepted", opts: []owltest.Option{owltest.WithTokens("t1", "t2")},
			header: []string{"Authorization", "Bearer t2"}, want: http.StatusOK},
		{name: "WithTokens replaces the default token", opts: []owltest.Option{owltest.WithTokens("t1")}, want: http.StatusUnauthorized},
		{name: "a read-only token may read", opts: []owltest.Option{owltest.WithReadOnlyToken("ro")},
			header: []string{"Authorization", "Bearer ro"}, want: http.StatusOK},
		{name: "a read-only token may not change anything", opts: []owltest.Option{owltest.WithReadOnlyToken("ro")},
			header: []string{"Authorization", "Bearer ro"}, method: http.MethodPost, want: http.StatusForbidden},
		{name: "an unknown token is refused before the route is looked at", header: []string{"Authorization", "Bearer nope"},
			method: http.MethodDelete, want: http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAPI(t, tt.opts...)
			if tt.header != nil {
				a.token = ""
			}
			method, path, body := http.MethodGet, "/api/v1/users", ""
			if tt.method != "" {
				s := activeState(t, a.srv.Fake, owltest.SeedOffboardedEmail, owltest.SeedAutomaticApp)
				method, path, body = tt.method, "/api/v1/access_revocations", revocationBody(s.ID, "Offboarding")
			}
			r := a.do(method, path, body, tt.header...)
			r.expect(t, tt.want)
			if tt.want >= 400 {
				if _, ok := r.errorsOf(t)["detail"]; !ok {
					t.Errorf("error body %s has no errors.detail", r.body)
				}
				if got := len(a.srv.Revocations()); got != 4 {
					t.Errorf("%d revocations after a refused request, want the seed's 4", got)
				}
			}
			if got := r.header.Get("Content-Type"); !strings.HasPrefix(got, "application/json") {
				t.Errorf("Content-Type %q, want JSON", got)
			}
		})
	}
}

func TestRouting(t *testing.T) {
	a := newAPI(t)
	farid, _ := a.srv.UserByEmail(owltest.SeedOffboardedEmail)
	tests := []struct {
		name, method, path string
		want               int
		allow              string
	}{
		{name: "an unknown route answers 404", method: http.MethodGet, path: "/api/v1/policies", want: http.StatusNotFound},
		{name: "a path without the /api/v1 base answers 404", method: http.MethodGet, path: "/users", want: http.StatusNotFound},
		{name: "a trailing slash is another route", method: http.MethodGet, path: "/api/v1/users/", want: http.StatusNotFound},
		{name: "a wrong method answers 405 with Allow", method: http.MethodDelete, path: "/api/v1/users", want: http.StatusMethodNotAllowed, allow: "GET"},
		{name: "GET on revoke answers 405", method: http.MethodGet, path: "/api/v1/access_revocations/" + farid.ID + "/revoke",
			want: http.StatusMethodNotAllowed, allow: "POST"},
		{name: "an unknown ID answers 404", method: http.MethodGet, path: "/api/v1/users/00000000-0000-4000-8000-000000000000", want: http.StatusNotFound},
		{name: "a malformed ID answers 404", method: http.MethodGet, path: "/api/v1/users/not-a-uuid", want: http.StatusNotFound},
		{name: "an ID in braces is malformed", method: http.MethodGet, path: "/api/v1/users/{" + farid.ID + "}", want: http.StatusNotFound},
		{name: "an ID in upper case names the same object", method: http.MethodGet, path: "/api/v1/users/" + strings.ToUpper(farid.ID), want: http.StatusOK},
		{name: "an unknown revocation's revoke answers 404", method: http.MethodPost,
			path: "/api/v1/access_revocations/00000000-0000-4000-8000-000000000000/revoke", want: http.StatusNotFound},
		{name: "a malformed revocation's reject answers 404", method: http.MethodPost,
			path: "/api/v1/access_revocations/xyz/reject", want: http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := a.do(tt.method, tt.path, "").expect(t, tt.want)
			if got := r.header.Get("Allow"); got != tt.allow {
				t.Errorf("Allow %q, want %q", got, tt.allow)
			}
		})
	}
}

func TestServerMountsTheFakeUnderAPrefix(t *testing.T) {
	a := newAPI(t)
	if !strings.HasSuffix(a.srv.URL, "/owl") {
		t.Fatalf("URL %s has no path prefix", a.srv.URL)
	}
	root := strings.TrimSuffix(a.srv.URL, "/owl")
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, root+"/api/v1/users", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+owltest.DefaultToken)
	resp, err := a.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("an absolute path that skips the prefix answered %d, want 404", resp.StatusCode)
	}
	if calls := a.srv.Calls(); len(calls) != 0 {
		t.Errorf("the Fake saw %d calls, want none", len(calls))
	}
}

func TestSingleObjectsAreWrappedInData(t *testing.T) {
	a := newAPI(t)
	farid, _ := a.srv.UserByEmail(owltest.SeedOffboardedEmail)
	var u wireUser
	a.get("/api/v1/users/"+farid.ID).expect(t, http.StatusOK).data(t, &u)
	if u.Email != owltest.SeedOffboardedEmail {
		t.Errorf("email %q, want %q", u.Email, owltest.SeedOffboardedEmail)
	}

	s := activeState(t, a.srv.Fake, owltest.SeedOffboardedEmail, owltest.SeedAutomaticApp)
	var v wireRevocation
	a.post("/api/v1/access_revocations", revocationBody(s.ID, "Offboarding"), "").
		expect(t, http.StatusCreated).data(t, &v)
	if v.Status != owltest.Processing {
		t.Errorf("created revocation is %q, want %q", v.Status, owltest.Processing)
	}
}

func TestWithBareObjectsAnswersSingleObjectsBare(t *testing.T) {
	a := newAPI(t, owltest.WithBareObjects())
	app, _ := a.srv.ApplicationByTitle(owltest.SeedAdminApp)
	var got wireApplication
	a.get("/api/v1/applications/"+app.ID).expect(t, http.StatusOK).decode(t, &got)
	if got.Title != owltest.SeedAdminApp {
		t.Errorf("title %q, want %q", got.Title, owltest.SeedAdminApp)
	}

	s := activeState(t, a.srv.Fake, owltest.SeedOffboardedEmail, owltest.SeedAdminApp)
	var v wireRevocation
	a.post("/api/v1/access_revocations", revocationBody(s.ID, "Offboarding"), "").
		expect(t, http.StatusCreated).decode(t, &v)
	var revoked wireRevocation
	a.post("/api/v1/access_revocations/"+v.ID+"/revoke", "", "").expect(t, http.StatusOK).decode(t, &revoked)
	if revoked.Status != owltest.Revoked {
		t.Errorf("status %q after revoke, want %q", revoked.Status, owltest.Revoked)
	}

	// Lists keep their envelope.
	users, _ := page[wireUser](t, a.get("/api/v1/users"))
	if len(users) == 0 {
		t.Error("no users listed")
	}
}

func TestObjectsHaveExactlyTheDocumentedFields(t *testing.T) {
	a := newAPI(t)
	s := activeState(t, a.srv.Fake, owltest.SeedManyGrantsEmail, owltest.SeedAdminApp)
	var created struct{ Data map[string]json.RawMessage }
	a.post("/api/v1/access_revocations", revocationBody(s.ID, "Offboarding"), "").
		expect(t, http.StatusCreated).decode(t, &created)
	app, _ := a.srv.ApplicationByTitle(owltest.SeedAdminApp)
	farid, _ := a.srv.UserByEmail(owltest.SeedOffboardedEmail)

	tests := []struct {
		name   string
		fields map[string]json.RawMessage
		want   []string
	}{
		{"a revocation has no access_state_id", created.Data, []string{"application_id", "grantee_user_id", "id", "inserted_at",
			"permission_ids", "provisioning_type", "reason", "requestor_user_id", "resource_id", "status"}},
		{"an application", dataFields(t, a.get("/api/v1/applications/"+app.ID)), []string{"admin_user_ids", "id",
			"owner_user_id", "provisioning_type", "risk_level", "status", "title", "url"}},
		{"a user", dataFields(t, a.get("/api/v1/users/"+farid.ID)), []string{"departments", "email", "first_name",
			"full_name", "id", "last_name", "manager_user_id", "status", "teams"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := slices.Sorted(maps.Keys(tt.fields))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
		})
	}
	if got := string(created.Data["requestor_user_id"]); got != "null" {
		t.Errorf("requestor_user_id %s for an API token, want null", got)
	}
}

func dataFields(t *testing.T, r reply) map[string]json.RawMessage {
	t.Helper()
	var body struct{ Data map[string]json.RawMessage }
	r.expect(t, http.StatusOK).decode(t, &body)
	return body.Data
}

func TestWithRequestorNamesTheRequestor(t *testing.T) {
	ana := owltest.New().Users()[0]
	a := newAPI(t, owltest.WithRequestor(ana.ID))
	s := activeState(t, a.srv.Fake, owltest.SeedOffboardedEmail, owltest.SeedAutomaticApp)
	var v wireRevocation
	a.post("/api/v1/access_revocations", revocationBody(s.ID, "Offboarding"), "").expect(t, http.StatusCreated).data(t, &v)
	if diff := cmp.Diff(ptr(ana.ID), v.RequestorUserID); diff != "" {
		t.Errorf("requestor_user_id (-want +got):\n%s", diff)
	}
}
