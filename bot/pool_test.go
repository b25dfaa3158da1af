package bot

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestPoolRecoversAPanicAndKeepsWorking(t *testing.T) {
	var panics atomic.Int32
	p := NewPool(t.Context(), 1, 4, discard, func() { panics.Add(1) })
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
	p := NewPool(t.Context(), 1, 1, discard, nil)
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
	p := NewPool(t.Context(), 2, 100, discard, nil)
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
	p := NewPool(jobCtx, 1, 1, discard, nil)
	p.Submit(Job{Run: func(ctx context.Context) { <-ctx.Done() }})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := p.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close with a stuck job = %v, want the deadline", err)
	}
	cancelJobs()
	p.Wait()
}
