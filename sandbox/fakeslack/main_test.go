package fakeslack_test

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"revokebot/sandbox/fakeslack"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fastConfig shortens Slack's timings so tests about them take milliseconds.
func fastConfig() fakeslack.Config {
	return fakeslack.Config{
		PingInterval:    50 * time.Millisecond,
		RedeliveryDelay: 300 * time.Millisecond,
		TriggerLifetime: 3 * time.Second,
	}
}

// startServer starts a fake workspace over HTTP, seeded, closed when the test ends.
func startServer(t *testing.T, cfg fakeslack.Config) (*fakeslack.Server, fakeslack.Seeded) {
	t.Helper()
	s := fakeslack.NewServer(cfg)
	t.Cleanup(s.Close)
	return s, s.Seed()
}

// deadline bounds a test's waits so a broken behaviour fails instead of hanging.
func deadline(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}
