package commands

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

// Resolver turns what a person typed — a Slack user, an application's name, an access state's
// ID — into the AccessOwl access state a request would revoke. Its answers are store.Requests
// with only the target fields set: Grantee, AccessStateID, the application, the resource and the
// permissions.
type Resolver struct {
	owl   AccessOwl
	slack SlackUsers
	now   func() time.Time

	mu     sync.Mutex
	states map[string]cachedTarget
}

type cachedTarget struct {
	target store.Request
	listed time.Time
}

// NewResolver returns a resolver; now may be nil for the real clock.
func NewResolver(owl AccessOwl, slackUsers SlackUsers, now func() time.Time) *Resolver {
	if now == nil {
		now = time.Now
	}
	return &Resolver{owl: owl, slack: slackUsers, now: now, states: make(map[string]cachedTarget)}
}

// Person finds the AccessOwl user behind a Slack user, through the email Slack shows for them.
func (r *Resolver) Person(ctx context.Context, slackID string) (store.Person, error) {
	u, err := r.slack.GetUserInfoContext(ctx, slackID)
	if err != nil {
		if strings.Contains(err.Error(), "user_not_found") {
			return store.Person{}, &InputError{Problem: fmt.Sprintf("Slack does not know <@%s>.", slackID), Fix: "Pick the person from Slack's list after typing @."}
		}
		return store.Person{}, fmt.Errorf("look up Slack user %s: %w", slackID, err)
	}
	if u.Profile.Email == "" {
		return store.Person{}, &InputError{
			Problem: fmt.Sprintf("Slack shows no email for <@%s>, and AccessOwl finds people by email.", slackID),
			Fix:     "Bots and guests without an email cannot be looked up; use `/revoke <access_state_id> <reason>` instead.",
		}
	}
	users, _, err := r.owl.ListUsers(ctx, apiclient.UserListOptions{Email: u.Profile.Email, Status: apiclient.UserStatusAll})
	if err != nil {
		return store.Person{}, fmt.Errorf("find AccessOwl user %s: %w", u.Profile.Email, err)
	}
	if len(users) == 0 {
		return store.Person{}, &InputError{
			Problem: fmt.Sprintf("AccessOwl has no user with <@%s>'s email (%s).", slackID, u.Profile.Email),
			Fix:     "Check in AccessOwl which email they are known by; `/revoke <access_state_id> <reason>` works with the ID directly.",
		}
	}
	return store.Person{AccessOwlID: users[0].ID, SlackID: slackID, Name: displayName(users[0], u), Email: users[0].Email}, nil
}

// ActiveAccess lists a person's active access states, newest first as AccessOwl returns them,
// and remembers them for AccessState.
func (r *Resolver) ActiveAccess(ctx context.Context, grantee store.Person) ([]store.Request, error) {
	var targets []store.Request
	for s, err := range r.owl.AllAccessStates(ctx, apiclient.AccessStateListOptions{GranteeUserID: grantee.AccessOwlID, Expand: apiclient.ExpandAll}) {
		if err != nil {
			return nil, fmt.Errorf("list access of %s: %w", grantee.AccessOwlID, err)
		}
		if !s.Active() {
			continue
		}
		t := targetOf(s)
		if t.Grantee.SlackID == "" {
			t.Grantee.SlackID = grantee.SlackID
		}
		r.remember(t)
		targets = append(targets, t)
	}
	return targets, nil
}

// MatchApplication returns the targets whose application's title matches query: those whose
// title equals it, ignoring case, if any; otherwise those whose title contains it.
func MatchApplication(targets []store.Request, query string) []store.Request {
	q := strings.ToLower(strings.TrimSpace(query))
	var exact, partial []store.Request
	for _, t := range targets {
		title := strings.ToLower(t.ApplicationTitle)
		switch {
		case title == q:
			exact = append(exact, t)
		case strings.Contains(title, q):
			partial = append(partial, t)
		}
	}
	if len(exact) > 0 {
		return exact
	}
	return partial
}

// ErrStateUnknown means the access state was neither listed recently nor found within the
// search budget: the request can only name it by ID, and AccessOwl judges it on submission.
var ErrStateUnknown = errors.New("access state not found within the search budget")

// AccessState finds an access state's details by ID: from what was listed recently, or by
// paging through AccessOwl's access states within a small budget, since AccessOwl has no GET
// for one access state. An access state that has ended is an *InputError.
func (r *Resolver) AccessState(ctx context.Context, id string) (store.Request, error) {
	if t, ok := r.cached(id); ok {
		return t, nil
	}
	seen := 0
	for s, err := range r.owl.AllAccessStates(ctx, apiclient.AccessStateListOptions{Expand: apiclient.ExpandAll}) {
		if err != nil {
			return store.Request{}, fmt.Errorf("search access state %s: %w", id, err)
		}
		if s.Active() {
			r.remember(targetOf(s))
		}
		if strings.EqualFold(s.ID, id) {
			if !s.Active() {
				return store.Request{}, &InputError{
					Problem: fmt.Sprintf("Access state `%s` has already ended (%s): there is nothing left to revoke.", id, s.EffectiveEnd.Format(time.DateOnly)),
					Fix:     "Check the ID in AccessOwl.",
				}
			}
			return targetOf(s), nil
		}
		if seen++; seen >= stateSearchLimit {
			break
		}
	}
	return store.Request{AccessStateID: id}, ErrStateUnknown
}

func (r *Resolver) cached(id string) (store.Request, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.states[strings.ToLower(id)]
	if !ok || r.now().Sub(c.listed) > stateCacheTTL {
		return store.Request{}, false
	}
	return c.target, true
}

func (r *Resolver) remember(t store.Request) {
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
	r.states[strings.ToLower(t.AccessStateID)] = cachedTarget{target: t, listed: now}
}

// targetOf turns an expanded access state into the target fields of a request.
func targetOf(s apiclient.AccessState) store.Request {
	t := store.Request{AccessStateID: s.ID, ApplicationID: s.ApplicationID}
	if s.GranteeUserID != nil {
		t.Grantee.AccessOwlID = *s.GranteeUserID
	}
	if u := s.GranteeUser; u != nil {
		t.Grantee.Name, t.Grantee.Email = displayName(*u, nil), u.Email
	}
	if a := s.Application; a != nil {
		t.ApplicationTitle, t.ProvisioningType = a.Title, string(a.ProvisioningType)
	}
	if s.ResourceID != nil {
		t.ResourceID = *s.ResourceID
	}
	if res := s.Resource; res != nil && res.Title != nil {
		t.ResourceTitle = *res.Title
	}
	for _, p := range s.TargetPermissions {
		title := p.Title
		if p.Elevated {
			title += " (elevated)"
		}
		t.Permissions = append(t.Permissions, title)
	}
	return t
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

// Label is how an access state is shown in lists and the modal: Application · Resource ·
// permissions.
func Label(t store.Request) string {
	parts := []string{t.ApplicationTitle}
	if t.ResourceTitle != "" {
		parts = append(parts, t.ResourceTitle)
	} else if t.ResourceID == "" {
		parts = append(parts, "whole application")
	}
	if len(t.Permissions) > 0 {
		parts = append(parts, strings.Join(t.Permissions, ", "))
	}
	return strings.Join(parts, " · ")
}
