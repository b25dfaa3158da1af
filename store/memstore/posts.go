package memstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/google/uuid"

	"revokebot/store"
)

// ClaimPost reserves a reply once per request and key.
func (m *Store) ClaimPost(_ context.Context, p store.Post) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := postKey{p.RequestID, p.Key}
	if _, ok := m.posts[k]; ok {
		return false, nil
	}
	p.PostedTS = ""
	m.posts[k] = p
	return true, nil
}

// MarkPosted records the ts of a claimed reply.
func (m *Store) MarkPosted(_ context.Context, requestID uuid.UUID, key, ts string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := postKey{requestID, key}
	p, ok := m.posts[k]
	if !ok {
		return fmt.Errorf("reply %s of request %s: %w", key, requestID, store.ErrNotFound)
	}
	p.PostedTS = ts
	m.posts[k] = p
	return nil
}

// Post returns the claim of a request's reply by its key.
func (m *Store) Post(_ context.Context, requestID uuid.UUID, key string) (store.Post, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.posts[postKey{requestID, key}]
	if !ok {
		return store.Post{}, fmt.Errorf("reply %s of request %s: %w", key, requestID, store.ErrNotFound)
	}
	return p, nil
}

// UnpostedPosts returns claimed replies with no recorded ts, oldest first.
func (m *Store) UnpostedPosts(context.Context) ([]store.Post, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.Post
	for _, p := range m.posts {
		if p.PostedTS == "" {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b store.Post) int {
		return cmp.Or(a.ClaimedAt.Compare(b.ClaimedAt), cmp.Compare(a.RequestID.String(), b.RequestID.String()), cmp.Compare(a.Key, b.Key))
	})
	return out, nil
}

// Audit appends a record to the audit trail.
func (m *Store) Audit(_ context.Context, a store.AuditRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.audit = append(m.audit, a)
	return nil
}

// AuditTrail returns a request's audit records, oldest first.
func (m *Store) AuditTrail(_ context.Context, requestID uuid.UUID) ([]store.AuditRecord, error) {
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
