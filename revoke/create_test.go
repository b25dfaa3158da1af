package revoke

import (
	"context"
	"errors"
	"sync"
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

	got, posted, err := s.Create(t.Context(), req)
	if err != nil || !posted || got.MessageTS == "" {
		t.Fatalf("Create = %+v, %v, %v; want it posted", got, posted, err)
	}
	again, posted, err := s.Create(t.Context(), req)
	if err != nil || posted || again.MessageTS != got.MessageTS {
		t.Errorf("Create of the same interaction again = %+v, %v, %v; want the stored request, not posted again", again, posted, err)
	}
	if n := len(r.notes.messages); n != 1 {
		t.Errorf("%d approval messages, want 1", n)
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
	_, posted, err := s.Create(t.Context(), req)
	if posted || !errors.Is(err, ErrNotPosted) {
		t.Errorf("Create = %v, %v; want ErrNotPosted", posted, err)
	}
	if _, err := r.store.Request(t.Context(), req.ID); err != nil {
		t.Errorf("the request was not stored: %v", err)
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
		if _, _, err := r.store.Decide(t.Context(), req.ID, store.Decision{State: store.Rejected, By: approverID, At: time.Now()}); err != nil {
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

// postsOnce is a notifier that counts approval messages and can fail their posts.
type postsOnce struct {
	*notifier
	fail  bool
	posts int
}

func (p *postsOnce) PostRequest(ctx context.Context, r store.Request) (string, error) {
	p.posts++
	if p.fail {
		return "", errors.New("Slack is down")
	}
	return p.notifier.PostRequest(ctx, r)
}

func TestARequestStoredButNeverPostedIsPostedOnRedeliveryAndAtStart(t *testing.T) {
	tests := []struct {
		name    string
		claimed bool // the process got as far as claiming the post
		start   bool // the next start finds it, rather than a redelivery
	}{
		{"a redelivery posts a request whose creator died before posting", false, false},
		{"the next start posts a request whose creator died before posting", false, true},
		{"the next start posts a request whose creator died after claiming the post", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRig(t, newMemStore())
				notes := &postsOnce{notifier: r.notes}
				s := r.service(func(c *Config) { c.Notifier = notes })
				req := r.request(owltest.SeedAutomaticApp)
				req.Channel = testChannel
				// What the dead process left: the request stored, maybe the claim.
				if _, err := r.store.CreateRequest(t.Context(), req); err != nil {
					t.Fatal(err)
				}
				if tt.claimed {
					if _, err := r.store.ClaimPost(t.Context(), store.Post{RequestID: req.ID, Key: Event{Kind: RequestPosted}.Key(), ClaimedAt: time.Now()}); err != nil {
						t.Fatal(err)
					}
				}
				if tt.start {
					stop := run(t, s)
					time.Sleep(DefaultClaimLease + time.Minute)
					stop()
				} else if _, posted, err := s.Create(t.Context(), req); err != nil || !posted {
					t.Fatalf("the redelivered Create = %v, %v; want it to post", posted, err)
				}
				stored, _ := r.store.Request(t.Context(), req.ID)
				if notes.posts != 1 || stored.MessageTS == "" {
					t.Errorf("%d approval messages posted, stored ts %q; want one, recorded", notes.posts, stored.MessageTS)
				}
				if unposted, _ := r.store.UnpostedPosts(t.Context()); len(unposted) != 0 {
					t.Errorf("claims left unposted: %+v", unposted)
				}
				// And nothing more on another start.
				stop := run(t, s)
				time.Sleep(DefaultClaimLease + time.Minute)
				stop()
				if notes.posts != 1 {
					t.Errorf("%d approval messages after another start, want 1", notes.posts)
				}
			})
		})
	}
}

func TestAnApprovalMessageThatFailedIsPostedLater(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, newMemStore())
		notes := &postsOnce{notifier: r.notes, fail: true}
		s := r.service(func(c *Config) { c.Notifier = notes })
		req := r.request(owltest.SeedAutomaticApp)
		req.Channel = testChannel
		if _, _, err := s.Create(t.Context(), req); !errors.Is(err, ErrNotPosted) {
			t.Fatalf("Create while Slack is down = %v, want ErrNotPosted", err)
		}
		notes.fail = false // Slack is back (or the bot was invited to the channel)
		stop := run(t, s)
		time.Sleep(DefaultClaimLease + time.Minute)
		stop()
		stored, _ := r.store.Request(t.Context(), req.ID)
		if notes.posts != 2 || stored.MessageTS == "" {
			t.Errorf("%d posts, stored ts %q; want the failed one and one that got through, recorded", notes.posts, stored.MessageTS)
		}
	})
}

// Recovery that runs while this process's own approval message waits for Slack must not take
// the claim for one a crash left, and post the message a second time.
func TestRecoveryLeavesAnApprovalMessageOnItsWayAlone(t *testing.T) {
	r := newRig(t, newMemStore())
	s := r.service()
	started, gate := make(chan struct{}, 2), make(chan struct{})
	r.notes.mu.Lock()
	r.notes.postStarted, r.notes.postGate = started, gate
	r.notes.mu.Unlock()
	req := r.request(owltest.SeedAutomaticApp)

	var wg sync.WaitGroup
	wg.Go(func() {
		if _, _, err := s.Create(t.Context(), req); err != nil {
			t.Error(err)
		}
	})
	<-started
	wg.Go(func() { s.recoverUnposted(t.Context()) })
	select {
	case <-started: // recovery is posting it too; let both through to count them
	case <-time.After(500 * time.Millisecond):
	}
	close(gate)
	wg.Wait()

	posted := 0
	r.notes.mu.Lock()
	for _, m := range r.notes.messages {
		if m.ID == req.ID {
			posted++
		}
	}
	r.notes.mu.Unlock()
	if posted != 1 {
		t.Errorf("the approval message was posted %d times, want once", posted)
	}
}
