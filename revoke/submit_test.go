package revoke

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"revokebot/apiclient"
	"revokebot/apiclient/owltest"
	"revokebot/store"
)

// checkOneRevocation checks that AccessOwl holds exactly one revocation of each of req's
// accesses, and that every POST for it carried the item's key and the same body.
func checkOneRevocation(t *testing.T, r *rig, req store.Request) {
	t.Helper()
	for _, it := range req.Items {
		if n := len(r.revocationsOf(it.AccessStateID)); n != 1 {
			t.Errorf("%d revocations of access %s, want exactly 1", n, it.AccessStateID)
		}
	}
	bodies := map[string][]byte{}
	for _, c := range r.owl.Calls() {
		if c.Route != routePost {
			continue
		}
		if prev, ok := bodies[c.IdempotencyKey]; ok && !bytes.Equal(prev, c.Body) {
			t.Errorf("key %s sent with two bodies: %s and %s", c.IdempotencyKey, prev, c.Body)
		}
		bodies[c.IdempotencyKey] = c.Body
	}
	for _, it := range req.Items {
		if _, ok := bodies[req.Key(it)]; !ok {
			t.Errorf("no POST carried the key %s of access %s", req.Key(it), it.AccessStateID)
		}
	}
	if len(bodies) != len(req.Items) {
		t.Errorf("POSTs carried %d keys, want one per access (%d)", len(bodies), len(req.Items))
	}
}

func TestApprovalSubmitsOnceAndAnnouncesIt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, newMemStore())
		s := r.service()
		req := r.pending(owltest.SeedAdminApp)

		d := r.approve(s, req, approverID)
		if !d.Decided || d.Request.State != store.Approved || d.Request.DecidedBy != approverID {
			t.Errorf("Decide = %+v; want this click to approve", d)
		}
		if got := d.Submission.Worst(); got.Result != Created {
			t.Errorf("submission = %+v, want Created", got)
		}
		checkOneRevocation(t, r, req)
		r.wantStatuses(req.MessageTS, processing)
		updates := r.notes.updatesOf(req.MessageTS)
		if len(updates) != 2 || updates[0].State != store.Approved || updates[1].Items[0].Status != processing {
			t.Errorf("approval message updates = %+v; want approved, then its status", updates)
		}
		stored, _ := r.store.Request(t.Context(), req.ID)
		if it := stored.Items[0]; it.RevocationID == "" || it.SubmittedAt.IsZero() {
			t.Errorf("stored item = %+v; want its revocation and first attempt recorded", it)
		}
		r.wantAudited(req.ID, store.ActionApprove, store.OutcomeApproved)
		r.wantAudited(req.ID, store.ActionSubmit, store.OutcomeCreated)
	})
}

func TestASecondApprovalIsAnsweredAlreadySubmitted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, newMemStore())
		s := r.service()
		req := r.pending(owltest.SeedAdminApp)
		r.approve(s, req, approverID)

		d := r.approve(s, req, "U0SECOND")
		if d.Decided || d.Request.DecidedBy != approverID {
			t.Errorf("second Decide = %+v; want the first approver's decision kept", d)
		}
		if got := d.Submission.Worst().Result; got != AlreadySubmitted {
			t.Errorf("second approval's submission = %v, want AlreadySubmitted", got)
		}
		if n := r.calls(routePost); n != 2 {
			t.Errorf("%d POSTs, want the second click's to reach AccessOwl too (its 409 is the arbiter)", n)
		}
		checkOneRevocation(t, r, req)
		if n := len(r.notes.thread(req.MessageTS)); n != 1 {
			t.Errorf("%d thread replies, want only the first submission's", n)
		}
	})
}

func TestA409WithNoRecordedRevocationFindsAndTracksIt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, newMemStore())
		s := r.service()
		// Another replica, or a process that died, sent the POST and recorded nothing.
		req := r.approved(owltest.SeedAdminApp)
		r.fileAtAccessOwl(req)

		d := r.approve(s, req, "U0SECOND")
		if got := d.Submission.Worst().Result; got != AlreadySubmitted {
			t.Errorf("submission = %v, want AlreadySubmitted", got)
		}
		checkOneRevocation(t, r, req)
		stored, _ := r.store.Request(t.Context(), req.ID)
		if want := r.revocationsOf(req.Items[0].AccessStateID)[0].ID; stored.Items[0].RevocationID != want {
			t.Errorf("recorded revocation %q, want the one AccessOwl holds, %s", stored.Items[0].RevocationID, want)
		}
		r.wantStatuses(req.MessageTS, processing)
	})
}

func TestSubmissionOutcomes(t *testing.T) {
	tests := []struct {
		name  string
		fault owltest.Fault
		// token, if set, is the token the client sends instead of the one AccessOwl knows.
		token   string
		want    Result
		created int // revocations AccessOwl holds afterwards
	}{
		{"a 429 is waited out and the same key sent again", owltest.Fault{RateLimits: 2, RetryAfter: 3 * time.Second}, "", Created, 1},
		{"5xx are retried with the same key", owltest.Fault{ServerErrors: 2}, "", Created, 1},
		{"a lost answer then a 409 is our own attempt: found and tracked", owltest.Fault{DropAfterCommit: 1}, "", Created, 1},
		{"5xx through every retry is not answered", owltest.Fault{ServerErrors: 10}, "", NotAnswered, 0},
		{"a refused token revokes nothing", owltest.Fault{}, "not-a-token", TokenRefused, 0},
		{"a read-only token revokes nothing", owltest.Fault{}, "read-only", TokenRefused, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRig(t, newMemStore(), owltest.WithReadOnlyToken("read-only"))
				if tt.token != "" {
					r.client = newClient(t, r.owl, tt.token)
				}
				s := r.service()
				req := r.pending(owltest.SeedAutomaticApp)
				r.owl.SetFault(routePost, tt.fault)

				d := r.approve(s, req, approverID)
				if got := d.Submission.Worst().Result; got != tt.want {
					t.Errorf("submission = %v (%v), want %v", got, d.Submission.Worst().Err, tt.want)
				}
				if n := len(r.revocationsOf(req.Items[0].AccessStateID)); n != tt.created {
					t.Errorf("%d revocations, want %d", n, tt.created)
				}
				if tt.created == 1 {
					checkOneRevocation(t, r, req)
					r.wantStatuses(req.MessageTS, processing)
				} else if n := len(r.notes.thread(req.MessageTS)); n != 0 {
					t.Errorf("%d thread replies about a submission that did not happen", n)
				}
			})
		})
	}
}

func TestRefusalsAreToldAndNeverResent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, newMemStore())
		s := r.service()
		req := r.pending(owltest.SeedAutomaticApp)
		if err := r.owl.EndAccess(req.Items[0].AccessStateID); err != nil {
			t.Fatal(err)
		}

		d := r.approve(s, req, approverID)
		got := d.Submission.Worst()
		if got.Result != Refused || got.Refusal == "" {
			t.Fatalf("submission = %+v, want Refused with AccessOwl's words", got)
		}
		stored, _ := r.store.Request(t.Context(), req.ID)
		if stored.Items[0].Refusal != got.Refusal {
			t.Errorf("stored refusal %q, want %q", stored.Items[0].Refusal, got.Refusal)
		}
		if diff := cmp.Diff([]Kind{AccessRefused}, r.notes.kinds(req.MessageTS)); diff != "" {
			t.Errorf("thread replies (-want +got):\n%s", diff)
		}
		if shown := r.notes.shown(req.MessageTS); shown.Items[0].Refusal == "" {
			t.Error("the approval message does not show the refusal")
		}
		posts := r.calls(routePost)
		if err := s.ResumeSubmissions(t.Context()); err != nil {
			t.Fatal(err)
		}
		if r.calls(routePost) != posts {
			t.Error("a refused request was submitted again on resume")
		}
		r.wantAudited(req.ID, store.ActionSubmit, store.OutcomeRefused)
	})
}

// answering is an AccessOwl whose POST answers what a test says.
type answering struct {
	AccessOwl
	err error
}

func (a answering) CreateRevocation(context.Context, string, apiclient.NewRevocation) (*apiclient.Revocation, error) {
	return nil, a.err
}

func TestRefusalsAreToldInWords(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"404", &apiclient.Error{StatusCode: 404}, "it does not know this access."},
		{"422 with AccessOwl's message", &apiclient.Error{StatusCode: 422, Message: "access state is not active"}, "access state is not active."},
		{"422 without one", &apiclient.Error{StatusCode: 422}, "it found the request invalid (the access may have ended or already be under revocation)."},
		{"another 4xx with a message", &apiclient.Error{StatusCode: 410, Message: "gone"}, "gone."},
		{"another 4xx without one", &apiclient.Error{StatusCode: 418}, "it answered 418."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, newMemStore())
			s := r.service(func(c *Config) { c.AccessOwl = answering{AccessOwl: r.client, err: tt.err} })
			req := r.pending(owltest.SeedAutomaticApp)
			got := r.approve(s, req, approverID).Submission.Worst()
			if got.Result != Refused || got.Refusal != tt.want {
				t.Errorf("submission = %v %q, want Refused %q", got.Result, got.Refusal, tt.want)
			}
		})
	}
}

// unwritable is a store that cannot record a submission attempt.
type unwritable struct{ store.Store }

var errDiskFull = errors.New("disk full")

func (unwritable) MarkSubmitting(context.Context, uuid.UUID, string, time.Time) (store.Item, error) {
	return store.Item{}, errDiskFull
}

func TestAStoreThatCannotRecordTheAttemptSendsNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, newMemStore())
		s := r.service(func(c *Config) { c.Store = unwritable{r.store} })
		req := r.pending(owltest.SeedAutomaticApp)
		d := r.approve(s, req, approverID)
		if got := d.Submission.Worst(); got.Result != Failed || !errors.Is(got.Err, errDiskFull) {
			t.Errorf("submission = %+v, want Failed", got)
		}
		if n := r.calls(routePost); n != 0 {
			t.Errorf("%d POSTs, want none", n)
		}
	})
}

func TestCrashAfterTheDecisionIsFinishedAtStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, newMemStore())
		req := r.approved(owltest.SeedAutomaticApp) // approved, then the process died
		var spawned []string
		stop := run(t, r.service(func(c *Config) {
			c.Spawn = func(name, requestID string, run func(context.Context)) bool {
				spawned = append(spawned, name+" "+requestID)
				go run(context.WithoutCancel(t.Context()))
				return true
			}
		}))
		time.Sleep(time.Minute)
		stop()
		synctest.Wait()

		checkOneRevocation(t, r, req)
		if diff := cmp.Diff([]string{"resume " + req.ID.String()}, spawned); diff != "" {
			t.Errorf("work spawned (-want +got):\n%s", diff)
		}
		r.wantStatuses(req.MessageTS, processing, revoked)
		r.wantAudited(req.ID, store.ActionResume, store.OutcomeOK)
	})
}

func TestCrashAfterTheDecisionIsFinishedByTheNextClick(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, newMemStore())
		s := r.service()
		req := r.approved(owltest.SeedAutomaticApp)
		d := r.approve(s, req, "U0SECOND")
		if d.Decided || d.Submission.Worst().Result != Created {
			t.Errorf("Decide = %+v; want the recorded approval kept and the submission completed", d)
		}
		checkOneRevocation(t, r, req)
	})
}

func TestCrashAfterThePOSTFindsTheRevocationAtStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, newMemStore())
		// The POST went through; the process died before it recorded the revocation.
		req := r.request(owltest.SeedAutomaticApp)
		r.fileAtAccessOwl(req)
		req.State, req.DecidedBy, req.DecidedAt = store.Approved, approverID, time.Now()
		req.Items[0].SubmittedAt = time.Now()
		req = r.save(req)

		stop := run(t, r.service())
		time.Sleep(time.Minute)
		stop()

		checkOneRevocation(t, r, req)
		r.wantStatuses(req.MessageTS, processing, revoked)
	})
}

func TestAFailedSubmissionIsSafeToClickAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, newMemStore())
		s := r.service()
		req := r.pending(owltest.SeedAutomaticApp)
		r.owl.SetFault(routePost, owltest.Fault{ServerErrors: 10})
		if got := r.approve(s, req, approverID).Submission.Worst().Result; got != NotAnswered {
			t.Fatalf("first approval = %v, want NotAnswered", got)
		}
		r.owl.ClearFaults()
		if got := r.approve(s, req, approverID).Submission.Worst().Result; got != Created {
			t.Errorf("approval after AccessOwl recovered = %v, want Created", got)
		}
		checkOneRevocation(t, r, req)
	})
}

func TestRejectSendsNothingAndLaterClicksChangeNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, newMemStore())
		s := r.service()
		req := r.pending(owltest.SeedAutomaticApp)

		d, err := s.Decide(t.Context(), req, store.Decision{State: store.Rejected, By: approverID, At: time.Now()})
		if err != nil || !d.Decided || d.Request.State != store.Rejected {
			t.Fatalf("reject = %+v, %v", d, err)
		}
		again, err := s.Decide(t.Context(), req, store.Decision{State: store.Rejected, By: "U0SECOND", At: time.Now()})
		if err != nil || again.Decided || again.Request.DecidedBy != approverID {
			t.Errorf("second reject = %+v, %v; want the first kept", again, err)
		}
		stale := r.approve(s, req, "U0SECOND")
		if stale.Decided || stale.Request.State != store.Rejected || len(stale.Submission.Items) != 0 {
			t.Errorf("approve after reject = %+v; want nothing done", stale)
		}
		if n := r.calls(routePost); n != 0 {
			t.Errorf("%d POSTs after a rejection, want none", n)
		}
		if diff := cmp.Diff([]Kind{RequestRejected}, r.notes.kinds(req.MessageTS)); diff != "" {
			t.Errorf("thread replies (-want +got):\n%s", diff)
		}
		if u := r.notes.updatesOf(req.MessageTS); len(u) != 1 || u[0].State != store.Rejected {
			t.Errorf("approval message updates = %+v; want one showing the rejection", u)
		}
		r.wantAudited(req.ID, store.ActionApprove, store.OutcomeRefused)
	})
}

func TestAnExpiredRequestCannotBeDecided(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, newMemStore())
		s := r.service()
		req := r.pending(owltest.SeedAutomaticApp)
		if _, err := r.store.ExpirePending(t.Context(), time.Now().Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		d := r.approve(s, req, approverID)
		if d.Decided || d.Request.State != store.Expired || r.calls(routePost) != 0 {
			t.Errorf("approve after expiry = %+v with %d POSTs; want nothing done", d, r.calls(routePost))
		}
	})
}

func TestAClickOnAButtonTheStoreNeverHadIsDecidedFromTheButton(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, newMemStore())
		s := r.service()
		button := r.request(owltest.SeedAutomaticApp)
		button.Channel, button.MessageTS = testChannel, r.notes.post(button)
		d := r.approve(s, button, approverID)
		if !d.Decided || d.Submission.Worst().Result != Created {
			t.Errorf("Decide = %+v; want approved and submitted", d)
		}
		stored, _ := r.store.Request(t.Context(), button.ID)
		if stored.MessageTS != button.MessageTS {
			t.Errorf("stored message ts %q, want the clicked message's %q", stored.MessageTS, button.MessageTS)
		}
		checkOneRevocation(t, r, button)
	})
}

func TestAnOffboardingSubmitsEveryAccessWithItsOwnKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, newMemStore())
		s := r.service()
		req := r.request(owltest.SeedAutomaticApp)
		req.All = true
		for range 4 {
			a, _ := r.owl.ApplicationByTitle(owltest.SeedAdminApp)
			as := r.owl.AddAccessState(owltest.AccessState{ApplicationID: a.ID, GranteeUserID: req.Grantee.AccessOwlID})
			req.Items = append(req.Items, store.Item{AccessStateID: as.ID, ApplicationID: a.ID, ApplicationTitle: a.Title})
		}
		ended := req.Items[2]
		if err := r.owl.EndAccess(ended.AccessStateID); err != nil {
			t.Fatal(err)
		}
		req = r.save(req)

		o := r.approve(s, req, approverID).Submission
		results := map[Result]int{}
		for _, it := range o.Items {
			results[it.Result]++
			if want := uuid.NewSHA1(req.ID, []byte(it.Item.AccessStateID)).String(); req.Key(it.Item) != want {
				t.Errorf("key of %s = %s, want %s", it.Item.AccessStateID, req.Key(it.Item), want)
			}
		}
		if diff := cmp.Diff(map[Result]int{Created: 4, Refused: 1}, results); diff != "" {
			t.Errorf("results (-want +got):\n%s", diff)
		}
		if o.Worst().Item.AccessStateID != ended.AccessStateID {
			t.Errorf("worst = %+v, want the refused access", o.Worst())
		}
		for _, it := range req.Items {
			want := 1
			if it.AccessStateID == ended.AccessStateID {
				want = 0
			}
			if n := len(r.revocationsOf(it.AccessStateID)); n != want {
				t.Errorf("%d revocations of access %s, want %d", n, it.AccessStateID, want)
			}
		}
		if n := r.calls(routePost); n != len(req.Items) {
			t.Errorf("%d POSTs, want one per access (%d)", n, len(req.Items))
		}
	})
}
