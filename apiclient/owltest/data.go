package owltest

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// maxReason is the longest revocation or rejection reason AccessOwl takes, in characters.
const maxReason = 255

// Errors of the admin actions; the HTTP API answers them 404 and 422.
var (
	ErrNotFound = errors.New("owltest: not found")
	// ErrClosed: the revocation is already revoked or rejected.
	ErrClosed = errors.New("owltest: revocation already closed")
	// ErrEnded: the access state has already ended.
	ErrEnded = errors.New("owltest: access already ended")
)

// ValidationError is a refused revocation: the messages per field that the API sends as
// {"errors": {...}} with a 422.
type ValidationError struct {
	Fields map[string][]string
}

// Error lists the refused fields and why.
func (e *ValidationError) Error() string {
	var parts []string
	for _, field := range slices.Sorted(maps.Keys(e.Fields)) {
		parts = append(parts, field+" "+strings.Join(e.Fields[field], ", "))
	}
	return "owltest: invalid revocation: " + strings.Join(parts, "; ")
}

func (e *ValidationError) add(field, msg string) {
	if e.Fields == nil {
		e.Fields = make(map[string][]string)
	}
	e.Fields[field] = append(e.Fields[field], msg)
}

// AddUser stores a person and returns it as stored. An empty ID is generated, an empty Status is
// active and an empty FullName is made of the first and last names. It panics on a malformed or
// duplicate ID, a duplicate email or an unknown status: those are mistakes in a test's setup.
func (f *Fake) AddUser(u User) User {
	f.mu.Lock()
	defer f.mu.Unlock()
	if u.ID == "" {
		u.ID = f.newID("user")
	}
	f.mustBeNewID(u.ID)
	if _, ok := f.userByEmail(u.Email); ok || u.Email == "" {
		panic(fmt.Sprintf("owltest: AddUser: email %q is empty or taken", u.Email))
	}
	if u.Status == "" {
		u.Status = UserActive
	}
	mustBeOneOf("user status", u.Status, userStatuses)
	if u.FullName == "" {
		u.FullName = strings.TrimSpace(u.FirstName + " " + u.LastName)
	}
	u = cloneUser(u)
	f.users = append(f.users, u)
	f.broadcast()
	return cloneUser(u)
}

// AddApplication stores an application with its resources and permissions and returns it as
// stored. Empty IDs are generated; an empty Status is approved and an empty ProvisioningType is
// automatic. It panics on malformed or duplicate IDs and unknown enum values.
func (f *Fake) AddApplication(a Application) Application {
	f.mu.Lock()
	defer f.mu.Unlock()
	if a.ID == "" {
		a.ID = f.newID("application")
	}
	f.mustBeNewID(a.ID)
	if a.Status == "" {
		a.Status = AppApproved
	}
	if a.ProvisioningType == "" {
		a.ProvisioningType = Automatic
	}
	mustBeOneOf("application status", a.Status, appStatuses)
	mustBeOneOf("provisioning type", a.ProvisioningType, provisioningTypes)
	a = cloneApplication(a)
	for i := range a.Resources {
		if a.Resources[i].ID == "" {
			a.Resources[i].ID = f.newID("resource")
		}
		f.mustBeNewID(a.Resources[i].ID)
	}
	for i := range a.Permissions {
		if a.Permissions[i].ID == "" {
			a.Permissions[i].ID = f.newID("permission")
		}
		f.mustBeNewID(a.Permissions[i].ID)
	}
	f.apps = append(f.apps, a)
	f.broadcast()
	return cloneApplication(a)
}

// AddAccessState stores a grant of access and returns it as stored. An empty ID is generated and
// a zero EffectiveStart is now. It panics when the application, the grantee, the resource or a
// permission is unknown, or the resource or a permission belongs to another application.
func (f *Fake) AddAccessState(s AccessState) AccessState {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s.ID == "" {
		s.ID = f.newID("access_state")
	}
	f.mustBeNewID(s.ID)
	app, ok := f.app(s.ApplicationID)
	if !ok {
		panic(fmt.Sprintf("owltest: AddAccessState: unknown application %q", s.ApplicationID))
	}
	if _, ok := f.user(s.GranteeUserID); s.GranteeUserID != "" && !ok {
		panic(fmt.Sprintf("owltest: AddAccessState: unknown grantee %q", s.GranteeUserID))
	}
	if s.ResourceID != "" && !slices.ContainsFunc(app.Resources, func(r Resource) bool { return r.ID == s.ResourceID }) {
		panic(fmt.Sprintf("owltest: AddAccessState: resource %q is not one of %s's", s.ResourceID, app.Title))
	}
	for _, p := range s.TargetPermissionIDs {
		if !slices.ContainsFunc(app.Permissions, func(q Permission) bool { return q.ID == p }) {
			panic(fmt.Sprintf("owltest: AddAccessState: permission %q is not one of %s's", p, app.Title))
		}
	}
	if s.EffectiveStart.IsZero() {
		s.EffectiveStart = f.clock()
	}
	s = cloneAccessState(s)
	// AccessOwl's timestamps are UTC to the second; keep a test's own times in that shape too.
	s.EffectiveStart = s.EffectiveStart.UTC().Truncate(time.Second)
	if s.EffectiveEnd != nil {
		*s.EffectiveEnd = s.EffectiveEnd.UTC().Truncate(time.Second)
	}
	f.states = append(f.states, s)
	f.broadcast()
	return cloneAccessState(s)
}

// CreateRevocation files a revocation as POST /api/v1/access_revocations does, with the same
// rules, for a test's setup or the sandbox's admin panel. Refusals are a *ValidationError.
func (f *Fake) CreateRevocation(accessStateID, reason string) (Revocation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.settle()
	v, err := f.createRevocation(accessStateID, reason)
	if err != nil {
		return Revocation{}, err
	}
	return cloneRevocation(v), nil
}

// Revoke confirms a processing revocation as an application admin does (the same as POST
// …/revoke): it becomes revoked and its access ends, or rejected if the access had already
// ended. It returns ErrNotFound or ErrClosed.
func (f *Fake) Revoke(id string) (Revocation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.settle()
	v, err := f.revoke(id)
	return cloneRevocation(v), err
}

// Reject refuses a processing revocation (the same as POST …/reject): it becomes rejected and
// the access stays. It returns ErrNotFound or ErrClosed.
func (f *Fake) Reject(id, reason string) (Revocation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.settle()
	v, err := f.reject(id, reason)
	return cloneRevocation(v), err
}

// EndAccess ends an access state outside any revocation, as when someone deletes the account in
// the application itself. It returns ErrNotFound or ErrEnded.
func (f *Fake) EndAccess(accessStateID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.settle()
	i := f.stateIndex(accessStateID)
	if i < 0 {
		return ErrNotFound
	}
	if !f.states[i].Active() {
		return ErrEnded
	}
	end := f.clock()
	f.states[i].EffectiveEnd = &end
	f.broadcast()
	return nil
}

func (f *Fake) user(id string) (User, bool) {
	for _, u := range f.users {
		if sameID(u.ID, id) {
			return u, true
		}
	}
	return User{}, false
}

func (f *Fake) userByEmail(email string) (User, bool) {
	for _, u := range f.users {
		if u.Email == email {
			return u, true
		}
	}
	return User{}, false
}

func (f *Fake) app(id string) (Application, bool) {
	for _, a := range f.apps {
		if sameID(a.ID, id) {
			return a, true
		}
	}
	return Application{}, false
}

func (f *Fake) stateIndex(id string) int {
	return slices.IndexFunc(f.states, func(s AccessState) bool { return sameID(s.ID, id) })
}

func (f *Fake) revocationIndex(id string) int {
	return slices.IndexFunc(f.revocations, func(v Revocation) bool { return sameID(v.ID, id) })
}

// mustBeNewID panics unless id is a UUID no object has yet. Callers hold f.mu.
func (f *Fake) mustBeNewID(id string) {
	if !isUUID(id) {
		panic(fmt.Sprintf("owltest: ID %q is not a UUID", id))
	}
	taken := func(other string) bool { return sameID(other, id) }
	for _, a := range f.apps {
		for _, r := range a.Resources {
			if taken(r.ID) {
				panic(fmt.Sprintf("owltest: ID %s is taken", id))
			}
		}
		for _, p := range a.Permissions {
			if taken(p.ID) {
				panic(fmt.Sprintf("owltest: ID %s is taken", id))
			}
		}
	}
	if _, ok := f.user(id); ok {
		panic(fmt.Sprintf("owltest: ID %s is taken", id))
	}
	if _, ok := f.app(id); ok || f.stateIndex(id) >= 0 || f.revocationIndex(id) >= 0 {
		panic(fmt.Sprintf("owltest: ID %s is taken", id))
	}
}

// isUUID accepts the 36-character form only: AccessOwl's IDs are written that way, and the other
// spellings uuid.Parse allows (braces, urn:uuid:, no dashes) would not reach an object there.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	_, err := uuid.Parse(s)
	return err == nil
}

// sameID compares UUIDs as values, so upper and lower case name the same object as they do in
// PostgreSQL.
func sameID(a, b string) bool {
	return len(a) == len(b) && strings.EqualFold(a, b) && a != ""
}

func mustBeOneOf(what, v string, allowed []string) {
	if !slices.Contains(allowed, v) {
		panic(fmt.Sprintf("owltest: unknown %s %q (want one of %s)", what, v, strings.Join(allowed, ", ")))
	}
}

func cloneUser(u User) User {
	u.Departments = slices.Clone(u.Departments)
	u.Teams = slices.Clone(u.Teams)
	return u
}

func cloneApplication(a Application) Application {
	a.AdminUserIDs = slices.Clone(a.AdminUserIDs)
	a.Resources = slices.Clone(a.Resources)
	a.Permissions = slices.Clone(a.Permissions)
	return a
}

func cloneAccessState(s AccessState) AccessState {
	s.TargetPermissionIDs = slices.Clone(s.TargetPermissionIDs)
	if s.EffectiveEnd != nil {
		end := *s.EffectiveEnd
		s.EffectiveEnd = &end
	}
	return s
}

func cloneRevocation(v Revocation) Revocation {
	v.PermissionIDs = slices.Clone(v.PermissionIDs)
	return v
}

func cloneAll[T any](s []T, clone func(T) T) []T {
	out := make([]T, len(s))
	for i, v := range s {
		out[i] = clone(v)
	}
	return out
}
