package apiclient_test

// These tests run the client against owltest's fake AccessOwl over real HTTP. The two packages
// are independent readings of AccessOwl's API reference and share no types, so every test states a
// rule of the API and checks that both sides keep it the same way.

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/uuid"

	"revokebot/apiclient"
	"revokebot/apiclient/owltest"
	"revokebot/secret"
)

const (
	// postRevocation is the route revocations are filed on, as owltest names it for faults.
	postRevocation = "POST /api/v1/access_revocations"
	// awaitTimeout bounds every wait on the fake; the waits it bounds take milliseconds.
	awaitTimeout = 5 * time.Second
	// fastBackoff keeps retries after a 5xx or a lost answer short, so the fault tests run in
	// milliseconds; a 429's Retry-After is still waited in full.
	fastBackoff = 10 * time.Millisecond
)

// equateEmpty treats [] and null as the same list: AccessOwl sends [] and the client's nil slice
// means the same thing.
var equateEmpty = cmpopts.EquateEmpty()

// startOwl starts a fake AccessOwl on a loopback listener and closes it when the test ends.
func startOwl(t *testing.T, opts ...owltest.Option) *owltest.Server {
	t.Helper()
	srv := owltest.NewServer(opts...)
	t.Cleanup(srv.Close)
	return srv
}

// newClient returns a client of srv that authenticates with token, over its own transport so
// that no connection outlives the test.
func newClient(t *testing.T, srv *owltest.Server, token string, opts ...apiclient.Option) *apiclient.Client {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	opts = append([]apiclient.Option{
		apiclient.WithHTTPClient(&http.Client{Transport: tr}),
		apiclient.WithRetry(apiclient.DefaultMaxAttempts, fastBackoff, 4*fastBackoff),
	}, opts...)
	c, err := apiclient.New(srv.URL, secret.New(token), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// calls returns the requests srv received that keep.
func calls(srv *owltest.Server, keep func(owltest.Call) bool) []owltest.Call {
	var out []owltest.Call
	for _, c := range srv.Calls() {
		if keep(c) {
			out = append(out, c)
		}
	}
	return out
}

// withKey keeps the requests that carried key.
func withKey(key string) func(owltest.Call) bool {
	return func(c owltest.Call) bool { return c.IdempotencyKey == key }
}

// onRoute keeps the requests that matched route.
func onRoute(route string) func(owltest.Call) bool {
	return func(c owltest.Call) bool { return c.Route == route }
}

func statuses(cs []owltest.Call) []int {
	out := make([]int, len(cs))
	for i, c := range cs {
		out[i] = c.Status
	}
	return out
}

// seedPerson returns a person of owltest's seed.
func seedPerson(t *testing.T, srv *owltest.Server, email string) owltest.User {
	t.Helper()
	u, ok := srv.UserByEmail(email)
	if !ok {
		t.Fatalf("the seed has no %s", email)
	}
	return u
}

// seedApp returns an application of owltest's seed.
func seedApp(t *testing.T, srv *owltest.Server, title string) owltest.Application {
	t.Helper()
	a, ok := srv.ApplicationByTitle(title)
	if !ok {
		t.Fatalf("the seed has no application %q", title)
	}
	return a
}

// activeState returns the person's one active access state in the application.
func activeState(t *testing.T, srv *owltest.Server, userID, appID string) owltest.AccessState {
	t.Helper()
	var found []owltest.AccessState
	for _, s := range srv.ActiveAccessStates(userID) {
		if s.ApplicationID == appID {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("the seed gives %s %d active access states in %s, want 1", userID, len(found), appID)
	}
	return found[0]
}

// endedState returns one of the person's ended access states in the application.
func endedState(t *testing.T, srv *owltest.Server, userID, appID string) owltest.AccessState {
	t.Helper()
	for _, s := range srv.AccessStates() {
		if s.GranteeUserID == userID && s.ApplicationID == appID && !s.Active() {
			return s
		}
	}
	t.Fatalf("the seed gives %s no ended access state in %s", userID, appID)
	return owltest.AccessState{}
}

// The want* functions say what the client should decode from the fake's objects: the
// documented fields, with the fake's empty strings as null.

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func rawStrings(ss []string) []json.RawMessage {
	var out []json.RawMessage
	for _, s := range ss {
		b, _ := json.Marshal(s)
		out = append(out, b)
	}
	return out
}

func wantUser(u owltest.User) apiclient.User {
	return apiclient.User{
		ID:            u.ID,
		Email:         u.Email,
		FirstName:     nullable(u.FirstName),
		LastName:      nullable(u.LastName),
		FullName:      u.FullName,
		Status:        apiclient.UserStatus(u.Status),
		ManagerUserID: nullable(u.ManagerUserID),
		Departments:   rawStrings(u.Departments),
		Teams:         rawStrings(u.Teams),
	}
}

func wantApplication(a owltest.Application) apiclient.Application {
	return apiclient.Application{
		ID:               a.ID,
		Title:            a.Title,
		Status:           apiclient.ApplicationStatus(a.Status),
		ProvisioningType: apiclient.ProvisioningType(a.ProvisioningType),
		OwnerUserID:      nullable(a.OwnerUserID),
		AdminUserIDs:     a.AdminUserIDs,
		RiskLevel:        nullable(a.RiskLevel),
		URL:              nullable(a.URL),
	}
}

func wantRevocation(v owltest.Revocation) apiclient.Revocation {
	return apiclient.Revocation{
		ID:               v.ID,
		ApplicationID:    v.ApplicationID,
		Reason:           v.Reason,
		Status:           apiclient.RevocationStatus(v.Status),
		GranteeUserID:    nullable(v.GranteeUserID),
		RequestorUserID:  nullable(v.RequestorUserID),
		ResourceID:       nullable(v.ResourceID),
		PermissionIDs:    v.PermissionIDs,
		ProvisioningType: apiclient.ProvisioningType(v.ProvisioningType),
		InsertedAt:       v.InsertedAt,
	}
}

// wantExpandedState is an access state with every expansion, looked up in srv.
func wantExpandedState(t *testing.T, srv *owltest.Server, s owltest.AccessState) apiclient.AccessState {
	t.Helper()
	app, ok := srv.Application(s.ApplicationID)
	if !ok {
		t.Fatalf("access state %s names an unknown application", s.ID)
	}
	expandedApp := wantApplication(app)
	out := apiclient.AccessState{
		ID:                   s.ID,
		ApplicationID:        s.ApplicationID,
		GranteeUserID:        nullable(s.GranteeUserID),
		GranteeUserAccountID: nullable(s.GranteeUserAccountID),
		ResourceID:           nullable(s.ResourceID),
		TargetPermissionIDs:  s.TargetPermissionIDs,
		EffectiveStart:       s.EffectiveStart,
		EffectiveEnd:         s.EffectiveEnd,
		Application:          &expandedApp,
	}
	if u, ok := srv.User(s.GranteeUserID); ok {
		grantee := wantUser(u)
		out.GranteeUser = &grantee
	}
	for _, r := range app.Resources {
		if r.ID == s.ResourceID {
			out.Resource = &apiclient.Resource{ID: r.ID, Title: nullable(r.Title), Description: nullable(r.Description)}
		}
	}
	for _, p := range app.Permissions {
		if slices.Contains(s.TargetPermissionIDs, p.ID) {
			out.TargetPermissions = append(out.TargetPermissions, apiclient.Permission{ID: p.ID, Title: p.Title, Elevated: p.Elevated})
		}
	}
	return out
}

func TestClientFindsPeopleByEmail(t *testing.T) {
	srv := startOwl(t)
	c := newClient(t, srv, owltest.DefaultToken)
	tests := []struct {
		name   string
		opts   apiclient.UserListOptions
		emails []string
	}{
		{
			name:   "an active person is found by email alone",
			opts:   apiclient.UserListOptions{Email: "ana.garcia@" + owltest.SeedDomain},
			emails: []string{"ana.garcia@" + owltest.SeedDomain},
		},
		{
			name: "a person who has left is not found by email alone",
			opts: apiclient.UserListOptions{Email: owltest.SeedOffboardedEmail},
		},
		{
			name:   "a person who has left is found by email with status all",
			opts:   apiclient.UserListOptions{Email: owltest.SeedOffboardedEmail, Status: apiclient.UserStatusAll},
			emails: []string{owltest.SeedOffboardedEmail},
		},
		{
			name:   "a person without a last name comes with a null last name",
			opts:   apiclient.UserListOptions{Email: owltest.SeedNoLastNameEmail},
			emails: []string{owltest.SeedNoLastNameEmail},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want []apiclient.User
			for _, email := range tt.emails {
				want = append(want, wantUser(seedPerson(t, srv, email)))
			}
			got, next, err := c.ListUsers(t.Context(), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if next != "" {
				t.Errorf("next cursor = %q after a one-page answer, want none", next)
			}
			if diff := cmp.Diff(want, got, equateEmpty); diff != "" {
				t.Errorf("users (-want +got):\n%s", diff)
			}
		})
	}
}

func TestClientFindsApplicationsByPartOfTheirTitle(t *testing.T) {
	srv := startOwl(t)
	c := newClient(t, srv, owltest.DefaultToken)
	var want []apiclient.Application
	for _, a := range srv.Applications() {
		if strings.Contains(strings.ToLower(a.Title), owltest.SeedSharedTitle) {
			want = append(want, wantApplication(a))
		}
	}
	if len(want) < 2 {
		t.Fatalf("the seed has %d applications titled like %q, want at least 2", len(want), owltest.SeedSharedTitle)
	}
	var got []apiclient.Application
	for a, err := range c.AllApplications(t.Context(), apiclient.ApplicationListOptions{TitleLike: owltest.SeedSharedTitle}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, a)
	}
	if diff := cmp.Diff(want, got, equateEmpty); diff != "" {
		t.Errorf("applications titled like %q (-want +got):\n%s", owltest.SeedSharedTitle, diff)
	}
}

func TestAccessStateIteratorFollowsCursorsWithEveryExpansion(t *testing.T) {
	srv := startOwl(t)
	c := newClient(t, srv, owltest.DefaultToken)

	// The iterator asks for 100 a page; the seed holds fewer, so add enough for three pages, of
	// every shape: with and without resource, permissions and end.
	contractor := srv.AddUser(owltest.User{Email: "contractor@" + owltest.SeedDomain, FirstName: "Sam"})
	apps := srv.Applications()
	start := time.Date(2025, 1, 6, 9, 0, 0, 0, time.UTC)
	for i := range 230 {
		app := apps[i%len(apps)]
		s := owltest.AccessState{ApplicationID: app.ID, GranteeUserID: contractor.ID, EffectiveStart: start.AddDate(0, 0, i)}
		if len(app.Resources) > 0 && i%3 != 0 {
			s.ResourceID = app.Resources[i%len(app.Resources)].ID
		}
		if i%4 != 0 {
			s.TargetPermissionIDs = []string{app.Permissions[i%len(app.Permissions)].ID}
		}
		if i%5 == 0 {
			end := s.EffectiveStart.AddDate(0, 1, 0)
			s.EffectiveEnd = &end
		}
		srv.AddAccessState(s)
	}

	var want []apiclient.AccessState
	for _, s := range srv.AccessStates() {
		want = append(want, wantExpandedState(t, srv, s))
	}
	var got []apiclient.AccessState
	for s, err := range c.AllAccessStates(t.Context(), apiclient.AccessStateListOptions{Expand: apiclient.ExpandAll}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, s)
	}
	if diff := cmp.Diff(want, got, equateEmpty); diff != "" {
		t.Errorf("access states (-want +got):\n%s", diff)
	}
	pages := calls(srv, onRoute("GET /api/v1/access_states"))
	if wantPages := (len(want) + 99) / 100; len(pages) != wantPages {
		t.Errorf("the iterator asked for %d pages of %d access states, want %d", len(pages), len(want), wantPages)
	}
	for i, p := range pages {
		if !strings.Contains(p.RawQuery, "limit=100") || (i > 0) != strings.Contains(p.RawQuery, "cursor=") {
			t.Errorf("page %d asked with query %q, want limit=100 and a cursor after the first page", i+1, p.RawQuery)
		}
	}
}

func TestSingleObjectsAreReadWrappedOrBare(t *testing.T) {
	tests := []struct {
		name string
		opts []owltest.Option
	}{
		{name: "wrapped in data, as AccessOwl sends them live"},
		{name: "bare, as AccessOwl's reference documents them", opts: []owltest.Option{owltest.WithBareObjects()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startOwl(t, tt.opts...)
			c := newClient(t, srv, owltest.DefaultToken)
			farid := seedPerson(t, srv, owltest.SeedOffboardedEmail)
			aws := seedApp(t, srv, owltest.SeedAdminApp)
			rev := srv.Revocations()[0]

			user, err := c.GetUser(t.Context(), farid.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(wantUser(farid), *user, equateEmpty); diff != "" {
				t.Errorf("GetUser (-want +got):\n%s", diff)
			}
			app, err := c.GetApplication(t.Context(), aws.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(wantApplication(aws), *app, equateEmpty); diff != "" {
				t.Errorf("GetApplication (-want +got):\n%s", diff)
			}
			gotRev, err := c.GetRevocation(t.Context(), rev.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(wantRevocation(rev), *gotRev, equateEmpty); diff != "" {
				t.Errorf("GetRevocation (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCreatedRevocationCarriesTheAccessStatesFields(t *testing.T) {
	srv := startOwl(t)
	c := newClient(t, srv, owltest.DefaultToken)
	farid := seedPerson(t, srv, owltest.SeedOffboardedEmail)
	state := activeState(t, srv, farid.ID, seedApp(t, srv, owltest.SeedAdminApp).ID)
	const key = "request-201"

	got, err := c.CreateRevocation(t.Context(), key, apiclient.NewRevocation{AccessStateID: state.ID, Reason: "Offboarding"})
	if err != nil {
		t.Fatal(err)
	}
	filed := srv.Revocations()
	want := wantRevocation(filed[len(filed)-1])
	if diff := cmp.Diff(want, *got, equateEmpty); diff != "" {
		t.Errorf("CreateRevocation answered (-want +got):\n%s", diff)
	}
	// The fake's own record, independently of its answer, says what the revocation is of.
	wantFields := apiclient.Revocation{
		ID:               want.ID,
		ApplicationID:    state.ApplicationID,
		Reason:           "Offboarding",
		Status:           apiclient.RevocationProcessing,
		GranteeUserID:    &farid.ID,
		ResourceID:       nullable(state.ResourceID),
		PermissionIDs:    state.TargetPermissionIDs,
		ProvisioningType: apiclient.ProvisioningApplicationAdmin,
		InsertedAt:       want.InsertedAt,
	}
	if diff := cmp.Diff(wantFields, *got, equateEmpty); diff != "" {
		t.Errorf("revocation of access state %s (-want +got):\n%s", state.ID, diff)
	}
	if diff := cmp.Diff([]int{http.StatusCreated}, statuses(calls(srv, withKey(key)))); diff != "" {
		t.Errorf("statuses of the POST (-want +got):\n%s", diff)
	}
}

func TestResubmittingAKeyIsNeverProcessedTwice(t *testing.T) {
	tests := []struct {
		name       string
		reason     string // of the second submission; the first says "Offboarding"
		wantErr    error
		wantStatus int
	}{
		{
			name:       "the same key and body again is already submitted, by someone else",
			reason:     "Offboarding",
			wantErr:    apiclient.ErrAlreadySubmitted,
			wantStatus: http.StatusConflict,
		},
		{
			name:       "the same key with another reason is refused",
			reason:     "Left the company",
			wantErr:    apiclient.ErrInvalidRequest,
			wantStatus: http.StatusUnprocessableEntity,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startOwl(t)
			c := newClient(t, srv, owltest.DefaultToken)
			farid := seedPerson(t, srv, owltest.SeedOffboardedEmail)
			state := activeState(t, srv, farid.ID, seedApp(t, srv, owltest.SeedAdminApp).ID)
			const key = "request-42"
			if _, err := c.CreateRevocation(t.Context(), key, apiclient.NewRevocation{AccessStateID: state.ID, Reason: "Offboarding"}); err != nil {
				t.Fatal(err)
			}

			_, err := c.CreateRevocation(t.Context(), key, apiclient.NewRevocation{AccessStateID: state.ID, Reason: tt.reason})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("second CreateRevocation: err = %v, want %v", err, tt.wantErr)
			}
			var already *apiclient.AlreadySubmittedError
			if errors.As(err, &already) && already.EarlierAttemptUnseen {
				t.Errorf("EarlierAttemptUnseen = true, want false: this call's only attempt was answered")
			}
			if diff := cmp.Diff([]int{http.StatusCreated, tt.wantStatus}, statuses(calls(srv, withKey(key)))); diff != "" {
				t.Errorf("statuses of the POSTs, the second not retried (-want +got):\n%s", diff)
			}
			if n := srv.Stats().RevocationsCreated; n != 1 {
				t.Errorf("revocations created = %d, want 1", n)
			}
		})
	}
}

func TestRevocationIsFiledExactlyOnceUnderFaults(t *testing.T) {
	tests := []struct {
		name  string
		fault owltest.Fault
		// warm makes the POST go over a connection a GET used before, which net/http itself
		// resends on when the connection breaks.
		warm         bool
		wantStatuses []int
		// lost: the answer to the filing attempt never arrived, so the client must find it.
		lost bool
		// priorAttempts is how many of the client's own attempts came before the 409: none when
		// net/http resent the request itself.
		priorAttempts int
		// minGap is how long the client must wait between its first and last attempt.
		minGap time.Duration
	}{
		{
			name:         "5xx are retried with the same key",
			fault:        owltest.Fault{ServerErrors: 2},
			wantStatuses: []int{http.StatusServiceUnavailable, http.StatusServiceUnavailable, http.StatusCreated},
		},
		{
			name:         "a 429 is retried after its Retry-After",
			fault:        owltest.Fault{RateLimits: 1, RetryAfter: time.Second},
			wantStatuses: []int{http.StatusTooManyRequests, http.StatusCreated},
			minGap:       time.Second,
		},
		{
			name:          "an answer lost on a new connection is found after the retry's 409",
			fault:         owltest.Fault{DropAfterCommit: 1},
			wantStatuses:  []int{http.StatusCreated, http.StatusConflict},
			lost:          true,
			priorAttempts: 1,
		},
		{
			name:         "an answer lost on a reused connection is found after net/http's resend meets 409",
			fault:        owltest.Fault{DropAfterCommit: 1},
			warm:         true,
			wantStatuses: []int{http.StatusCreated, http.StatusConflict},
			lost:         true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startOwl(t)
			c := newClient(t, srv, owltest.DefaultToken)
			farid := seedPerson(t, srv, owltest.SeedOffboardedEmail)
			github := seedApp(t, srv, owltest.SeedAutomaticApp)
			state := activeState(t, srv, farid.ID, github.ID)
			if tt.warm {
				if _, err := c.GetUser(t.Context(), farid.ID); err != nil {
					t.Fatal(err)
				}
			}
			srv.SetFault(postRevocation, tt.fault)
			const key = "request-7"
			req := apiclient.NewRevocation{AccessStateID: state.ID, Reason: "Offboarding"}

			rev, err := c.CreateRevocation(t.Context(), key, req)
			if tt.lost {
				var already *apiclient.AlreadySubmittedError
				if !errors.As(err, &already) {
					t.Fatalf("CreateRevocation: err = %v, want an *AlreadySubmittedError", err)
				}
				if !already.EarlierAttemptUnseen {
					t.Errorf("EarlierAttemptUnseen = false, want true: this call's own attempt got through")
				}
				if already.PriorAttempts != tt.priorAttempts {
					t.Errorf("PriorAttempts = %d, want %d", already.PriorAttempts, tt.priorAttempts)
				}
				rev, err = c.FindRevocation(t.Context(), apiclient.RevocationQuery{
					GranteeUserID: farid.ID,
					ApplicationID: github.ID,
					ResourceID:    state.ResourceID,
					Reason:        req.Reason,
					PermissionIDs: state.TargetPermissionIDs,
					Since:         already.FirstAttemptAt,
				})
			}
			if err != nil {
				t.Fatal(err)
			}

			filed := srv.Revocations()
			if diff := cmp.Diff(wantRevocation(filed[len(filed)-1]), *rev, equateEmpty); diff != "" {
				t.Errorf("the client's revocation (-want +got):\n%s", diff)
			}
			if n := srv.Stats().RevocationsCreated; n != 1 {
				t.Errorf("revocations created = %d, want 1", n)
			}
			posts := calls(srv, onRoute(postRevocation))
			if diff := cmp.Diff(tt.wantStatuses, statuses(posts)); diff != "" {
				t.Errorf("statuses of the POSTs (-want +got):\n%s", diff)
			}
			for i, p := range posts[1:] {
				if p.IdempotencyKey != posts[0].IdempotencyKey || string(p.Body) != string(posts[0].Body) {
					t.Errorf("POST %d carried key %q and body %s; the first carried %q and %s",
						i+2, p.IdempotencyKey, p.Body, posts[0].IdempotencyKey, posts[0].Body)
				}
			}
			if gap := posts[len(posts)-1].Time.Sub(posts[0].Time); gap < tt.minGap {
				t.Errorf("the last attempt came %s after the first, want at least %s", gap, tt.minGap)
			}
		})
	}
}

func TestValidationErrorsCarryTheServersMessageAndAreNotRetried(t *testing.T) {
	tests := []struct {
		name string
		// file returns the revocation to submit; it may prepare the fake.
		file        func(t *testing.T, srv *owltest.Server) apiclient.NewRevocation
		wantMessage string
	}{
		{
			name: "access that has ended cannot be revoked",
			file: func(t *testing.T, srv *owltest.Server) apiclient.NewRevocation {
				chloe := seedPerson(t, srv, "chloe.martin@"+owltest.SeedDomain)
				state := endedState(t, srv, chloe.ID, seedApp(t, srv, owltest.SeedAutomaticApp).ID)
				return apiclient.NewRevocation{AccessStateID: state.ID, Reason: "Moved teams"}
			},
			wantMessage: "access_state_id is no longer active",
		},
		{
			name: "a reason of 256 characters is too long",
			file: func(t *testing.T, srv *owltest.Server) apiclient.NewRevocation {
				farid := seedPerson(t, srv, owltest.SeedOffboardedEmail)
				state := activeState(t, srv, farid.ID, seedApp(t, srv, owltest.SeedAdminApp).ID)
				return apiclient.NewRevocation{AccessStateID: state.ID, Reason: strings.Repeat("é", 256)}
			},
			wantMessage: "reason should be at most 255 character(s)",
		},
		{
			name: "access already being revoked cannot be revoked again",
			file: func(t *testing.T, srv *owltest.Server) apiclient.NewRevocation {
				farid := seedPerson(t, srv, owltest.SeedOffboardedEmail)
				state := activeState(t, srv, farid.ID, seedApp(t, srv, owltest.SeedAdminApp).ID)
				if _, err := srv.CreateRevocation(state.ID, "Offboarding"); err != nil {
					t.Fatal(err)
				}
				return apiclient.NewRevocation{AccessStateID: state.ID, Reason: "Offboarding, again"}
			},
			wantMessage: "access_state_id already has a revocation in progress",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startOwl(t)
			c := newClient(t, srv, owltest.DefaultToken)
			req := tt.file(t, srv)
			created := srv.Stats().RevocationsCreated
			const key = "request-422"

			_, err := c.CreateRevocation(t.Context(), key, req)
			if !errors.Is(err, apiclient.ErrInvalidRequest) {
				t.Fatalf("CreateRevocation: err = %v, want ErrInvalidRequest", err)
			}
			var apiErr *apiclient.Error
			if !errors.As(err, &apiErr) {
				t.Fatalf("CreateRevocation: err = %v, want an *apiclient.Error", err)
			}
			if diff := cmp.Diff(tt.wantMessage, apiErr.Message); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]int{http.StatusUnprocessableEntity}, statuses(calls(srv, withKey(key)))); diff != "" {
				t.Errorf("statuses of the POSTs, one and not retried (-want +got):\n%s", diff)
			}
			if n := srv.Stats().RevocationsCreated; n != created {
				t.Errorf("revocations created = %d, want %d as before", n, created)
			}
		})
	}
}

// manualClock is a clock a test moves by hand.
type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestAutomaticRevocationIsRevokedAfterTheDelay(t *testing.T) {
	const delay = 200 * time.Millisecond
	// On a whole second, since inserted_at is truncated to one: from a later fraction the
	// revocation would already look delay old when filed.
	clock := &manualClock{now: time.Now().Truncate(time.Second)}
	srv := startOwl(t, owltest.WithClock(clock.Now), owltest.WithAutomaticDelay(delay))
	c := newClient(t, srv, owltest.DefaultToken)
	farid := seedPerson(t, srv, owltest.SeedOffboardedEmail)
	github := seedApp(t, srv, owltest.SeedAutomaticApp)
	state := activeState(t, srv, farid.ID, github.ID)
	processing := func() []string {
		t.Helper()
		revs, next, err := c.ListRevocations(t.Context(), apiclient.RevocationListOptions{
			Status: apiclient.RevocationProcessing, ListOptions: apiclient.ListOptions{Limit: 100}})
		if err != nil {
			t.Fatal(err)
		}
		if next != "" {
			t.Fatalf("more than a page of processing revocations; the seed has none")
		}
		var ids []string
		for _, r := range revs {
			ids = append(ids, r.ID)
		}
		return ids
	}

	rev, err := c.CreateRevocation(t.Context(), "request-auto", apiclient.NewRevocation{AccessStateID: state.ID, Reason: "Offboarding"})
	if err != nil {
		t.Fatal(err)
	}
	if rev.Status != apiclient.RevocationProcessing || rev.ProvisioningType != apiclient.ProvisioningAutomatic {
		t.Fatalf("new revocation is %s and %s, want processing_access and automatic", rev.Status, rev.ProvisioningType)
	}
	if ids := processing(); !slices.Contains(ids, rev.ID) {
		t.Errorf("processing revocations %v lack %s before the delay has passed", ids, rev.ID)
	}

	clock.Advance(delay)
	srv.Notify()
	ctx, cancel := context.WithTimeout(t.Context(), awaitTimeout)
	defer cancel()
	if err := srv.Await(ctx, func(f *owltest.Fake) bool {
		v, _ := f.Revocation(rev.ID)
		return v.Status == owltest.Revoked
	}); err != nil {
		t.Fatal(err)
	}

	got, err := c.GetRevocation(t.Context(), rev.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != apiclient.RevocationRevoked {
		t.Errorf("status after the delay = %s, want revoked", got.Status)
	}
	if ids := processing(); slices.Contains(ids, rev.ID) {
		t.Errorf("processing revocations %v still hold %s after it was revoked", ids, rev.ID)
	}
	states, _, err := c.ListAccessStates(t.Context(), apiclient.AccessStateListOptions{GranteeUserID: farid.ID, ApplicationID: github.ID})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range states {
		if s.ID == state.ID && s.Active() {
			t.Errorf("access state %s is still active after its revocation was revoked", s.ID)
		}
	}
}

func TestAdminClosesARevocationOnce(t *testing.T) {
	reject := func(ctx context.Context, c *apiclient.Client, id string) (*apiclient.Revocation, error) {
		return c.RejectRevocation(ctx, "reject/"+id, id, "Still on call this week")
	}
	revoke := func(ctx context.Context, c *apiclient.Client, id string) (*apiclient.Revocation, error) {
		return c.RevokeRevocation(ctx, "revoke/"+id, id)
	}
	tests := []struct {
		name        string
		close       func(context.Context, *apiclient.Client, string) (*apiclient.Revocation, error)
		wantStatus  apiclient.RevocationStatus
		wantActive  bool
		closeAgain  func(context.Context, *apiclient.Client, string) (*apiclient.Revocation, error)
		wantMessage string
	}{
		{
			name:        "a rejected revocation keeps the access and cannot be revoked",
			close:       reject,
			wantStatus:  apiclient.RevocationRejected,
			wantActive:  true,
			closeAgain:  revoke,
			wantMessage: "status is already rejected",
		},
		{
			name:        "a revoked revocation ends the access and cannot be rejected",
			close:       revoke,
			wantStatus:  apiclient.RevocationRevoked,
			closeAgain:  reject,
			wantMessage: "status is already revoked",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startOwl(t)
			c := newClient(t, srv, owltest.DefaultToken)
			farid := seedPerson(t, srv, owltest.SeedOffboardedEmail)
			aws := seedApp(t, srv, owltest.SeedAdminApp)
			state := activeState(t, srv, farid.ID, aws.ID)
			rev, err := c.CreateRevocation(t.Context(), "request-admin", apiclient.NewRevocation{AccessStateID: state.ID, Reason: "Offboarding"})
			if err != nil {
				t.Fatal(err)
			}
			if rev.ProvisioningType != apiclient.ProvisioningApplicationAdmin {
				t.Fatalf("provisioning type = %s, want application_admin", rev.ProvisioningType)
			}

			closed, err := tt.close(t.Context(), c, rev.ID)
			if err != nil {
				t.Fatal(err)
			}
			if closed.ID != rev.ID || closed.Status != tt.wantStatus {
				t.Errorf("closed revocation %s is %s, want %s %s", closed.ID, closed.Status, rev.ID, tt.wantStatus)
			}
			got, err := c.GetRevocation(t.Context(), rev.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != tt.wantStatus {
				t.Errorf("GetRevocation status = %s, want %s", got.Status, tt.wantStatus)
			}
			if s, _ := srv.AccessState(state.ID); s.Active() != tt.wantActive {
				t.Errorf("access state active = %t, want %t", s.Active(), tt.wantActive)
			}

			before := len(srv.Calls())
			_, err = tt.closeAgain(t.Context(), c, rev.ID)
			var apiErr *apiclient.Error
			if !errors.Is(err, apiclient.ErrInvalidRequest) || !errors.As(err, &apiErr) {
				t.Fatalf("closing it again: err = %v, want ErrInvalidRequest", err)
			}
			if diff := cmp.Diff(tt.wantMessage, apiErr.Message); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
			if n := len(srv.Calls()) - before; n != 1 {
				t.Errorf("closing it again took %d requests, want 1", n)
			}
		})
	}
}

func TestRefusalsAreFinal(t *testing.T) {
	const readOnlyToken = "owltest-read-only"
	tests := []struct {
		name    string
		token   string
		call    func(context.Context, *apiclient.Client, *owltest.Server) error
		wantErr error
		status  int
	}{
		{
			name:  "a wrong token is unauthorized",
			token: "not-the-token",
			call: func(ctx context.Context, c *apiclient.Client, _ *owltest.Server) error {
				_, _, err := c.ListUsers(ctx, apiclient.UserListOptions{})
				return err
			},
			wantErr: apiclient.ErrUnauthorized,
			status:  http.StatusUnauthorized,
		},
		{
			name:  "a read-only token may not file a revocation",
			token: readOnlyToken,
			call: func(ctx context.Context, c *apiclient.Client, srv *owltest.Server) error {
				_, err := c.CreateRevocation(ctx, "request-403", apiclient.NewRevocation{AccessStateID: srv.AccessStates()[0].ID, Reason: "Offboarding"})
				return err
			},
			wantErr: apiclient.ErrForbidden,
			status:  http.StatusForbidden,
		},
		{
			name:  "an unknown revocation is not found",
			token: owltest.DefaultToken,
			call: func(ctx context.Context, c *apiclient.Client, _ *owltest.Server) error {
				_, err := c.GetRevocation(ctx, uuid.NewString())
				return err
			},
			wantErr: apiclient.ErrNotFound,
			status:  http.StatusNotFound,
		},
		{
			name:  "an unknown revocation cannot be revoked",
			token: owltest.DefaultToken,
			call: func(ctx context.Context, c *apiclient.Client, _ *owltest.Server) error {
				_, err := c.RevokeRevocation(ctx, uuid.NewString(), uuid.NewString())
				return err
			},
			wantErr: apiclient.ErrNotFound,
			status:  http.StatusNotFound,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startOwl(t, owltest.WithReadOnlyToken(readOnlyToken))
			c := newClient(t, srv, tt.token)
			err := tt.call(t.Context(), c, srv)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff([]int{tt.status}, statuses(srv.Calls())); diff != "" {
				t.Errorf("statuses at AccessOwl, one and not retried (-want +got):\n%s", diff)
			}
		})
	}
}

// roundTripFunc lets a function serve as an http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// The client's budget and the fake's rate limit must agree over whole rolling hours, which no
// test can wait out. So the client runs in a synctest bubble, whose clock jumps whenever it only
// waits for its budget, and the fake reads the same clock: the client's transport stamps the
// bubble's time on a shared clock just before each request, and requests go one at a time. The
// fake serves from outside the bubble over real HTTP; time stands still while a request is on
// the wire, because a goroutine reading a socket is not durably blocked.
func TestBudgetNeverMeetsTheFakesRateLimit(t *testing.T) {
	const perHour = 60 // background leaves a reserve of 6 to people
	tests := []struct {
		name       string
		background bool
		// inFirstHour is how many calls the client sends in the hour after its first: what it
		// spends of the N the fake allows.
		inFirstHour int
	}{
		{name: "interactive calls spend the whole hour's budget and meet no 429", inFirstHour: perHour},
		{name: "background calls leave the reserve and meet no 429", background: true, inFirstHour: perHour - apiclient.DefaultReserve(perHour)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var clock atomic.Int64 // the bubble's time of the latest request, in Unix nanoseconds
			srv := startOwl(t, owltest.WithRateLimit(perHour),
				owltest.WithClock(func() time.Time { return time.Unix(0, clock.Load()).UTC() }))
			ana := seedPerson(t, srv, "ana.garcia@"+owltest.SeedDomain)

			synctest.Test(t, func(t *testing.T) {
				clock.Store(time.Now().UnixNano())
				// No keep-alive: an idle connection's reader would never let the bubble's clock
				// move.
				tr := &http.Transport{DisableKeepAlives: true}
				defer tr.CloseIdleConnections()
				stamp := roundTripFunc(func(r *http.Request) (*http.Response, error) {
					clock.Store(time.Now().UnixNano())
					return tr.RoundTrip(r)
				})
				c, err := apiclient.New(srv.URL, secret.New(owltest.DefaultToken),
					apiclient.WithHTTPClient(&http.Client{Transport: stamp}), apiclient.WithRateLimit(perHour), apiclient.WithMaxBudgetWait(0))
				if err != nil {
					t.Fatal(err)
				}
				ctx := t.Context()
				if tt.background {
					ctx = apiclient.Background(ctx)
				}
				for i := range perHour + 10 {
					if _, err := c.GetUser(ctx, ana.ID); err != nil {
						t.Fatalf("call %d: %v", i+1, err)
					}
				}
			})

			if n := srv.Stats().RateLimited; n != 0 {
				t.Errorf("the fake answered %d calls 429, want none", n)
			}
			all := srv.Calls()
			if len(all) != perHour+10 {
				t.Fatalf("the fake received %d requests, want %d", len(all), perHour+10)
			}
			// The budget keeps exact send times: the first request leaves the hour at exactly
			// one hour, and the next may go that very moment.
			hourEnd := all[0].Time.Add(time.Hour)
			inFirstHour := len(calls(srv, func(c owltest.Call) bool { return c.Time.Before(hourEnd) }))
			if inFirstHour != tt.inFirstHour {
				t.Errorf("the client sent %d calls in the first hour, want %d", inFirstHour, tt.inFirstHour)
			}
		})
	}
}
