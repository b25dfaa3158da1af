package owltest

import (
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
)

// The seed organisation: a small company at SeedDomain. Tests and the sandbox find its people by
// email (UserByEmail) and its applications by title (ApplicationByTitle); these name the ones
// that exist to exercise a rule.
const (
	SeedDomain = "example.com"
	// SeedOffboardedEmail has left (status offboarded) but still holds GitHub, AWS and Figma
	// access: the everyday reason to revoke. Found by GET /users only with status=all.
	SeedOffboardedEmail = "farid.haddad@example.com"
	// SeedManyGrantsEmail holds three active AWS access states, one per account (one of them an
	// account without a title), and a past one.
	SeedManyGrantsEmail = "dev.patel@example.com"
	// SeedNoLastNameEmail has a first name only: last_name is null.
	SeedNoLastNameEmail = "kim@example.com"
	// SeedAutomaticApp removes access itself (provisioning_type automatic).
	SeedAutomaticApp = "GitHub"
	// SeedAdminApp waits for an admin to confirm (provisioning_type application_admin).
	SeedAdminApp = "AWS"
	// SeedSharedTitle is part of two titles, Google Workspace and Google Cloud, case aside.
	SeedSharedTitle = "google"
)

// seedID gives seed objects IDs derived from their names, so they stay the same whatever else a
// test adds, and differ from the counter-based IDs of added objects.
func seedID(kind, name string) string {
	return uuid.NewSHA1(idNamespace, []byte("seed/"+kind+"/"+name)).String()
}

func seedDate(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic("owltest: seed date " + s + ": " + err.Error())
	}
	return t.Add(9 * time.Hour) // people are granted and removed during office hours
}

type seedPerson struct {
	first, last, email, status, manager string
	departments, teams                  []string
}

var seedPeople = []seedPerson{
	{"Ana", "García", "ana.garcia", UserActive, "", []string{"Engineering"}, []string{"Leadership"}},
	{"Ben", "Okafor", "ben.okafor", UserActive, "ana.garcia", []string{"Engineering"}, []string{"Platform"}},
	{"Chloé", "Martin", "chloe.martin", UserActive, "ana.garcia", []string{"Product"}, []string{"Leadership"}},
	{"Dev", "Patel", "dev.patel", UserActive, "ben.okafor", []string{"Engineering"}, []string{"Platform"}},
	{"Emma", "Schmidt", "emma.schmidt", UserActive, "chloe.martin", []string{"Product"}, []string{"Design"}},
	{"Farid", "Haddad", "farid.haddad", UserOffboarded, "ben.okafor", []string{"Engineering"}, []string{"Platform"}},
	{"Grace", "Lee", "grace.lee", UserOffboardingPlanned, "lena.vogel", []string{"Sales"}, nil},
	{"Hiro", "Tanaka", "hiro.tanaka", UserOnboarding, "ben.okafor", []string{"Engineering"}, []string{"Platform"}},
	{"Isla", "Murphy", "isla.murphy", UserInactive, "ana.garcia", []string{"Finance"}, nil},
	{"Kim", "", "kim", UserActive, "chloe.martin", []string{"Customer Success"}, []string{"Support"}},
	{"Lena", "Vogel", "lena.vogel", UserActive, "ana.garcia", []string{"Sales"}, []string{"RevOps"}},
	{"Marco", "Rossi", "marco.rossi", UserOffboarding, "lena.vogel", []string{"Sales"}, nil},
}

type seedApp struct {
	title, status, provisioning, risk, url, owner string
	admins                                        []string
	resources                                     []Resource // titles and descriptions; IDs are derived
	permissions                                   []Permission
}

var seedApps = []seedApp{
	{"GitHub", AppRequestable, Automatic, "high", "https://github.com/example-co", "ben.okafor", []string{"ben.okafor"},
		[]Resource{{Title: "example-co/backend"}, {Title: "example-co/infrastructure", Description: "Terraform and deploy pipelines"}},
		[]Permission{{Title: "Read"}, {Title: "Write"}, {Title: "Admin", Elevated: true}}},
	{"Google Workspace", AppApproved, Automatic, "high", "https://admin.google.com", "ana.garcia", []string{"ana.garcia"},
		nil,
		[]Permission{{Title: "User"}, {Title: "Super Admin", Elevated: true}}},
	{"Google Cloud", AppRequestable, Automatic, "high", "https://console.cloud.google.com", "ben.okafor", []string{"ben.okafor", "dev.patel"},
		[]Resource{{Title: "prod-platform", Description: "Production GKE clusters"}, {Title: "analytics-sandbox"}},
		[]Permission{{Title: "Viewer"}, {Title: "Editor"}, {Title: "Owner", Elevated: true}}},
	{"Slack", AppApproved, Automatic, "medium", "https://example-co.slack.com", "ana.garcia", []string{"ana.garcia"},
		nil,
		[]Permission{{Title: "Member"}, {Title: "Workspace Admin", Elevated: true}}},
	{"Notion", AppRequestable, ApplicationAdmin, "low", "https://www.notion.so", "chloe.martin", []string{"chloe.martin"},
		[]Resource{{Title: "Engineering wiki", Description: "Runbooks and design documents"}},
		[]Permission{{Title: "Member"}, {Title: "Workspace Owner", Elevated: true}}},
	{"Figma", AppRequestable, ApplicationAdmin, "low", "https://www.figma.com", "emma.schmidt", []string{"emma.schmidt"},
		[]Resource{{Title: "Design system"}},
		[]Permission{{Title: "Viewer"}, {Title: "Editor"}}},
	{"Salesforce", AppApproved, ApplicationAdmin, "high", "https://example-co.my.salesforce.com", "lena.vogel", []string{"lena.vogel"},
		nil,
		[]Permission{{Title: "Standard User"}, {Title: "System Administrator", Elevated: true}}},
	{"AWS", AppRequestable, ApplicationAdmin, "high", "https://example-co.awsapps.com/start", "ben.okafor", []string{"ben.okafor"},
		[]Resource{{Title: "production", Description: "Account 111111111111"}, {Title: "staging", Description: "Account 222222222222"},
			{Description: "Account 333333333333"}}, // an account AccessOwl could not name: null title
		[]Permission{{Title: "ReadOnlyAccess"}, {Title: "PowerUserAccess", Elevated: true}, {Title: "AdministratorAccess", Elevated: true}}},
	{"Linear", AppDiscovered, Automatic, "low", "", "", nil,
		nil,
		[]Permission{{Title: "Member"}, {Title: "Admin", Elevated: true}}},
}

// seedGrant is one access state. person "" is an account linked to nobody; resource names a
// resource by title, or by description for the one without a title; "" is application-wide.
type seedGrant struct {
	person, account, app, resource string
	perms                          []string
	start, end                     string
}

var seedGrants = []seedGrant{
	{"ana.garcia", "", "GitHub", "", []string{"Admin"}, "2024-02-01", ""},
	{"ana.garcia", "", "Google Workspace", "", []string{"Super Admin"}, "2024-01-15", ""},
	{"ana.garcia", "", "Slack", "", []string{"Workspace Admin"}, "2024-01-15", ""},
	{"ana.garcia", "", "AWS", "production", []string{"AdministratorAccess"}, "2024-03-01", ""},
	{"ben.okafor", "", "GitHub", "example-co/backend", []string{"Write"}, "2024-04-02", ""},
	{"ben.okafor", "", "GitHub", "example-co/infrastructure", []string{"Admin"}, "2024-04-02", ""},
	{"ben.okafor", "", "Google Workspace", "", []string{"User"}, "2024-04-01", ""},
	{"ben.okafor", "", "AWS", "production", []string{"PowerUserAccess"}, "2024-04-10", ""},
	{"ben.okafor", "", "Google Cloud", "prod-platform", []string{"Owner"}, "2024-05-20", ""},
	{"chloe.martin", "", "Google Workspace", "", []string{"User"}, "2024-06-03", ""},
	{"chloe.martin", "", "Notion", "Engineering wiki", []string{"Workspace Owner"}, "2024-06-03", ""},
	{"chloe.martin", "", "Figma", "Design system", []string{"Editor"}, "2024-06-10", ""},
	{"chloe.martin", "", "GitHub", "", []string{"Read"}, "2024-06-03", "2026-03-02"},
	{"dev.patel", "", "GitHub", "example-co/backend", []string{"Write"}, "2024-09-02", ""},
	{"dev.patel", "", "GitHub", "example-co/infrastructure", []string{"Write"}, "2025-01-13", ""},
	{"dev.patel", "", "Slack", "", []string{"Member"}, "2024-09-02", ""},
	{"dev.patel", "", "AWS", "production", []string{"AdministratorAccess"}, "2024-11-04", "2025-02-03"},
	{"dev.patel", "", "AWS", "production", []string{"ReadOnlyAccess"}, "2025-02-03", ""},
	{"dev.patel", "", "AWS", "staging", []string{"PowerUserAccess"}, "2024-09-02", ""},
	{"dev.patel", "", "AWS", "Account 333333333333", []string{"AdministratorAccess"}, "2025-06-16", ""},
	{"dev.patel", "", "Google Cloud", "analytics-sandbox", []string{"Editor"}, "2025-03-03", ""},
	{"emma.schmidt", "", "Google Workspace", "", []string{"User"}, "2025-01-06", ""},
	{"emma.schmidt", "", "Figma", "Design system", []string{"Editor"}, "2025-01-06", ""},
	{"emma.schmidt", "", "Notion", "Engineering wiki", []string{"Member"}, "2025-01-06", ""},
	{"farid.haddad", "", "Google Workspace", "", []string{"User"}, "2023-10-02", "2026-09-30"},
	{"farid.haddad", "", "Slack", "", []string{"Member"}, "2023-10-02", "2026-09-30"},
	{"farid.haddad", "", "GitHub", "example-co/backend", []string{"Write"}, "2023-10-02", ""},
	{"farid.haddad", "", "AWS", "production", []string{"ReadOnlyAccess"}, "2024-02-12", ""},
	{"farid.haddad", "", "Figma", "Design system", []string{"Viewer"}, "2024-05-06", ""},
	{"grace.lee", "", "Salesforce", "", []string{"Standard User"}, "2025-03-17", ""},
	{"grace.lee", "", "Google Workspace", "", []string{"User"}, "2025-03-17", ""},
	{"hiro.tanaka", "", "Google Workspace", "", []string{"User"}, "2026-11-16", ""},
	{"hiro.tanaka", "", "Slack", "", []string{"Member"}, "2026-11-16", ""},
	{"isla.murphy", "", "Salesforce", "", []string{"Standard User"}, "2024-07-01", "2026-06-30"},
	{"kim", "", "Slack", "", []string{"Member"}, "2025-08-04", ""},
	{"kim", "", "Notion", "Engineering wiki", []string{"Member"}, "2025-08-04", ""},
	{"lena.vogel", "", "Salesforce", "", []string{"System Administrator"}, "2024-02-19", ""},
	{"lena.vogel", "", "Google Workspace", "", []string{"User"}, "2024-02-19", ""},
	{"marco.rossi", "", "Salesforce", "", []string{"Standard User"}, "2024-10-07", ""},
	{"marco.rossi", "", "Linear", "", []string{"Member"}, "2025-05-12", ""},
	{"", "deploy-bot", "GitHub", "example-co/infrastructure", []string{"Write"}, "2024-04-02", ""},
	{"", "ops-alerts", "Slack", "", []string{"Member"}, "2024-01-20", ""},
}

// seedRevocations is the history behind some of the ended grants, and one an admin refused.
// Each names the person's only grant in the application.
var seedRevocations = []struct {
	person, app, reason, status, at, rejection string
}{
	{"chloe.martin", "GitHub", "Moved to product; no longer needs repository access", Revoked, "2026-03-02", ""},
	{"farid.haddad", "Google Workspace", "Offboarding", Revoked, "2026-09-30", ""},
	{"isla.murphy", "Salesforce", "Contract ended", Revoked, "2026-06-30", ""},
	{"marco.rossi", "Linear", "Offboarding", Rejected, "2026-11-10", "Needs Linear until the handover on Friday"},
}

func seed(f *Fake) {
	for _, p := range seedPeople {
		u := User{
			ID:          seedID("user", p.email),
			Email:       p.email + "@" + SeedDomain,
			FirstName:   p.first,
			LastName:    p.last,
			Status:      p.status,
			Departments: p.departments,
			Teams:       p.teams,
		}
		if p.manager != "" {
			u.ManagerUserID = seedID("user", p.manager)
		}
		f.AddUser(u)
	}
	for _, a := range seedApps {
		app := Application{
			ID:               seedID("application", a.title),
			Title:            a.title,
			Status:           a.status,
			ProvisioningType: a.provisioning,
			RiskLevel:        a.risk,
			URL:              a.url,
			Resources:        slices.Clone(a.resources),
			Permissions:      slices.Clone(a.permissions),
		}
		if a.owner != "" {
			app.OwnerUserID = seedID("user", a.owner)
		}
		for _, admin := range a.admins {
			app.AdminUserIDs = append(app.AdminUserIDs, seedID("user", admin))
		}
		for i, r := range app.Resources {
			app.Resources[i].ID = seedID("resource", a.title+"/"+r.Title+"/"+r.Description)
		}
		for i, p := range app.Permissions {
			app.Permissions[i].ID = seedID("permission", a.title+"/"+p.Title)
		}
		f.AddApplication(app)
	}
	var states []AccessState
	for i, g := range seedGrants {
		app, _ := f.ApplicationByTitle(g.app)
		s := AccessState{
			ID:             seedID("access_state", fmt.Sprint(i)),
			ApplicationID:  app.ID,
			EffectiveStart: seedDate(g.start),
		}
		account := g.account
		if g.person != "" {
			s.GranteeUserID = seedID("user", g.person)
			account = g.person
		}
		s.GranteeUserAccountID = seedID("account", g.app+"/"+account)
		if g.resource != "" {
			i := slices.IndexFunc(app.Resources, func(r Resource) bool {
				return r.Title == g.resource || (r.Title == "" && r.Description == g.resource)
			})
			s.ResourceID = app.Resources[i].ID
		}
		for _, title := range g.perms {
			i := slices.IndexFunc(app.Permissions, func(p Permission) bool { return p.Title == title })
			s.TargetPermissionIDs = append(s.TargetPermissionIDs, app.Permissions[i].ID)
		}
		if g.end != "" {
			end := seedDate(g.end)
			s.EffectiveEnd = &end
		}
		states = append(states, f.AddAccessState(s))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, r := range seedRevocations {
		s := states[slices.IndexFunc(seedGrants, func(g seedGrant) bool { return g.person == r.person && g.app == r.app })]
		app, _ := f.app(s.ApplicationID)
		f.revocations = append(f.revocations, Revocation{
			ID:               seedID("revocation", fmt.Sprint(i)),
			ApplicationID:    s.ApplicationID,
			Reason:           r.reason,
			Status:           r.status,
			GranteeUserID:    s.GranteeUserID,
			RequestorUserID:  seedID("user", "ana.garcia"),
			ResourceID:       s.ResourceID,
			PermissionIDs:    slices.Clone(s.TargetPermissionIDs),
			ProvisioningType: app.ProvisioningType,
			InsertedAt:       seedDate(r.at).Add(-time.Hour),
			AccessStateID:    s.ID,
			RejectionReason:  r.rejection,
		})
	}
}
