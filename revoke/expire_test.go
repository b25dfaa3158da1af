package revoke

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"revokebot/apiclient/owltest"
	"revokebot/store"
	"revokebot/store/sqlite"
)

func TestExpiryTakesOnlyPendingRequestsPastTheTTLAndReplicasPostOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const ttl = time.Hour
		ctx := t.Context()
		st, err := sqlite.Open(ctx, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		r := newRig(t, st)

		request := func(age time.Duration, posted bool) store.Request {
			t.Helper()
			req := r.request(owltest.SeedAdminApp)
			req.CreatedAt = time.Now().Add(-age)
			if posted {
				return r.save(req)
			}
			if _, err := st.CreateRequest(ctx, req); err != nil {
				t.Fatal(err)
			}
			return req
		}
		old := request(2*ttl, true)
		fresh := request(ttl/2, true)
		decided := request(2*ttl, true)
		if _, _, err := st.Decide(ctx, decided.ID, store.Decision{State: store.Rejected, By: approverID, At: time.Now()}); err != nil {
			t.Fatal(err)
		}
		neverPosted := request(2*ttl, false)

		for range 2 { // two replicas
			// Each replica is alive to the other: neither posts what the other claimed.
			stop := run(t, r.service(func(c *Config) { c.TTL, c.Alive = ttl, func(string) bool { return true } }))
			defer stop()
		}

		time.Sleep(time.Minute)
		states := func() map[string]store.State {
			got := make(map[string]store.State)
			for name, req := range map[string]store.Request{"old": old, "fresh": fresh, "decided": decided, "never posted": neverPosted} {
				stored, err := st.Request(ctx, req.ID)
				if err != nil {
					t.Fatal(err)
				}
				got[name] = stored.State
			}
			return got
		}
		want := map[string]store.State{"old": store.Expired, "fresh": store.Pending, "decided": store.Rejected, "never posted": store.Expired}
		if diff := cmp.Diff(want, states()); diff != "" {
			t.Errorf("states after the first sweeps (-want +got):\n%s", diff)
		}
		checkExpired(t, r, old)
		for _, req := range []store.Request{fresh, decided} {
			if n, u := len(r.notes.thread(req.MessageTS)), r.notes.updatesOf(req.MessageTS); n != 0 || len(u) != 0 {
				t.Errorf("a request not to expire got %d replies and %d updates", n, len(u))
			}
		}
		if got := r.audited(neverPosted.ID, store.ActionExpire); len(got) != 1 {
			t.Errorf("expiries audited of a request never posted = %v; want one", got)
		}

		// One sweep interval past the moment "fresh" crosses the TTL: the sweep that expires it
		// fires before the test looks, not at the same instant.
		time.Sleep(ttl/2 + time.Minute)
		want["fresh"] = store.Expired
		if diff := cmp.Diff(want, states()); diff != "" {
			t.Errorf("states once the fresh one is past the TTL (-want +got):\n%s", diff)
		}
		checkExpired(t, r, fresh)
		checkExpired(t, r, old) // and nothing more was posted about the old one
	})
}

// checkExpired checks that the approval message of req was shown expired, that its thread got
// exactly one reply saying so, and that the expiry is audited once.
func checkExpired(t *testing.T, r *rig, req store.Request) {
	t.Helper()
	if u := r.notes.updatesOf(req.MessageTS); len(u) != 1 || u[0].State != store.Expired {
		t.Errorf("approval message updates after expiry = %+v; want one, showing it expired", u)
	}
	if diff := cmp.Diff([]Kind{RequestExpired}, r.notes.kinds(req.MessageTS)); diff != "" {
		t.Errorf("thread replies (-want +got):\n%s", diff)
	}
	r.wantAudited(req.ID, store.ActionExpire, store.OutcomeExpired)
}

func TestExpirySweepIntervalIsATenthOfTheTTLWithinBounds(t *testing.T) {
	tests := []struct {
		name string
		ttl  time.Duration
		want time.Duration
	}{
		{"the default TTL sweeps every minute", 0, time.Minute},
		{"a day sweeps every minute", 24 * time.Hour, time.Minute},
		{"five minutes sweeps every thirty seconds", 5 * time.Minute, 30 * time.Second},
		{"ten seconds sweeps no more often than every five seconds", 10 * time.Second, 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, newMemStore())
			s := r.service(func(c *Config) { c.TTL = tt.ttl })
			if s.expiry.interval != tt.want {
				t.Errorf("interval = %s, want %s", s.expiry.interval, tt.want)
			}
		})
	}
}
