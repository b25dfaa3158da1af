package revoke

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"revokebot/apiclient"
	"revokebot/apiclient/owltest"
	"revokebot/store"
)

func TestNothingIsSentAgainOnceAccessOwlMayHaveForgottenTheKey(t *testing.T) {
	tests := []struct {
		name string
		// setup leaves the request's item as it is when the late click comes.
		setup func(t *testing.T, r *rig, s *Service, req store.Request)
		want  Result
	}{
		{"a submitted request is answered from the store", func(t *testing.T, r *rig, s *Service, req store.Request) {
			r.approve(s, req, approverID)
		}, AlreadySubmitted},
		{"a refused request keeps its refusal", func(t *testing.T, r *rig, s *Service, req store.Request) {
			if err := r.owl.EndAccess(req.Items[0].AccessStateID); err != nil {
				t.Fatal(err)
			}
			r.approve(s, req, approverID)
		}, Refused},
		{"an outcome never seen and not found is not guessed", func(t *testing.T, r *rig, s *Service, req store.Request) {
			// The first attempt was recorded, then the process died before the POST.
			if _, _, err := r.store.Decide(t.Context(), req.ID, store.Decision{State: store.Approved, By: approverID, At: time.Now()}); err != nil {
				t.Fatal(err)
			}
			if _, err := r.store.MarkSubmitting(t.Context(), req.ID, req.Items[0].AccessStateID, time.Now()); err != nil {
				t.Fatal(err)
			}
		}, Unconfirmed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRig(t, newMemStore())
				s := r.service(func(c *Config) { c.TTL = 30 * 24 * time.Hour })
				req := r.pending(owltest.SeedAdminApp)
				tt.setup(t, r, s, req)
				posts := r.calls(routePost)
				time.Sleep(15 * 24 * time.Hour) // AccessOwl forgets keys after 14 days
				got := r.approve(s, req, "U0LATE").Submission.Worst()
				if got.Result != tt.want {
					t.Errorf("a click 15 days later = %v (%v), want %v", got.Result, got.Err, tt.want)
				}
				if n := r.calls(routePost) - posts; n != 0 {
					t.Errorf("%d POSTs after the key may be forgotten, want none", n)
				}
				if n := len(r.revocationsOf(req.Items[0].AccessStateID)); n > 1 {
					t.Errorf("%d revocations of the access at AccessOwl, want at most one", n)
				}
			})
		})
	}
}

func TestWithinTheKeyWindowAccessOwlsConflictIsStillTheArbiter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, newMemStore())
		s := r.service(func(c *Config) { c.TTL = 30 * 24 * time.Hour })
		req := r.pending(owltest.SeedAdminApp)
		r.approve(s, req, approverID)
		time.Sleep(KeyWindow - time.Hour)
		if got := r.approve(s, req, "U0LATE").Submission.Worst().Result; got != AlreadySubmitted {
			t.Errorf("a click inside the window = %v, want AlreadySubmitted", got)
		}
		if n := r.calls(routePost); n != 2 {
			t.Errorf("%d POSTs, want the late click's to reach AccessOwl too", n)
		}
	})
}

// failsOnce is an AccessOwl whose first revocation lookup fails, as when the list cannot be
// read right after an answer was lost.
type failsOnce struct {
	AccessOwl
	failed bool
}

func (f *failsOnce) FindRevocation(ctx context.Context, q apiclient.RevocationQuery) (*apiclient.Revocation, error) {
	if !f.failed {
		f.failed = true
		return nil, errors.New("list revocations: 503")
	}
	return f.AccessOwl.FindRevocation(ctx, q)
}

func TestALostAnswerIsNeverMatchedToAnotherRequestsRevocation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, newMemStore())
		owl := &failsOnce{AccessOwl: r.client}
		s := r.service(func(c *Config) { c.AccessOwl = owl })
		app := r.owl.AddApplication(owltest.Application{Title: "Tableau", ProvisioningType: owltest.ApplicationAdmin,
			Permissions: []owltest.Permission{{Title: "viewer"}, {Title: "creator"}}})
		person := r.owl.AddUser(owltest.User{Email: "sam@example.org", FirstName: "Sam"})
		// Two accesses of one person to one application, told apart by their permissions only.
		request := func(perm owltest.Permission) store.Request {
			as := r.owl.AddAccessState(owltest.AccessState{ApplicationID: app.ID, GranteeUserID: person.ID, TargetPermissionIDs: []string{perm.ID}})
			req := r.request(owltest.SeedAdminApp)
			req.Grantee = store.Person{AccessOwlID: person.ID, Name: "Sam"}
			req.Reason = "left the team"
			req.Items = []store.Item{{AccessStateID: as.ID, ApplicationID: app.ID, ApplicationTitle: app.Title,
				Permissions: []store.Permission{{ID: perm.ID, Title: perm.Title}}}}
			return r.save(req)
		}
		viewer, creator := request(app.Permissions[0]), request(app.Permissions[1])

		// The viewer's answer is lost and the lookup fails: nothing recorded.
		r.owl.SetFault(routePost, owltest.Fault{DropAfterCommit: 1})
		r.approve(s, viewer, approverID)
		// A minute later the creator's access is revoked, in the ordinary way: a newer revocation
		// with the same person, application, resource and reason.
		time.Sleep(time.Minute)
		r.approve(s, creator, approverID)
		// The viewer's request is clicked again: its lookup must find its own revocation.
		r.approve(s, viewer, "U0SECOND")

		byAccess := map[string]string{}
		for _, rev := range r.owl.Revocations() {
			byAccess[rev.AccessStateID] = rev.ID
		}
		for _, req := range []store.Request{viewer, creator} {
			stored, _ := r.store.Request(t.Context(), req.ID)
			if got, want := stored.Items[0].RevocationID, byAccess[req.Items[0].AccessStateID]; got != want {
				t.Errorf("request %s tracks revocation %q, want its own %q", req.Reason, got, want)
			}
		}
		for _, req := range []store.Request{viewer, creator} {
			if n := len(r.revocationsOf(req.Items[0].AccessStateID)); n != 1 {
				t.Errorf("%d revocations of %s's access, want 1", n, req.Reason)
			}
		}
	})
}

func TestARequestKnownOnlyByItsAccessStateIsSubmittedAndFound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, newMemStore())
		s := r.service()
		full := r.request(owltest.SeedAutomaticApp)
		// What the bot knew: the ID and the reason, nothing else.
		req := full
		req.Grantee = store.Person{}
		req.Items = []store.Item{{AccessStateID: full.Items[0].AccessStateID}}
		req = r.save(req)
		r.owl.SetFault(routePost, owltest.Fault{DropAfterCommit: 1}) // and its answer is lost

		got := r.approve(s, req, approverID).Submission.Worst()
		if got.Result != Created {
			t.Fatalf("submission = %v (%v), want Created", got.Result, got.Err)
		}
		checkOneRevocation(t, r, req)
		r.wantStatuses(req.MessageTS, processing)
	})
}

func TestABareAccessStateAccessOwlRefusesIsToldInTheThread(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, newMemStore())
		s := r.service()
		req := r.request(owltest.SeedAutomaticApp)
		req.Grantee = store.Person{}
		req.Items = []store.Item{{AccessStateID: "0b5e9a3c-7d1f-4c2a-9e8b-00000000dead"}}
		req = r.save(req)
		got := r.approve(s, req, approverID).Submission.Worst()
		if got.Result != Refused || got.Refusal == "" {
			t.Errorf("submission = %+v, want Refused with AccessOwl's words", got)
		}
		if kinds := r.notes.kinds(req.MessageTS); len(kinds) != 1 || kinds[0] != AccessRefused {
			t.Errorf("thread replies = %v, want the refusal", kinds)
		}
	})
}

// answersAnother is an AccessOwl that answers a POST with a revocation of someone else's access,
// as one that ignored the body would.
type answersAnother struct {
	AccessOwl
	rev apiclient.Revocation
}

func (a answersAnother) CreateRevocation(context.Context, string, apiclient.NewRevocation) (*apiclient.Revocation, error) {
	return &a.rev, nil
}

func TestARevocationOfAnotherAccessIsNotTakenForThisRequests(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, newMemStore())
		req := r.pending(owltest.SeedAutomaticApp)
		someoneElse := "5b0c3d1e-0000-4000-8000-00000000beef"
		other := apiclient.Revocation{ID: "rev-other", Status: apiclient.RevocationProcessing, GranteeUserID: &someoneElse,
			ApplicationID: req.Items[0].ApplicationID}
		s := r.service(func(c *Config) { c.AccessOwl = answersAnother{AccessOwl: r.client, rev: other} })
		if got := r.approve(s, req, approverID).Submission.Worst(); got.Result != Mismatched {
			t.Errorf("submission = %v, want Mismatched", got.Result)
		}
		if stored, _ := r.store.Request(t.Context(), req.ID); stored.Items[0].RevocationID != "" {
			t.Errorf("the request took revocation %s of another person", stored.Items[0].RevocationID)
		}
		if n := len(r.notes.thread(req.MessageTS)); n != 0 {
			t.Errorf("%d thread replies about a revocation that is not this request's", n)
		}
	})
}
