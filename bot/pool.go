package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"
)

// Priority is a job's class of work: what it may take of the pool.
type Priority int

const (
	// PriorityLow is work a person can simply ask for again: lookups, /revoke status, opening
	// the form, option lists, and background work nobody waits on. It is the zero value, so a
	// job nobody classed never takes the capacity kept for decisions.
	PriorityLow Priority = iota
	// PriorityHigh is work that changes something and that a person waits on: a decision
	// (Approve, Reject) or a request being made (the form, the text forms). It may use the
	// workers and the queue room that low-priority work cannot take.
	PriorityHigh
)

func (p Priority) String() string {
	if p == PriorityHigh {
		return "high"
	}
	return "low"
}

// Job is one piece of work handed off by the read loop.
type Job struct {
	Name      string // what it is, for logs: "slash_commands", "block_actions", …
	RequestID string // the revocation request it concerns, when known
	Priority  Priority
	Run       func(ctx context.Context)
}

// PoolSize says how much work a Pool takes at once, and what of it only high-priority work may
// use.
type PoolSize struct {
	// Workers run jobs of both priorities, high-priority ones first. ReservedWorkers run only
	// high-priority jobs, so a flood of lookups can never leave a decision waiting for a
	// worker.
	Workers, ReservedWorkers int
	// Queue is the room for low-priority jobs waiting for a worker; ReservedQueue the room for
	// high-priority ones, which low-priority work cannot fill.
	Queue, ReservedQueue int
	// JobTimeout bounds each job's context, so a call that never returns frees its worker in
	// the end; zero leaves jobs unbounded.
	JobTimeout time.Duration
}

// Pool runs jobs on a fixed number of goroutines, so a burst of envelopes cannot start an
// unbounded number of them, and recovers a panic in any job so one bad handler never takes the
// session down.
type Pool struct {
	high, low  chan Job
	jobTimeout time.Duration
	log        *slog.Logger
	onPanic    func()

	mu      sync.RWMutex // guards closed against Submit racing Close
	closed  bool
	workers sync.WaitGroup
}

// NewPool starts the workers of size. Jobs run with ctx, which the owner cancels to make
// in-flight work give up. onPanic, if not nil, is called after a panic was recovered (for
// metrics).
func NewPool(ctx context.Context, size PoolSize, log *slog.Logger, onPanic func()) *Pool {
	p := &Pool{
		high:       make(chan Job, size.ReservedQueue),
		low:        make(chan Job, size.Queue),
		jobTimeout: size.JobTimeout,
		log:        log,
		onPanic:    onPanic,
	}
	for range size.Workers {
		p.workers.Go(func() { p.workEither(ctx) })
	}
	for range size.ReservedWorkers {
		p.workers.Go(func() {
			for j := range p.high {
				p.run(ctx, j)
			}
		})
	}
	return p
}

// Submit queues a job without blocking. It returns false when the queue of its priority is full
// or the pool is closed; the caller tells the person to try again.
func (p *Pool) Submit(j Job) bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return false
	}
	queue := p.low
	if j.Priority == PriorityHigh {
		queue = p.high
	}
	select {
	case queue <- j:
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
		close(p.high)
		close(p.low)
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

// workEither runs jobs of both priorities until both queues are closed and drained, taking a
// low-priority job only when no high-priority one is waiting.
func (p *Pool) workEither(ctx context.Context) {
	high, low := p.high, p.low
	for high != nil || low != nil {
		if high != nil {
			select {
			case j, ok := <-high:
				if !ok {
					high = nil
				} else {
					p.run(ctx, j)
				}
				continue
			default:
			}
		}
		// A nil channel (one closed and drained) never receives, so the other decides.
		select {
		case j, ok := <-high:
			if !ok {
				high = nil
				continue
			}
			p.run(ctx, j)
		case j, ok := <-low:
			if !ok {
				low = nil
				continue
			}
			p.run(ctx, j)
		}
	}
}

func (p *Pool) run(ctx context.Context, j Job) {
	if p.jobTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.jobTimeout)
		defer cancel()
	}
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
	// The owner only ever cancels ctx, so a deadline is this job's own.
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		p.log.Warn("job ran out of time", "job", j.Name, "request_id", j.RequestID, "timeout", p.jobTimeout)
	}
}
