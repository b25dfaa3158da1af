package owltest_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"revokebot/apiclient/owltest"
)

func TestCallsRecordEveryRequestInOrder(t *testing.T) {
	clk := newClock()
	a := newAPI(t, owltest.WithClock(clk.Now))
	state := activeState(t, a.srv.Fake, owltest.SeedManyGrantsEmail, owltest.SeedAdminApp)
	body := revocationBody(state.ID, "Offboarding")
	a.get("/api/v1/users?status=all&limit=2")
	clk.Advance(time.Second)
	a.post("/api/v1/access_revocations", body, "k1")
	a.post("/api/v1/access_revocations", body, "k1")
	a.post("/api/v1/access_revocations", `{}`, "")
	a.token = "wrong"
	a.get("/api/v1/nowhere")

	want := []owltest.Call{
		{Time: start, Method: "GET", Path: "/api/v1/users", RawQuery: "status=all&limit=2", Route: "GET /api/v1/users", Status: 200},
		{Time: start.Add(time.Second), Method: "POST", Path: "/api/v1/access_revocations", Route: postRevocation,
			IdempotencyKey: "k1", Body: []byte(body), Status: 201},
		{Time: start.Add(time.Second), Method: "POST", Path: "/api/v1/access_revocations", Route: postRevocation,
			IdempotencyKey: "k1", Body: []byte(body), Status: 409},
		{Time: start.Add(time.Second), Method: "POST", Path: "/api/v1/access_revocations", Route: postRevocation,
			Body: []byte(`{}`), Status: 422},
		{Time: start.Add(time.Second), Method: "GET", Path: "/api/v1/nowhere", Status: 401},
	}
	if diff := cmp.Diff(want, a.srv.Calls()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	wantStats := owltest.Stats{Requests: 5, RevocationsCreated: 1, Conflicts: 1, Unprocessable: 1}
	if diff := cmp.Diff(wantStats, a.srv.Stats()); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
}

func TestAwait(t *testing.T) {
	t.Run("a condition already true returns at once", func(t *testing.T) {
		f := owltest.New()
		ctx, cancel := context.WithCancel(t.Context())
		cancel() // even a finished context does not matter when there is nothing to wait for
		if err := f.Await(ctx, func(*owltest.Fake) bool { return true }); err != nil {
			t.Errorf("Await: %v", err)
		}
	})
	t.Run("a request wakes it", func(t *testing.T) {
		a := newAPI(t)
		done := make(chan error, 1)
		go func() {
			done <- a.srv.Await(t.Context(), func(f *owltest.Fake) bool { return f.Stats().Requests == 2 })
		}()
		a.get("/api/v1/users")
		a.get("/api/v1/users")
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Await: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Await did not wake within 10s")
		}
	})
	t.Run("it returns the context's error at the deadline", func(t *testing.T) {
		f := owltest.New()
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		err := f.Await(ctx, func(*owltest.Fake) bool { return false })
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Await returned %v, want context.DeadlineExceeded", err)
		}
	})
	t.Run("Notify wakes it after the injected clock moves", func(t *testing.T) {
		clk := newClock()
		f := owltest.New(owltest.WithClock(clk.Now), owltest.WithAutomaticDelay(time.Minute))
		state := activeState(t, f, owltest.SeedOffboardedEmail, owltest.SeedAutomaticApp)
		v, err := f.CreateRevocation(state.ID, "Offboarding")
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			done <- f.Await(t.Context(), func(f *owltest.Fake) bool {
				got, _ := f.Revocation(v.ID)
				return got.Status == owltest.Revoked
			})
		}()
		clk.Advance(time.Minute)
		f.Notify()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Await: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Await did not wake within 10s")
		}
	})
	t.Run("an admin action wakes it", func(t *testing.T) {
		f := owltest.New()
		state := activeState(t, f, owltest.SeedManyGrantsEmail, owltest.SeedAdminApp)
		v, err := f.CreateRevocation(state.ID, "Offboarding")
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			done <- f.Await(t.Context(), func(f *owltest.Fake) bool {
				got, _ := f.AccessState(state.ID)
				return !got.Active()
			})
		}()
		if _, err := f.Revoke(v.ID); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Await: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Await did not wake within 10s")
		}
	})
}

func TestHTTPAndAdminActionsAgree(t *testing.T) {
	// The admin panel's Revoke and the API's …/revoke leave the same state behind.
	viaHTTP := newAPI(t)
	state := activeState(t, viaHTTP.srv.Fake, owltest.SeedManyGrantsEmail, owltest.SeedAdminApp)
	var v wireRevocation
	viaHTTP.post("/api/v1/access_revocations", revocationBody(state.ID, "Offboarding"), "").
		expect(t, http.StatusCreated).data(t, &v)
	viaHTTP.post("/api/v1/access_revocations/"+v.ID+"/revoke", "", "").expect(t, http.StatusOK)

	direct := owltest.New()
	created, err := direct.CreateRevocation(state.ID, "Offboarding")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := direct.Revoke(created.ID); err != nil {
		t.Fatal(err)
	}
	// Both run on the real clock, so timestamps differ by the time the test took; IDs are the
	// same, as both Fakes made the same calls.
	ignoreTime := cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".InsertedAt" }, cmp.Ignore())
	got1, _ := viaHTTP.srv.Revocation(v.ID)
	got2, _ := direct.Revocation(created.ID)
	if diff := cmp.Diff(got1, got2, ignoreTime); diff != "" {
		t.Errorf("revocations differ (-http +direct):\n%s", diff)
	}
	for _, f := range []*owltest.Fake{viaHTTP.srv.Fake, direct} {
		if s, _ := f.AccessState(state.ID); s.Active() {
			t.Error("the access is still active after Revoke")
		}
	}
}
