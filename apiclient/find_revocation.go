package apiclient

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// ClockSkewAllowance is how far AccessOwl's clock may run behind ours when FindRevocation
// compares inserted_at with the time of the first attempt.
const ClockSkewAllowance = 2 * time.Minute

// unfilteredPageLimit bounds a search that cannot filter by grantee (a request known only by
// its access state's ID): twenty pages of a hundred revocations.
const unfilteredPageLimit = 20

// ErrAmbiguous means several revocations match a search that cannot tell them apart.
var ErrAmbiguous = errors.New("accessowl: several revocations match")

// RevocationQuery describes a revocation this client submitted but did not see created.
// GranteeUserID and ApplicationID narrow the list AccessOwl returns and must then match; empty,
// the search runs over every revocation (a bounded number of pages) and must find exactly one.
type RevocationQuery struct {
	GranteeUserID string
	ApplicationID string
	ResourceID    string // "" for an application-wide access state
	Reason        string
	// PermissionIDs, when not nil, must equal the revocation's permission_ids as a set; it tells
	// apart two access states of one person to the same resource. Nil skips the comparison.
	PermissionIDs []string
	// Since is when the first attempt was sent (AlreadySubmittedError.FirstAttemptAt).
	Since time.Time
	// Taken, if set, reports revocations that already belong to another request: they are
	// never the one searched for.
	Taken func(revocationID string) bool
}

// FindRevocation finds the revocation a submission created when its answer was lost: it lists
// the grantee's revocations for the application (every page) and matches resource, reason,
// permissions if given, and an inserted_at no earlier than q.Since less ClockSkewAllowance,
// skipping those q.Taken names. If several match, the newest wins — unless the search could not
// filter by grantee, where several matches are ErrAmbiguous rather than a guess. If none
// matches, the error is ErrNotFound.
func (c *Client) FindRevocation(ctx context.Context, q RevocationQuery) (*Revocation, error) {
	opts := RevocationListOptions{UserID: q.GranteeUserID, ApplicationID: q.ApplicationID}
	notBefore := q.Since.Add(-ClockSkewAllowance)
	unfiltered := q.GranteeUserID == ""
	var (
		found   *Revocation
		matches int
		seen    int
	)
	for r, err := range c.AllRevocations(ctx, opts) {
		if err != nil {
			return nil, fmt.Errorf("find revocation: %w", err)
		}
		if seen++; unfiltered && seen > unfilteredPageLimit*maxPageSize {
			break
		}
		if !q.matches(r, notBefore) || (q.Taken != nil && q.Taken(r.ID)) {
			continue
		}
		matches++
		if found == nil || r.InsertedAt.After(found.InsertedAt) {
			found = &r
		}
	}
	switch {
	case found == nil:
		return nil, fmt.Errorf("find revocation of %q on %q since %s: %w",
			q.GranteeUserID, q.ApplicationID, notBefore.Format(time.RFC3339), ErrNotFound)
	case unfiltered && matches > 1:
		return nil, fmt.Errorf("find revocation with reason %q since %s: %d match: %w",
			q.Reason, notBefore.Format(time.RFC3339), matches, ErrAmbiguous)
	}
	return found, nil
}

func (q RevocationQuery) matches(r Revocation, notBefore time.Time) bool {
	return (q.GranteeUserID == "" || deref(r.GranteeUserID) == q.GranteeUserID) &&
		(q.ApplicationID == "" || r.ApplicationID == q.ApplicationID) &&
		(q.GranteeUserID == "" || deref(r.ResourceID) == q.ResourceID) &&
		r.Reason == q.Reason &&
		!r.InsertedAt.Before(notBefore) &&
		(q.PermissionIDs == nil || sameSet(q.PermissionIDs, r.PermissionIDs))
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
