package bot

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"revokebot/store"
	"revokebot/store/sqlite"
	"revokebot/store/storetest"
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
		fs := &fakeSlack{}
		out := NewOutput(fs, nopObserver{}, discardLog())

		request := func(n int, age time.Duration, posted bool) store.Request {
			t.Helper()
			r := storetest.NewRequest(n)
			r.CreatedAt = time.Now().Add(-age)
			if _, err := st.CreateRequest(ctx, r); err != nil {
				t.Fatal(err)
			}
			if posted {
				r.MessageTS = fs.post(testChannel, ApprovalMessage(r, Progress{}, "value")...)
				if err := st.SetMessage(ctx, r.ID, testChannel, r.MessageTS); err != nil {
					t.Fatal(err)
				}
			}
			return r
		}
		old := request(1, 2*ttl, true)
		fresh := request(2, ttl/2, true)
		decided := request(3, 2*ttl, true)
		if _, _, err := st.Decide(ctx, decided, store.Decision{State: store.Approved, By: "U0APPROVER", At: time.Now()}); err != nil {
			t.Fatal(err)
		}
		neverPosted := request(4, 2*ttl, false)

		var stops []func()
		for range 2 { // two replicas
			e, err := NewExpirer(ExpirerConfig{Store: st, Output: out, TTL: ttl, Log: discardLog()})
			if err != nil {
				t.Fatal(err)
			}
			ectx, cancel := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- e.Run(ectx) }()
			stops = append(stops, func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("Run = %v, want nil", err)
				}
			})
		}
		defer func() {
			for _, stop := range stops {
				stop()
			}
		}()

		time.Sleep(time.Minute)
		states := func() map[string]store.State {
			got := make(map[string]store.State)
			for name, r := range map[string]store.Request{"old": old, "fresh": fresh, "decided": decided, "never posted": neverPosted} {
				stored, err := st.Request(ctx, r.ID)
				if err != nil {
					t.Fatal(err)
				}
				got[name] = stored.State
			}
			return got
		}
		want := map[string]store.State{"old": store.Expired, "fresh": store.Pending, "decided": store.Approved, "never posted": store.Expired}
		if diff := cmp.Diff(want, states()); diff != "" {
			t.Errorf("states after the first sweeps (-want +got):\n%s", diff)
		}
		checkExpired(t, fs, st, old)
		for _, r := range []store.Request{fresh, decided} {
			if n, u := len(fs.replies(r.MessageTS)), fs.updatesOf(r.MessageTS); n != 0 || len(u) != 0 {
				t.Errorf("a request not to expire got %d replies and %d updates", n, len(u))
			}
		}
		if trail, _ := st.AuditTrail(ctx, neverPosted.ID); len(trail) != 1 || trail[0].Action != "expire" {
			t.Errorf("audit trail of a request never posted = %+v; want one expire record", trail)
		}

		// One sweep interval past the moment "fresh" crosses the TTL: the sweep that expires it
		// fires before the test looks, not at the same instant.
		time.Sleep(ttl/2 + time.Minute)
		want["fresh"] = store.Expired
		if diff := cmp.Diff(want, states()); diff != "" {
			t.Errorf("states once the fresh one is past the TTL (-want +got):\n%s", diff)
		}
		checkExpired(t, fs, st, fresh)
		checkExpired(t, fs, st, old) // and nothing more was posted about the old one
	})
}

// checkExpired checks that r's approval message lost its buttons and says it expired, that its
// thread got exactly one reply saying so, and that the expiry is audited once.
func checkExpired(t *testing.T, fs *fakeSlack, st store.Store, r store.Request) {
	t.Helper()
	u := fs.lastUpdate(r.MessageTS)
	if u.hasButtons() || !strings.Contains(u.Text, "Expired") {
		t.Errorf("approval message after expiry: %q, buttons %v; want no buttons and the status line saying expired", u.Text, u.hasButtons())
	}
	replies := fs.replies(r.MessageTS)
	if len(replies) != 1 || !strings.Contains(replies[0].Text, "expired") || !strings.Contains(replies[0].Text, "<@"+r.RequesterID+">") {
		t.Errorf("thread replies = %+v; want one telling the requester it expired", replies)
	}
	var audits int
	trail, err := st.AuditTrail(t.Context(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range trail {
		if a.Action == "expire" && a.Actor == "revokebot" && a.Outcome == string(store.Expired) {
			audits++
		}
	}
	if audits != 1 {
		t.Errorf("%d expire audit records, want 1: %+v", audits, trail)
	}
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
			e, err := NewExpirer(ExpirerConfig{Store: newMemStore(), Output: NewOutput(&fakeSlack{}, nopObserver{}, discardLog()), TTL: tt.ttl})
			if err != nil {
				t.Fatal(err)
			}
			if e.interval != tt.want {
				t.Errorf("interval = %s, want %s", e.interval, tt.want)
			}
		})
	}
}
