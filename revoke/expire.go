package revoke

import (
	"context"
	"errors"
	"fmt"
	"time"

	"revokebot/store"
)

const (
	// maxExpiryInterval is the longest wait between two expiry sweeps: a request expires at most
	// a minute late.
	maxExpiryInterval = time.Minute
	// minExpiryInterval keeps a tiny TTL (in a test, in the sandbox) from turning the sweep into
	// a busy loop over the store.
	minExpiryInterval = 5 * time.Second
)

// expiry expires the requests nobody decided within the TTL: their buttons go, and their thread
// says so. Several replicas may each run one: the store hands every expired request to one of
// them only.
type expiry struct {
	s        *Service
	ttl      time.Duration
	interval time.Duration
}

// run sweeps at once and then every interval until ctx ends; it then returns nil.
func (e *expiry) run(ctx context.Context) error {
	return loop(ctx, nil, func(ctx context.Context) time.Duration {
		if err := e.sweep(ctx); err != nil && ctx.Err() == nil {
			e.s.log.Error("expiry sweep failed", "error", err)
		}
		return e.interval
	})
}

// sweep expires every request still pending past the TTL and announces each one this call
// expired.
func (e *expiry) sweep(ctx context.Context) error {
	expired, err := e.s.store.ExpirePending(ctx, e.s.now().Add(-e.ttl))
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range expired {
		if err := e.announce(ctx, r); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// announce tells the request's message and thread that it expired, and audits it. The store
// already holds the request as expired, so a click on a button still showing is answered from
// there.
func (e *expiry) announce(ctx context.Context, r store.Request) error {
	detail := fmt.Sprintf("pending since %s, longer than %s", r.CreatedAt.Format(time.RFC3339), e.ttl)
	var err error
	if r.Channel == "" || r.MessageTS == "" {
		detail += "; no approval message to update"
	} else {
		uctx, cancel := context.WithTimeout(ctx, replyTimeout)
		defer cancel()
		if uerr := e.s.notifier.UpdateRequest(uctx, r); uerr != nil {
			err = fmt.Errorf("remove the buttons of expired request %s: %w", r.ID, uerr)
		}
		if _, perr := e.s.announce(ctx, r, Event{Kind: RequestExpired}, ""); perr != nil {
			err = errors.Join(err, fmt.Errorf("tell the thread request %s expired: %w", r.ID, perr))
		}
		if err != nil {
			detail += "; Slack not told: " + err.Error()
		}
	}
	// Audit even when Slack failed, saying what failed: the request is expired either way.
	e.s.Audit(ctx, store.AuditRecord{RequestID: r.ID, Actor: store.BotActor, Action: store.ActionExpire, Outcome: store.OutcomeExpired, Detail: detail})
	return err
}
