package revoke

import (
	"context"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"revokebot/apiclient"
	"revokebot/apiclient/owltest"
	"revokebot/store"
	"revokebot/store/sqlite"
)

const (
	processing = apiclient.RevocationProcessing
	revoked    = apiclient.RevocationRevoked
	rejected   = apiclient.RevocationRejected
)

func TestAutomaticRevocationGetsOneReplyPerStatusAndTheParentFollows(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, newMemStore(), owltest.WithAutomaticDelay(40*time.Second))
		tr := r.service()
		stop := run(t, tr)
		defer stop()

		req, rev := r.submitted(owltest.SeedAutomaticApp)
		mustTrack(t, tr, req, rev)
		time.Sleep(10 * time.Minute)

		r.wantStatuses(req.MessageTS, processing, revoked)
		if n := len(r.notes.thread(req.MessageTS)); n != 2 {
			t.Fatalf("%d replies in the thread, want 2", n)
		}
		var shown []store.Status
		for _, u := range r.notes.updatesOf(req.MessageTS) {
			shown = append(shown, u.Items[0].Status)
			if u.State != store.Approved {
				t.Errorf("the approval message was shown %s; want approved", u.State)
			}
		}
		if diff := cmp.Diff([]store.Status{processing, revoked}, shown); diff != "" {
			t.Errorf("statuses the approval message showed, one update per status (-want +got):\n%s", diff)
		}
		if rows, _ := r.store.Tracking(t.Context()); len(rows) != 0 {
			t.Errorf("still tracking %+v after revoked, want nothing", rows)
		}
		r.wantAudited(req.ID, store.ActionStatus, store.Outcome(processing), store.Outcome(revoked))
	})
}

func TestAdminRejectionGetsOneRejectedReply(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, newMemStore())
		tr := r.service()
		stop := run(t, tr)
		defer stop()

		req, rev := r.submitted(owltest.SeedAdminApp)
		mustTrack(t, tr, req, rev)
		time.Sleep(3 * time.Hour) // an admin takes a while
		if _, err := r.owl.Reject(rev.ID, "still needed for the audit"); err != nil {
			t.Fatal(err)
		}
		rejectedAt := time.Now()
		time.Sleep(DefaultMaxStatusBackoff + time.Minute)

		r.wantStatuses(req.MessageTS, processing, rejected)
		replies := r.notes.thread(req.MessageTS)
		t.Logf("rejection seen %s after it happened, after 3 h of waiting", replies[len(replies)-1].At.Sub(rejectedAt))
		if u := r.notes.shown(req.MessageTS); u.Items[0].Status != rejected {
			t.Errorf("the approval message shows %q, want rejected", u.Items[0].Status)
		}
		// Three hours of waiting cost little: the backoff reached its cap.
		if gets, lists := r.calls(routeGet), r.calls(routeList); lists > 3*60/2+30 || gets > 1 {
			t.Errorf("%d list pages and %d single GETs over 3 h for one waiting revocation; want about one page per %s and one GET",
				lists, gets, DefaultMaxStatusBackoff)
		}
	})
}

func TestTrackingTwicePostsOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, newMemStore())
		tr := r.service()
		replica := r.service()
		stop := run(t, tr)
		defer stop()

		req, rev := r.submitted(owltest.SeedAdminApp)
		var wg sync.WaitGroup
		for _, x := range []*Service{tr, tr, replica} {
			wg.Go(func() { mustTrack(t, x, req, rev) })
		}
		wg.Wait()
		mustTrack(t, replica, req, rev) // a click redelivered much later
		time.Sleep(time.Minute)

		r.wantStatuses(req.MessageTS, processing)
	})
}

func TestStatusChangeIsNoticedWithinAboutThePollInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const finishAfter = 37 * time.Second // not a multiple of the poll interval
		r := newRig(t, newMemStore(), owltest.WithAutomaticDelay(finishAfter))
		tr := r.service()
		stop := run(t, tr)
		defer stop()

		var reqs []store.Request
		for range 3 {
			req, rev := r.submitted(owltest.SeedAutomaticApp)
			mustTrack(t, tr, req, rev)
			reqs = append(reqs, req)
			time.Sleep(4 * time.Second)
		}
		time.Sleep(5 * time.Minute)

		for _, req := range reqs {
			rev, ok := r.owl.Revocation(req.Items[0].RevocationID)
			if !ok || rev.Status != owltest.Revoked {
				t.Fatalf("revocation %s is %+v, want revoked", req.Items[0].RevocationID, rev)
			}
			replies := r.notes.thread(req.MessageTS)
			if len(replies) != 2 {
				t.Fatalf("%d replies, want processing_access and revoked", len(replies))
			}
			delay := replies[1].At.Sub(rev.InsertedAt.Add(finishAfter))
			t.Logf("revoked seen %s after it happened (poll %s)", delay, testPoll)
			if delay > testPoll+2*time.Second {
				t.Errorf("revoked seen %s after it happened; want within about the poll interval %s", delay, testPoll)
			}
		}
	})
}

func TestAccessOwlFailuresDuringSweepsLoseNothing(t *testing.T) {
	tests := []struct {
		name  string
		route string
		fault owltest.Fault
	}{
		{"list answers 503 for a while", routeList, owltest.Fault{ServerErrors: 12}},
		{"list answers 429 with Retry-After", routeList, owltest.Fault{RateLimits: 6, RetryAfter: 90 * time.Second}},
		{"single GET answers 503 for a while", routeGet, owltest.Fault{ServerErrors: 12}},
		{"every call fails half the time", "", owltest.Fault{ServerErrorRate: 0.5}},
		{"answers slower than the client waits", routeList, owltest.Fault{Latency: 11 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRig(t, newMemStore(), owltest.WithAutomaticDelay(time.Minute))
				tr := r.service()
				stop := run(t, tr)
				defer stop()

				req, rev := r.submitted(owltest.SeedAutomaticApp)
				mustTrack(t, tr, req, rev)
				r.owl.SetFault(tt.route, tt.fault)
				time.Sleep(20 * time.Minute)
				r.owl.ClearFaults()
				time.Sleep(10 * time.Minute)

				r.wantStatuses(req.MessageTS, processing, revoked)
				if s := r.owl.Stats(); s.RateLimited > tt.fault.RateLimits {
					t.Errorf("%d answers were 429, %d of them injected: the tracker went over the limit", s.RateLimited, tt.fault.RateLimits)
				}
			})
		})
	}
}

func TestFailedPostIsPostedLaterOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, newMemStore(), owltest.WithAutomaticDelay(time.Minute))
		tr := r.service()
		stop := run(t, tr)
		defer stop()

		req, rev := r.submitted(owltest.SeedAutomaticApp)
		r.notes.failReplies(1)
		if err := tr.track(t.Context(), req, req.Items[0], rev); err == nil {
			t.Error("track when Slack fails the post = nil, want the error")
		}
		time.Sleep(DefaultClaimLease + 5*time.Minute)

		// The failed one is posted once its claim's lease is over, which may be after later ones.
		got := r.notes.statuses(req.MessageTS)
		slices.Sort(got)
		if diff := cmp.Diff([]store.Status{processing, revoked}, got); diff != "" {
			t.Errorf("statuses announced in the thread (-want +got):\n%s", diff)
		}
		if unposted, _ := r.store.UnpostedPosts(t.Context()); len(unposted) != 0 {
			t.Errorf("unposted replies %+v, want none", unposted)
		}
	})
}

func TestCrashMidAnnouncementIsRecoveredFromTheThread(t *testing.T) {
	tests := []struct {
		name     string
		inThread bool // the crashed process got as far as posting the reply
		marked   bool // and as far as recording it
	}{
		{"a reply already in the thread is not posted again", true, false},
		{"a reply missing from the thread is posted once", false, false},
		{"a reply recorded before the row was saved is not posted again", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				dir := t.TempDir()
				st, err := sqlite.Open(t.Context(), dir)
				if err != nil {
					t.Fatal(err)
				}
				r := newRig(t, st)
				req, rev := r.submitted(owltest.SeedAdminApp)
				// What the crashed process left: the row, the claim, maybe the reply and its record;
				// and another revocation's reply in the thread, which must not be taken for it.
				it := req.Items[0]
				if err := st.SetRevocation(t.Context(), req.ID, it.AccessStateID, rev.ID, time.Now()); err != nil {
					t.Fatal(err)
				}
				e := Event{Kind: StatusChanged, Item: it, RevocationID: rev.ID, Status: processing}
				if _, err := st.ClaimPost(t.Context(), store.Post{RequestID: req.ID, Key: e.Key(), ClaimedAt: time.Now()}); err != nil {
					t.Fatal(err)
				}
				r.notes.Reply(t.Context(), req, Event{Kind: StatusChanged, RevocationID: "another", Status: processing})
				if tt.inThread {
					ts, _ := r.notes.Reply(t.Context(), req, e)
					if tt.marked {
						if err := st.MarkPosted(t.Context(), req.ID, e.Key(), ts); err != nil {
							t.Fatal(err)
						}
					}
				}
				st.Close()

				// The restarted process: the same database, opened again.
				st, err = sqlite.Open(t.Context(), dir)
				if err != nil {
					t.Fatal(err)
				}
				defer st.Close()
				r.store = st
				stop := run(t, r.service())
				defer stop()
				time.Sleep(time.Second)
				if unposted, _ := st.UnpostedPosts(t.Context()); tt.inThread && len(unposted) != 0 {
					t.Errorf("a reply found in the thread is still unposted after a second: %+v", unposted)
				}
				time.Sleep(DefaultClaimLease + time.Minute)

				if diff := cmp.Diff([]store.Status{processing}, r.notes.statusesOf(req.MessageTS, rev.ID)); diff != "" {
					t.Errorf("statuses of the revocation announced in the thread (-want +got):\n%s", diff)
				}
				if unposted, _ := st.UnpostedPosts(t.Context()); len(unposted) != 0 {
					t.Errorf("unposted replies %+v, want none", unposted)
				}
				if u := r.notes.shown(req.MessageTS); u.Items[0].Status != processing {
					t.Errorf("the approval message shows %q, want its status brought up to date", u.Items[0].Status)
				}
			})
		})
	}
}

func TestThousandTrackedStayWithinTheBudgetAndUseListPages(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates hours of tracking")
	}
	synctest.Test(t, func(t *testing.T) {
		const tracked, finished = 1000, 60
		r := newRig(t, newMemStore())
		ctx := t.Context()
		var reqs []store.Request
		for range tracked {
			req := r.approved(owltest.SeedAdminApp)
			rev, err := r.owl.CreateRevocation(req.Items[0].AccessStateID, req.Reason)
			if err != nil {
				t.Fatal(err)
			}
			req.Items[0].RevocationID = rev.ID
			// Announced already, and tracked at different moments, so that some are always due:
			// nothing but the budget spaces the sweeps.
			next := time.Now().Add(time.Duration(len(reqs)) * DefaultMaxStatusBackoff / tracked)
			if err := r.store.SetRevocation(ctx, req.ID, req.Items[0].AccessStateID, rev.ID, next); err != nil {
				t.Fatal(err)
			}
			if err := r.store.UpdateTracked(ctx, store.Tracked{RevocationID: rev.ID, Status: processing, NextCheck: next, UpdatedAt: time.Now()}); err != nil {
				t.Fatal(err)
			}
			reqs = append(reqs, req)
		}
		stop := run(t, r.service())
		defer stop()

		// Admins finish some of them now and then, through the second hour.
		time.Sleep(time.Hour)
		finishedAt := make(map[string]time.Time)
		for i := range finished {
			if _, err := r.owl.Revoke(reqs[i*tracked/finished].Items[0].RevocationID); err != nil {
				t.Fatal(err)
			}
			finishedAt[reqs[i*tracked/finished].MessageTS] = time.Now()
			time.Sleep(time.Hour / finished)
		}
		time.Sleep(30 * time.Minute)

		hours := time.Since(r.owl.Calls()[0].Time).Hours()
		lists, gets := r.calls(routeList), r.calls(routeGet)
		t.Logf("%d tracked for %.1f h: %d list pages, %d single GETs; at most %d requests in any hour (tracker budget %d, AccessOwl's limit 1000)",
			tracked, hours, lists, gets, r.maxPerHour(), DefaultTrackerBudget)
		if most := r.maxPerHour(); most > DefaultTrackerBudget+20 {
			t.Errorf("%d requests in one hour; want at most the tracker's budget of %d and one sweep", most, DefaultTrackerBudget)
		}
		if s := r.owl.Stats(); s.RateLimited != 0 {
			t.Errorf("%d answers were 429", s.RateLimited)
		}
		if gets > 2*finished {
			t.Errorf("%d single GETs for %d finished revocations; want the list to cover the rest", gets, finished)
		}
		var slowest time.Duration
		for ts, at := range finishedAt {
			replies := r.notes.thread(ts)
			if diff := cmp.Diff([]store.Status{revoked}, r.notes.statuses(ts)); diff != "" {
				t.Fatalf("statuses announced in a finished one's thread (-want +got):\n%s", diff)
			}
			slowest = max(slowest, replies[0].At.Sub(at))
		}
		t.Logf("slowest to notice a finished revocation among %d tracked: %s", tracked, slowest)
		if limit := DefaultMaxStatusBackoff + 2*time.Minute; slowest > limit {
			t.Errorf("a finished revocation was seen %s late; want within %s", slowest, limit)
		}
	})
}

func TestUnknownRevocationIsCheckedRarely(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, newMemStore())
		tr := r.service()
		stop := run(t, tr)
		defer stop()

		req := r.approved(owltest.SeedAdminApp)
		lost := apiclient.Revocation{ID: "0b5e9a3c-7d1f-4c2a-9e8b-000000000404", Status: apiclient.RevocationProcessing}
		mustTrack(t, tr, req, lost)
		time.Sleep(time.Hour)

		if gets := r.calls(routeGet); gets == 0 || gets > int(time.Hour/DefaultMaxStatusBackoff)+1 {
			t.Errorf("%d GETs of a revocation AccessOwl does not know in an hour; want one per %s", gets, DefaultMaxStatusBackoff)
		}
	})
}

func TestRunStopsWhenItsContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, newMemStore())
		tr := r.service()
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- tr.Run(ctx) }()
		req, rev := r.submitted(owltest.SeedAdminApp)
		mustTrack(t, tr, req, rev)
		time.Sleep(time.Minute)
		cancel()
		synctest.Wait()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run = %v, want nil", err)
			}
		default:
			t.Fatal("Run still running after its context ended")
		}
	})
}

func TestNewRefusesAMissingDependency(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Error("New with nothing = nil error, want a refusal")
	}
}

// busySource is an AccessOwl client whose budget is taken by people's calls until a moment.
type busySource struct {
	AccessOwl
	until time.Time
}

func (b busySource) BackgroundDelay() time.Duration {
	return max(b.AccessOwl.BackgroundDelay(), time.Until(b.until))
}

func TestSweepsWaitWhileTheBudgetIsBusyInsteadOfQueueing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, newMemStore(), owltest.WithAutomaticDelay(time.Minute))
		busy := busySource{AccessOwl: r.client, until: time.Now().Add(10 * time.Minute)}
		tr := r.service(func(c *Config) { c.AccessOwl = busy })
		stop := run(t, tr)
		defer stop()

		req, rev := r.submitted(owltest.SeedAutomaticApp)
		mustTrack(t, tr, req, rev)
		time.Sleep(9 * time.Minute)
		if n := r.calls(routeList) + r.calls(routeGet); n != 0 {
			t.Errorf("%d status checks while the budget was busy; want none", n)
		}
		time.Sleep(2 * time.Minute)
		r.wantStatuses(req.MessageTS, processing, revoked)
	})
}

func TestFewTrackedAmongManyProcessingAreFetchedOneByOne(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, newMemStore())
		// Revocations filed by other means fill three pages of the processing list.
		for range 250 {
			other := r.approved(owltest.SeedAdminApp)
			if _, err := r.owl.CreateRevocation(other.Items[0].AccessStateID, "filed in AccessOwl's web app"); err != nil {
				t.Fatal(err)
			}
		}
		tr := r.service()
		stop := run(t, tr)
		defer stop()
		req, rev := r.submitted(owltest.SeedAdminApp)
		mustTrack(t, tr, req, rev)
		time.Sleep(time.Hour)

		lists, gets := r.calls(routeList), r.calls(routeGet)
		t.Logf("one tracked among 251 processing, for an hour: %d list pages, %d single GETs", lists, gets)
		if lists > 3 {
			t.Errorf("%d list pages; want one list of 3 pages, then single GETs, which cost less", lists)
		}
		if gets == 0 {
			t.Error("no single GETs; want the tracked one checked on its own")
		}
	})
}
