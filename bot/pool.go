package bot

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
)

// Job is one piece of work handed off by the read loop.
type Job struct {
	Name      string // what it is, for logs: "slash_commands", "block_actions", …
	RequestID string // the revocation request it concerns, when known
	Run       func(ctx context.Context)
}

// Pool runs jobs on a fixed number of goroutines, so a burst of envelopes cannot start an
// unbounded number of them, and recovers a panic in any job so one bad handler never takes the
// session down.
type Pool struct {
	jobs    chan Job
	log     *slog.Logger
	onPanic func()

	mu      sync.RWMutex // guards closed against Submit racing Close
	closed  bool
	workers sync.WaitGroup
}

// NewPool starts workers goroutines with room for queue waiting jobs. Jobs run with ctx, which
// the owner cancels to make in-flight work give up. onPanic, if not nil, is called after a panic
// was recovered (for metrics).
func NewPool(ctx context.Context, workers, queue int, log *slog.Logger, onPanic func()) *Pool {
	p := &Pool{jobs: make(chan Job, queue), log: log, onPanic: onPanic}
	for range workers {
		p.workers.Go(func() { p.work(ctx) })
	}
	return p
}

// Submit queues a job without blocking. It returns false when the queue is full or the pool is
// closed; the caller tells the person to try again.
func (p *Pool) Submit(j Job) bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return false
	}
	select {
	case p.jobs <- j:
		return true
	default:
		return false
	}
}

// Close stops taking jobs and waits until the queued and running ones have finished or ctx ends.
// It returns ctx's error if work was still running then; the owner then cancels the jobs'
// context and calls Wait.
func (p *Pool) Close(ctx context.Context) error {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.jobs)
	}
	p.mu.Unlock()
	done := make(chan struct{})
	go func() {
		p.workers.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("jobs still running: %w", ctx.Err())
	}
}

// Wait waits for every worker to return. Call it after Close.
func (p *Pool) Wait() { p.workers.Wait() }

func (p *Pool) work(ctx context.Context) {
	for j := range p.jobs {
		p.run(ctx, j)
	}
}

func (p *Pool) run(ctx context.Context, j Job) {
	defer func() {
		if v := recover(); v != nil {
			p.log.Error("handler panicked", "job", j.Name, "request_id", j.RequestID,
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if p.onPanic != nil {
				p.onPanic()
			}
		}
	}()
	j.Run(ctx)
}
