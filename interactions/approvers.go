package interactions

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"golang.org/x/sync/singleflight"

	"revokebot/store"
)

// groupMembersTTL is how long a user group's members are trusted before Slack is asked again:
// short, so removing someone from the group takes their approval right away within a minute,
// long enough that a burst of clicks costs one usergroups.users.list call (Tier 2: ~20/min).
const groupMembersTTL = time.Minute

// groupLookupTimeout bounds one usergroups.users.list call. The call is shared by every click
// waiting on it, so it runs on its own deadline rather than the first clicker's context.
const groupLookupTimeout = 10 * time.Second

// Directory is the part of the Slack API the policy needs: user groups' members, and a person's
// email to tell whether they are the one whose access a request revokes. *slack.Client
// satisfies it.
type Directory interface {
	GetUserGroupMembersContext(ctx context.Context, group string, options ...slack.GetUserGroupMembersOption) ([]string, error)
	GetUserInfoContext(ctx context.Context, user string, options ...slack.GetUserInfoOption) (*slack.User, error)
}

// Refusal says why a click may not decide a request. Its Message is safe to show the clicker.
type Refusal struct {
	Message string
}

func (r *Refusal) Error() string { return r.Message }

// The refusals people see.
var (
	errNotApprover = &Refusal{Message: "You are not allowed to approve or reject revocations: only the approvers configured for revokebot can."}
	errSelfApprove = &Refusal{Message: "You are not allowed to approve your own request: another approver has to."}
	errOwnAccess   = &Refusal{Message: "You are not allowed to approve or reject the revocation of your own access: another approver has to decide it."}
)

// Action is what a click asks to do with a request.
type Action string

// The two decisions.
const (
	Approve Action = "approve"
	Reject  Action = "reject"
)

// Approvers is the approver policy: who may decide a request. Approvers are Slack user IDs and
// the members of Slack user groups; everyone is identified by the immutable user ID, never by a
// name.
type Approvers struct {
	users             map[string]bool
	groups            []string
	allowSelfApproval bool
	slack             Directory
	now               func() time.Time

	flight singleflight.Group
	mu     sync.Mutex
	cache  map[string]groupEntry
	emails map[string]emailEntry // Slack user ID → email, looked up to recognise a grantee
}

type emailEntry struct {
	email   string
	fetched time.Time
}

type groupEntry struct {
	members map[string]bool
	fetched time.Time
}

var approverID = regexp.MustCompile(`^[UWS][A-Z0-9]{2,}$`)

// ParseApprovers checks a REVOKE_APPROVERS list: Slack user IDs (U…, W…) and user-group IDs
// (S…). It refuses an empty list, because a bot nobody may approve on is a misconfiguration.
func ParseApprovers(ids []string) (users, groups []string, err error) {
	for _, id := range ids {
		id = strings.TrimSpace(id)
		if id == "" {
			continue
		}
		if !approverID.MatchString(id) {
			return nil, nil, fmt.Errorf("%q is not a Slack user ID (U…, W…) or user-group ID (S…)", id)
		}
		if id[0] == 'S' {
			groups = append(groups, id)
		} else {
			users = append(users, id)
		}
	}
	if len(users)+len(groups) == 0 {
		return nil, nil, errors.New("no approvers: list at least one Slack user ID or user-group ID")
	}
	return users, groups, nil
}

// NewApprovers returns the policy for the given user and group IDs. now may be nil for the
// real clock.
func NewApprovers(users, groups []string, allowSelfApproval bool, directory Directory, now func() time.Time) *Approvers {
	if now == nil {
		now = time.Now
	}
	a := &Approvers{
		users:             make(map[string]bool, len(users)),
		groups:            groups,
		allowSelfApproval: allowSelfApproval,
		slack:             directory,
		now:               now,
		cache:             make(map[string]groupEntry),
		emails:            make(map[string]emailEntry),
	}
	for _, u := range users {
		a.users[u] = true
	}
	return a
}

// Check returns nil if user may take action on the stored request r, a *Refusal if not, and
// another error if Slack could not say who is in an approver group or who user is. Such an
// error refuses too: the policy fails closed. A requester may not approve their own request
// unless allowed; the person whose access r revokes decides nothing about it either way.
func (a *Approvers) Check(ctx context.Context, user string, action Action, r store.Request) error {
	if action == Approve && user == r.RequesterID && !a.allowSelfApproval {
		return errSelfApprove
	}
	grantee, err := a.isGrantee(ctx, user, r.Grantee)
	if err != nil {
		return fmt.Errorf("check approver %s: %w", user, err)
	}
	if grantee {
		return errOwnAccess
	}
	if a.users[user] {
		return nil
	}
	for _, group := range a.groups {
		members, err := a.members(ctx, group)
		if err != nil {
			return fmt.Errorf("check approver %s: %w", user, err)
		}
		if members[user] {
			return nil
		}
	}
	return errNotApprover
}

// isGrantee reports whether the Slack user is the person g: by Slack ID when the request knows
// it, otherwise by the email Slack shows for the user. A request that knows neither (made by an
// access state's ID that AccessOwl did not describe) cannot tell, and says no.
func (a *Approvers) isGrantee(ctx context.Context, user string, g store.Person) (bool, error) {
	switch {
	case g.SlackID != "":
		return g.SlackID == user, nil
	case g.Email == "":
		return false, nil
	}
	email, err := a.email(ctx, user)
	return strings.EqualFold(email, g.Email), err
}

// email returns the email Slack shows for a user, trusted for as long as a group's members.
func (a *Approvers) email(ctx context.Context, user string) (string, error) {
	a.mu.Lock()
	e, ok := a.emails[user]
	a.mu.Unlock()
	if ok && a.now().Sub(e.fetched) < groupMembersTTL {
		return e.email, nil
	}
	u, err := a.slack.GetUserInfoContext(ctx, user)
	if err != nil {
		return "", fmt.Errorf("look up Slack user %s: %w", user, err)
	}
	a.mu.Lock()
	a.emails[user] = emailEntry{email: u.Profile.Email, fetched: a.now()}
	a.mu.Unlock()
	return u.Profile.Email, nil
}

// members returns a group's members from the cache while fresh, asking Slack once for all the
// clicks that need it at the same moment.
func (a *Approvers) members(ctx context.Context, group string) (map[string]bool, error) {
	a.mu.Lock()
	entry, ok := a.cache[group]
	a.mu.Unlock()
	if ok && a.now().Sub(entry.fetched) < groupMembersTTL {
		return entry.members, nil
	}
	ch := a.flight.DoChan(group, func() (any, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), groupLookupTimeout)
		defer cancel()
		ids, err := a.slack.GetUserGroupMembersContext(ctx, group)
		if err != nil {
			return nil, fmt.Errorf("list members of user group %s: %w", group, err)
		}
		members := make(map[string]bool, len(ids))
		for _, id := range ids {
			members[id] = true
		}
		a.mu.Lock()
		a.cache[group] = groupEntry{members: members, fetched: a.now()}
		a.mu.Unlock()
		return members, nil
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.(map[string]bool), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
