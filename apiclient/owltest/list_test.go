package owltest_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"revokebot/apiclient/owltest"
)

func TestPageLimits(t *testing.T) {
	a := newAPI(t, owltest.WithoutSeed())
	for i := range 130 {
		a.srv.AddUser(owltest.User{Email: fmt.Sprintf("person%03d@example.com", i)})
	}

	tests := []struct {
		name      string
		query     string
		wantLimit int
		wantItems int
	}{
		{"no limit gives 20", "", 20, 20},
		{"a limit under the maximum is kept", "?limit=7", 7, 7},
		{"the maximum is 100", "?limit=100", 100, 100},
		{"a limit over the maximum is served at 100", "?limit=500", 100, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items, m := page[wireUser](t, a.get("/api/v1/users"+tt.query))
			if m.Limit != tt.wantLimit || len(items) != tt.wantItems {
				t.Errorf("limit %d with %d items, want %d with %d", m.Limit, len(items), tt.wantLimit, tt.wantItems)
			}
			if m.NextCursor == nil {
				t.Error("next_cursor is null before the last page")
			}
		})
	}
	for _, bad := range []string{"0", "-1", "ten", "1.5"} {
		t.Run("limit "+bad+" answers 400", func(t *testing.T) {
			r := a.get("/api/v1/users?limit="+url.QueryEscape(bad)).expect(t, http.StatusBadRequest)
			if _, ok := r.errorsOf(t)["limit"]; !ok {
				t.Errorf("errors %s do not name limit", r.body)
			}
		})
	}
}

func TestFollowingCursorsVisitsEveryItemOnce(t *testing.T) {
	a := newAPI(t)
	want := a.srv.AccessStates()
	for _, limit := range []int{1, 5, 20, len(want), 100} {
		t.Run("limit "+strconv.Itoa(limit), func(t *testing.T) {
			got := listAll[wireAccessState](t, a, "/api/v1/access_states?limit="+strconv.Itoa(limit))
			var gotIDs, wantIDs []string
			for _, s := range got {
				gotIDs = append(gotIDs, s.ID)
			}
			for _, s := range want {
				wantIDs = append(wantIDs, s.ID)
			}
			if diff := cmp.Diff(wantIDs, gotIDs); diff != "" {
				t.Errorf("IDs (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTheLastPageHasANullCursor(t *testing.T) {
	a := newAPI(t)
	n := len(a.srv.AccessStates())
	_, m := page[wireAccessState](t, a.get("/api/v1/access_states?limit="+strconv.Itoa(n)))
	if m.NextCursor != nil {
		t.Errorf("a page holding every item has next_cursor %q, want null", *m.NextCursor)
	}
	empty, m := page[wireUser](t, a.get("/api/v1/users?email=nobody@example.com"))
	if len(empty) != 0 || m.NextCursor != nil {
		t.Errorf("an empty list has %d items and cursor %v, want none and null", len(empty), m.NextCursor)
	}
}

func TestCursorsAreOpaqueAndBoundToTheirList(t *testing.T) {
	a := newAPI(t)
	_, m := page[wireUser](t, a.get("/api/v1/users?status=all&limit=3"))
	cursor := *m.NextCursor
	if _, err := strconv.Atoi(cursor); err == nil {
		t.Errorf("cursor %q is a plain number", cursor)
	}
	tampered := []byte(cursor)
	tampered[len(tampered)-1] ^= 1

	tests := []struct {
		name, path string
		want       int
	}{
		{"the cursor leads on within its list", "/api/v1/users?status=all&limit=3&cursor=" + cursor, http.StatusOK},
		{"the limit may change between pages", "/api/v1/users?status=all&limit=50&cursor=" + cursor, http.StatusOK},
		{"a cursor with another filter answers 400", "/api/v1/users?status=active&limit=3&cursor=" + cursor, http.StatusBadRequest},
		{"a cursor on another list answers 400", "/api/v1/applications?cursor=" + cursor, http.StatusBadRequest},
		{"a garbage cursor answers 400", "/api/v1/users?status=all&cursor=%25%25%25", http.StatusBadRequest},
		{"an offset for a cursor answers 400", "/api/v1/users?status=all&cursor=3", http.StatusBadRequest},
		{"a tampered cursor answers 400", "/api/v1/users?status=all&cursor=" + string(tampered), http.StatusBadRequest},
		{"a base64 cursor of another shape answers 400", "/api/v1/users?status=all&cursor=" + base64.RawURLEncoding.EncodeToString([]byte("offset=3")),
			http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := a.get(tt.path).expect(t, tt.want)
			if tt.want == http.StatusBadRequest {
				if _, ok := r.errorsOf(t)["cursor"]; !ok {
					t.Errorf("errors %s do not name cursor", r.body)
				}
			}
		})
	}
}

func TestAPageBoundaryHoldsWhileItemsAreAdded(t *testing.T) {
	a := newAPI(t, owltest.WithoutSeed())
	for i := range 4 {
		a.srv.AddUser(owltest.User{Email: fmt.Sprintf("p%d@example.com", i)})
	}
	first, m := page[wireUser](t, a.get("/api/v1/users?limit=2"))
	a.srv.AddUser(owltest.User{Email: "late@example.com"})
	rest := listAll[wireUser](t, a, "/api/v1/users?limit=2&cursor="+*m.NextCursor)
	var emails []string
	for _, u := range slices.Concat(first, rest) {
		emails = append(emails, u.Email)
	}
	want := []string{"p0@example.com", "p1@example.com", "p2@example.com", "p3@example.com", "late@example.com"}
	if diff := cmp.Diff(want, emails); diff != "" {
		t.Errorf("emails (-want +got):\n%s", diff)
	}
}

func TestUserFilters(t *testing.T) {
	a := newAPI(t)
	all := a.srv.Users()
	emailsWhere := func(keep func(owltest.User) bool) []string {
		var out []string
		for _, u := range all {
			if keep(u) {
				out = append(out, u.Email)
			}
		}
		return out
	}
	tests := []struct {
		name, query string
		want        []string
	}{
		{"status defaults to active", "", emailsWhere(func(u owltest.User) bool { return u.Status == owltest.UserActive })},
		{"status=all lists everyone", "?status=all", emailsWhere(func(owltest.User) bool { return true })},
		{"a status lists only its people", "?status=offboarded", []string{owltest.SeedOffboardedEmail}},
		{"email matches exactly", "?email=dev.patel@example.com", []string{owltest.SeedManyGrantsEmail}},
		{"email is not a substring match", "?email=patel@example.com", nil},
		{"email is case-sensitive", "?email=DEV.PATEL@example.com", nil},
		{"an email lookup keeps the active default, hiding people who left", "?email=" + owltest.SeedOffboardedEmail, nil},
		{"an email lookup with status=all finds people who left", "?status=all&email=" + owltest.SeedOffboardedEmail,
			[]string{owltest.SeedOffboardedEmail}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, u := range listAll[wireUser](t, a, "/api/v1/users"+tt.query) {
				got = append(got, u.Email)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("emails (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("an unknown status answers 400", func(t *testing.T) {
		a.get("/api/v1/users?status=gone").expect(t, http.StatusBadRequest)
	})
}

func TestApplicationFilters(t *testing.T) {
	a := newAPI(t)
	ben, _ := a.srv.UserByEmail("ben.okafor@" + owltest.SeedDomain)
	tests := []struct {
		name, query string
		want        []string
	}{
		{"no filter lists every application", "", []string{"GitHub", "Google Workspace", "Google Cloud", "Slack", "Notion",
			"Figma", "Salesforce", "AWS", "Linear"}},
		{"title_like is a case-insensitive substring", "?title_like=" + strings.ToUpper(owltest.SeedSharedTitle),
			[]string{"Google Workspace", "Google Cloud"}},
		{"title_like inside a word matches", "?title_like=hub", []string{"GitHub"}},
		{"title_like with no match lists nothing", "?title_like=jira", nil},
		{"status filters", "?status=discovered", []string{"Linear"}},
		{"admin_user_id filters", "?admin_user_id=" + ben.ID, []string{"GitHub", "Google Cloud", "AWS"}},
		{"owner_user_id and title_like combine", "?owner_user_id=" + ben.ID + "&title_like=google", []string{"Google Cloud"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, app := range listAll[wireApplication](t, a, "/api/v1/applications"+tt.query) {
				got = append(got, app.Title)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("titles (-want +got):\n%s", diff)
			}
		})
	}
	for _, bad := range []string{"status=archived", "owner_user_id=ben"} {
		t.Run(bad+" answers 400", func(t *testing.T) {
			a.get("/api/v1/applications?"+bad).expect(t, http.StatusBadRequest)
		})
	}
}

func TestAccessStateFilters(t *testing.T) {
	a := newAPI(t)
	dev, _ := a.srv.UserByEmail(owltest.SeedManyGrantsEmail)
	aws, _ := a.srv.ApplicationByTitle(owltest.SeedAdminApp)
	got := listAll[wireAccessState](t, a, "/api/v1/access_states?grantee_user_id="+dev.ID+"&application_id="+aws.ID)
	active := 0
	for _, s := range got {
		if *s.GranteeUserID != dev.ID || s.ApplicationID != aws.ID {
			t.Errorf("state %s is %v in %s, outside the filter", s.ID, *s.GranteeUserID, s.ApplicationID)
		}
		if s.EffectiveEnd == nil {
			active++
		}
	}
	if len(got) != 4 || active != 3 {
		t.Errorf("%d states, %d active; want the seed's 4 with 3 active (past access is listed too)", len(got), active)
	}
	for _, bad := range []string{"grantee_user_id=dev", "application_id=1", "expand=owner", "expand=resource,,application"} {
		t.Run(bad+" answers 400", func(t *testing.T) {
			a.get("/api/v1/access_states?"+bad).expect(t, http.StatusBadRequest)
		})
	}
}

func TestExpand(t *testing.T) {
	a := newAPI(t)
	f := a.srv.Fake
	dev, _ := f.UserByEmail(owltest.SeedManyGrantsEmail)
	aws, _ := f.ApplicationByTitle(owltest.SeedAdminApp)
	untitled := aws.Resources[slices.IndexFunc(aws.Resources, func(r owltest.Resource) bool { return r.Title == "" })]
	var granted owltest.AccessState
	for _, s := range f.ActiveAccessStates(dev.ID) {
		if s.ResourceID == untitled.ID {
			granted = s
		}
	}
	admin := aws.Permissions[slices.IndexFunc(aws.Permissions, func(p owltest.Permission) bool { return p.Title == "AdministratorAccess" })]

	all := listAll[wireAccessState](t, a, "/api/v1/access_states?expand=grantee_user,application,resource,target_permissions&grantee_user_id="+dev.ID)
	got := all[slices.IndexFunc(all, func(s wireAccessState) bool { return s.ID == granted.ID })]
	if got.GranteeUser == nil || got.GranteeUser.Email != owltest.SeedManyGrantsEmail {
		t.Errorf("grantee_user %+v, want %s", got.GranteeUser, owltest.SeedManyGrantsEmail)
	}
	if got.Application == nil || got.Application.Title != owltest.SeedAdminApp {
		t.Errorf("application %+v, want %s", got.Application, owltest.SeedAdminApp)
	}
	wantResource := &wireResource{ID: untitled.ID, Title: nil, Description: ptr(untitled.Description)}
	if diff := cmp.Diff(wantResource, got.Resource); diff != "" {
		t.Errorf("resource, whose title is null (-want +got):\n%s", diff)
	}
	wantPerms := []wirePermission{{ID: admin.ID, Title: "AdministratorAccess", Elevated: true}}
	if diff := cmp.Diff(wantPerms, got.TargetPermissions); diff != "" {
		t.Errorf("target_permissions (-want +got):\n%s", diff)
	}

	t.Run("an expanded application-wide resource and unlinked grantee are null", func(t *testing.T) {
		slack, _ := f.ApplicationByTitle("Slack")
		r := a.get("/api/v1/access_states?expand=resource,grantee_user&application_id=" + slack.ID)
		for _, raw := range rawItems(t, r) {
			if string(raw["resource"]) != "null" {
				t.Errorf("resource %s of an application-wide grant, want null", raw["resource"])
			}
			if string(raw["grantee_user_id"]) == "null" && string(raw["grantee_user"]) != "null" {
				t.Errorf("grantee_user %s of an unlinked account, want null", raw["grantee_user"])
			}
		}
	})
	t.Run("without expand there are no expanded fields", func(t *testing.T) {
		for _, raw := range rawItems(t, a.get("/api/v1/access_states?limit=100")) {
			for _, field := range []string{"grantee_user", "application", "resource", "target_permissions"} {
				if _, ok := raw[field]; ok {
					t.Fatalf("field %s sent without expand", field)
				}
			}
		}
	})
}

func TestRevocationFilters(t *testing.T) {
	a := newAPI(t)
	f := a.srv.Fake
	s := activeState(t, f, owltest.SeedManyGrantsEmail, owltest.SeedAdminApp)
	var created wireRevocation
	a.post("/api/v1/access_revocations", revocationBody(s.ID, "Leaving the platform team"), "").
		expect(t, http.StatusCreated).data(t, &created)
	farid, _ := f.UserByEmail(owltest.SeedOffboardedEmail)
	aws, _ := f.ApplicationByTitle(owltest.SeedAdminApp)

	tests := []struct {
		name, query string
		want        []string // reasons
	}{
		{"no filter lists every revocation in filing order", "", []string{
			"Moved to product; no longer needs repository access", "Offboarding", "Contract ended", "Offboarding",
			"Leaving the platform team"}},
		{"status filters", "?status=processing_access", []string{"Leaving the platform team"}},
		{"status rejected", "?status=rejected", []string{"Offboarding"}},
		{"user_id is the grantee", "?user_id=" + farid.ID, []string{"Offboarding"}},
		{"application_id filters", "?application_id=" + aws.ID, []string{"Leaving the platform team"}},
		{"filters combine", "?user_id=" + farid.ID + "&status=processing_access", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, v := range listAll[wireRevocation](t, a, "/api/v1/access_revocations"+tt.query) {
				got = append(got, v.Reason)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("reasons (-want +got):\n%s", diff)
			}
		})
	}
	for _, bad := range []string{"status=done", "user_id=farid", "application_id=aws"} {
		t.Run(bad+" answers 400", func(t *testing.T) {
			a.get("/api/v1/access_revocations?"+bad).expect(t, http.StatusBadRequest)
		})
	}
}

// rawItems returns a list page's items as raw JSON fields.
func rawItems(t *testing.T, r reply) []map[string]json.RawMessage {
	t.Helper()
	items, _ := page[map[string]json.RawMessage](t, r)
	return items
}
