package memstore

import (
	"context"
	"slices"
	"time"

	"revokebot/store"
)

// DeleteFinishedBefore deletes up to limit finished requests last active before cutoff, oldest
// first, with their items, replies and asks; see store.Retention.
func (m *Store) DeleteFinishedBefore(_ context.Context, cutoff time.Time, limit int) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var done []store.Request
	for _, r := range m.requests {
		if m.finishedBefore(r, cutoff) {
			done = append(done, r)
		}
	}
	sortByCreation(done)
	if len(done) > limit {
		done = done[:max(limit, 0)]
	}
	for _, r := range done {
		for _, it := range r.Items {
			if it.RevocationID != "" {
				delete(m.revocations, it.RevocationID)
				delete(m.tracking, it.RevocationID)
				delete(m.asks, it.RevocationID)
			}
		}
		for k := range m.posts {
			if k.request == r.ID {
				delete(m.posts, k)
			}
		}
		delete(m.requests, r.ID)
	}
	return len(done), nil
}

// finishedBefore reports whether r is finished and was last active before cutoff; m.mu is held.
func (m *Store) finishedBefore(r store.Request, cutoff time.Time) bool {
	switch r.State {
	case store.Rejected, store.Expired:
	case store.Approved:
		for _, it := range r.Items {
			if it.Refusal == "" && !it.Status.Done() {
				return false
			}
		}
	default:
		return false
	}
	activity := []time.Time{r.CreatedAt, r.DecidedAt}
	for _, it := range r.Items {
		activity = append(activity, it.SubmittedAt)
		if it.RevocationID != "" {
			activity = append(activity, m.tracking[it.RevocationID].updatedAt)
		}
	}
	for k, p := range m.posts {
		if k.request != r.ID {
			continue
		}
		if p.PostedTS == "" {
			return false
		}
		activity = append(activity, p.ClaimedAt)
	}
	return !slices.ContainsFunc(activity, func(at time.Time) bool { return !at.Before(cutoff) })
}

// DeleteAuditBefore deletes up to limit audit records made before cutoff, oldest first.
func (m *Store) DeleteAuditBefore(_ context.Context, cutoff time.Time, limit int) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	order := m.auditOrder()
	var drop []int
	for _, i := range order {
		if len(drop) == limit || !m.audit[i].At.Before(cutoff) {
			break
		}
		drop = append(drop, i)
	}
	slices.Sort(drop)
	for n, i := range drop {
		m.audit = slices.Delete(m.audit, i-n, i-n+1)
	}
	return len(drop), nil
}

// auditOrder returns the indexes of the audit records, oldest first and then in the order they
// were appended; m.mu is held.
func (m *Store) auditOrder() []int {
	order := make([]int, len(m.audit))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return m.audit[a].At.Compare(m.audit[b].At) })
	return order
}

// AuditSince calls fn with the audit records made in [since, until), oldest first.
func (m *Store) AuditSince(ctx context.Context, since, until time.Time, fn func(store.AuditRecord) error) error {
	m.mu.Lock()
	var out []store.AuditRecord
	for _, i := range m.auditOrder() {
		a := m.audit[i]
		if !a.At.Before(since) && (until.IsZero() || a.At.Before(until)) {
			out = append(out, a)
		}
	}
	m.mu.Unlock()
	// fn runs without the lock, so that it may take its time; the copy is what the store held
	// when the call began.
	for _, a := range out {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(a); err != nil {
			return err
		}
	}
	return nil
}

// Count returns how many rows of each kind the store holds.
func (m *Store) Count(context.Context) (store.Counts, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := store.Counts{Requests: int64(len(m.requests)), Posts: int64(len(m.posts)), Audit: int64(len(m.audit))}
	for _, r := range m.requests {
		c.Items += int64(len(r.Items))
	}
	return c, nil
}
