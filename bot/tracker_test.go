package bot

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/slack-go/slack"

	"revokebot/apiclient"
	"revokebot/apiclient/owltest"
	"revokebot/secret"
	"revokebot/store"
	"revokebot/store/sqlite"
	"revokebot/store/storetest"
)

const (
	testPoll    = 15 * time.Second
	testChannel = "C0REVOKE"
	requesterID = "U0REQUEST"
	routeList   = "GET /api/v1/access_revocations"
	routeGet    = "GET /api/v1/access_revocations/{id}"
)

// handlerTransport sends requests straight to an http.Handler, without sockets, so that a
// synctest bubble's fake clock can move while AccessOwl "answers".
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
	}
	sreq := req.Clone(req.Context())
	sreq.Body = io.NopCloser(bytes.NewReader(body))
	sreq.RequestURI = req.URL.RequestURI()
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, sreq)
	resp := rec.Result()
	resp.Request = req
	return resp, nil
}

// rig is a tracker's world inside a synctest bubble: a fake AccessOwl reached in memory, a real
// client with its budget, a store, a fake Slack behind a real Output.
type rig struct {
	t      *testing.T
	owl    *owltest.Fake
	client *apiclient.Client
	store  store.Store
	slack  *fakeSlack
	out    *Output
	seq    int
}

// newRig must be called inside a synctest bubble: the Fake reads the bubble's clock.
func newRig(t *testing.T, st store.Store, owlOpts ...owltest.Option) *rig {
	t.Helper()
	owl := owltest.New(append([]owltest.Option{owltest.WithClock(time.Now)}, owlOpts...)...)
	client, err := apiclient.New("http://owl.test", secret.New(owltest.DefaultToken),
		apiclient.WithHTTPClient(&http.Client{Transport: handlerTransport{owl}}),
		apiclient.WithRand(func() float64 { return 0 }))
	if err != nil {
		t.Fatal(err)
	}
	fs := &fakeSlack{}
	return &rig{t: t, owl: owl, client: client, store: st, slack: fs, out: NewOutput(fs, nopObserver{}, discardLog())}
}

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

func (r *rig) config() TrackerConfig {
	return TrackerConfig{
		Store: r.store, Source: r.client, Output: r.out, Threads: r.slack,
		Poll: testPoll, Log: discardLog(),
	}
}

func (r *rig) tracker(mod ...func(*TrackerConfig)) *Tracker {
	r.t.Helper()
	cfg := r.config()
	for _, m := range mod {
		m(&cfg)
	}
	tr, err := NewTracker(cfg)
	if err != nil {
		r.t.Fatal(err)
	}
	return tr
}

// run runs tr until the returned stop is called, which waits for Run to return.
func run(t *testing.T, tr *Tracker) (stop func()) {
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- tr.Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v, want nil after its context ended", err)
		}
	}
}

// request stores an approved request whose approval message is in testChannel, for a new person
// who holds access to the application titled app, and returns it with that access state's ID.
func (r *rig) request(app string) (store.Request, string) {
	r.t.Helper()
	ctx := r.t.Context()
	a, ok := r.owl.ApplicationByTitle(app)
	if !ok {
		r.t.Fatalf("no application %q at the fake AccessOwl", app)
	}
	r.seq++
	u := r.owl.AddUser(owltest.User{Email: fmt.Sprintf("person%d@example.org", r.seq), FirstName: "Person", LastName: fmt.Sprint(r.seq)})
	as := r.owl.AddAccessState(owltest.AccessState{ApplicationID: a.ID, GranteeUserID: u.ID})
	req := storetest.NewRequest(r.seq)
	req.Grantee = store.Person{AccessOwlID: u.ID, Name: u.FullName, Email: u.Email}
	req.AccessStateID, req.ApplicationID, req.ApplicationTitle = as.ID, a.ID, a.Title
	req.ProvisioningType, req.ResourceID, req.ResourceTitle = a.ProvisioningType, "", ""
	req.RequesterID = requesterID
	req.CreatedAt = time.Now()
	if _, err := r.store.CreateRequest(ctx, req); err != nil {
		r.t.Fatal(err)
	}
	ts := r.slack.post(testChannel, ApprovalMessage(req, Progress{}, "value")...)
	if err := r.store.SetMessage(ctx, req.ID, testChannel, ts); err != nil {
		r.t.Fatal(err)
	}
	stored, _, err := r.store.Decide(ctx, req, store.Decision{State: store.Approved, By: "U0APPROVER", At: time.Now()})
	if err != nil {
		r.t.Fatal(err)
	}
	return stored, as.ID
}

// submit files the revocation of a new request as the Approve button does, and returns both.
func (r *rig) submit(app string) (store.Request, apiclient.Revocation) {
	r.t.Helper()
	req, accessStateID := r.request(app)
	rev, err := r.client.CreateRevocation(r.t.Context(), req.ID.String(), apiclient.NewRevocation{AccessStateID: accessStateID, Reason: req.Reason})
	if err != nil {
		r.t.Fatal(err)
	}
	if err := r.store.SetRevocation(r.t.Context(), req.ID, rev.ID); err != nil {
		r.t.Fatal(err)
	}
	req.RevocationID = rev.ID
	return req, *rev
}

func mustTrack(t *testing.T, tr *Tracker, req store.Request, rev apiclient.Revocation) {
	t.Helper()
	if err := tr.Track(t.Context(), req, rev); err != nil {
		t.Fatalf("Track: %v", err)
	}
}

// calls counts the requests the fake AccessOwl received on a route.
func (r *rig) calls(route string) int {
	n := 0
	for _, c := range r.owl.Calls() {
		if c.Route == route {
			n++
		}
	}
	return n
}

// maxPerHour is the most requests the fake AccessOwl received in any rolling hour.
func (r *rig) maxPerHour() int {
	calls := r.owl.Calls()
	most, first := 0, 0
	for last := range calls {
		for calls[last].Time.Sub(calls[first].Time) >= time.Hour {
			first++
		}
		most = max(most, last-first+1)
	}
	return most
}

func TestAutomaticRevocationGetsOneReplyPerStatusAndTheParentFollows(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, newMemStore(), owltest.WithAutomaticDelay(40*time.Second))
		tr := r.tracker()
		stop := run(t, tr)
		defer stop()

		req, rev := r.submit(owltest.SeedAutomaticApp)
		mustTrack(t, tr, req, rev)
		time.Sleep(10 * time.Minute)

		if diff := cmp.Diff([]string{"processing_access", "revoked"}, r.slack.statuses(req.MessageTS)); diff != "" {
			t.Errorf("statuses announced in the thread (-want +got):\n%s", diff)
		}
		replies := r.slack.replies(req.MessageTS)
		if len(replies) != 2 {
			t.Fatalf("%d replies in the thread, want 2", len(replies))
		}
		if mention := "<@" + requesterID + ">"; strings.Contains(replies[0].Text, mention) || !strings.Contains(replies[1].Text, mention) {
			t.Errorf("replies %q and %q: want only the final one to mention the requester", replies[0].Text, replies[1].Text)
		}
		updates := r.slack.updatesOf(req.MessageTS)
		if len(updates) != 2 || !strings.Contains(updates[0].Text, "processing_access") || !strings.Contains(updates[1].Text, "revoked") {
			t.Errorf("parent updates = %+v; want one per status, processing_access then revoked", updates)
		}
		for _, u := range updates {
			if u.hasButtons() {
				t.Errorf("parent update %q still has buttons; a decided request has none", u.Text)
			}
		}
		if rows, _ := r.store.Tracking(t.Context()); len(rows) != 0 {
			t.Errorf("still tracking %+v after revoked, want nothing", rows)
		}
		trail, err := r.store.AuditTrail(t.Context(), req.ID)
		if err != nil {
			t.Fatal(err)
		}
		var audited []string
		for _, a := range trail {
			if a.Actor == "revokebot" && a.Action == "status" {
				audited = append(audited, a.Outcome)
			}
		}
		if diff := cmp.Diff([]string{"processing_access", "revoked"}, audited); diff != "" {
			t.Errorf("audited statuses (-want +got):\n%s", diff)
		}
	})
}

func TestAdminRejectionGetsOneRejectedReply(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, newMemStore())
		tr := r.tracker()
		stop := run(t, tr)
		defer stop()

		req, rev := r.submit(owltest.SeedAdminApp)
		mustTrack(t, tr, req, rev)
		time.Sleep(3 * time.Hour) // an admin takes a while
		if _, err := r.owl.Reject(rev.ID, "still needed for the audit"); err != nil {
			t.Fatal(err)
		}
		rejectedAt := time.Now()
		time.Sleep(DefaultMaxStatusBackoff + time.Minute)

		if diff := cmp.Diff([]string{"processing_access", "rejected"}, r.slack.statuses(req.MessageTS)); diff != "" {
			t.Errorf("statuses announced in the thread (-want +got):\n%s", diff)
		}
		replies := r.slack.replies(req.MessageTS)
		if last := replies[len(replies)-1]; !strings.Contains(last.Text, "<@"+requesterID+">") {
			t.Errorf("rejected reply %q does not mention the requester", last.Text)
		} else {
			t.Logf("rejection seen %s after it happened, after 3 h of waiting", last.At.Sub(rejectedAt))
		}
		if u := r.slack.lastUpdate(req.MessageTS); !strings.Contains(u.Text, "rejected") {
			t.Errorf("parent says %q, want its status line to say rejected", u.Text)
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
		tr := r.tracker()
		replica := r.tracker()
		stop := run(t, tr)
		defer stop()

		req, rev := r.submit(owltest.SeedAdminApp)
		var wg sync.WaitGroup
		for _, x := range []*Tracker{tr, tr, replica} {
			wg.Go(func() { mustTrack(t, x, req, rev) })
		}
		wg.Wait()
		mustTrack(t, replica, req, rev) // a click redelivered much later
		time.Sleep(time.Minute)

		if diff := cmp.Diff([]string{"processing_access"}, r.slack.statuses(req.MessageTS)); diff != "" {
			t.Errorf("statuses announced in the thread (-want +got):\n%s", diff)
		}
	})
}

func TestStatusChangeIsNoticedWithinAboutThePollInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const finishAfter = 37 * time.Second // not a multiple of the poll interval
		r := newRig(t, newMemStore(), owltest.WithAutomaticDelay(finishAfter))
		tr := r.tracker()
		stop := run(t, tr)
		defer stop()

		var reqs []store.Request
		for range 3 {
			req, rev := r.submit(owltest.SeedAutomaticApp)
			mustTrack(t, tr, req, rev)
			reqs = append(reqs, req)
			time.Sleep(4 * time.Second)
		}
		time.Sleep(5 * time.Minute)

		for _, req := range reqs {
			rev, ok := r.owl.Revocation(req.RevocationID)
			if !ok || rev.Status != owltest.Revoked {
				t.Fatalf("revocation %s is %+v, want revoked", req.RevocationID, rev)
			}
			replies := r.slack.replies(req.MessageTS)
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
				tr := r.tracker()
				stop := run(t, tr)
				defer stop()

				req, rev := r.submit(owltest.SeedAutomaticApp)
				mustTrack(t, tr, req, rev)
				r.owl.SetFault(tt.route, tt.fault)
				time.Sleep(20 * time.Minute)
				r.owl.ClearFaults()
				time.Sleep(10 * time.Minute)

				if diff := cmp.Diff([]string{"processing_access", "revoked"}, r.slack.statuses(req.MessageTS)); diff != "" {
					t.Errorf("statuses announced in the thread (-want +got):\n%s", diff)
				}
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
		tr := r.tracker()
		stop := run(t, tr)
		defer stop()

		req, rev := r.submit(owltest.SeedAutomaticApp)
		r.slack.failPosts(1)
		if err := tr.Track(t.Context(), req, rev); err == nil {
			t.Error("Track when Slack fails the post = nil, want the error")
		}
		time.Sleep(DefaultClaimLease + 5*time.Minute)

		// The failed one is posted once its claim's lease is over, which may be after later ones.
		got := r.slack.statuses(req.MessageTS)
		slices.Sort(got)
		if diff := cmp.Diff([]string{"processing_access", "revoked"}, got); diff != "" {
			t.Errorf("statuses announced in the thread (-want +got):\n%s", diff)
		}
		if unposted, _ := r.store.UnpostedStatuses(t.Context()); len(unposted) != 0 {
			t.Errorf("unposted statuses %+v, want none", unposted)
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
				req, rev := r.submit(owltest.SeedAdminApp)
				// What the crashed process left: the row, the claim, maybe the reply and its record;
				// and another revocation's reply in the thread, which must not be taken for it.
				if err := st.Track(t.Context(), store.Tracked{RevocationID: rev.ID, RequestID: req.ID, NextCheck: time.Now(), UpdatedAt: time.Now()}); err != nil {
					t.Fatal(err)
				}
				if _, err := st.ClaimStatus(t.Context(), store.StatusPost{RevocationID: rev.ID, RequestID: req.ID, Status: "processing_access", ClaimedAt: time.Now()}); err != nil {
					t.Fatal(err)
				}
				r.slack.post(testChannel, append(StatusReply(req, "another", "processing_access"), slack.MsgOptionTS(req.MessageTS))...)
				if tt.inThread {
					ts := r.slack.post(testChannel, append(StatusReply(req, rev.ID, "processing_access"), slack.MsgOptionTS(req.MessageTS))...)
					if tt.marked {
						if err := st.MarkStatusPosted(t.Context(), rev.ID, "processing_access", ts); err != nil {
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
				stop := run(t, r.tracker())
				defer stop()
				time.Sleep(time.Second)
				if unposted, _ := st.UnpostedStatuses(t.Context()); tt.inThread && len(unposted) != 0 {
					t.Errorf("a reply found in the thread is still unposted after a second: %+v", unposted)
				}
				time.Sleep(DefaultClaimLease + time.Minute)

				if diff := cmp.Diff([]string{"processing_access"}, r.slack.statusesOf(req.MessageTS, rev.ID)); diff != "" {
					t.Errorf("statuses of the revocation announced in the thread (-want +got):\n%s", diff)
				}
				if unposted, _ := st.UnpostedStatuses(t.Context()); len(unposted) != 0 {
					t.Errorf("unposted statuses %+v, want none", unposted)
				}
				if u := r.slack.lastUpdate(req.MessageTS); !strings.Contains(u.Text, "processing_access") {
					t.Errorf("parent says %q, want its status line brought up to date", u.Text)
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
			req, accessStateID := r.request(owltest.SeedAdminApp)
			rev, err := r.owl.CreateRevocation(accessStateID, req.Reason)
			if err != nil {
				t.Fatal(err)
			}
			req.RevocationID = rev.ID
			// Announced already, and tracked at different moments, so that some are always due:
			// nothing but the budget spaces the sweeps.
			next := time.Now().Add(time.Duration(len(reqs)) * DefaultMaxStatusBackoff / tracked)
			if err := r.store.Track(ctx, store.Tracked{RevocationID: rev.ID, RequestID: req.ID, Status: owltest.Processing, NextCheck: next, UpdatedAt: time.Now()}); err != nil {
				t.Fatal(err)
			}
			reqs = append(reqs, req)
		}
		stop := run(t, r.tracker())
		defer stop()

		// Admins finish some of them now and then, through the second hour.
		time.Sleep(time.Hour)
		finishedAt := make(map[string]time.Time)
		for i := range finished {
			if _, err := r.owl.Revoke(reqs[i*tracked/finished].RevocationID); err != nil {
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
			replies := r.slack.replies(ts)
			if diff := cmp.Diff([]string{"revoked"}, r.slack.statuses(ts)); diff != "" {
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
		tr := r.tracker()
		stop := run(t, tr)
		defer stop()

		req, _ := r.request(owltest.SeedAdminApp)
		lost := apiclient.Revocation{ID: "0b5e9a3c-7d1f-4c2a-9e8b-000000000404", Status: apiclient.RevocationProcessing}
		mustTrack(t, tr, req, lost)
		time.Sleep(time.Hour)

		if gets := r.calls(routeGet); gets == 0 || gets > int(time.Hour/DefaultMaxStatusBackoff)+1 {
			t.Errorf("%d GETs of a revocation AccessOwl does not know in an hour; want one per %s", gets, DefaultMaxStatusBackoff)
		}
	})
}

func TestTrackerStopsWhenItsContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, newMemStore())
		tr := r.tracker()
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- tr.Run(ctx) }()
		req, rev := r.submit(owltest.SeedAdminApp)
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

func TestNewTrackerRefusesAMissingDependency(t *testing.T) {
	if _, err := NewTracker(TrackerConfig{}); err == nil {
		t.Error("NewTracker with nothing = nil error, want a refusal")
	}
}

// busySource is an AccessOwl client whose budget is taken by people's calls until a moment.
type busySource struct {
	RevocationSource
	until time.Time
}

func (b busySource) BackgroundDelay() time.Duration {
	return max(b.RevocationSource.BackgroundDelay(), time.Until(b.until))
}

func TestSweepsWaitWhileTheBudgetIsBusyInsteadOfQueueing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, newMemStore(), owltest.WithAutomaticDelay(time.Minute))
		busy := busySource{RevocationSource: r.client, until: time.Now().Add(10 * time.Minute)}
		tr := r.tracker(func(c *TrackerConfig) { c.Source = busy })
		stop := run(t, tr)
		defer stop()

		req, rev := r.submit(owltest.SeedAutomaticApp)
		mustTrack(t, tr, req, rev)
		time.Sleep(9 * time.Minute)
		if n := r.calls(routeList) + r.calls(routeGet); n != 0 {
			t.Errorf("%d status checks while the budget was busy; want none", n)
		}
		time.Sleep(2 * time.Minute)
		if diff := cmp.Diff([]string{"processing_access", "revoked"}, r.slack.statuses(req.MessageTS)); diff != "" {
			t.Errorf("statuses announced once the budget was free (-want +got):\n%s", diff)
		}
	})
}

func TestFewTrackedAmongManyProcessingAreFetchedOneByOne(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, newMemStore())
		// Revocations filed by other means fill three pages of the processing list.
		for range 250 {
			_, accessStateID := r.request(owltest.SeedAdminApp)
			if _, err := r.owl.CreateRevocation(accessStateID, "filed in AccessOwl's web app"); err != nil {
				t.Fatal(err)
			}
		}
		tr := r.tracker()
		stop := run(t, tr)
		defer stop()
		req, rev := r.submit(owltest.SeedAdminApp)
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
