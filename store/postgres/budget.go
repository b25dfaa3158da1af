package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"revokebot/apiclient"
	"revokebot/store/internal/sqlrows"
)

// budgetLock is the advisory lock that serialises the replicas' use of the budget: each call
// reads the hour, decides and writes in one transaction that holds it.
const budgetLock = migrateLock + 1

// Budget is the AccessOwl budget of every replica together: one rolling hour for the token,
// kept in the database. Each call loads the hour's send times, lets apiclient's MemoryBudget
// apply its rules to them, and saves what changed, so one replica and ten follow the same
// rules. A Take costs four round trips (BEGIN, a batch that locks and reads, a batch that
// writes, COMMIT), Delay, Available and Heed one; AccessOwl's calls take far longer.
type Budget struct {
	s                *Store
	perHour, reserve int
	now              func() time.Time
}

var _ apiclient.Budget = (*Budget)(nil)

// Budget returns the shared budget of perHour requests an hour, of which background work leaves
// reserve to people. now is the clock (nil for time.Now): the replicas' clocks must agree to well
// under the hour, as NTP keeps them.
func (s *Store) Budget(perHour, reserve int, now func() time.Time) (*Budget, error) {
	if now == nil {
		now = time.Now
	}
	// Validate once, as MemoryBudget would.
	if _, err := apiclient.RestoreMemoryBudget(perHour, reserve, apiclient.BudgetState{}, now); err != nil {
		return nil, err
	}
	return &Budget{s: s, perHour: perHour, reserve: reserve, now: now}, nil
}

// Take spends one request for class if the hour of all replicas lets it go now.
func (b *Budget) Take(ctx context.Context, class apiclient.Class) (apiclient.Slot, error) {
	var slot apiclient.Slot
	err := b.inLockedTx(ctx, func(tx pgx.Tx, mb *apiclient.MemoryBudget, now time.Time) error {
		var err error
		if slot, err = mb.Take(ctx, class); err != nil || slot.Duration > 0 {
			return err
		}
		st := mb.State()
		batch := &pgx.Batch{}
		batch.Queue(`INSERT INTO budget_sent (seq, at, class) VALUES ($1, $2, $3)`, int64(slot.Seq), sqlrows.Micros(now), int(class))
		batch.Queue(`UPDATE budget_state SET taken = $1, last_background = $2 WHERE id = 1`,
			int64(st.Taken), sqlrows.Micros(st.LastBackground))
		return tx.SendBatch(ctx, batch).Close()
	})
	if err != nil {
		return apiclient.Slot{}, fmt.Errorf("take from the shared budget: %w", err)
	}
	return slot, nil
}

// Delay says how long a request of class would wait now.
func (b *Budget) Delay(ctx context.Context, class apiclient.Class) (apiclient.Wait, error) {
	mb, err := b.load(ctx, b.s.pool, b.now(), false)
	if err != nil {
		return apiclient.Wait{}, fmt.Errorf("read the shared budget: %w", err)
	}
	return mb.Delay(ctx, class)
}

// Available says how many people's requests could go at once now.
func (b *Budget) Available(ctx context.Context) (int, error) {
	mb, err := b.load(ctx, b.s.pool, b.now(), false)
	if err != nil {
		return 0, fmt.Errorf("read the shared budget: %w", err)
	}
	return mb.Available(ctx)
}

// Heed records what AccessOwl said about the token's limit, for every replica. AccessOwl says it
// on every answer, so it is one statement rather than a locked read and write: it applies
// MemoryBudget.Heed's rules in SQL (a later pause wins; a report of remaining requests counts
// while its reset is ahead, is replaced by one about a later request or once it has passed, and
// is believed for at most an hour), and the row's lock orders it with Take's write.
func (b *Budget) Heed(ctx context.Context, l apiclient.ServerLimit) error {
	now := b.now()
	pause := sqlrows.Micros(l.PauseUntil)
	report := l.ResetAt.After(now) && l.Remaining >= 0
	if pause == 0 && !report {
		return nil // nothing that would change the budget
	}
	_, err := b.s.pool.Exec(ctx, `UPDATE budget_state SET
		paused_until = GREATEST(paused_until, $1),
		server_after = CASE WHEN $2 AND (server_reset_at <= $3 OR $4 >= server_after) THEN $4 ELSE server_after END,
		server_remaining = CASE WHEN $2 AND (server_reset_at <= $3 OR $4 >= server_after) THEN $5 ELSE server_remaining END,
		server_reset_at = CASE WHEN $2 AND (server_reset_at <= $3 OR $4 >= server_after) THEN $6 ELSE server_reset_at END
		WHERE id = 1`,
		pause, report, sqlrows.Micros(now), int64(l.After), l.Remaining, sqlrows.Micros(minTime(l.ResetAt, now.Add(time.Hour))))
	if err != nil {
		return fmt.Errorf("record AccessOwl's limit in the shared budget: %w", err)
	}
	return nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// inLockedTx runs fn on the budget as it stands, in a transaction that holds budgetLock, having
// forgotten the send times that have left the hour.
func (b *Budget) inLockedTx(ctx context.Context, fn func(pgx.Tx, *apiclient.MemoryBudget, time.Time) error) error {
	return b.s.inTx(ctx, func(tx pgx.Tx) error {
		now := b.now()
		mb, err := b.load(ctx, tx, now, true)
		if err != nil {
			return err
		}
		return fn(tx, mb, now)
	})
}

// load reads the budget's state into a MemoryBudget frozen at now, in one round trip; with lock
// it first takes budgetLock for the transaction and forgets what left the hour.
func (b *Budget) load(ctx context.Context, q db, now time.Time, lock bool) (*apiclient.MemoryBudget, error) {
	hourAgo := sqlrows.Micros(now.Add(-time.Hour))
	batch := &pgx.Batch{}
	if lock {
		batch.Queue(`SELECT pg_advisory_xact_lock($1)`, budgetLock)
		batch.Queue(`DELETE FROM budget_sent WHERE at <= $1`, hourAgo)
	}
	batch.Queue(`SELECT taken, last_background, paused_until, server_after, server_remaining, server_reset_at
		FROM budget_state WHERE id = 1`)
	batch.Queue(`SELECT at FROM budget_sent WHERE at > $1 ORDER BY at, seq`, hourAgo)
	res := q.SendBatch(ctx, batch)
	defer res.Close()
	if lock {
		for range 2 {
			if _, err := res.Exec(); err != nil {
				return nil, err
			}
		}
	}
	var (
		st                                   apiclient.BudgetState
		taken, after                         int64
		lastBackground, pausedUntil, resetAt int64
	)
	err := res.QueryRow().Scan(&taken, &lastBackground, &pausedUntil, &after, &st.Server.Remaining, &resetAt)
	if err != nil {
		return nil, err
	}
	st.Taken, st.Server.After = uint64(taken), uint64(after)
	st.LastBackground, st.PausedUntil, st.Server.ResetAt = sqlrows.FromMicros(lastBackground), sqlrows.FromMicros(pausedUntil), sqlrows.FromMicros(resetAt)
	rows, err := res.Query()
	if err != nil {
		return nil, err
	}
	st.Sent, err = collect(rows, func(row sqlrows.Scanner) (time.Time, error) {
		var at int64
		err := row.Scan(&at)
		return sqlrows.FromMicros(at), err
	})
	if err != nil {
		return nil, err
	}
	if err := res.Close(); err != nil {
		return nil, err
	}
	return apiclient.RestoreMemoryBudget(b.perHour, b.reserve, st, func() time.Time { return now })
}
