package owltest_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"revokebot/apiclient/owltest"
)

func TestSeedHasWhatTestsNeed(t *testing.T) {
	f := owltest.New()
	users, apps, states := f.Users(), f.Applications(), f.AccessStates()
	count := func(n int, keep func(int) bool) int {
		c := 0
		for i := range n {
			if keep(i) {
				c++
			}
		}
		return c
	}
	facts := []struct {
		rule string
		ok   bool
	}{
		{"about a dozen people", len(users) >= 10 && len(users) <= 15},
		{"everyone's email is at the seed's domain", count(len(users), func(i int) bool {
			return strings.HasSuffix(users[i].Email, "@"+owltest.SeedDomain)
		}) == len(users)},
		{"people of several statuses", len(uniq(users, func(u owltest.User) string { return u.Status })) >= 4},
		{"one offboarded person", count(len(users), func(i int) bool { return users[i].Status == owltest.UserOffboarded }) == 1},
		{"both provisioning types", len(uniq(apps, func(a owltest.Application) string { return a.ProvisioningType })) == 2},
		{"the named automatic application is automatic", appByTitle(t, f, owltest.SeedAutomaticApp).ProvisioningType == owltest.Automatic},
		{"the named admin application waits for an admin", appByTitle(t, f, owltest.SeedAdminApp).ProvisioningType == owltest.ApplicationAdmin},
		{"two titles share the shared substring", count(len(apps), func(i int) bool {
			return strings.Contains(strings.ToLower(apps[i].Title), owltest.SeedSharedTitle)
		}) == 2},
		{"about 40 access states", len(states) >= 35 && len(states) <= 50},
		{"some access has ended", count(len(states), func(i int) bool { return !states[i].Active() }) >= 3},
		{"some access is application-wide", count(len(states), func(i int) bool { return states[i].ResourceID == "" }) >= 5},
		{"an account linked to nobody", count(len(states), func(i int) bool { return states[i].GranteeUserID == "" }) >= 1},
		{"a resource without a title", slices.ContainsFunc(apps, func(a owltest.Application) bool {
			return slices.ContainsFunc(a.Resources, func(r owltest.Resource) bool { return r.Title == "" })
		})},
		{"elevated permissions", slices.ContainsFunc(apps, func(a owltest.Application) bool {
			return slices.ContainsFunc(a.Permissions, func(p owltest.Permission) bool { return p.Elevated })
		})},
		{"the offboarded person still holds access", len(f.ActiveAccessStates(userByEmail(t, f, owltest.SeedOffboardedEmail).ID)) >= 2},
		{"one person holds three active grants in the admin application", count(len(states), func(i int) bool {
			s := states[i]
			return s.Active() && s.GranteeUserID == userByEmail(t, f, owltest.SeedManyGrantsEmail).ID &&
				s.ApplicationID == appByTitle(t, f, owltest.SeedAdminApp).ID
		}) == 3},
		{"a person without a last name", userByEmail(t, f, owltest.SeedNoLastNameEmail).LastName == ""},
		{"past revocations, one rejected", len(f.Revocations()) == 4 &&
			slices.ContainsFunc(f.Revocations(), func(v owltest.Revocation) bool { return v.Status == owltest.Rejected })},
	}
	for _, fact := range facts {
		if !fact.ok {
			t.Errorf("the seed lacks %s", fact.rule)
		}
	}
}

func TestSeedIsDeterministic(t *testing.T) {
	a, b := owltest.New(), owltest.New()
	if diff := cmp.Diff(a.AccessStates(), b.AccessStates()); diff != "" {
		t.Errorf("two seeds differ (-a +b):\n%s", diff)
	}
	if diff := cmp.Diff(a.Users(), b.Users()); diff != "" {
		t.Errorf("two seeds differ (-a +b):\n%s", diff)
	}
	if got := owltest.New(owltest.WithoutSeed()); len(got.Users())+len(got.Applications())+len(got.AccessStates()) != 0 {
		t.Error("WithoutSeed left data behind")
	}
}

func TestAddObjects(t *testing.T) {
	clk := newClock()
	build := func() (*owltest.Fake, owltest.User, owltest.Application, owltest.AccessState) {
		f := owltest.New(owltest.WithoutSeed(), owltest.WithClock(clk.Now))
		u := f.AddUser(owltest.User{Email: "zoe@example.com", FirstName: "Zoë", LastName: "Quinn"})
		app := f.AddApplication(owltest.Application{
			Title:       "Jira",
			Resources:   []owltest.Resource{{Title: "OPS"}},
			Permissions: []owltest.Permission{{Title: "User"}, {Title: "Admin", Elevated: true}},
		})
		s := f.AddAccessState(owltest.AccessState{
			ApplicationID:       app.ID,
			GranteeUserID:       u.ID,
			ResourceID:          app.Resources[0].ID,
			TargetPermissionIDs: []string{app.Permissions[1].ID},
		})
		return f, u, app, s
	}
	f, u, app, s := build()
	_, u2, app2, s2 := build()
	if u.ID != u2.ID || app.ID != app2.ID || s.ID != s2.ID {
		t.Error("the same calls on two Fakes gave different IDs")
	}
	wantUser := owltest.User{ID: u.ID, Email: "zoe@example.com", FirstName: "Zoë", LastName: "Quinn", FullName: "Zoë Quinn",
		Status: owltest.UserActive}
	if diff := cmp.Diff(wantUser, u); diff != "" {
		t.Errorf("user (-want +got):\n%s", diff)
	}
	if app.Status != owltest.AppApproved || app.ProvisioningType != owltest.Automatic || app.Resources[0].ID == "" {
		t.Errorf("application defaults: %+v", app)
	}
	if !s.EffectiveStart.Equal(start) || !s.Active() {
		t.Errorf("access state starts %v, active %v; want now and active", s.EffectiveStart, s.Active())
	}
	if got, ok := f.UserByEmail("zoe@example.com"); !ok || got.ID != u.ID {
		t.Errorf("UserByEmail gave %+v, %v", got, ok)
	}

	// Snapshots are copies: changing one leaves the Fake alone.
	snapshot := f.AccessStates()
	snapshot[0].TargetPermissionIDs[0] = "changed"
	end := time.Now()
	snapshot[0].EffectiveEnd = &end
	if diff := cmp.Diff(s, f.AccessStates()[0]); diff != "" {
		t.Errorf("changing a snapshot changed the Fake (-want +got):\n%s", diff)
	}
}

func TestAddObjectsRefusesBrokenSetups(t *testing.T) {
	f := owltest.New()
	app := appByTitle(t, f, owltest.SeedAdminApp)
	other := appByTitle(t, f, owltest.SeedAutomaticApp)
	tests := []struct {
		name string
		add  func()
	}{
		{"a taken email", func() { f.AddUser(owltest.User{Email: owltest.SeedOffboardedEmail}) }},
		{"a malformed ID", func() { f.AddUser(owltest.User{ID: "u1", Email: "new@example.com"}) }},
		{"a taken ID", func() { f.AddUser(owltest.User{ID: app.ID, Email: "new@example.com"}) }},
		{"an unknown status", func() { f.AddUser(owltest.User{Email: "new@example.com", Status: "away"}) }},
		{"an unknown provisioning type", func() { f.AddApplication(owltest.Application{Title: "X", ProvisioningType: "manual"}) }},
		{"an unknown application", func() {
			f.AddAccessState(owltest.AccessState{ApplicationID: "00000000-0000-4000-8000-000000000000"})
		}},
		{"another application's resource", func() {
			f.AddAccessState(owltest.AccessState{ApplicationID: app.ID, ResourceID: other.Resources[0].ID})
		}},
		{"another application's permission", func() {
			f.AddAccessState(owltest.AccessState{ApplicationID: app.ID, TargetPermissionIDs: []string{other.Permissions[0].ID}})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name+" panics", func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			tt.add()
		})
	}
}

func uniq[T any](items []T, key func(T) string) map[string]bool {
	out := make(map[string]bool)
	for _, it := range items {
		out[key(it)] = true
	}
	return out
}

func userByEmail(t *testing.T, f *owltest.Fake, email string) owltest.User {
	t.Helper()
	u, ok := f.UserByEmail(email)
	if !ok {
		t.Fatalf("no user %s", email)
	}
	return u
}

func appByTitle(t *testing.T, f *owltest.Fake, title string) owltest.Application {
	t.Helper()
	a, ok := f.ApplicationByTitle(title)
	if !ok {
		t.Fatalf("no application %s", title)
	}
	return a
}
