package revoke

import (
	"context"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"revokebot/apiclient"
	"revokebot/apiclient/owltest"
	"revokebot/store"
)

const (
	routeApp    = "GET /api/v1/applications/{id}"
	routeUser   = "GET /api/v1/users/{id}"
	routeRevoke = "POST /api/v1/access_revocations/{id}/revoke"
	routeReject = "POST /api/v1/access_revocations/{id}/reject"
	benSlackID  = "U0BEN"
	benEmail    = "ben.okafor@" + owltest.SeedDomain // AWS's admin and owner in the seed
)

// people is a Slack directory by email that counts its lookups.
type people struct {
	mu      sync.Mutex
	byEmail map[string]string
	lookups int
}

func (p *people) SlackIDByEmail(_ context.Context, email string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lookups++
	return p.byEmail[strings.ToLower(email)], nil
}

func (p *people) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lookups
}

func withPeople(p *people) func(*Config) { return func(c *Config) { c.People = p } }

// askReply returns the ask in a thread, if there is one.
func (r *rig) askReply(threadTS string) (reply, bool) {
	for _, rep := range r.notes.thread(threadTS) {
		if rep.Event.Kind == AdminsAsked {
			return rep, true
		}
	}
	return reply{}, false
}

// asked submits and tracks a revocation of a new person's access to app and waits until its
// admins were asked.
func (r *rig) asked(s *Service, app string) (store.Request, apiclient.Revocation, reply) {
	r.t.Helper()
	req, rev := r.submitted(app)
	mustTrack(r.t, s, req, rev)
	time.Sleep(time.Second)
	ask, ok := r.askReply(req.MessageTS)
	if !ok {
		r.t.Fatalf("no ask in the thread; replies are %v", r.notes.kinds(req.MessageTS))
	}
	return req, rev, ask
}

func TestAdminsAreAskedOnceAndTheirMarkIsAnnouncedOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, newMemStore())
		dir := &people{byEmail: map[string]string{benEmail: benSlackID}}
		s := r.service(withPeople(dir))
		replica := r.service(withPeople(dir))
		stop := run(t, s)
		defer stop()
		stopReplica := run(t, replica)
		defer stopReplica()

		req, rev, ask := r.asked(s, owltest.SeedAdminApp)
		if diff := cmp.Diff([]Kind{StatusChanged, AdminsAsked}, r.notes.kinds(req.MessageTS)); diff != "" {
			t.Errorf("thread (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{benSlackID}, ask.Event.Asked); diff != "" {
			t.Errorf("asked (-want +got):\n%s", diff)
		}
		// One application and one person (admin and owner are the same), each replica once.
		if got := r.calls(routeApp) + r.calls(routeUser); got > 4 {
			t.Errorf("asking took %d AccessOwl lookups, want at most 2 per replica", got)
		}
		t.Logf("AccessOwl requests to ask: %d (applications %d, users %d); Slack lookups %d",
			r.calls(routeApp)+r.calls(routeUser), r.calls(routeApp), r.calls(routeUser), dir.count())

		mark := Mark{RequestID: req.ID, RevocationID: rev.ID, By: benSlackID, Revoked: true}
		got, err := s.Mark(t.Context(), mark)
		if err != nil || got.Result != MarkSent || got.Status != apiclient.RevocationRevoked {
			t.Fatalf("Mark = %+v, %v; want sent, revoked", got, err)
		}
		again, err := replica.Mark(t.Context(), mark) // a double click, served by another replica
		if err != nil || again.Result != MarkedBefore {
			t.Errorf("second Mark = %+v, %v; want marked before", again, err)
		}
		time.Sleep(5 * time.Minute)

		r.wantStatuses(req.MessageTS, processing, apiclient.RevocationRevoked)
		if n := r.calls(routeRevoke); n != 2 {
			t.Errorf("%d revoke calls, want 2 (the second a 409)", n)
		}
		if n := len(r.notes.rewrites[ask.TS]); n != 1 {
			t.Errorf("the ask was updated %d times, want once to take its buttons away", n)
		}
		r.wantAudited(req.ID, store.ActionMarkRevoked, store.OutcomeOK, store.OutcomeAlreadyMarked)
		r.wantAudited(req.ID, store.ActionAsk, store.OutcomeOK)
	})
}

func TestCouldNotRevokeRejectsWithTheReason(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, newMemStore())
		s := r.service(withPeople(&people{byEmail: map[string]string{benEmail: benSlackID}}))
		stop := run(t, s)
		defer stop()

		req, rev, ask := r.asked(s, owltest.SeedAdminApp)
		got, err := s.Mark(t.Context(), Mark{RequestID: req.ID, RevocationID: rev.ID, By: approverID, Reason: "Still on call this week"})
		if err != nil || got.Result != MarkSent || got.Status != apiclient.RevocationRejected {
			t.Fatalf("Mark = %+v, %v; want sent, rejected", got, err)
		}
		// Mark revoked after that: AccessOwl refuses a closed revocation, and the thread says
		// nothing more.
		late, err := s.Mark(t.Context(), Mark{RequestID: req.ID, RevocationID: rev.ID, By: benSlackID, Revoked: true})
		if err != nil || late.Result != MarkClosed || late.Status != apiclient.RevocationRejected {
			t.Errorf("Mark revoked after the reject = %+v, %v; want closed, rejected", late, err)
		}
		time.Sleep(time.Minute)

		stored, _ := r.owl.Revocation(rev.ID)
		if stored.RejectionReason != "Still on call this week" {
			t.Errorf("AccessOwl's rejection reason = %q, want the form's", stored.RejectionReason)
		}
		r.wantStatuses(req.MessageTS, processing, apiclient.RevocationRejected)
		for _, rep := range r.notes.thread(req.MessageTS) {
			if rep.Event.Kind == StatusChanged && rep.Event.Status == apiclient.RevocationRejected &&
				(rep.Event.Reason != "Still on call this week" || rep.Event.MarkedBy != approverID) {
				t.Errorf("the rejected reply says %q by %q; want the form's reason and its sender", rep.Event.Reason, rep.Event.MarkedBy)
			}
		}
		if n := len(r.notes.rewrites[ask.TS]); n != 1 {
			t.Errorf("the ask was updated %d times, want once", n)
		}
	})
}

func TestAskLosesItsButtonsWhenFinishedInAccessOwl(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, newMemStore())
		s := r.service(withPeople(&people{byEmail: map[string]string{benEmail: benSlackID}}))
		stop := run(t, s)
		defer stop()

		req, rev, ask := r.asked(s, owltest.SeedAdminApp)
		if _, err := r.owl.Revoke(rev.ID); err != nil { // someone used AccessOwl's web app
			t.Fatal(err)
		}
		time.Sleep(DefaultMaxStatusBackoff + time.Minute)

		r.wantStatuses(req.MessageTS, processing, apiclient.RevocationRevoked)
		if n := len(r.notes.rewrites[ask.TS]); n != 1 {
			t.Errorf("the ask was updated %d times, want once", n)
		}
		if n := r.calls(routeRevoke); n != 0 {
			t.Errorf("%d revoke calls from the bot, want none", n)
		}
	})
}

func TestApproversAreAskedWhenNoAdminIsInSlack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, newMemStore())
		s := r.service(withPeople(&people{})) // nobody of AccessOwl's is in Slack
		stop := run(t, s)
		defer stop()

		req, rev, ask := r.asked(s, owltest.SeedAdminApp)
		if len(ask.Event.Asked) != 0 {
			t.Errorf("asked %v, want nobody by name: the approvers", ask.Event.Asked)
		}
		stored, err := s.Ask(t.Context(), req.ID, rev.ID)
		if err != nil || len(stored.Asked) != 0 {
			t.Errorf("stored ask = %+v, %v; want one naming nobody", stored, err)
		}
		if _, err := s.Ask(t.Context(), req.ID, "not-a-revocation"); err == nil {
			t.Error("Ask of a revocation never asked about succeeded")
		}
	})
}

func TestAnAutomaticRevocationAsksNobody(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, newMemStore(), owltest.WithAutomaticDelay(time.Hour))
		s := r.service(withPeople(&people{byEmail: map[string]string{benEmail: benSlackID}}))
		stop := run(t, s)
		defer stop()

		req, rev := r.submitted(owltest.SeedAutomaticApp)
		mustTrack(t, s, req, rev)
		time.Sleep(time.Minute)
		if _, ok := r.askReply(req.MessageTS); ok {
			t.Error("an automatic revocation asked its admins")
		}
		if n := r.calls(routeApp); n != 0 {
			t.Errorf("%d application lookups, want none", n)
		}
	})
}

func TestTheGranteeIsNotAskedToFinishTheirOwnRevocation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, newMemStore())
		s := r.service(withPeople(&people{byEmail: map[string]string{benEmail: benSlackID}}))
		stop := run(t, s)
		defer stop()

		ben, _ := r.owl.UserByEmail(benEmail)
		aws, _ := r.owl.ApplicationByTitle(owltest.SeedAdminApp)
		got, err := s.whoToAsk(t.Context(), aws.ID, ben.ID)
		if err != nil || len(got) != 0 {
			t.Errorf("whoToAsk for Ben's own access = %v, %v; want nobody (the approvers)", got, err)
		}
	})
}

// An ask claimed by a process that died before it posted it is posted after a restart, once,
// naming the people that process saved, and without buttons if the revocation ended meanwhile.
func TestAnAskClaimedBeforeACrashIsPostedOnceAfterARestart(t *testing.T) {
	for _, ended := range []bool{false, true} {
		t.Run(map[bool]string{false: "still waiting", true: "ended meanwhile"}[ended], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRig(t, newMemStore())
				s := r.service()
				req, rev := r.submitted(owltest.SeedAdminApp)
				mustTrack(t, s, req, rev) // announced processing_access; the ask loop is not running
				it := req.Items[0]
				if _, err := r.store.SaveAsk(t.Context(), store.Ask{RevocationID: rev.ID, RequestID: req.ID, AccessStateID: it.AccessStateID,
					Asked: []string{benSlackID}, AskedAt: time.Now()}); err != nil {
					t.Fatal(err)
				}
				key := Event{Kind: AdminsAsked, RevocationID: rev.ID}.Key()
				if _, err := r.store.ClaimPost(t.Context(), store.Post{RequestID: req.ID, Key: key, ClaimedAt: time.Now(), Claimer: "a stopped process"}); err != nil {
					t.Fatal(err)
				}
				if ended {
					row, _ := r.store.TrackedRevocation(t.Context(), rev.ID)
					row.Status = apiclient.RevocationRevoked
					if err := r.store.UpdateTracked(t.Context(), row); err != nil {
						t.Fatal(err)
					}
				}
				stop := run(t, r.service(withPeople(&people{})))
				time.Sleep(time.Minute)
				stop()

				var asks []reply
				for _, rep := range r.notes.thread(req.MessageTS) {
					if rep.Event.Kind == AdminsAsked {
						asks = append(asks, rep)
					}
				}
				if len(asks) != 1 {
					t.Fatalf("%d asks after the restart, want 1", len(asks))
				}
				if !cmp.Equal(asks[0].Event.Asked, []string{benSlackID}) || asks[0].Event.Status.Done() != ended {
					t.Errorf("the recovered ask names %v with status %q; want the saved %v, final %t", asks[0].Event.Asked, asks[0].Event.Status, []string{benSlackID}, ended)
				}
				if p, err := r.store.Post(t.Context(), req.ID, key); err != nil || p.PostedTS != asks[0].TS {
					t.Errorf("the claim after the restart: %+v, %v; want it recorded posted", p, err)
				}
			})
		})
	}
}
