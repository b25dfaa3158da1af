package bot

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"revokebot/store"
	"revokebot/store/storetest"
)

// memStore is a store.Store in memory, for tests that write thousands of tracked rows on fake
// time, where SQLite's fsyncs (and -race's cost on its transpiled C) would dominate. It passes
// the same conformance tests as the SQLite store.
type memStore struct {
	mu       sync.Mutex
	requests map[uuid.UUID]store.Request
	tracked  map[string]store.Tracked
	posts    map[statusKey]store.StatusPost
	audit    []store.AuditRecord
}

var _ store.Store = (*memStore)(nil)

func newMemStore() *memStore {
	return &memStore{
		requests: make(map[uuid.UUID]store.Request),
		tracked:  make(map[string]store.Tracked),
		posts:    make(map[statusKey]store.StatusPost),
	}
}

func TestMemStoreConforms(t *testing.T) {
	storetest.Run(t, func(*testing.T) store.Store { return newMemStore() })
}

func (m *memStore) CreateRequest(_ context.Context, r store.Request) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.insert(r), nil
}

func (m *memStore) insert(r store.Request) bool {
	if _, ok := m.requests[r.ID]; ok {
		return false
	}
	if r.State == "" {
		r.State = store.Pending
	}
	r.Permissions = slices.Clone(r.Permissions)
	m.requests[r.ID] = r
	return true
}

func (m *memStore) Request(_ context.Context, id uuid.UUID) (store.Request, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.requests[id]
	if !ok {
		return store.Request{}, store.ErrNotFound
	}
	return r, nil
}

func (m *memStore) RequestByRevocation(_ context.Context, revocationID string) (store.Request, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range m.requests {
		if revocationID != "" && r.RevocationID == revocationID {
			return r, nil
		}
	}
	return store.Request{}, store.ErrNotFound
}

func (m *memStore) change(id uuid.UUID, fn func(*store.Request)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.requests[id]
	if !ok {
		return fmt.Errorf("request %s: %w", id, store.ErrNotFound)
	}
	fn(&r)
	m.requests[id] = r
	return nil
}

func (m *memStore) SetMessage(_ context.Context, id uuid.UUID, channel, ts string) error {
	return m.change(id, func(r *store.Request) { r.Channel, r.MessageTS = channel, ts })
}

func (m *memStore) Decide(_ context.Context, r store.Request, d store.Decision) (store.Request, bool, error) {
	if d.State != store.Approved && d.State != store.Rejected {
		return store.Request{}, false, fmt.Errorf("%q is not a decision", d.State)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r.State = store.Pending
	m.insert(r)
	stored := m.requests[r.ID]
	if stored.State != store.Pending {
		return stored, false, nil
	}
	stored.State, stored.DecidedBy, stored.DecidedAt = d.State, d.By, d.At
	m.requests[r.ID] = stored
	return stored, true, nil
}

func (m *memStore) ExpirePending(_ context.Context, cutoff time.Time) ([]store.Request, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var expired []store.Request
	for id, r := range m.requests {
		if r.State == store.Pending && r.CreatedAt.Before(cutoff) {
			r.State = store.Expired
			m.requests[id] = r
			expired = append(expired, r)
		}
	}
	slices.SortFunc(expired, func(a, b store.Request) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return expired, nil
}

func (m *memStore) MarkSubmitting(_ context.Context, id uuid.UUID, at time.Time) (store.Request, error) {
	if err := m.change(id, func(r *store.Request) {
		if r.SubmittedAt.IsZero() {
			r.SubmittedAt = at
		}
	}); err != nil {
		return store.Request{}, err
	}
	return m.Request(context.Background(), id)
}

func (m *memStore) SetRevocation(_ context.Context, id uuid.UUID, revocationID string) error {
	return m.change(id, func(r *store.Request) { r.RevocationID = revocationID })
}

func (m *memStore) SetRefusal(_ context.Context, id uuid.UUID, refusal string) error {
	return m.change(id, func(r *store.Request) { r.Refusal = refusal })
}

func (m *memStore) Unsubmitted(context.Context) ([]store.Request, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.Request
	for _, r := range m.requests {
		if r.State == store.Approved && r.RevocationID == "" && r.Refusal == "" {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b store.Request) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

func (m *memStore) Track(_ context.Context, t store.Tracked) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.tracked[t.RevocationID]; !ok {
		m.tracked[t.RevocationID] = t
	}
	return nil
}

func (m *memStore) UpdateTracked(_ context.Context, t store.Tracked) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	old, ok := m.tracked[t.RevocationID]
	if !ok {
		return fmt.Errorf("tracked revocation %s: %w", t.RevocationID, store.ErrNotFound)
	}
	t.RequestID = old.RequestID
	m.tracked[t.RevocationID] = t
	return nil
}

func (m *memStore) Tracking(context.Context) ([]store.Tracked, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.Tracked
	for _, t := range m.tracked {
		if !t.Final {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b store.Tracked) int {
		return cmp.Or(a.NextCheck.Compare(b.NextCheck), cmp.Compare(a.RevocationID, b.RevocationID))
	})
	return out, nil
}

func (m *memStore) ClaimStatus(_ context.Context, p store.StatusPost) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	key := statusKey{p.RevocationID, p.Status}
	if _, ok := m.posts[key]; ok {
		return false, nil
	}
	p.PostedTS = ""
	m.posts[key] = p
	return true, nil
}

func (m *memStore) MarkStatusPosted(_ context.Context, revocationID, status, ts string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	key := statusKey{revocationID, status}
	p, ok := m.posts[key]
	if !ok {
		return fmt.Errorf("status %s of %s: %w", status, revocationID, store.ErrNotFound)
	}
	p.PostedTS = ts
	m.posts[key] = p
	return nil
}

func (m *memStore) UnpostedStatuses(context.Context) ([]store.StatusPost, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.StatusPost
	for _, p := range m.posts {
		if p.PostedTS == "" {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b store.StatusPost) int {
		return cmp.Or(a.ClaimedAt.Compare(b.ClaimedAt), cmp.Compare(a.RevocationID, b.RevocationID), cmp.Compare(a.Status, b.Status))
	})
	return out, nil
}

func (m *memStore) Audit(_ context.Context, a store.AuditRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.audit = append(m.audit, a)
	return nil
}

func (m *memStore) AuditTrail(_ context.Context, requestID uuid.UUID) ([]store.AuditRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.AuditRecord
	for _, a := range m.audit {
		if a.RequestID == requestID {
			out = append(out, a)
		}
	}
	return out, nil
}

func (m *memStore) Ping(context.Context) error { return nil }
func (m *memStore) Close() error               { return nil }
