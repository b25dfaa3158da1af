package revoke

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"revokebot/apiclient"
	"revokebot/apiclient/owltest"
	"revokebot/secret"
	"revokebot/store"
)

const (
	// burstApprovals are approved in the first burstWindow, while AccessOwl answers
	// burstServerErrors of its requests 5xx; laterApprovals follow, evenly over laterWindow.
	burstApprovals    = 200
	burstWindow       = 10 * time.Minute
	burstServerErrors = 0.3
	laterApprovals    = 800
	laterWindow       = 14 * time.Hour
	// burstHour is when a revocation's finish counts as "during the burst" for the reply delay:
	// the burst and the hour it weighs on.
	burstHour = time.Hour
)

// TestBudgetSimulationBurstDay runs a burst day on synctest's clock: 200 approvals in ten
// minutes while AccessOwl answers 30% of requests 5xx, then 800 more over the next 14 hours;
// half the revocations finish 1–10 minutes after they are filed, half after a log-normal time
// (median 4 h). Each approval goes through Decide, so submissions, their retries, the
// resubmitter and the tracker all share the budget. It runs twice on the same schedule: with the
// client's rolling-hour budget, and with the bucket it replaced (a burst of 50, then one request
// every 3.8 s, background work held back while fewer than 10 are left). For each it reports
// AccessOwl requests, the peak in any rolling hour, 429s, revocations not created, and the delay
// from a revocation finishing to its thread reply, during the burst's hour and after it.
func TestBudgetSimulationBurstDay(t *testing.T) {
	if os.Getenv(budgetSimEnv) == "" {
		t.Skip("a simulation: set " + budgetSimEnv + "=1 (see README.md, \"Budget: a burst day\")")
	}
	for _, kind := range []string{"rolling hour", "bucket (before)"} {
		t.Run(kind, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { burstDay(t, kind) })
		})
	}
}

func burstDay(t *testing.T, kind string) {
	r := newRig(t, newMemStore(), owltest.WithAutomaticDelay(1000*time.Hour))
	if kind != "rolling hour" {
		client, err := apiclient.New("http://owl.test", secret.New(owltest.DefaultToken),
			apiclient.WithHTTPClient(&http.Client{Transport: r.owl.Transport()}),
			apiclient.WithRand(func() float64 { return 0 }), apiclient.WithBudget(newBucketBudget(apiclient.DefaultRateLimit)))
		if err != nil {
			t.Fatal(err)
		}
		r.client = client
	}
	s := r.service()
	stop := run(t, s)
	start := time.Now()

	const n = burstApprovals + laterApprovals
	rng := rand.New(rand.NewPCG(7, 11))
	type plan struct {
		at, finishAfter time.Duration
		app             string
	}
	plans := make([]plan, n)
	for i := range plans {
		p := &plans[i]
		if i < burstApprovals {
			p.at = time.Duration(i) * burstWindow / burstApprovals
		} else {
			p.at = burstWindow + time.Duration(i-burstApprovals)*laterWindow/laterApprovals
		}
		if i%2 == 0 {
			p.app, p.finishAfter = owltest.SeedAutomaticApp, time.Minute+time.Duration(rng.Float64()*float64(9*time.Minute))
		} else {
			hours := math.Exp(math.Log(4) + rng.NormFloat64())
			p.app, p.finishAfter = owltest.SeedAdminApp, time.Duration(min(max(hours, 0.5), 72)*float64(time.Hour))
		}
	}

	r.owl.SetFault("", owltest.Fault{ServerErrorRate: burstServerErrors})
	faultsOff := time.AfterFunc(burstWindow, r.owl.ClearFaults)
	defer faultsOff.Stop()

	ctx, cancel := context.WithDeadline(t.Context(), start.Add(simDay))
	defer cancel()
	var (
		wg         sync.WaitGroup
		mu         sync.Mutex
		reqs       = make([]store.Request, n)
		finishedAt = map[int]time.Time{}
	)
	for i, p := range plans {
		time.Sleep(time.Until(start.Add(p.at)))
		req := r.pending(p.app)
		reqs[i] = req
		wg.Go(func() {
			if _, err := s.Decide(ctx, Click{RequestID: req.ID, Decision: store.Decision{State: store.Approved, By: approverID, At: time.Now()}}); err != nil {
				t.Errorf("approve %d: %v", i, err)
				return
			}
			// The revocation exists once a submission or the resubmitter got it through.
			as := req.Items[0].AccessStateID
			if err := r.owl.Await(ctx, func(f *owltest.Fake) bool { return len(r.revocationsOf(as)) > 0 }); err != nil {
				return // not created within the day: counted below
			}
			time.Sleep(time.Until(start.Add(p.at + p.finishAfter)))
			if ctx.Err() != nil {
				return
			}
			if _, err := r.owl.Revoke(r.revocationsOf(as)[0].ID); err != nil {
				t.Errorf("revoke %d: %v", i, err)
				return
			}
			mu.Lock()
			finishedAt[i] = time.Now()
			mu.Unlock()
		})
	}
	time.Sleep(time.Until(start.Add(simDay)))
	stop()
	cancel()
	wg.Wait()

	var during, after []time.Duration
	unannounced, notCreated := 0, 0
	for i, req := range reqs {
		if len(r.revocationsOf(req.Items[0].AccessStateID)) == 0 {
			notCreated++
		}
		at, ok := finishedAt[i]
		if !ok {
			continue
		}
		d, ok := replyDelay(r, req, at)
		switch {
		case !ok:
			unannounced++
		case at.Sub(start) < burstHour:
			during = append(during, d)
		default:
			after = append(after, d)
		}
	}
	st := r.owl.Stats()
	report(t, kind+", burst hour", st.Requests, r.maxPerHour(), st.RateLimited, during, unannounced)
	report(t, kind+", after it", st.Requests, r.maxPerHour(), st.RateLimited, after, unannounced)
	fmt.Printf("budget: %-26s revocations filed=%d not created=%d finished within the day=%d\n", kind, n, notCreated, len(finishedAt))
	if kind == "rolling hour" {
		if st.RateLimited != 0 {
			t.Errorf("the rolling-hour budget caused %d 429s, want 0", st.RateLimited)
		}
		if notCreated != 0 {
			t.Errorf("%d approved revocations were never created", notCreated)
		}
	}
}

// bucketBudget is the budget the client had before the rolling hour, for comparison: a bucket
// of 50 requests refilled evenly so that a full hour holds perHour (one every 3.8 s at 1,000),
// shared by people and background work, except that background work waits while fewer than 10
// are left. A 429's Retry-After pauses it.
type bucketBudget struct {
	capacity, reserve float64
	every             time.Duration

	mu     sync.Mutex
	tokens float64
	at     time.Time
	seq    uint64
	paused time.Time
}

func newBucketBudget(perHour int) *bucketBudget {
	const capacity = 50
	return &bucketBudget{capacity: capacity, reserve: 10, every: time.Hour / time.Duration(perHour-capacity),
		tokens: capacity, at: time.Now()}
}

func (b *bucketBudget) refill(now time.Time) {
	b.tokens = min(b.capacity, b.tokens+float64(now.Sub(b.at))/float64(b.every))
	b.at = now
}

func (b *bucketBudget) waitLocked(now time.Time, class apiclient.Class) apiclient.Wait {
	if now.Before(b.paused) {
		return apiclient.Wait{Duration: b.paused.Sub(now), FromAccessOwl: true}
	}
	need := 1.0
	if class == apiclient.ClassBackground {
		need += b.reserve
	}
	if b.tokens >= need {
		return apiclient.Wait{}
	}
	return apiclient.Wait{Duration: time.Duration((need - b.tokens) * float64(b.every))}
}

func (b *bucketBudget) Take(_ context.Context, class apiclient.Class) (apiclient.Slot, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	b.refill(now)
	if w := b.waitLocked(now, class); w.Duration > 0 {
		return apiclient.Slot{Wait: w}, nil
	}
	b.tokens--
	b.seq++
	return apiclient.Slot{Seq: b.seq}, nil
}

func (b *bucketBudget) Delay(_ context.Context, class apiclient.Class) (apiclient.Wait, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	b.refill(now)
	return b.waitLocked(now, class), nil
}

func (b *bucketBudget) Available(context.Context) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill(time.Now())
	return int(b.tokens), nil
}

func (b *bucketBudget) Heed(_ context.Context, l apiclient.ServerLimit) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if l.PauseUntil.After(b.paused) {
		b.paused = l.PauseUntil
	}
	return nil
}
