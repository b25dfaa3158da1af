package interactions

import (
	"context"
	"errors"
	"fmt"
	"iter"
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
)

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

	mu     sync.Mutex
	states map[string]cachedState
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
	return &Resolver{owl: owl, slack: slackUsers, now: now, states: make(map[string]cachedState)}
}

// Person finds the AccessOwl user behind a Slack user, through the email Slack shows for them.
func (r *Resolver) Person(ctx context.Context, slackID string) (store.Person, error) {
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
	return store.Person{AccessOwlID: users[0].ID, SlackID: slackID, Name: displayName(users[0], u), Email: users[0].Email}, nil
}

// ActiveAccess lists a person's active access states, newest first as AccessOwl returns them,
// and remembers them for AccessState.
func (r *Resolver) ActiveAccess(ctx context.Context, grantee store.Person) ([]store.Item, error) {
	var items []store.Item
	for s, err := range r.owl.AllAccessStates(ctx, apiclient.AccessStateListOptions{GranteeUserID: grantee.AccessOwlID, Expand: apiclient.ExpandAll}) {
		if err != nil {
			return nil, fmt.Errorf("list access of %s: %w", grantee.AccessOwlID, err)
		}
		if !s.Active() {
			continue
		}
		person, it := stateOf(s)
		if person.SlackID == "" {
			person.SlackID = grantee.SlackID
		}
		r.remember(person, it)
		items = append(items, it)
	}
	return items, nil
}

// ErrStateUnknown means the access state was neither listed recently nor found within the
// search budget: the request can only name it by ID, and AccessOwl judges it on submission.
var ErrStateUnknown = errors.New("access state not found within the search budget")

// AccessState finds an access state's person and details by ID: from what was listed recently,
// or by paging through AccessOwl's access states within a small budget, since AccessOwl has no
// GET for one access state. An access state that has ended is a *commands.InputError; one not
// found is ErrStateUnknown, with the item naming the ID alone.
func (r *Resolver) AccessState(ctx context.Context, id string) (store.Person, store.Item, error) {
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
			break
		}
	}
	return store.Person{}, store.Item{AccessStateID: id}, ErrStateUnknown
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
	if res := s.Resource; res != nil && res.Title != nil {
		it.ResourceTitle = *res.Title
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
