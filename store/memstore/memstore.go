// Package memstore is a store.Store in memory: for tests that write thousands of rows on fake
// time, where SQLite's fsyncs would dominate, and for unit tests of the revocation lifecycle. It
// passes the same conformance suite as the durable stores, and keeps nothing across a restart.
package memstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"revokebot/store"
)

// Store is a store.Store in memory. The zero value is not usable; call New.
type Store struct {
	mu          sync.Mutex
	requests    map[uuid.UUID]store.Request
	revocations map[string]itemRef // revocation ID → the item that created it
	tracking    map[string]tracking
	posts       map[postKey]store.Post
	asks        map[string]store.Ask // by revocation ID; made on first use (asks.go)
	audit       []store.AuditRecord
}

type itemRef struct {
	request       uuid.UUID
	accessStateID string
}

// tracking is what the tracker keeps of a revocation beside its item's status.
type tracking struct {
	nextCheck time.Time
	unchanged int
	updatedAt time.Time
}

type postKey struct {
	request uuid.UUID
	key     string
}

var _ store.Store = (*Store)(nil)

// New returns an empty store.
func New() *Store {
	return &Store{
		requests:    make(map[uuid.UUID]store.Request),
		revocations: make(map[string]itemRef),
		tracking:    make(map[string]tracking),
		posts:       make(map[postKey]store.Post),
	}
}

// CreateRequest stores r unless a request with its ID exists.
func (m *Store) CreateRequest(_ context.Context, r store.Request) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.insert(r), nil
}

func (m *Store) insert(r store.Request) bool {
	if _, ok := m.requests[r.ID]; ok {
		return false
	}
	if r.State == "" {
		r.State = store.Pending
	}
	m.requests[r.ID] = clone(r)
	for _, it := range r.Items {
		if it.RevocationID != "" {
			m.revocations[it.RevocationID] = itemRef{r.ID, it.AccessStateID}
			m.tracking[it.RevocationID] = tracking{}
		}
	}
	return true
}

// clone copies a request deeply, so that callers and the store never share slices.
func clone(r store.Request) store.Request {
	if r.Items == nil {
		return r
	}
	r.Items = slices.Clone(r.Items)
	for i := range r.Items {
		r.Items[i].Permissions = slices.Clone(r.Items[i].Permissions)
	}
	return r
}

// Request returns the request with the given ID.
func (m *Store) Request(_ context.Context, id uuid.UUID) (store.Request, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.requests[id]
	if !ok {
		return store.Request{}, fmt.Errorf("request %s: %w", id, store.ErrNotFound)
	}
	return clone(r), nil
}

// RequestByRevocation returns the request one of whose items created a revocation.
func (m *Store) RequestByRevocation(_ context.Context, revocationID string) (store.Request, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ref, ok := m.revocations[revocationID]
	if !ok {
		return store.Request{}, fmt.Errorf("request of revocation %q: %w", revocationID, store.ErrNotFound)
	}
	return clone(m.requests[ref.request]), nil
}

// change applies fn to a stored request, or reports ErrNotFound. It takes m.mu.
func (m *Store) change(id uuid.UUID, fn func(*store.Request) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.changeLocked(id, fn)
}

// changeLocked is change with m.mu held.
func (m *Store) changeLocked(id uuid.UUID, fn func(*store.Request) error) error {
	r, ok := m.requests[id]
	if !ok {
		return fmt.Errorf("request %s: %w", id, store.ErrNotFound)
	}
	if err := fn(&r); err != nil {
		return err
	}
	m.requests[id] = r
	return nil
}

// changeItem applies fn to one item of a stored request, or reports ErrNotFound. It takes m.mu.
func (m *Store) changeItem(id uuid.UUID, accessStateID string, fn func(*store.Item) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.changeItemLocked(id, accessStateID, fn)
}

// changeItemLocked is changeItem with m.mu held.
func (m *Store) changeItemLocked(id uuid.UUID, accessStateID string, fn func(*store.Item) error) error {
	return m.changeLocked(id, func(r *store.Request) error {
		i := slices.IndexFunc(r.Items, func(it store.Item) bool { return it.AccessStateID == accessStateID })
		if i < 0 {
			return fmt.Errorf("item %s of request %s: %w", accessStateID, id, store.ErrNotFound)
		}
		r.Items = slices.Clone(r.Items)
		return fn(&r.Items[i])
	})
}

// SetMessage records where a request's approval message was posted.
func (m *Store) SetMessage(_ context.Context, id uuid.UUID, channel, ts string) error {
	return m.change(id, func(r *store.Request) error {
		r.Channel, r.MessageTS = channel, ts
		return nil
	})
}

// Decide records d if the request is pending; see store.Decisions.
func (m *Store) Decide(_ context.Context, id uuid.UUID, d store.Decision) (store.Request, bool, error) {
	if d.State != store.Approved && d.State != store.Rejected {
		return store.Request{}, false, fmt.Errorf("decide request %s: %q is not a decision", id, d.State)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	stored, ok := m.requests[id]
	if !ok {
		return store.Request{}, false, fmt.Errorf("decide request %s: %w", id, store.ErrNotFound)
	}
	if stored.State != store.Pending {
		return clone(stored), false, nil
	}
	stored.State, stored.DecidedBy, stored.DecidedAt = d.State, d.By, d.At
	m.requests[id] = stored
	return clone(stored), true, nil
}

// UnpostedRequests returns pending requests with no recorded approval message and no post
// claimed under key, oldest first.
func (m *Store) UnpostedRequests(_ context.Context, key string) ([]store.Request, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.Request
	for _, r := range m.requests {
		if _, claimed := m.posts[postKey{r.ID, key}]; r.State == store.Pending && r.MessageTS == "" && !claimed {
			out = append(out, clone(r))
		}
	}
	sortByCreation(out)
	return out, nil
}

// ExpirePending expires pending requests created before cutoff and returns them.
func (m *Store) ExpirePending(_ context.Context, cutoff time.Time) ([]store.Request, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var expired []store.Request
	for id, r := range m.requests {
		if r.State == store.Pending && r.CreatedAt.Before(cutoff) {
			r.State = store.Expired
			m.requests[id] = r
			expired = append(expired, clone(r))
		}
	}
	sortByCreation(expired)
	return expired, nil
}

// MarkSubmitting records the first submission attempt of an item.
func (m *Store) MarkSubmitting(_ context.Context, id uuid.UUID, accessStateID string, at time.Time) (store.Item, error) {
	var item store.Item
	err := m.changeItem(id, accessStateID, func(it *store.Item) error {
		if it.SubmittedAt.IsZero() {
			it.SubmittedAt = at
		}
		item = *it
		item.Permissions = slices.Clone(it.Permissions)
		return nil
	})
	return item, err
}

// SetRevocation records the revocation an item created and starts tracking it.
func (m *Store) SetRevocation(_ context.Context, id uuid.UUID, accessStateID, revocationID string, nextCheck time.Time) error {
	return m.changeItem(id, accessStateID, func(it *store.Item) error {
		ref := itemRef{id, accessStateID}
		if owner, ok := m.revocations[revocationID]; ok && owner != ref {
			return fmt.Errorf("revocation %s belongs to request %s: %w", revocationID, owner.request, store.ErrConflict)
		}
		switch it.RevocationID {
		case revocationID:
			return nil
		case "":
			it.RevocationID, it.LastError = revocationID, ""
			m.revocations[revocationID] = ref
			m.tracking[revocationID] = tracking{nextCheck: nextCheck}
			return nil
		default:
			return fmt.Errorf("item %s already has revocation %s: %w", accessStateID, it.RevocationID, store.ErrConflict)
		}
	})
}

// SetRefusal records that AccessOwl refused an item's submission for good.
func (m *Store) SetRefusal(_ context.Context, id uuid.UUID, accessStateID, refusal string) error {
	return m.changeItem(id, accessStateID, func(it *store.Item) error {
		it.Refusal, it.LastError = refusal, ""
		return nil
	})
}

// SetSubmitError records what the latest attempt to submit an item met.
func (m *Store) SetSubmitError(_ context.Context, id uuid.UUID, accessStateID, lastError string) error {
	return m.changeItem(id, accessStateID, func(it *store.Item) error {
		it.LastError = lastError
		return nil
	})
}

// Unsubmitted returns approved requests with an item neither submitted nor refused.
func (m *Store) Unsubmitted(context.Context) ([]store.Request, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.Request
	for _, r := range m.requests {
		if r.State == store.Approved && slices.ContainsFunc(r.Items, func(it store.Item) bool { return !it.Settled() }) {
			out = append(out, clone(r))
		}
	}
	sortByCreation(out)
	return out, nil
}

// Tracking returns the tracked revocations that are not final, soonest check first.
func (m *Store) Tracking(context.Context) ([]store.Tracked, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.Tracked
	for revocationID := range m.tracking {
		if t := m.tracked(revocationID); !t.Status.Done() {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b store.Tracked) int {
		return cmp.Or(a.NextCheck.Compare(b.NextCheck), cmp.Compare(a.RevocationID, b.RevocationID))
	})
	return out, nil
}

// TrackedRevocation returns one tracked revocation.
func (m *Store) TrackedRevocation(_ context.Context, revocationID string) (store.Tracked, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.tracking[revocationID]; !ok {
		return store.Tracked{}, fmt.Errorf("tracked revocation %q: %w", revocationID, store.ErrNotFound)
	}
	return m.tracked(revocationID), nil
}

// tracked assembles a tracked revocation from its item and its tracking row; m.mu is held.
func (m *Store) tracked(revocationID string) store.Tracked {
	ref, tr := m.revocations[revocationID], m.tracking[revocationID]
	it, _ := m.requests[ref.request].Item(ref.accessStateID)
	return store.Tracked{
		RevocationID:  revocationID,
		RequestID:     ref.request,
		AccessStateID: ref.accessStateID,
		Status:        it.Status,
		NextCheck:     tr.nextCheck,
		Unchanged:     tr.unchanged,
		UpdatedAt:     tr.updatedAt,
	}
}

// UpdateTracked saves the latest check of a tracked revocation.
func (m *Store) UpdateTracked(_ context.Context, t store.Tracked) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	ref, ok := m.revocations[t.RevocationID]
	if !ok {
		return fmt.Errorf("tracked revocation %q: %w", t.RevocationID, store.ErrNotFound)
	}
	m.tracking[t.RevocationID] = tracking{nextCheck: t.NextCheck, unchanged: t.Unchanged, updatedAt: t.UpdatedAt}
	return m.changeItemLocked(ref.request, ref.accessStateID, func(it *store.Item) error {
		it.Status = t.Status
		return nil
	})
}

// Ping always answers: memory is there.
func (m *Store) Ping(context.Context) error { return nil }

// Close does nothing; the store lives as long as it is referenced.
func (m *Store) Close() error { return nil }

func sortByCreation(rs []store.Request) {
	slices.SortFunc(rs, func(a, b store.Request) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID.String(), b.ID.String()))
	})
}
