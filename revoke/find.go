package revoke

import (
	"context"
	"errors"
	"fmt"
	"time"

	"revokebot/apiclient"
	"revokebot/store"
)

const (
	// keyMemory is how long AccessOwl remembers an Idempotency-Key; after it the same key and
	// body create a second revocation.
	keyMemory = 14 * 24 * time.Hour
	// keyMargin keeps clear of the end of keyMemory, for clocks that disagree and submissions
	// that take a while: past keyMemory less this, nothing is sent with an old key again.
	keyMargin = 24 * time.Hour
	// KeyWindow is how long after an item's first submission attempt its key may be sent again,
	// with AccessOwl's 409 as the arbiter. Past it, the store answers.
	KeyWindow = keyMemory - keyMargin
)

// findLost finds the revocation an item's earlier submission created when nobody recorded it:
// by the item's person, application, resource, permissions and the request's reason, created
// no earlier than the first attempt, and never one that already belongs to another request.
// An item known only by its access state's ID (the person and application were never found)
// is searched by reason and time alone, and must match exactly one.
func (s *Service) findLost(ctx context.Context, r store.Request, it store.Item, since time.Time) (*apiclient.Revocation, error) {
	q := apiclient.RevocationQuery{
		GranteeUserID: r.Grantee.AccessOwlID,
		ApplicationID: it.ApplicationID,
		ResourceID:    it.ResourceID,
		PermissionIDs: permissionIDs(it),
		Reason:        r.Reason,
		Since:         since,
		Taken: func(revocationID string) bool {
			owner, err := s.store.RequestByRevocation(ctx, revocationID)
			if err != nil {
				return false
			}
			mine, _ := owner.Item(it.AccessStateID)
			return owner.ID != r.ID || mine.RevocationID != revocationID
		},
	}
	return s.owl.FindRevocation(ctx, q)
}

// permissionIDs returns the item's permission IDs for matching a revocation's permission_ids,
// or nil — compare nothing — when any is unknown (a request stored by an older release kept the
// titles only).
func permissionIDs(it store.Item) []string {
	ids := make([]string, 0, len(it.Permissions))
	for _, p := range it.Permissions {
		if p.ID == "" {
			return nil
		}
		ids = append(ids, p.ID)
	}
	return ids
}

// errNotThisAccess means AccessOwl answered a submission with a revocation of another access
// than the one submitted.
var errNotThisAccess = errors.New("AccessOwl answered with a revocation of another access")

// checkCreated compares the revocation AccessOwl answered with what was submitted, as far as
// the item knows it: its person, application and resource. AccessOwl's answer is not trusted
// to be about what was asked.
func checkCreated(r store.Request, it store.Item, rev apiclient.Revocation) error {
	deref := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	switch {
	case r.Grantee.AccessOwlID != "" && deref(rev.GranteeUserID) != r.Grantee.AccessOwlID:
		return fmt.Errorf("%w: grantee %q, submitted %q", errNotThisAccess, deref(rev.GranteeUserID), r.Grantee.AccessOwlID)
	case it.ApplicationID != "" && rev.ApplicationID != it.ApplicationID:
		return fmt.Errorf("%w: application %q, submitted %q", errNotThisAccess, rev.ApplicationID, it.ApplicationID)
	case it.ApplicationID != "" && deref(rev.ResourceID) != it.ResourceID:
		return fmt.Errorf("%w: resource %q, submitted %q", errNotThisAccess, deref(rev.ResourceID), it.ResourceID)
	}
	return nil
}
