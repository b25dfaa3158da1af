package interactions

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"revokebot/apiclient"
	"revokebot/bot"
	"revokebot/commands"
	"revokebot/store"
)

const (
	// stateCacheTTL is how long an access state listed for someone is trusted for finding its
	// details by ID. It only names what a request shows; AccessOwl checks the state again when
	// the revocation is submitted.
	stateCacheTTL = 10 * time.Minute
	// stateSearchLimit bounds the access states paged through to find one ID that was not
	// listed recently: five pages of the client's 100, so a typo costs five requests of the
	// hourly budget, not hundreds.
	stateSearchLimit = 500
	// maxCachedStates bounds the cache; past it, the oldest half is dropped.
	maxCachedStates = 10_000
	// personCacheTTL is how long the AccessOwl user found for a Slack user is reused: a form's
	// searches and a person's next commands ask for the same person again and again, and an
	// email rarely changes.
	personCacheTTL = 5 * time.Minute
	// listingCacheTTL is how long a person's listed access answers the form's search as they
	// type, so that each keystroke is not a listing of AccessOwl's. Commands and the choice of
	// a person in the form list afresh.
	listingCacheTTL = time.Minute
	// maxCachedPeople bounds the people and listings remembered; past it, the stale are dropped.
	maxCachedPeople = 1_000
)

// ErrMismatch means AccessOwl answered with something other than what was asked: a user with
// another email, an access state of someone else. The resolver trusts AccessOwl's filters no
// further than it can check them, so such an answer is refused whole.
var ErrMismatch = errors.New("AccessOwl's answer does not match what was asked")

// AccessOwl is what the resolver reads from AccessOwl; *apiclient.Client satisfies it.
type AccessOwl interface {
	ListUsers(ctx context.Context, opts apiclient.UserListOptions) ([]apiclient.User, string, error)
	AllAccessStates(ctx context.Context, opts apiclient.AccessStateListOptions) iter.Seq2[apiclient.AccessState, error]
}

// SlackUsers is what the resolver reads from Slack; *slack.Client satisfies it.
type SlackUsers interface {
	GetUserInfoContext(ctx context.Context, user string, options ...slack.GetUserInfoOption) (*slack.User, error)
}

// Resolver turns what a person typed or chose — a Slack user, an access state's ID — into the
// AccessOwl person and accesses a request would revoke. It asks Slack and AccessOwl, and
// remembers the access states it listed for a while.
type Resolver struct {
	owl   AccessOwl
	slack SlackUsers
	now   func() time.Time

	mu       sync.Mutex
	states   map[string]cachedState
	people   map[string]cachedPerson  // by Slack user ID
	listings map[string]cachedListing // by AccessOwl user ID
}

type cachedPerson struct {
	person store.Person
	at     time.Time
}

type cachedListing struct {
	items []store.Item
	at    time.Time
}

// cachedState is an access state as it was listed: whose, and what.
type cachedState struct {
	grantee store.Person
	item    store.Item
	listed  time.Time
}

// NewResolver returns a resolver; now may be nil for the real clock.
func NewResolver(owl AccessOwl, slackUsers SlackUsers, now func() time.Time) *Resolver {
	if now == nil {
		now = time.Now
	}
	return &Resolver{owl: owl, slack: slackUsers, now: now, states: make(map[string]cachedState),
		people: make(map[string]cachedPerson), listings: make(map[string]cachedListing)}
}

// Person finds the AccessOwl user behind a Slack user, through the email Slack shows for them:
// the user AccessOwl finds by that email, which must be theirs (ErrMismatch otherwise).
func (r *Resolver) Person(ctx context.Context, slackID string) (store.Person, error) {
	ctx = apiclient.Lookup(ctx) // lookups leave the last of the hour to submissions
	if p, ok := r.cachedPerson(slackID); ok {
		return p, nil
	}
	u, err := r.slack.GetUserInfoContext(ctx, slackID)
	if err != nil {
		if bot.SlackErrorCode(err) == "user_not_found" {
			return store.Person{}, &commands.InputError{Problem: fmt.Sprintf("Slack does not know <@%s>.", slackID), Fix: "Pick the person from Slack's list after typing @."}
		}
		return store.Person{}, fmt.Errorf("look up Slack user %s: %w", slackID, err)
	}
	if u.Profile.Email == "" {
		return store.Person{}, &commands.InputError{
			Problem: fmt.Sprintf("Slack shows no email for <@%s>, and AccessOwl finds people by email.", slackID),
			Fix:     "Bots and guests without an email cannot be looked up; use `/revoke <access_state_id> <reason>` instead.",
		}
	}
	users, _, err := r.owl.ListUsers(ctx, apiclient.UserListOptions{Email: u.Profile.Email, Status: apiclient.UserStatusAll})
	if err != nil {
		return store.Person{}, fmt.Errorf("find AccessOwl user %s: %w", u.Profile.Email, err)
	}
	if len(users) == 0 {
		return store.Person{}, &commands.InputError{
			Problem: fmt.Sprintf("AccessOwl has no user with <@%s>'s email (%s).", slackID, u.Profile.Email),
			Fix:     "Check in AccessOwl which email they are known by; `/revoke <access_state_id> <reason>` works with the ID directly.",
		}
	}
	i := slices.IndexFunc(users, func(au apiclient.User) bool { return strings.EqualFold(au.Email, u.Profile.Email) })
	if i < 0 || users[i].ID == "" {
		return store.Person{}, fmt.Errorf("%w: a search for the email %s answered %d users, none with that email (the first: %s)",
			ErrMismatch, u.Profile.Email, len(users), users[0].Email)
	}
	p := store.Person{AccessOwlID: users[i].ID, SlackID: slackID, Name: displayName(users[i], u), Email: users[i].Email}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.people[slackID] = cachedPerson{person: p, at: r.now()}
	r.sweepPeopleLocked()
	return p, nil
}

// ActiveAccess lists a person's active access states, newest first as AccessOwl returns them,
// and remembers them for AccessState and RecentAccess. Every state listed must be the person's:
// one of someone else's fails the whole listing with ErrMismatch, since a request made from it
// would show one person and revoke another's access.
func (r *Resolver) ActiveAccess(ctx context.Context, grantee store.Person) ([]store.Item, error) {
	ctx = apiclient.Lookup(ctx) // lookups leave the last of the hour to submissions
	var items []store.Item
	for s, err := range r.owl.AllAccessStates(ctx, apiclient.AccessStateListOptions{GranteeUserID: grantee.AccessOwlID, Expand: apiclient.ExpandAll}) {
		if err != nil {
			return nil, fmt.Errorf("list access of %s: %w", grantee.AccessOwlID, err)
		}
		if s.GranteeUserID == nil || *s.GranteeUserID != grantee.AccessOwlID {
			whose := "nobody"
			if s.GranteeUserID != nil {
				whose = *s.GranteeUserID
			}
			return nil, fmt.Errorf("%w: listing the access of %s answered access state %s of %s", ErrMismatch, grantee.AccessOwlID, s.ID, whose)
		}
		if !s.Active() {
			continue
		}
		_, it := stateOf(s)
		items = append(items, it)
	}
	// Only a listing accepted whole is remembered.
	for _, it := range items {
		r.remember(grantee, it)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.listings[grantee.AccessOwlID] = cachedListing{items: items, at: r.now()}
	r.sweepPeopleLocked()
	return slices.Clone(items), nil
}

// RecentAccess is ActiveAccess answered from a listing of the last minute when there is one:
// for the form's search, which asks again at every keystroke.
func (r *Resolver) RecentAccess(ctx context.Context, grantee store.Person) ([]store.Item, error) {
	if items, ok := r.RecentListing(grantee); ok {
		return items, nil
	}
	return r.ActiveAccess(ctx, grantee)
}

// RecentListing is the person's access as listed within the last minute, if it was.
func (r *Resolver) RecentListing(grantee store.Person) ([]store.Item, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	l, ok := r.listings[grantee.AccessOwlID]
	if !ok || r.now().Sub(l.at) > listingCacheTTL {
		return nil, false
	}
	return slices.Clone(l.items), true
}

// CachedAccess is the access of the Slack user slackID as listed within the last minute, found
// without asking anyone; false when either the person or the listing is not at hand.
func (r *Resolver) CachedAccess(slackID string) ([]store.Item, bool) {
	p, ok := r.cachedPerson(slackID)
	if !ok {
		return nil, false
	}
	return r.RecentListing(p)
}

// cachedPerson is the AccessOwl user found for a Slack user within the last minutes, if any.
func (r *Resolver) cachedPerson(slackID string) (store.Person, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.people[slackID]
	if !ok || r.now().Sub(c.at) > personCacheTTL {
		return store.Person{}, false
	}
	return c.person, true
}

// sweepPeopleLocked drops stale people and listings once there are too many to keep.
func (r *Resolver) sweepPeopleLocked() {
	now := r.now()
	if len(r.people) > maxCachedPeople {
		maps.DeleteFunc(r.people, func(_ string, c cachedPerson) bool { return now.Sub(c.at) > personCacheTTL/2 })
	}
	if len(r.listings) > maxCachedPeople {
		maps.DeleteFunc(r.listings, func(_ string, c cachedListing) bool { return now.Sub(c.at) > listingCacheTTL/2 })
	}
}

// ErrStateUnknown means the access state was neither listed recently nor found within the
// search budget, among more access states than that: it may exist, so the request can name it
// by ID only, and AccessOwl judges it on submission. An ID AccessOwl's whole list does not hold
// is an input error instead.
var ErrStateUnknown = errors.New("access state not found within the search budget")

// AccessState finds an access state's person and details by ID: from what was listed recently,
// or by paging through AccessOwl's access states within a small budget, since AccessOwl has no
// GET for one access state. An access state that has ended, or that the whole list does not
// hold, is a *commands.InputError; one not found within the budget is ErrStateUnknown, with the
// item naming the ID alone.
func (r *Resolver) AccessState(ctx context.Context, id string) (store.Person, store.Item, error) {
	ctx = apiclient.Lookup(ctx) // lookups leave the last of the hour to submissions
	if c, ok := r.cached(id); ok {
		return c.grantee, c.item, nil
	}
	seen := 0
	for s, err := range r.owl.AllAccessStates(ctx, apiclient.AccessStateListOptions{Expand: apiclient.ExpandAll}) {
		if err != nil {
			return store.Person{}, store.Item{}, fmt.Errorf("search access state %s: %w", id, err)
		}
		person, it := stateOf(s)
		if s.Active() {
			r.remember(person, it)
		}
		if strings.EqualFold(s.ID, id) {
			if !s.Active() {
				return store.Person{}, store.Item{}, &commands.InputError{
					Problem: fmt.Sprintf("Access state `%s` has already ended (%s): there is nothing left to revoke.", id, s.EffectiveEnd.Format(time.DateOnly)),
					Fix:     "Check the ID in AccessOwl.",
				}
			}
			return person, it, nil
		}
		if seen++; seen >= stateSearchLimit {
			return store.Person{}, store.Item{AccessStateID: id}, ErrStateUnknown
		}
	}
	return store.Person{}, store.Item{}, &commands.InputError{
		Problem: fmt.Sprintf("AccessOwl has no access state `%s`.", id),
		Fix:     "Check the ID in AccessOwl, or use `/revoke @person <application> <reason>`.",
	}
}

func (r *Resolver) cached(id string) (cachedState, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.states[strings.ToLower(id)]
	if !ok || r.now().Sub(c.listed) > stateCacheTTL {
		return cachedState{}, false
	}
	return c, true
}

func (r *Resolver) remember(grantee store.Person, it store.Item) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if len(r.states) >= maxCachedStates {
		for id, c := range r.states {
			if now.Sub(c.listed) > stateCacheTTL/2 {
				delete(r.states, id)
			}
		}
	}
	r.states[strings.ToLower(it.AccessStateID)] = cachedState{grantee: grantee, item: it, listed: now}
}

// stateOf turns an expanded access state into whose it is and the item a request would revoke.
func stateOf(s apiclient.AccessState) (store.Person, store.Item) {
	var grantee store.Person
	if s.GranteeUserID != nil {
		grantee.AccessOwlID = *s.GranteeUserID
	}
	if u := s.GranteeUser; u != nil {
		grantee.Name, grantee.Email = displayName(*u, nil), u.Email
	}
	it := store.Item{AccessStateID: s.ID, ApplicationID: s.ApplicationID}
	if a := s.Application; a != nil {
		it.ApplicationTitle, it.ProvisioningType = a.Title, string(a.ProvisioningType)
	}
	if s.ResourceID != nil {
		it.ResourceID = *s.ResourceID
	}
	// A resource without a title is named by its description (an AWS account's number, say),
	// which is what AccessOwl's web app shows for it.
	if res := s.Resource; res != nil && res.Title != nil && *res.Title != "" {
		it.ResourceTitle = *res.Title
	} else if res != nil && res.Description != nil {
		it.ResourceTitle = *res.Description
	}
	for _, p := range s.TargetPermissions {
		it.Permissions = append(it.Permissions, store.Permission{ID: p.ID, Title: p.Title, Elevated: p.Elevated})
	}
	return grantee, it
}

func displayName(u apiclient.User, su *slack.User) string {
	if u.FullName != "" {
		return u.FullName
	}
	var parts []string
	for _, p := range []*string{u.FirstName, u.LastName} {
		if p != nil && *p != "" {
			parts = append(parts, *p)
		}
	}
	if len(parts) > 0 {
		return strings.Join(parts, " ")
	}
	if su != nil && su.RealName != "" {
		return su.RealName
	}
	return u.Email
}
