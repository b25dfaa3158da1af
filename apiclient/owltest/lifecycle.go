package owltest

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// createRevocation applies AccessOwl's rules for a new revocation. Callers hold f.mu and have
// settled.
func (f *Fake) createRevocation(accessStateID, reason string) (Revocation, error) {
	var verr ValidationError
	i := f.stateIndex(accessStateID)
	switch {
	case accessStateID == "":
		verr.add("access_state_id", "can't be blank")
	case !isUUID(accessStateID):
		verr.add("access_state_id", "is invalid")
	case i < 0:
		verr.add("access_state_id", "does not exist")
	case !f.states[i].Active():
		verr.add("access_state_id", "is no longer active")
	case slices.ContainsFunc(f.revocations, func(v Revocation) bool {
		return v.AccessStateID == f.states[i].ID && v.Status == Processing
	}):
		verr.add("access_state_id", "already has a revocation in progress")
	}
	// Ecto, which AccessOwl's error shape comes from, counts a reason of only spaces as blank.
	if strings.TrimSpace(reason) == "" {
		verr.add("reason", "can't be blank")
	} else if utf8.RuneCountInString(reason) > maxReason {
		verr.add("reason", fmt.Sprintf("should be at most %d character(s)", maxReason))
	}
	if verr.Fields != nil {
		return Revocation{}, &verr
	}
	s := f.states[i]
	app, _ := f.app(s.ApplicationID)
	v := Revocation{
		ID:               f.newID("revocation"),
		ApplicationID:    s.ApplicationID,
		Reason:           reason,
		Status:           Processing,
		GranteeUserID:    s.GranteeUserID,
		RequestorUserID:  f.requestor,
		ResourceID:       s.ResourceID,
		PermissionIDs:    slices.Clone(s.TargetPermissionIDs),
		ProvisioningType: app.ProvisioningType,
		InsertedAt:       f.clock(),
		AccessStateID:    s.ID,
	}
	f.revocations = append(f.revocations, v)
	f.stats.RevocationsCreated++
	f.broadcast()
	return v, nil
}

// revoke confirms a processing revocation. Callers hold f.mu and have settled.
func (f *Fake) revoke(id string) (Revocation, error) {
	i := f.revocationIndex(id)
	if i < 0 {
		return Revocation{}, ErrNotFound
	}
	if f.revocations[i].Status != Processing {
		return f.revocations[i], ErrClosed
	}
	f.finish(i, f.clock())
	f.broadcast()
	return f.revocations[i], nil
}

// reject refuses a processing revocation. Callers hold f.mu and have settled.
func (f *Fake) reject(id, reason string) (Revocation, error) {
	i := f.revocationIndex(id)
	if i < 0 {
		return Revocation{}, ErrNotFound
	}
	if f.revocations[i].Status != Processing {
		return f.revocations[i], ErrClosed
	}
	f.revocations[i].Status = Rejected
	f.revocations[i].RejectionReason = reason
	f.broadcast()
	return f.revocations[i], nil
}

// finish ends revocation i's access at the given time: revoked, or rejected when the access had
// already ended and there was nothing left to remove.
func (f *Fake) finish(i int, at time.Time) {
	v := &f.revocations[i]
	j := f.stateIndex(v.AccessStateID)
	if j < 0 || !f.states[j].Active() {
		v.Status = Rejected
		return
	}
	v.Status = Revoked
	f.states[j].EffectiveEnd = &at
}

// settle moves automatic revocations whose delay has passed on the clock to their end state. It
// runs lazily, before anything reads state, so the outcome depends only on the injected clock.
// Callers hold f.mu.
func (f *Fake) settle() {
	now := f.now()
	changed := false
	for i, v := range f.revocations {
		if v.Status != Processing || v.ProvisioningType != Automatic {
			continue
		}
		if due := v.InsertedAt.Add(f.automaticDelay); !now.Before(due) {
			f.finish(i, due.Truncate(time.Second))
			changed = true
		}
	}
	if changed {
		f.broadcast()
	}
}

// nextDue returns when the next automatic revocation comes due. Callers hold f.mu.
func (f *Fake) nextDue() (time.Time, bool) {
	var next time.Time
	for _, v := range f.revocations {
		if v.Status != Processing || v.ProvisioningType != Automatic {
			continue
		}
		if due := v.InsertedAt.Add(f.automaticDelay); next.IsZero() || due.Before(next) {
			next = due
		}
	}
	return next, !next.IsZero()
}
