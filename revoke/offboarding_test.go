package revoke

import (
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"revokebot/apiclient/owltest"
	"revokebot/store"
)

// offboarding stores and posts a request for all of a new person's accesses: automatic ones
// and admin-provisioned ones.
func (r *rig) offboarding(automatic, admin int) store.Request {
	r.t.Helper()
	req := r.request(owltest.SeedAutomaticApp)
	req.All = true
	add := func(title string, n int) {
		a, _ := r.owl.ApplicationByTitle(title)
		for range n {
			as := r.owl.AddAccessState(owltest.AccessState{ApplicationID: a.ID, GranteeUserID: req.Grantee.AccessOwlID})
			req.Items = append(req.Items, store.Item{AccessStateID: as.ID, ApplicationID: a.ID, ApplicationTitle: a.Title, ProvisioningType: a.ProvisioningType})
		}
	}
	add(owltest.SeedAutomaticApp, automatic-1)
	add(owltest.SeedAdminApp, admin)
	return r.save(req)
}

func TestAnOffboardingsThreadListsShowsProgressInPlaceAndEndsOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, newMemStore())
		r.notes.listPages = 2
		s := r.service()
		stop := run(t, s)
		defer stop()
		req := r.offboarding(3, 3)
		gone := req.Items[4] // ended before the approval: AccessOwl refuses it
		if err := r.owl.EndAccess(gone.AccessStateID); err != nil {
			t.Fatal(err)
		}

		r.approve(s, req, approverID)
		// The automatic ones finish by themselves within seconds; an admin finishes one of the
		// others, and rejects the last.
		time.Sleep(time.Minute)
		admin := []store.Item{req.Items[3], req.Items[5]}
		if _, err := r.owl.Revoke(r.revocationsOf(admin[0].AccessStateID)[0].ID); err != nil {
			t.Fatal(err)
		}
		if _, err := r.owl.Reject(r.revocationsOf(admin[1].AccessStateID)[0].ID, "still needed for the audit"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Minute)

		// The list first and the final reply last; between them, in the order the accesses'
		// submissions happened to finish, the progress and what people must know.
		got, asks := withoutAsks(r.notes.kinds(req.MessageTS))
		if asks != 2 {
			t.Errorf("%d asks, want one for each admin-provisioned access submitted", asks)
		}
		if len(got) > 3 {
			slices.Sort(got[2 : len(got)-1])
		}
		want := []Kind{ItemsListed, ItemsListed, Progress, AccessRefused, StatusChanged, RequestFinished}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("thread replies (-want +got):\n%s", diff)
		}
		r.wantStatuses(req.MessageTS, rejected) // the one status people must know about
		shown, ok := r.notes.progressShown(req.MessageTS)
		if !ok {
			t.Fatal("no progress reply")
		}
		counts := map[string]int{}
		for _, it := range shown.Items {
			switch {
			case it.Refusal != "":
				counts["refused"]++
			default:
				counts[string(it.Status)]++
			}
		}
		if diff := cmp.Diff(map[string]int{"revoked": 4, "rejected": 1, "refused": 1}, counts); diff != "" {
			t.Errorf("the progress reply last showed (-want +got):\n%s", diff)
		}
		stored, err := r.store.Request(t.Context(), req.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !finished(stored) {
			t.Errorf("stored items %+v are not all at their end", stored.Items)
		}
		// The audit trail names every access's submission, and the end of every access
		// AccessOwl took.
		trail, err := r.store.AuditTrail(t.Context(), req.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range req.Items {
			var submitted, ended bool
			for _, a := range trail {
				if !strings.Contains(a.Detail, "access state "+it.AccessStateID) {
					continue
				}
				submitted = submitted || a.Action == store.ActionSubmit
				ended = ended || a.Action == store.ActionStatus && (a.Outcome == "revoked" || a.Outcome == "rejected")
			}
			if !submitted || (!ended && it.AccessStateID != gone.AccessStateID) {
				t.Errorf("the audit trail of access state %s: submitted %v, final status %v\n%+v", it.AccessStateID, submitted, ended, trail)
			}
		}
	})
}

// A status told through the progress reply and claimed by a process that died before it
// recorded it is recorded after a restart, and the progress reply brought up to date; nothing is
// posted for it.
func TestAQuietStatusClaimedBeforeACrashIsToldThroughTheProgress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, newMemStore())
		s := r.service()
		req := r.offboarding(2, 1)
		r.approve(s, req, approverID)
		before := len(r.notes.thread(req.MessageTS))
		// A crash after claiming a status of the admin access's revocation.
		rev := r.revocationsOf(req.Items[2].AccessStateID)[0]
		if _, err := r.owl.Revoke(rev.ID); err != nil {
			t.Fatal(err)
		}
		key := Event{Kind: StatusChanged, RevocationID: rev.ID, Status: revoked}.Key()
		if _, err := r.store.ClaimPost(t.Context(), store.Post{RequestID: req.ID, Key: key, ClaimedAt: time.Now(), Claimer: "a stopped process"}); err != nil {
			t.Fatal(err)
		}
		restarted := r.service()
		stop := run(t, restarted)
		time.Sleep(time.Minute)
		stop()
		if p, err := r.store.Post(t.Context(), req.ID, key); err != nil || p.PostedTS != progressTS {
			t.Errorf("the claim after the restart: %+v, %v; want it recorded as told through the progress", p, err)
		}
		got, asks := withoutAsks(r.notes.kinds(req.MessageTS)[before:])
		if asks > 1 {
			t.Errorf("%d asks, want at most the one of the admin access", asks)
		}
		if diff := cmp.Diff([]Kind{RequestFinished}, got); diff != "" {
			t.Errorf("replies after the restart (-want +got):\n%s", diff)
		}
	})
}

// withoutAsks returns a thread's kinds without the asks of its admin-provisioned accesses, which
// come when the ask loop gets to them, and how many asks there were.
func withoutAsks(kinds []Kind) ([]Kind, int) {
	var out []Kind
	for _, k := range kinds {
		if k != AdminsAsked {
			out = append(out, k)
		}
	}
	return out, len(kinds) - len(out)
}
