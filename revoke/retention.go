package revoke

import (
	"context"
	"errors"
	"fmt"
	"time"
)

const (
	// DefaultRetentionInterval is the time between two retention sweeps: what is deleted is
	// months old, so an hour late is nothing, and an hourly sweep finds little to do each time.
	DefaultRetentionInterval = time.Hour
	// retentionBatch is how many requests (with their items and replies) or audit records one
	// delete takes. Each batch is its own short transaction, so the store is never held for
	// long: clicks and status checks go between two batches.
	retentionBatch = 100
)

// retention deletes what the store keeps past its time: finished requests, with their items and
// replies, once their last activity is older than keep, and audit records older than keepAudit.
// A zero duration keeps that kind for ever. Several replicas may each run one: a delete takes
// only what is past the cutoff, and each batch is atomic.
type retention struct {
	s         *Service
	keep      time.Duration
	keepAudit time.Duration
	interval  time.Duration
	batch     int
}

// run sweeps every interval until ctx ends; it then returns nil. With nothing to delete ever, it
// returns at once. The first sweep comes an interval after the start, not at it: after a stop
// longer than the retention, the expiry and the recovery of replies that a start runs first
// announce what the stop left behind (an old pending request expires, a claimed reply is
// posted), which a sweep at once could delete before its reply was claimed.
func (r *retention) run(ctx context.Context) error {
	if r.keep <= 0 && r.keepAudit <= 0 {
		return nil
	}
	timer := time.NewTimer(r.interval)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		if err := r.sweep(ctx); err != nil && ctx.Err() == nil {
			r.s.log.Error("retention sweep failed", "error", err)
		}
		timer.Reset(r.interval)
	}
}

// sweep deletes, batch after batch, everything past its retention now.
func (r *retention) sweep(ctx context.Context) error {
	now := r.s.now()
	var errs []error
	if r.keep > 0 {
		cutoff := now.Add(-r.keep)
		n, err := r.drain(ctx, func(ctx context.Context) (int, error) {
			return r.s.store.DeleteFinishedBefore(ctx, cutoff, r.batch)
		})
		if n > 0 {
			r.s.log.Info("deleted finished requests past their retention", "requests", n, "last_active_before", cutoff, "retention", r.keep)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("delete finished requests: %w", err))
		}
	}
	if r.keepAudit > 0 {
		cutoff := now.Add(-r.keepAudit)
		n, err := r.drain(ctx, func(ctx context.Context) (int, error) {
			return r.s.store.DeleteAuditBefore(ctx, cutoff, r.batch)
		})
		if n > 0 {
			r.s.log.Info("deleted audit records past their retention", "records", n, "before", cutoff, "retention", r.keepAudit)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("delete audit records: %w", err))
		}
	}
	return errors.Join(errs...)
}

// drain calls del until a batch comes back short or ctx ends, and returns how many it deleted.
func (r *retention) drain(ctx context.Context, del func(context.Context) (int, error)) (int, error) {
	total := 0
	for ctx.Err() == nil {
		n, err := del(ctx)
		total += n
		if err != nil || n < r.batch {
			return total, err
		}
	}
	return total, nil
}
