package revoke

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"revokebot/apiclient"
	"revokebot/apiclient/owltest"
	"revokebot/store"
)

func TestCreateStoresAndPostsOnce(t *testing.T) {
	r := newRig(t, newMemStore())
	s := r.service()
	req := r.request(owltest.SeedAutomaticApp)
	req.Channel = testChannel

	got, created, err := s.Create(t.Context(), req)
	if err != nil || !created || got.MessageTS == "" {
		t.Fatalf("Create = %+v, %v, %v; want created and posted", got, created, err)
	}
	again, created, err := s.Create(t.Context(), req)
	if err != nil || created || again.MessageTS != "" {
		t.Errorf("Create of the same interaction again = %+v, %v, %v; want nothing done", again, created, err)
	}
	stored, err := r.store.Request(t.Context(), req.ID)
	if err != nil || stored.MessageTS != got.MessageTS {
		t.Errorf("stored = %+v, %v; want the message recorded", stored, err)
	}
	r.wantAudited(req.ID, store.ActionRequest, store.OutcomeCreated)
	if _, _, err := s.Create(t.Context(), store.Request{ID: req.ID}); err == nil {
		t.Error("Create of a request with no access = nil error, want a refusal")
	}
}

// unpostable is a notifier that cannot post approval messages.
type unpostable struct{ *notifier }

func (unpostable) PostRequest(context.Context, store.Request) (string, error) {
	return "", errors.New("not_in_channel")
}

func TestCreateSaysWhenTheMessageCouldNotBePosted(t *testing.T) {
	r := newRig(t, newMemStore())
	s := r.service(func(c *Config) { c.Notifier = unpostable{r.notes} })
	req := r.request(owltest.SeedAutomaticApp)
	req.Channel = testChannel
	_, created, err := s.Create(t.Context(), req)
	if !created || !errors.Is(err, ErrNotPosted) {
		t.Errorf("Create = %v, %v; want created but ErrNotPosted", created, err)
	}
	r.wantAudited(req.ID, store.ActionRequest, store.OutcomeFailed)
}

func TestEventKeysNameWhatTheyAnnounce(t *testing.T) {
	r := newRig(t, newMemStore())
	req := r.request(owltest.SeedAutomaticApp)
	req.Items[0].RevocationID = "rev-1"
	it := req.Items[0]
	for _, e := range []Event{
		{Kind: RequestRejected},
		{Kind: RequestExpired},
		{Kind: AccessRefused, Item: it},
		{Kind: StatusChanged, Item: it, RevocationID: "rev-1", Status: revoked},
		{Kind: StatusChanged, RevocationID: "rev-unrecorded", Status: processing},
	} {
		got, ok := eventOf(req, e.Key())
		if !ok {
			t.Errorf("eventOf(%q) not understood", e.Key())
			continue
		}
		if diff := cmp.Diff(e, got); diff != "" {
			t.Errorf("eventOf(%q) (-want +got):\n%s", e.Key(), diff)
		}
	}
	for _, key := range []string{"", "reminder/1", "rejected/extra", "refused/no-such-access", "status/no-status"} {
		if _, ok := eventOf(req, key); ok {
			t.Errorf("eventOf(%q) understood; want it refused", key)
		}
	}
}

func TestRecoveryPostsEveryKindOfReplyOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, newMemStore())
		s := r.service()
		req := r.pending(owltest.SeedAutomaticApp)
		if _, _, err := r.store.Decide(t.Context(), req, store.Decision{State: store.Rejected, By: approverID, At: time.Now()}); err != nil {
			t.Fatal(err)
		}
		// The process claimed the rejection's reply and died; another claim names nothing this
		// version knows.
		for _, p := range []store.Post{
			{RequestID: req.ID, Key: Event{Kind: RequestRejected}.Key(), ClaimedAt: time.Now()},
			{RequestID: req.ID, Key: "reminder/3", ClaimedAt: time.Now()},
		} {
			if _, err := r.store.ClaimPost(t.Context(), p); err != nil {
				t.Fatal(err)
			}
		}
		stop := run(t, s)
		time.Sleep(DefaultClaimLease + time.Minute)
		stop()

		if diff := cmp.Diff([]Kind{RequestRejected}, r.notes.kinds(req.MessageTS)); diff != "" {
			t.Errorf("thread replies (-want +got):\n%s", diff)
		}
		if unposted, _ := r.store.UnpostedPosts(t.Context()); len(unposted) != 0 {
			t.Errorf("unposted replies %+v, want none", unposted)
		}
	})
}

// lookupFails is an AccessOwl whose revocation lookup fails, as after a lost answer when the
// list cannot be read either.
type lookupFails struct{ AccessOwl }

func (lookupFails) FindRevocation(context.Context, apiclient.RevocationQuery) (*apiclient.Revocation, error) {
	return nil, errors.New("list revocations: 503")
}

func TestA409WhoseRevocationCannotBeFoundIsStillAlreadySubmitted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, newMemStore())
		s := r.service(func(c *Config) { c.AccessOwl = lookupFails{r.client} })
		req := r.approved(owltest.SeedAutomaticApp)
		r.fileAtAccessOwl(req)
		if got := r.approve(s, req, approverID).Submission.Worst().Result; got != AlreadySubmitted {
			t.Errorf("submission = %v, want AlreadySubmitted", got)
		}
		checkOneRevocation(t, r, req)
	})
}

// findsAnother is an AccessOwl whose lookup after a 409 answers a revocation that belongs to
// another request.
type findsAnother struct {
	AccessOwl
	rev apiclient.Revocation
}

func (f findsAnother) FindRevocation(context.Context, apiclient.RevocationQuery) (*apiclient.Revocation, error) {
	return &f.rev, nil
}

func TestARevocationIsNeverLinkedToTwoRequests(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, newMemStore())
		other, rev := r.submitted(owltest.SeedAutomaticApp)
		s := r.service(func(c *Config) { c.AccessOwl = findsAnother{AccessOwl: r.client, rev: rev} })
		req := r.approved(owltest.SeedAutomaticApp)
		r.fileAtAccessOwl(req)
		r.approve(s, req, approverID)
		stored, _ := r.store.Request(t.Context(), req.ID)
		if stored.Items[0].RevocationID != "" {
			t.Errorf("the request took another request's revocation %s", stored.Items[0].RevocationID)
		}
		if owner, err := r.store.RequestByRevocation(t.Context(), rev.ID); err != nil || owner.ID != other.ID {
			t.Errorf("revocation %s belongs to %v (%v), want %s", rev.ID, owner.ID, err, other.ID)
		}
	})
}
