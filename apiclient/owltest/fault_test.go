package owltest_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"revokebot/apiclient/owltest"
)

const postRevocation = "POST /api/v1/access_revocations"

// freshClient opens a new connection for every request, so that net/http cannot replay a request
// whose connection was dropped (it does on a reused connection when the request carries an
// Idempotency-Key; see TestReusedConnectionReplaysADroppedRequestWithAKey).
func freshClient(t *testing.T) *http.Client {
	t.Helper()
	transport := &http.Transport{DisableKeepAlives: true}
	t.Cleanup(transport.CloseIdleConnections)
	return &http.Client{Transport: transport}
}

func TestLatencyDelaysTheAnswer(t *testing.T) {
	a := newAPI(t)
	a.srv.SetFault("GET /api/v1/users", owltest.Fault{Latency: 100 * time.Millisecond})
	began := time.Now()
	a.get("/api/v1/users").expect(t, http.StatusOK)
	if elapsed := time.Since(began); elapsed < 100*time.Millisecond {
		t.Errorf("answered after %v, want at least the 100ms latency", elapsed)
	}
	began = time.Now()
	a.get("/api/v1/applications").expect(t, http.StatusOK)
	if elapsed := time.Since(began); elapsed >= 100*time.Millisecond {
		t.Errorf("another route took %v: the latency leaked", elapsed)
	}
}

func TestLatencyEndsWhenTheClientGivesUp(t *testing.T) {
	a := newAPI(t)
	state := activeState(t, a.srv.Fake, owltest.SeedManyGrantsEmail, owltest.SeedAdminApp)
	a.srv.SetFault(postRevocation, owltest.Fault{Latency: time.Hour})

	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_, err := a.send(ctx, a.client, http.MethodPost, "/api/v1/access_revocations", revocationBody(state.ID, "Offboarding"),
		"Idempotency-Key", "k1")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want the client's deadline", err)
	}
	wait, stop := context.WithTimeout(t.Context(), 10*time.Second)
	defer stop()
	err = a.srv.Await(wait, func(f *owltest.Fake) bool {
		calls := f.Calls()
		return len(calls) == 1 && calls[0].Canceled
	})
	if err != nil {
		t.Fatalf("the handler did not end with the client: %v", err)
	}
	if got := len(revocationsOf(a.srv.Fake, state.ID)); got != 1 {
		t.Errorf("%d revocations, want 1: latency comes after processing", got)
	}
}

func TestServerErrorsAreNotProcessed(t *testing.T) {
	a := newAPI(t)
	state := activeState(t, a.srv.Fake, owltest.SeedManyGrantsEmail, owltest.SeedAdminApp)
	a.srv.SetFault(postRevocation, owltest.Fault{ServerErrors: 2})
	body := revocationBody(state.ID, "Offboarding")
	for range 2 {
		a.post("/api/v1/access_revocations", body, "k1").expect(t, http.StatusServiceUnavailable)
		if got := len(revocationsOf(a.srv.Fake, state.ID)); got != 0 {
			t.Fatalf("%d revocations after a 503, want none", got)
		}
	}
	a.post("/api/v1/access_revocations", body, "k1").expect(t, http.StatusCreated)
	if s := a.srv.Stats(); s.ServerErrors != 2 || s.RevocationsCreated != 1 {
		t.Errorf("stats %+v, want 2 server errors and 1 revocation", s)
	}
}

func TestInjectedRateLimits(t *testing.T) {
	a := newAPI(t, owltest.WithRateLimit(1))
	a.srv.SetFault("", owltest.Fault{RateLimits: 2, RetryAfter: 1500 * time.Millisecond})
	for range 2 {
		r := a.get("/api/v1/users").expect(t, http.StatusTooManyRequests)
		if got := r.header.Get("Retry-After"); got != "2" {
			t.Errorf("Retry-After %q, want 1.5s rounded up to 2", got)
		}
	}
	// The injected 429s used none of the one request the hour allows.
	a.get("/api/v1/users").expect(t, http.StatusOK)
	if s := a.srv.Stats(); s.RateLimited != 2 {
		t.Errorf("RateLimited %d, want 2", s.RateLimited)
	}

	t.Run("RetryAfter defaults to a second", func(t *testing.T) {
		b := newAPI(t)
		b.srv.SetFault("", owltest.Fault{RateLimits: 1})
		if got := b.get("/api/v1/users").expect(t, http.StatusTooManyRequests).header.Get("Retry-After"); got != "1" {
			t.Errorf("Retry-After %q, want 1", got)
		}
	})
}

func TestDropAfterCommit(t *testing.T) {
	a := newAPI(t)
	state := activeState(t, a.srv.Fake, owltest.SeedManyGrantsEmail, owltest.SeedAdminApp)
	a.srv.SetFault(postRevocation, owltest.Fault{DropAfterCommit: 1})
	body := revocationBody(state.ID, "Offboarding")

	_, err := a.send(t.Context(), freshClient(t), http.MethodPost, "/api/v1/access_revocations", body, "Idempotency-Key", "k1")
	if err == nil {
		t.Fatal("the dropped request got an answer")
	}
	if got := len(revocationsOf(a.srv.Fake, state.ID)); got != 1 {
		t.Fatalf("%d revocations after a dropped answer, want 1: the request was committed", got)
	}
	// The retry a careful client makes: the key was recorded, so it is told the request arrived.
	a.post("/api/v1/access_revocations", body, "k1").expect(t, http.StatusConflict)

	calls := a.srv.Calls()
	got := []owltest.Call{{Status: calls[0].Status, Dropped: calls[0].Dropped}, {Status: calls[1].Status, Dropped: calls[1].Dropped}}
	want := []owltest.Call{{Status: http.StatusCreated, Dropped: true}, {Status: http.StatusConflict}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if s := a.srv.Stats(); s.Dropped != 1 || s.Conflicts != 1 {
		t.Errorf("stats %+v, want 1 dropped and 1 conflict", s)
	}
}

func TestALostRevocationCanBeFoundWithoutItsAccessStateID(t *testing.T) {
	clk := newClock()
	a := newAPI(t, owltest.WithClock(clk.Now))
	state := activeState(t, a.srv.Fake, owltest.SeedManyGrantsEmail, owltest.SeedAdminApp)
	a.srv.SetFault(postRevocation, owltest.Fault{DropAfterCommit: 1})
	sent := clk.Now()
	if _, err := a.send(t.Context(), freshClient(t), http.MethodPost, "/api/v1/access_revocations",
		revocationBody(state.ID, "Offboarding"), "Idempotency-Key", "k1"); err == nil {
		t.Fatal("the dropped request got an answer")
	}
	// What a client knows: whose access, to what, why and when. The revocation carries no
	// access_state_id, so that is what it searches by.
	var found []wireRevocation
	for _, v := range listAll[wireRevocation](t, a, "/api/v1/access_revocations?user_id="+state.GranteeUserID+
		"&application_id="+state.ApplicationID) {
		if v.ResourceID != nil && *v.ResourceID == state.ResourceID && v.Reason == "Offboarding" &&
			!v.InsertedAt.Before(sent.Truncate(time.Second)) {
			found = append(found, v)
		}
	}
	if len(found) != 1 || found[0].Status != owltest.Processing {
		t.Errorf("found %+v, want the one processing revocation", found)
	}
}

// net/http's Transport replays a request that carries an Idempotency-Key when its reused
// connection closes before the answer: the client never sees the drop, only the 409 of the
// replay. A client must therefore treat a 409 on what it thinks is a first attempt as "sent".
func TestReusedConnectionReplaysADroppedRequestWithAKey(t *testing.T) {
	a := newAPI(t)
	state := activeState(t, a.srv.Fake, owltest.SeedManyGrantsEmail, owltest.SeedAdminApp)
	a.get("/api/v1/users").expect(t, http.StatusOK) // leaves an idle connection to reuse
	a.srv.SetFault(postRevocation, owltest.Fault{DropAfterCommit: 1})

	a.post("/api/v1/access_revocations", revocationBody(state.ID, "Offboarding"), "k1").expect(t, http.StatusConflict)
	if got := len(revocationsOf(a.srv.Fake, state.ID)); got != 1 {
		t.Errorf("%d revocations, want 1", got)
	}
}

func TestFaultsApplyToTheirRoute(t *testing.T) {
	a := newAPI(t)
	a.srv.SetFault("GET /api/v1/users/{id}", owltest.Fault{ServerErrors: 1})
	farid, _ := a.srv.UserByEmail(owltest.SeedOffboardedEmail)
	a.get("/api/v1/users").expect(t, http.StatusOK)
	a.get("/api/v1/users/"+farid.ID).expect(t, http.StatusServiceUnavailable)
	a.get("/api/v1/users/"+farid.ID).expect(t, http.StatusOK)

	a.srv.SetFault("", owltest.Fault{ServerErrors: 2})
	a.get("/api/v1/nowhere").expect(t, http.StatusServiceUnavailable)
	a.get("/api/v1/applications").expect(t, http.StatusServiceUnavailable)
	a.get("/api/v1/applications").expect(t, http.StatusOK)

	t.Run("a route's own count is used before the one for every route", func(t *testing.T) {
		a.srv.SetFault("", owltest.Fault{ServerErrors: 1})
		a.srv.SetFault("GET /api/v1/users", owltest.Fault{ServerErrors: 1})
		a.get("/api/v1/users").expect(t, http.StatusServiceUnavailable)
		want := map[string]owltest.Fault{
			"":                       {ServerErrors: 1, RetryAfter: time.Second},
			"GET /api/v1/users":      {RetryAfter: time.Second},
			"GET /api/v1/users/{id}": {RetryAfter: time.Second},
		}
		if diff := cmp.Diff(want, a.srv.Faults()); diff != "" {
			t.Errorf("faults left (-want +got):\n%s", diff)
		}
	})
	t.Run("ClearFaults removes them all", func(t *testing.T) {
		a.srv.ClearFaults()
		a.get("/api/v1/users").expect(t, http.StatusOK)
		if got := a.srv.Faults(); len(got) != 0 {
			t.Errorf("faults %v after ClearFaults", got)
		}
	})
}

func TestSetFaultRefusesAnUnknownRoute(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("SetFault accepted a route the Fake does not serve")
		}
	}()
	owltest.New().SetFault("POST /api/v1/access_revocation", owltest.Fault{ServerErrors: 1})
}

func TestFaultRatesAreDeterministic(t *testing.T) {
	statuses := func() []int {
		a := newAPI(t, owltest.WithRand(rand.New(rand.NewPCG(7, 7))))
		a.srv.SetFault("", owltest.Fault{ServerErrorRate: 0.3})
		var out []int
		for range 60 {
			out = append(out, a.get("/api/v1/users").status)
		}
		return out
	}
	first, second := statuses(), statuses()
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("the same seed gave different answers (-first +second):\n%s", diff)
	}
	failed := 0
	for _, s := range first {
		if s >= 500 {
			failed++
		} else if s != http.StatusOK {
			t.Errorf("status %d, want 200 or 5xx", s)
		}
	}
	// 30% of 60 is 18; a fair draw lands well within these bounds.
	if failed < 6 || failed > 32 {
		t.Errorf("%d of 60 failed at a 30%% rate", failed)
	}
}

func TestDropRateDropsOnlyMutations(t *testing.T) {
	a := newAPI(t)
	state := activeState(t, a.srv.Fake, owltest.SeedManyGrantsEmail, owltest.SeedAdminApp)
	a.srv.SetFault("", owltest.Fault{DropRate: 1})
	a.get("/api/v1/users").expect(t, http.StatusOK)
	_, err := a.send(t.Context(), freshClient(t), http.MethodPost, "/api/v1/access_revocations",
		revocationBody(state.ID, "Offboarding"), "Idempotency-Key", "k1")
	if err == nil {
		t.Fatal("a mutation at DropRate 1 got an answer")
	}
	if got := len(revocationsOf(a.srv.Fake, state.ID)); got != 1 {
		t.Errorf("%d revocations, want the dropped one committed", got)
	}
}
