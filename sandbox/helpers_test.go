package sandbox

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"go.uber.org/goleak"

	"revokebot/apiclient/owltest"
	"revokebot/sandbox/testenv"
)

// waitTimeout bounds every wait: generous for a loaded 2-core machine, and still a failure
// rather than a hang when something never happens.
const waitTimeout = 30 * time.Second

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// startSandbox starts a sandbox on a free loopback port and closes it when the test ends; the
// sandbox's logs are shown when the test fails.
func startSandbox(t *testing.T) *Sandbox {
	t.Helper()
	logs := &testenv.Logs{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("sandbox logs:\n%s", logs)
		}
	})
	began := time.Now()
	s, err := Start(t.Context(), Options{
		Listen:         "127.0.0.1:0",
		Log:            slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		AutomaticDelay: 2 * time.Second,
	})
	if err != nil {
		t.Fatalf("start the sandbox: %v\n%s", err, logs)
	}
	t.Logf("sandbox ready in %s at %s", time.Since(began).Round(time.Millisecond), s.URL)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close the sandbox: %v", err)
		}
	})
	return s
}

// ctx is a context for one wait.
func waitCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	t.Cleanup(cancel)
	return ctx
}

// revocationsOf returns AccessOwl's revocations of an access state.
func revocationsOf(owl *owltest.Fake, stateID string) []owltest.Revocation {
	var out []owltest.Revocation
	for _, r := range owl.Revocations() {
		if r.AccessStateID == stateID {
			out = append(out, r)
		}
	}
	return out
}

// activeState returns an active access state of the person with email in the application.
func activeState(t *testing.T, owl *owltest.Fake, email, app string) owltest.AccessState {
	t.Helper()
	u, ok := owl.UserByEmail(email)
	a, ok2 := owl.ApplicationByTitle(app)
	if !ok || !ok2 {
		t.Fatalf("the seed has no %s or no %s", email, app)
	}
	for _, s := range owl.ActiveAccessStates(u.ID) {
		if s.ApplicationID == a.ID {
			return s
		}
	}
	t.Fatalf("%s has no active access to %s", email, app)
	return owltest.AccessState{}
}
