package apiclient

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// ClockSkewAllowance is how far AccessOwl's clock may run behind ours when FindRevocation
// compares inserted_at with the time of the first attempt.
const ClockSkewAllowance = 2 * time.Minute

// RevocationQuery describes a revocation this client submitted but did not see created.
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
}

// FindRevocation finds the revocation a submission created when its answer was lost: it lists
// the grantee's revocations for the application (every page) and matches resource, reason,
// permissions if given, and an inserted_at no earlier than q.Since less ClockSkewAllowance. If several match, the newest
// wins; if none does, the error is ErrNotFound.
func (c *Client) FindRevocation(ctx context.Context, q RevocationQuery) (*Revocation, error) {
	opts := RevocationListOptions{UserID: q.GranteeUserID, ApplicationID: q.ApplicationID}
	notBefore := q.Since.Add(-ClockSkewAllowance)
	var found *Revocation
	for r, err := range c.AllRevocations(ctx, opts) {
		if err != nil {
			return nil, fmt.Errorf("find revocation: %w", err)
		}
		if !q.matches(r, notBefore) {
			continue
		}
		if found == nil || r.InsertedAt.After(found.InsertedAt) {
			found = &r
		}
	}
	if found == nil {
		return nil, fmt.Errorf("find revocation of %s on %s since %s: %w",
			q.GranteeUserID, q.ApplicationID, notBefore.Format(time.RFC3339), ErrNotFound)
	}
	return found, nil
}

func (q RevocationQuery) matches(r Revocation, notBefore time.Time) bool {
	return deref(r.GranteeUserID) == q.GranteeUserID &&
		r.ApplicationID == q.ApplicationID &&
		deref(r.ResourceID) == q.ResourceID &&
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
