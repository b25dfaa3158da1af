package bot

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestPoolRecoversAPanicAndKeepsWorking(t *testing.T) {
	var panics atomic.Int32
	p := NewPool(t.Context(), PoolSize{Workers: 1, Queue: 4}, discard, func() { panics.Add(1) })
	done := make(chan struct{})
	p.Submit(Job{Name: "bad", Run: func(context.Context) { panic("boom") }})
	p.Submit(Job{Name: "good", Run: func(context.Context) { close(done) }})
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the job after a panic never ran")
	}
	if err := p.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if panics.Load() != 1 {
		t.Errorf("onPanic called %d times, want 1", panics.Load())
	}
}

func TestPoolRefusesWhenFullInsteadOfBlocking(t *testing.T) {
	release := make(chan struct{})
	p := NewPool(t.Context(), PoolSize{Workers: 1, Queue: 1}, discard, nil)
	started := make(chan struct{})
	if !p.Submit(Job{Run: func(context.Context) { close(started); <-release }}) {
		t.Fatal("first job refused")
	}
	<-started // the worker holds the first job, so the queue's one place is free
	if !p.Submit(Job{Run: func(context.Context) {}}) {
		t.Fatal("second job refused while the queue had room")
	}
	if p.Submit(Job{Run: func(context.Context) {}}) {
		t.Error("third job accepted although the queue was full")
	}
	close(release)
	if err := p.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestPoolCloseDrainsQueuedWork(t *testing.T) {
	var ran atomic.Int32
	p := NewPool(t.Context(), PoolSize{Workers: 2, Queue: 100}, discard, nil)
	for range 50 {
		p.Submit(Job{Run: func(context.Context) { ran.Add(1) }})
	}
	if err := p.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if ran.Load() != 50 {
		t.Errorf("%d of 50 queued jobs ran before Close returned", ran.Load())
	}
	if p.Submit(Job{Run: func(context.Context) {}}) {
		t.Error("a closed pool accepted a job")
	}
}

func TestPoolCloseGivesUpAtItsDeadline(t *testing.T) {
	jobCtx, cancelJobs := context.WithCancel(t.Context())
	p := NewPool(jobCtx, PoolSize{Workers: 1, Queue: 1}, discard, nil)
	p.Submit(Job{Run: func(ctx context.Context) { <-ctx.Done() }})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := p.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close with a stuck job = %v, want the deadline", err)
	}
	cancelJobs()
	p.Wait()
}

// within fails the test if ch yields nothing within a generous bound.
func within[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not happen", what)
		var zero T
		return zero
	}
}

func TestLowPriorityWorkCannotTakeTheReservedCapacity(t *testing.T) {
	release := make(chan struct{})
	p := NewPool(t.Context(), PoolSize{Workers: 2, ReservedWorkers: 1, Queue: 3, ReservedQueue: 2}, discard, nil)
	t.Cleanup(func() {
		close(release)
		// t.Context has ended by the time cleanups run.
		if err := p.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	started := make(chan Priority, 10)
	blocking := func(pr Priority) Job {
		return Job{Priority: pr, Run: func(context.Context) { started <- pr; <-release }}
	}
	// Lookups take every worker they may use…
	for range 2 {
		if !p.Submit(blocking(PriorityLow)) {
			t.Fatal("a low-priority job was refused by an idle pool")
		}
	}
	for range 2 {
		if got := within(t, started, "a low-priority job starting"); got != PriorityLow {
			t.Fatalf("started a %s job", got)
		}
	}
	// …and all the queue room they have.
	for i := range 3 {
		if !p.Submit(blocking(PriorityLow)) {
			t.Fatalf("low-priority job %d refused while its queue had room", i+1)
		}
	}
	if p.Submit(blocking(PriorityLow)) {
		t.Fatal("a low-priority job was queued beyond its room")
	}

	// A decision still gets a worker at once: the reserved one.
	decided := make(chan struct{})
	if !p.Submit(Job{Priority: PriorityHigh, Run: func(context.Context) { close(decided) }}) {
		t.Fatal("a high-priority job was refused while only low-priority work filled the pool")
	}
	within(t, decided, "the high-priority job running")
	// The reserved worker took none of the waiting lookups: it is free for the next decision.
	again := make(chan struct{})
	p.Submit(Job{Priority: PriorityHigh, Run: func(context.Context) { close(again) }})
	within(t, again, "a second high-priority job running on the reserved worker")

	// Decisions have queue room of their own, which lookups could not take.
	if !p.Submit(blocking(PriorityHigh)) {
		t.Fatal("a blocking high-priority job was refused")
	}
	within(t, started, "the blocking high-priority job starting")
	for i := range 2 {
		if !p.Submit(blocking(PriorityHigh)) {
			t.Fatalf("high-priority job %d refused while the reserved queue had room", i+1)
		}
	}
	if p.Submit(blocking(PriorityHigh)) {
		t.Error("a high-priority job was queued beyond the reserved room")
	}
}

func TestHighPriorityJobsGoBeforeWaitingLowPriorityOnes(t *testing.T) {
	release := make(chan struct{})
	p := NewPool(t.Context(), PoolSize{Workers: 1, Queue: 10, ReservedQueue: 10}, discard, nil)
	started := make(chan struct{})
	p.Submit(Job{Run: func(context.Context) { close(started); <-release }})
	within(t, started, "the first job starting")
	var order []string
	record := func(name string, pr Priority) Job {
		return Job{Name: name, Priority: pr, Run: func(context.Context) { order = append(order, name) }}
	}
	p.Submit(record("lookup 1", PriorityLow))
	p.Submit(record("lookup 2", PriorityLow))
	p.Submit(record("approve", PriorityHigh))
	close(release)
	if err := p.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	// One worker ran them one after another, so order needs no lock once Close has returned.
	if diff := cmp.Diff([]string{"approve", "lookup 1", "lookup 2"}, order); diff != "" {
		t.Errorf("order of work (-want +got):\n%s", diff)
	}
}

func TestAJobPastItsDeadlineFreesItsWorker(t *testing.T) {
	const jobTimeout = 50 * time.Millisecond
	p := NewPool(t.Context(), PoolSize{Workers: 1, Queue: 1, JobTimeout: jobTimeout}, discard, nil)
	stuck := make(chan error, 1)
	hung := make(chan time.Time, 1)
	// A call that never returns, except when its context ends.
	p.Submit(Job{Name: "hung", Run: func(ctx context.Context) { hung <- time.Now(); <-ctx.Done(); stuck <- ctx.Err() }})
	began := within(t, hung, "the hung job starting")
	next := make(chan time.Duration, 1)
	if !p.Submit(Job{Name: "next", Run: func(context.Context) { next <- time.Since(began) }}) {
		t.Fatal("the next job was refused")
	}
	if err := within(t, stuck, "the hung job's context ending"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("the hung job ended with %v, want its deadline", err)
	}
	if took := within(t, next, "the next job running"); took < jobTimeout {
		t.Errorf("the next job ran after %s, before the hung one's deadline", took)
	}
	if err := p.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
}
