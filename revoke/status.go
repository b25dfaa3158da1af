package revoke

import (
	"context"
	"errors"
	"time"

	"revokebot/apiclient"
	"revokebot/store"
)

// statusChanged makes a revocation's new status known — one thread reply — saves it, and
// brings the approval message's status line up to date from the store, so that the message of
// a request with several accesses shows every status saved so far. Dying before the row is
// saved leaves it stale: the next sweep sees the change again, its claim fails, and it only
// brings the row and the message up to date.
func (s *Service) statusChanged(ctx context.Context, r store.Request, it store.Item, row store.Tracked, status store.Status, now time.Time) error {
	return s.statusMarked(ctx, r, it, row, status, now, "", "")
}

// statusMarked is statusChanged for a change a click in the thread made: its reply says who
// marked it and why.
func (s *Service) statusMarked(ctx context.Context, r store.Request, it store.Item, row store.Tracked, status store.Status, now time.Time, by, reason string) error {
	it.RevocationID = row.RevocationID
	claimed, postErr := s.announce(ctx, r, Event{Kind: StatusChanged, Item: it, RevocationID: row.RevocationID, Status: status, MarkedBy: by, Reason: reason}, "")
	if errors.Is(postErr, errSuperseded) || errors.Is(postErr, errInFlight) {
		return nil // the newer status, or the announcement on its way, shows and saves itself
	}
	if !claimed && postErr == nil {
		// Announced before: by whoever saved it already (nothing left to do), or by a process
		// that stopped before it saved the row (bring the row and the message up to date).
		if saved, err := s.store.TrackedRevocation(ctx, row.RevocationID); err == nil && saved.Status == status {
			return nil
		}
	}
	row.Status = status
	row.Unchanged = 0
	row.NextCheck = now.Add(s.poll)
	row.UpdatedAt = now
	if err := s.store.UpdateTracked(ctx, row); err != nil {
		return errors.Join(postErr, err)
	}
	if fresh, err := s.store.Request(ctx, r.ID); err == nil {
		r = fresh
	}
	if several(r) {
		s.progressChanged(ctx, r.ID) // which brings the approval message up to date too
	} else {
		s.updateRequest(ctx, withItem(r, row.AccessStateID, func(it *store.Item) { it.Status, it.LastError = status, "" }))
	}
	switch {
	case status.Done():
		s.closeAsk(ctx, r, it, status)
	case it.ProvisioningType == string(apiclient.ProvisioningApplicationAdmin):
		s.reminders.kick() // its admins are to be asked, now that the thread says it was submitted
	}
	return postErr
}
