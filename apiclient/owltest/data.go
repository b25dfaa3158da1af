package owltest

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

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

// Users returns every person, in the order they were added.
func (f *Fake) Users() []User {
	f.mu.Lock()
	defer f.mu.Unlock()
	return cloneAll(f.users, cloneUser)
}

// Applications returns every application, in the order they were added.
func (f *Fake) Applications() []Application {
	f.mu.Lock()
	defer f.mu.Unlock()
	return cloneAll(f.apps, cloneApplication)
}

// AccessStates returns every access state, current and past, in the order they were added.
func (f *Fake) AccessStates() []AccessState {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.settle()
	return cloneAll(f.states, cloneAccessState)
}

// ActiveAccessStates returns the access a person holds now.
func (f *Fake) ActiveAccessStates(userID string) []AccessState {
	var active []AccessState
	for _, s := range f.AccessStates() {
		if s.GranteeUserID == userID && s.Active() {
			active = append(active, s)
		}
	}
	return active
}

// Revocations returns every revocation, in the order they were filed.
func (f *Fake) Revocations() []Revocation {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.settle()
	return cloneAll(f.revocations, cloneRevocation)
}

// User returns the person with this ID.
func (f *Fake) User(id string) (User, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.user(id)
	return cloneUser(u), ok
}

// UserByEmail returns the person with exactly this email.
func (f *Fake) UserByEmail(email string) (User, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.userByEmail(email)
	return cloneUser(u), ok
}

// Application returns the application with this ID.
func (f *Fake) Application(id string) (Application, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.app(id)
	return cloneApplication(a), ok
}

// ApplicationByTitle returns the application with exactly this title.
func (f *Fake) ApplicationByTitle(title string) (Application, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, a := range f.apps {
		if a.Title == title {
			return cloneApplication(a), true
		}
	}
	return Application{}, false
}

// AccessState returns the access state with this ID.
func (f *Fake) AccessState(id string) (AccessState, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.settle()
	if i := f.stateIndex(id); i >= 0 {
		return cloneAccessState(f.states[i]), true
	}
	return AccessState{}, false
}

// Revocation returns the revocation with this ID.
func (f *Fake) Revocation(id string) (Revocation, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.settle()
	if i := f.revocationIndex(id); i >= 0 {
		return cloneRevocation(f.revocations[i]), true
	}
	return Revocation{}, false
}

// createRevocation applies AccessOwl's rules for a new revocation. Callers hold f.mu and have
// settled.
func (f *Fake) createRevocation(accessStateID, reason string) (Revocation, error) {
	var verr ValidationError
	i := f.stateIndex(accessStateID)
	switch {
	case accessStateID == "":
		verr.add("access_state_id", "can't be blank")
	case !isUUID(accessStateID):
		verr.add("access_state_id", "is invalid")
	case i < 0:
		verr.add("access_state_id", "does not exist")
	case !f.states[i].Active():
		verr.add("access_state_id", "is no longer active")
	case slices.ContainsFunc(f.revocations, func(v Revocation) bool {
		return v.AccessStateID == f.states[i].ID && v.Status == Processing
	}):
		verr.add("access_state_id", "already has a revocation in progress")
	}
	// Ecto, which AccessOwl's error shape comes from, counts a reason of only spaces as blank.
	if strings.TrimSpace(reason) == "" {
		verr.add("reason", "can't be blank")
	} else if utf8.RuneCountInString(reason) > maxReason {
		verr.add("reason", fmt.Sprintf("should be at most %d character(s)", maxReason))
	}
	if verr.Fields != nil {
		return Revocation{}, &verr
	}
	s := f.states[i]
	app, _ := f.app(s.ApplicationID)
	v := Revocation{
		ID:               f.newID("revocation"),
		ApplicationID:    s.ApplicationID,
		Reason:           reason,
		Status:           Processing,
		GranteeUserID:    s.GranteeUserID,
		RequestorUserID:  f.requestor,
		ResourceID:       s.ResourceID,
		PermissionIDs:    slices.Clone(s.TargetPermissionIDs),
		ProvisioningType: app.ProvisioningType,
		InsertedAt:       f.clock(),
		AccessStateID:    s.ID,
	}
	f.revocations = append(f.revocations, v)
	f.stats.RevocationsCreated++
	f.broadcast()
	return v, nil
}

// revoke confirms a processing revocation. Callers hold f.mu and have settled.
func (f *Fake) revoke(id string) (Revocation, error) {
	i := f.revocationIndex(id)
	if i < 0 {
		return Revocation{}, ErrNotFound
	}
	if f.revocations[i].Status != Processing {
		return f.revocations[i], ErrClosed
	}
	f.finish(i, f.clock())
	f.broadcast()
	return f.revocations[i], nil
}

// reject refuses a processing revocation. Callers hold f.mu and have settled.
func (f *Fake) reject(id, reason string) (Revocation, error) {
	i := f.revocationIndex(id)
	if i < 0 {
		return Revocation{}, ErrNotFound
	}
	if f.revocations[i].Status != Processing {
		return f.revocations[i], ErrClosed
	}
	f.revocations[i].Status = Rejected
	f.revocations[i].RejectionReason = reason
	f.broadcast()
	return f.revocations[i], nil
}

// finish ends revocation i's access at the given time: revoked, or rejected when the access had
// already ended and there was nothing left to remove.
func (f *Fake) finish(i int, at time.Time) {
	v := &f.revocations[i]
	j := f.stateIndex(v.AccessStateID)
	if j < 0 || !f.states[j].Active() {
		v.Status = Rejected
		return
	}
	v.Status = Revoked
	f.states[j].EffectiveEnd = &at
}

// settle moves automatic revocations whose delay has passed on the clock to their end state. It
// runs lazily, before anything reads state, so the outcome depends only on the injected clock.
// Callers hold f.mu.
func (f *Fake) settle() {
	now := f.now()
	changed := false
	for i, v := range f.revocations {
		if v.Status != Processing || v.ProvisioningType != Automatic {
			continue
		}
		if due := v.InsertedAt.Add(f.automaticDelay); !now.Before(due) {
			f.finish(i, due.Truncate(time.Second))
			changed = true
		}
	}
	if changed {
		f.broadcast()
	}
}

// nextDue returns when the next automatic revocation comes due. Callers hold f.mu.
func (f *Fake) nextDue() (time.Time, bool) {
	var next time.Time
	for _, v := range f.revocations {
		if v.Status != Processing || v.ProvisioningType != Automatic {
			continue
		}
		if due := v.InsertedAt.Add(f.automaticDelay); next.IsZero() || due.Before(next) {
			next = due
		}
	}
	return next, !next.IsZero()
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
