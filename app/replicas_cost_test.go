package app

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"revokebot/apiclient/owltest"
)

// startCounting starts a bot as start does, with every statement it sends to PostgreSQL counted
// in n, and returns a function that stops it.
func (w *world) startCounting(n *atomic.Int64, kinds *sync.Map) func() {
	w.t.Helper()
	seen := w.lastConnection()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	log := slog.New(slog.NewTextHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	go func() {
		done <- Run(ctx, w.cfg, Options{Version: "e2e", Log: log, OnQuery: func(sql string) {
			n.Add(1)
			if kinds != nil {
				c, _ := kinds.LoadOrStore(statementKind(sql), new(atomic.Int64))
				c.(*atomic.Int64).Add(1)
			}
		}})
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				w.t.Errorf("the bot stopped with %v", err)
			}
		})
	}
	w.t.Cleanup(stop)
	w.waitConnected(seen, "the bot")
	return stop
}

// TestTheDatabaseRoundTripsOfAnApproval measures, with two replicas, the statements (each a
// round trip) sent to PostgreSQL while idle and for one request from the command to its final
// reply. It reports figures for the README; it fails only if the request does not finish.
func TestTheDatabaseRoundTripsOfAnApproval(t *testing.T) {
	w, url := sharedWorld(t)
	var (
		n     atomic.Int64
		kinds sync.Map
	)
	w.startCounting(&n, &kinds)
	w.startCounting(&n, &kinds)
	waitLeaseHolder(t, url, func(h string) bool { return h != "" })

	const idle = 6 * time.Second
	before := n.Load()
	time.Sleep(idle) // a measurement of the idle cost, not a wait for something to happen
	perSecond := float64(n.Load()-before) / idle.Seconds()

	email, state := w.personWithOneAccess(owltest.SeedAutomaticApp)
	kinds.Clear()
	began, start := time.Now(), n.Load()
	m := w.requestState(state, "measuring round trips")
	posted := n.Load()
	w.click(w.approver, m, "Approve")
	w.reply(m, "*revoked*")
	took, total := time.Since(began), n.Load()-start
	background := perSecond * took.Seconds()
	t.Logf("two idle replicas: %.1f statements/s (heartbeats, the leader's look at tracked revocations)", perSecond)
	t.Logf("one request of %s, from /revoke to its final reply in %s: %d statements, of which about %.0f idle work; %d to post the request",
		w.owlName(w.owlUser(email).ID), took.Round(time.Millisecond), total, background, posted-start)
	var byKind []string
	kinds.Range(func(k, v any) bool {
		byKind = append(byKind, fmt.Sprintf("%d %s", v.(*atomic.Int64).Load(), k))
		return true
	})
	slices.Sort(byKind)
	t.Logf("by statement: %s", strings.Join(byKind, "; "))
}

// statementKind names a statement by its verb and first table, for counting.
func statementKind(sql string) string {
	f := strings.Fields(strings.ToUpper(sql))
	if len(f) == 0 {
		return "?"
	}
	for i, w := range f {
		if (w == "FROM" || w == "INTO" || w == "UPDATE") && i+1 < len(f) {
			return f[0] + " " + strings.ToLower(f[i+1])
		}
	}
	return f[0]
}
