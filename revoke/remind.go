package revoke

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"revokebot/store"
)

// Defaults of reminders.
const (
	// DefaultRemindAfter is REVOKE_REMIND_AFTER's default: the first reminder comes after half a
	// working day, the next ones after twice as long each time (4 h, 8 h, 16 h).
	DefaultRemindAfter = 4 * time.Hour
	// DefaultRemindMax is REVOKE_REMIND_MAX's default: three reminders, then the thread is quiet.
	DefaultRemindMax = 3

	// maxRemindInterval is the longest wait between two sweeps of the reminder loop: a reminder
	// is at most a minute late. A short REVOKE_REMIND_AFTER (tests, the sandbox) sweeps more
	// often, but never faster than minRemindInterval, so the loop cannot busy the store.
	maxRemindInterval = time.Minute
	minRemindInterval = 200 * time.Millisecond
)

// reminders asks the admins of admin-provisioned revocations in their threads, and reminds
// approvers of undecided requests and admins of waiting revocations, with backoff. Every
// reply is claimed like any other, so several replicas and restarts post each one once.
type reminders struct {
	s        *Service
	after    time.Duration
	max      int
	hours    Hours
	interval time.Duration
	wake     chan struct{}
	// sent remembers the last reminder this process saw claimed, by request or revocation, so a
	// sweep does not claim again what is done; the claims are the truth.
	sent map[string]int
}

func newReminders(s *Service, after time.Duration, maxCount int, hours Hours) *reminders {
	return &reminders{s: s, after: after, max: maxCount, hours: hours,
		interval: min(max(after/8, minRemindInterval), maxRemindInterval),
		wake:     make(chan struct{}, 1), sent: make(map[string]int)}
}

// kick wakes the loop: a revocation may wait for its ask.
func (rm *reminders) kick() {
	select {
	case rm.wake <- struct{}{}:
	default:
	}
}

func (rm *reminders) run(ctx context.Context) error {
	return loop(ctx, rm.wake, func(ctx context.Context) time.Duration {
		if err := rm.sweep(ctx); err != nil && ctx.Err() == nil {
			rm.s.log.Error("reminder sweep failed", "error", err)
		}
		return rm.interval
	})
}

// sweep asks what waits for its ask, then posts the reminders due.
func (rm *reminders) sweep(ctx context.Context) error {
	s := rm.s
	var errs []error
	unasked, err := s.store.Unasked(ctx)
	if err != nil {
		return fmt.Errorf("list revocations to ask about: %w", err)
	}
	for _, row := range unasked {
		if ctx.Err() != nil {
			return nil
		}
		if err := s.askAdmins(ctx, row); err != nil {
			errs = append(errs, err)
		}
	}
	if rm.max <= 0 {
		return errors.Join(errs...)
	}
	seen := make(map[string]bool)
	if err := rm.remindApprovers(ctx, seen); err != nil {
		errs = append(errs, err)
	}
	if err := rm.remindAdmins(ctx, seen); err != nil {
		errs = append(errs, err)
	}
	for k := range rm.sent {
		if !seen[k] {
			delete(rm.sent, k) // decided, expired or final: nothing more to remind of
		}
	}
	return errors.Join(errs...)
}

// due returns the latest reminder due at now for something waiting since start — the n-th
// comes after after·2ⁿ⁻¹ — or 0 when none is. Reminders missed while the bot was stopped or
// outside working hours are not posted one after another: only the latest.
func (rm *reminders) due(start, now time.Time) int {
	n := 0
	for i, wait := 1, rm.after; i <= rm.max && !now.Before(start.Add(wait)); i, wait = i+1, wait*2 {
		n = i
	}
	return n
}

func (rm *reminders) remindApprovers(ctx context.Context, seen map[string]bool) error {
	s := rm.s
	pending, err := s.store.PendingPosted(ctx)
	if err != nil {
		return fmt.Errorf("list pending requests: %w", err)
	}
	now := s.now()
	var errs []error
	for _, r := range pending {
		key := r.ID.String()
		seen[key] = true
		if !now.Before(r.CreatedAt.Add(s.expiry.ttl)) {
			continue // expiring: the expiry sweep tells the thread instead
		}
		if err := rm.remind(ctx, key, r, Event{Kind: ApproversReminded}, r.CreatedAt, now); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (rm *reminders) remindAdmins(ctx context.Context, seen map[string]bool) error {
	s := rm.s
	asks, err := s.store.WaitingAsks(ctx)
	if err != nil {
		return fmt.Errorf("list waiting asks: %w", err)
	}
	now := s.now()
	var errs []error
	for _, a := range asks {
		seen[a.RevocationID] = true
		if rm.due(a.AskedAt, now) <= rm.sent[a.RevocationID] || !rm.hours.Contain(now) {
			continue // nothing new due: spare the store a read
		}
		r, err := s.store.Request(ctx, a.RequestID)
		if err != nil {
			errs = append(errs, fmt.Errorf("remind about revocation %s: %w", a.RevocationID, err))
			continue
		}
		it, _ := itemOfRevocation(r, a.RevocationID)
		e := Event{Kind: AdminsReminded, Item: it, RevocationID: a.RevocationID, Asked: a.Asked}
		if err := rm.remind(ctx, a.RevocationID, r, e, a.AskedAt, now); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// remind posts the latest reminder due about something waiting since start, once, if it is
// working hours.
func (rm *reminders) remind(ctx context.Context, key string, r store.Request, e Event, start, now time.Time) error {
	n := rm.due(start, now)
	if n <= rm.sent[key] || !rm.hours.Contain(now) {
		return nil
	}
	e.Reminder = n
	claimed, err := rm.s.announce(ctx, r, e, "")
	if errors.Is(err, errInFlight) {
		return nil
	}
	if err == nil || claimed {
		rm.sent[key] = n // posted, or claimed and left to recovery: never claimed again
	}
	if claimed {
		who := "the approvers"
		if e.Kind == AdminsReminded {
			who = "the admins of revocation " + e.RevocationID
			if len(e.Asked) > 0 {
				who += " (" + strings.Join(e.Asked, ", ") + ")"
			}
		}
		rm.s.Audit(ctx, store.AuditRecord{RequestID: r.ID, Actor: store.BotActor, Action: store.ActionRemind, Outcome: store.OutcomeOK,
			Detail: fmt.Sprintf("reminder %d of %d to %s, %s after", n, rm.max, who, now.Sub(start).Round(time.Minute))})
	}
	return err
}
