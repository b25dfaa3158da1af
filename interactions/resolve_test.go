package interactions

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"revokebot/apiclient"
	"revokebot/commands"
	"revokebot/store"
)

// stubOwl answers from fixed lists and ignores every filter, as an AccessOwl that misread its
// query would: what the resolver checks is what it gets back.
type stubOwl struct {
	users  []apiclient.User
	states []apiclient.AccessState
	calls  atomic.Int32
	// notLookups counts the calls made with a context not marked as a lookup.
	notLookups atomic.Int32
}

func (o *stubOwl) ListUsers(ctx context.Context, _ apiclient.UserListOptions) ([]apiclient.User, string, error) {
	o.count(ctx)
	return o.users, "", nil
}

func (o *stubOwl) AllAccessStates(ctx context.Context, _ apiclient.AccessStateListOptions) iter.Seq2[apiclient.AccessState, error] {
	o.count(ctx)
	return func(yield func(apiclient.AccessState, error) bool) {
		for _, s := range o.states {
			if !yield(s, nil) {
				return
			}
		}
	}
}

func (o *stubOwl) count(ctx context.Context) {
	o.calls.Add(1)
	if apiclient.ClassOf(ctx) != apiclient.ClassLookup {
		o.notLookups.Add(1)
	}
}

// slackEmails answers users.info from a map of emails.
type slackEmails map[string]string

func (e slackEmails) GetUserInfoContext(_ context.Context, user string, _ ...slack.GetUserInfoOption) (*slack.User, error) {
	u := &slack.User{ID: user}
	u.Profile.Email = e[user]
	return u, nil
}

func ptr[T any](v T) *T { return &v }

func state(id, grantee string) apiclient.AccessState {
	return apiclient.AccessState{ID: id, ApplicationID: "app-zoom", GranteeUserID: ptr(grantee),
		Application: &apiclient.Application{ID: "app-zoom", Title: "Zoom"}}
}

var (
	lena = apiclient.User{ID: "owl-lena", Email: "lena.vogel@example.com", FullName: "Lena Vogel"}
	kim  = apiclient.User{ID: "owl-kim", Email: "kim.berg@example.com", FullName: "Kim Berg"}
)

func TestThePersonIsTheOneWithTheEmailAsked(t *testing.T) {
	emails := slackEmails{"U0LENA": "Lena.Vogel@example.com"}
	tests := []struct {
		name    string
		users   []apiclient.User
		wantID  string
		wantErr error
	}{
		{name: "the user with the email, whatever its case", users: []apiclient.User{lena}, wantID: "owl-lena"},
		{name: "the matching one among several", users: []apiclient.User{kim, lena}, wantID: "owl-lena"},
		{name: "someone else only: refused", users: []apiclient.User{kim}, wantErr: ErrMismatch},
		{name: "a user without an ID: refused", users: []apiclient.User{{Email: lena.Email}}, wantErr: ErrMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewResolver(&stubOwl{users: tt.users}, emails, nil)
			p, err := r.Person(t.Context(), "U0LENA")
			if !errors.Is(err, tt.wantErr) || p.AccessOwlID != tt.wantID {
				t.Fatalf("Person = %+v, %v; want ID %q, error %v", p, err, tt.wantID, tt.wantErr)
			}
		})
	}
	t.Run("nobody: an input error naming the email", func(t *testing.T) {
		_, err := NewResolver(&stubOwl{}, emails, nil).Person(t.Context(), "U0LENA")
		var input *commands.InputError
		if !errors.As(err, &input) {
			t.Fatalf("error %v, want an input error", err)
		}
	})
}

func TestAListingWithSomeoneElsesAccessIsRefusedWhole(t *testing.T) {
	owl := &stubOwl{states: []apiclient.AccessState{state("as-1", lena.ID), state("as-2", kim.ID)}}
	r := NewResolver(owl, slackEmails{}, nil)
	items, err := r.ActiveAccess(t.Context(), personOf(lena))
	if !errors.Is(err, ErrMismatch) || items != nil {
		t.Fatalf("ActiveAccess = %v, %v; want nothing and ErrMismatch", items, err)
	}
	unowned := state("as-3", "")
	unowned.GranteeUserID = nil
	owl.states = []apiclient.AccessState{state("as-1", lena.ID), unowned}
	if _, err := r.ActiveAccess(t.Context(), personOf(lena)); !errors.Is(err, ErrMismatch) {
		t.Fatalf("a state of no one: %v, want ErrMismatch", err)
	}
	if _, ok := r.CachedAccess("U0LENA"); ok {
		t.Error("a refused listing was remembered")
	}
}

func TestTheFormsSearchListsOnceAMinute(t *testing.T) {
	now := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	owl := &stubOwl{users: []apiclient.User{lena}, states: []apiclient.AccessState{state("as-1", lena.ID)}}
	r := NewResolver(owl, slackEmails{"U0LENA": lena.Email}, func() time.Time { return now })
	p, err := r.Person(t.Context(), "U0LENA")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.ActiveAccess(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	for range 20 { // keystrokes
		if items, ok := r.CachedAccess("U0LENA"); !ok || len(items) != 1 {
			t.Fatalf("CachedAccess = %v, %v; want the listing", items, ok)
		}
		if _, err := r.RecentAccess(t.Context(), p); err != nil {
			t.Fatal(err)
		}
	}
	if n := owl.calls.Load(); n != 2 {
		t.Errorf("%d AccessOwl calls for a person, a listing and 20 searches; want 2", n)
	}
	now = now.Add(listingCacheTTL + time.Second)
	if _, ok := r.CachedAccess("U0LENA"); ok {
		t.Error("a listing older than a minute still answers")
	}
	if _, err := r.RecentAccess(t.Context(), p); err != nil || owl.calls.Load() != 3 {
		t.Errorf("after a minute: %v, %d calls; want a new listing", err, owl.calls.Load())
	}
}

func TestAnAccessStateByID(t *testing.T) {
	many := func(n int) []apiclient.AccessState {
		s := make([]apiclient.AccessState, n)
		for i := range s {
			s[i] = state(fmt.Sprintf("as-%04d", i), lena.ID)
		}
		return s
	}
	t.Run("found on the way", func(t *testing.T) {
		r := NewResolver(&stubOwl{states: many(30)}, slackEmails{}, nil)
		p, it, err := r.AccessState(t.Context(), "AS-0012")
		if err != nil || p.AccessOwlID != lena.ID || it.AccessStateID != "as-0012" || it.ApplicationTitle != "Zoom" {
			t.Fatalf("AccessState = %+v, %+v, %v", p, it, err)
		}
	})
	t.Run("not in AccessOwl's whole list: an input error, so no request is made", func(t *testing.T) {
		r := NewResolver(&stubOwl{states: many(30)}, slackEmails{}, nil)
		_, _, err := r.AccessState(t.Context(), "as-9999")
		var input *commands.InputError
		if !errors.As(err, &input) || errors.Is(err, ErrStateUnknown) {
			t.Fatalf("error %v, want an input error", err)
		}
	})
	t.Run("not among the first of more than the search reads: the ID alone", func(t *testing.T) {
		owl := &stubOwl{states: many(stateSearchLimit + 1)}
		_, it, err := NewResolver(owl, slackEmails{}, nil).AccessState(t.Context(), "as-9999")
		if !errors.Is(err, ErrStateUnknown) || it.AccessStateID != "as-9999" {
			t.Fatalf("AccessState = %+v, %v; want the ID alone and ErrStateUnknown", it, err)
		}
	})
	t.Run("ended: an input error", func(t *testing.T) {
		s := many(3)
		s[1].EffectiveEnd = ptr(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
		_, _, err := NewResolver(&stubOwl{states: s}, slackEmails{}, nil).AccessState(t.Context(), "as-0001")
		var input *commands.InputError
		if !errors.As(err, &input) {
			t.Fatalf("error %v, want an input error", err)
		}
	})
}

func personOf(u apiclient.User) store.Person {
	return store.Person{AccessOwlID: u.ID, SlackID: "U0LENA", Name: u.FullName, Email: u.Email}
}

func TestEveryLookupLeavesTheLastOfTheHourToSubmissions(t *testing.T) {
	owl := &stubOwl{users: []apiclient.User{lena}, states: []apiclient.AccessState{state("as-1", lena.ID)}}
	emails := slackEmails{"U0LENA": lena.Email}
	r := NewResolver(owl, emails, nil)
	p, err := r.Person(t.Context(), "U0LENA")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.ActiveAccess(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	if _, _, err := NewResolver(owl, emails, nil).AccessState(t.Context(), "as-1"); err != nil {
		t.Fatal(err)
	}
	if n := owl.notLookups.Load(); n != 0 || owl.calls.Load() < 3 {
		t.Errorf("%d of %d calls to AccessOwl were not marked as lookups", n, owl.calls.Load())
	}
}

func TestAResourceWithoutATitleIsNamedByItsDescription(t *testing.T) {
	s := state("as-1", lena.ID)
	s.ResourceID = ptr("res-1")
	s.Resource = &apiclient.Resource{ID: "res-1", Description: ptr("Account 333333333333")}
	_, it := stateOf(s)
	if it.ResourceTitle != "Account 333333333333" {
		t.Errorf("the resource is named %q, want its description", it.ResourceTitle)
	}
}
