package memstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"revokebot/apiclient"
	"revokebot/store"
)

// SaveAsk records a unless its revocation has an ask, and returns the ask as stored.
func (m *Store) SaveAsk(_ context.Context, a store.Ask) (store.Ask, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.requests[a.RequestID]; !ok {
		return store.Ask{}, fmt.Errorf("save ask of revocation %s: request %s: %w", a.RevocationID, a.RequestID, store.ErrNotFound)
	}
	if m.asks == nil {
		m.asks = make(map[string]store.Ask)
	}
	if stored, ok := m.asks[a.RevocationID]; ok {
		return cloneAsk(stored), nil
	}
	a = cloneAsk(a)
	m.asks[a.RevocationID] = a
	return cloneAsk(a), nil
}

// Ask returns the ask of a revocation, or store.ErrNotFound.
func (m *Store) Ask(_ context.Context, revocationID string) (store.Ask, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.asks[revocationID]
	if !ok {
		return store.Ask{}, fmt.Errorf("ask of revocation %q: %w", revocationID, store.ErrNotFound)
	}
	return cloneAsk(a), nil
}

// Unasked returns the processing revocations of admin-provisioned items that have no ask.
func (m *Store) Unasked(context.Context) ([]store.Tracked, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	type unasked struct {
		t    store.Tracked
		item store.Item
	}
	var found []unasked
	for revocationID, ref := range m.revocations {
		if _, asked := m.asks[revocationID]; asked {
			continue
		}
		it, _ := m.requests[ref.request].Item(ref.accessStateID)
		if it.Status == apiclient.RevocationProcessing && it.ProvisioningType == string(apiclient.ProvisioningApplicationAdmin) {
			found = append(found, unasked{m.tracked(revocationID), it})
		}
	}
	slices.SortFunc(found, func(a, b unasked) int {
		return cmp.Or(a.item.SubmittedAt.Compare(b.item.SubmittedAt), cmp.Compare(a.t.RevocationID, b.t.RevocationID))
	})
	out := make([]store.Tracked, len(found))
	for i, u := range found {
		out[i] = u.t
	}
	return out, nil
}

// WaitingAsks returns the asks whose revocation is not final, oldest first.
func (m *Store) WaitingAsks(context.Context) ([]store.Ask, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.Ask
	for revocationID, a := range m.asks {
		ref, ok := m.revocations[revocationID]
		if !ok {
			continue
		}
		if it, _ := m.requests[ref.request].Item(ref.accessStateID); !it.Status.Done() {
			out = append(out, cloneAsk(a))
		}
	}
	slices.SortFunc(out, func(a, b store.Ask) int {
		return cmp.Or(a.AskedAt.Compare(b.AskedAt), cmp.Compare(a.RevocationID, b.RevocationID))
	})
	return out, nil
}

// PendingPosted returns the pending requests with an approval message, oldest first.
func (m *Store) PendingPosted(context.Context) ([]store.Request, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.Request
	for _, r := range m.requests {
		if r.State == store.Pending && r.MessageTS != "" {
			out = append(out, clone(r))
		}
	}
	sortByCreation(out)
	return out, nil
}

func cloneAsk(a store.Ask) store.Ask {
	a.Asked = slices.Clone(a.Asked)
	if len(a.Asked) == 0 {
		a.Asked = nil
	}
	return a
}
