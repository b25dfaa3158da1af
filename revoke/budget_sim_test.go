package revoke

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"revokebot/apiclient/owltest"
	"revokebot/store"
)

// budgetSimEnv turns TestBudgetSimulation from a skip into the simulation of the README's
// "Budget: a simulated day": a simulated day takes about a minute of real time.
const budgetSimEnv = "REVOKEBOT_BUDGET_SIM"

// simDay is how long the simulation runs, on the bubble's fake clock.
const simDay = 24 * time.Hour

// simEvent is a revocation filed or finished at a moment of the simulated day.
type simEvent struct {
	at     time.Duration // since the start
	i      int           // which revocation
	finish bool
}

// TestBudgetSimulation tracks 1,000 revocations through a simulated day on synctest's clock:
// filed over the first 8 hours, half by automatic applications that finish in 1–10 minutes,
// half by admins who finish after hours to days (log-normal, median 4 h). It reports AccessOwl
// requests, the peak in any rolling hour, 429s, and the delay from a revocation finishing to its
// thread reply — and, in the same run over the same schedule, what naive polling of each
// revocation at a fixed interval would cost.
func TestBudgetSimulation(t *testing.T) {
	if os.Getenv(budgetSimEnv) == "" {
		t.Skip("a simulation: set " + budgetSimEnv + "=1 (see README.md, \"Budget: a simulated day\")")
	}
	const n = 1000
	synctest.Test(t, func(t *testing.T) {
		// The automatic delay is taken over by the schedule: every finish is an explicit Revoke.
		r := newRig(t, newMemStore(), owltest.WithAutomaticDelay(1000*time.Hour))
		tr := r.service()
		stop := run(t, tr)

		rng := rand.New(rand.NewPCG(7, 11))
		arrive := make([]time.Duration, n)
		finish := make([]time.Duration, n)
		apps := make([]string, n)
		var events []simEvent
		for i := range n {
			arrive[i] = time.Duration(i) * 8 * time.Hour / n
			if i%2 == 0 {
				apps[i] = owltest.SeedAutomaticApp
				finish[i] = arrive[i] + time.Minute + time.Duration(rng.Float64()*float64(9*time.Minute))
			} else {
				apps[i] = owltest.SeedAdminApp
				hours := math.Exp(math.Log(4) + rng.NormFloat64())
				finish[i] = arrive[i] + time.Duration(min(max(hours, 0.5), 72)*float64(time.Hour))
			}
			events = append(events, simEvent{at: arrive[i], i: i}, simEvent{at: finish[i], i: i, finish: true})
		}
		slices.SortStableFunc(events, func(a, b simEvent) int { return int(a.at - b.at) })

		start := time.Now()
		reqs := make([]store.Request, n)
		finishedAt := map[int]time.Time{}
		for _, e := range events {
			if e.at >= simDay {
				break
			}
			time.Sleep(time.Until(start.Add(e.at)))
			if !e.finish {
				req, rev := r.submitted(apps[e.i])
				mustTrack(t, tr, req, rev)
				reqs[e.i] = req
				continue
			}
			if _, err := r.owl.Revoke(reqs[e.i].Items[0].RevocationID); err != nil {
				t.Fatalf("revoke %d: %v", e.i, err)
			}
			finishedAt[e.i] = time.Now()
		}
		time.Sleep(time.Until(start.Add(simDay)))
		stop()

		var delays []time.Duration
		unannounced := 0
		for i, at := range finishedAt {
			d, ok := replyDelay(r, reqs[i], at)
			if !ok {
				unannounced++
				continue
			}
			delays = append(delays, d)
		}
		st := r.owl.Stats()
		t.Logf("simulated %s, %d revocations filed, %d finished within it", simDay, n, len(finishedAt))
		report(t, "revokebot", st.Requests, r.maxPerHour(), st.RateLimited, delays, unannounced)
		if st.RateLimited != 0 {
			t.Errorf("revokebot caused %d 429s, want 0", st.RateLimited)
		}
		for _, every := range []time.Duration{15 * time.Second, time.Minute} {
			total, peak, limited, naive := naivePolling(arrive, finish, every)
			report(t, fmt.Sprintf("naive polling every %s", every), total, peak, limited, naive, 0)
		}
	})
}

// replyDelay is how long after at the request's thread announced "revoked".
func replyDelay(r *rig, req store.Request, at time.Time) (time.Duration, bool) {
	for _, m := range r.notes.thread(req.MessageTS) {
		if m.Event.Kind == StatusChanged && m.Event.Status == revoked {
			return m.At.Sub(at), true
		}
	}
	return 0, false
}

// naivePolling is what GET /access_revocations/{id} every interval for each revocation, from
// filing until the poll that sees it finished, would cost over the same schedule: requests,
// the peak in any rolling hour, the requests over AccessOwl's 1,000 an hour (answered 429), and
// the delay from finishing to the poll that sees it — the delay as if no poll were refused, so a
// lower bound.
func naivePolling(arrive, finish []time.Duration, every time.Duration) (total, peak, limited int, delays []time.Duration) {
	perMinute := make([]int, int(simDay/time.Minute)+1)
	for i := range arrive {
		for at := arrive[i] + every; at < simDay; at += every {
			perMinute[at/time.Minute]++
			total++
			if at >= finish[i] {
				delays = append(delays, at-finish[i])
				break
			}
		}
	}
	// AccessOwl's sliding hour, a minute at a time: what does not fit is refused and not counted.
	allowed := make([]int, len(perMinute))
	window, sent := 0, 0
	for m, c := range perMinute {
		if m >= 60 {
			window -= allowed[m-60]
			sent -= perMinute[m-60]
		}
		allowed[m] = min(c, max(0, 1000-window))
		limited += c - allowed[m]
		window += allowed[m]
		sent += c
		peak = max(peak, sent)
	}
	return total, peak, limited, delays
}

func report(t *testing.T, who string, requests, peak, limited int, delays []time.Duration, unannounced int) {
	t.Helper()
	slices.Sort(delays)
	pct := func(p float64) time.Duration {
		if len(delays) == 0 {
			return 0
		}
		return delays[min(len(delays)-1, int(p*float64(len(delays))))]
	}
	line := fmt.Sprintf("budget: %-26s requests=%d peak_per_hour=%d 429s=%d reply_delay_p50=%s p95=%s (n=%d, unannounced=%d)",
		who, requests, peak, limited, pct(0.5).Round(time.Second), pct(0.95).Round(time.Second), len(delays), unannounced)
	fmt.Println(line)
	t.Log(line)
}
