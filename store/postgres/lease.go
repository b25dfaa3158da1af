package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// replicaMemory is how long a replica that stopped beating stays in the replicas table: long
// after anyone asks whether it is alive, short enough that the table stays small.
const replicaMemory = 24 * time.Hour

// Beat is what a replica's heartbeat found.
type Beat struct {
	// Leader reports whether the replica holds the lease until at least ttl after the beat began.
	Leader bool
	// Holder is the replica holding the lease, if any.
	Holder string
	// Live are the replicas that beat within ttl, this one included; Gone those that beat
	// before but not since. A replica in neither is not known yet, or forgotten long ago.
	Live, Gone []string
}

// Heartbeat records that replica is alive and takes the lease called name for ttl if it is free,
// expired or already this replica's. Expiry is judged on the database's clock alone, so the
// replicas' clocks need not agree. A lease's holder that stops beating loses it ttl after its
// last beat.
func (s *Store) Heartbeat(ctx context.Context, name, replica string, ttl time.Duration) (Beat, error) {
	var b Beat
	interval := fmt.Sprintf("%d milliseconds", ttl.Milliseconds())
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO replicas (id, seen_at) VALUES ($1, now())
			ON CONFLICT (id) DO UPDATE SET seen_at = now()`, replica); err != nil {
			return err
		}
		err := tx.QueryRow(ctx, `INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, now() + $3::interval)
			ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
			WHERE leases.holder = EXCLUDED.holder OR leases.expires_at < now()
			RETURNING holder`, name, replica, interval).Scan(&b.Holder)
		switch {
		case err == nil:
			b.Leader = true
		case errors.Is(err, pgx.ErrNoRows):
			if err := tx.QueryRow(ctx, `SELECT holder FROM leases WHERE name = $1`, name).Scan(&b.Holder); err != nil {
				return err
			}
		default:
			return err
		}
		rows, err := tx.Query(ctx, `SELECT id, seen_at > now() - $1::interval FROM replicas ORDER BY id`, interval)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				id   string
				live bool
			)
			if err := rows.Scan(&id, &live); err != nil {
				return err
			}
			if live {
				b.Live = append(b.Live, id)
			} else {
				b.Gone = append(b.Gone, id)
			}
		}
		return rows.Err()
	})
	if err != nil {
		return Beat{}, fmt.Errorf("heartbeat of replica %s: %w", replica, err)
	}
	return b, nil
}

// Release gives up the lease called name if replica holds it, so that another replica takes it
// at its next beat instead of waiting for it to expire: a rolling restart hands the background
// work over within a beat.
func (s *Store) Release(ctx context.Context, name, replica string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM leases WHERE name = $1 AND holder = $2`, name, replica)
	if err != nil {
		return fmt.Errorf("release lease %s: %w", name, err)
	}
	_, err = s.pool.Exec(ctx, `DELETE FROM replicas WHERE id = $1 OR seen_at < now() - $2::interval`,
		replica, fmt.Sprintf("%d seconds", int(replicaMemory.Seconds())))
	if err != nil {
		return fmt.Errorf("forget replica %s: %w", replica, err)
	}
	return nil
}

// FirstClick records a click by its key and reports whether no replica recorded it within
// memory: a click Slack delivers to two replicas is handled once. Keys older than memory are
// deleted as they are met, in small batches.
func (s *Store) FirstClick(ctx context.Context, key string, memory time.Duration) (bool, error) {
	interval := fmt.Sprintf("%d milliseconds", memory.Milliseconds())
	tag, err := s.pool.Exec(ctx, `INSERT INTO clicks (key, seen_at) VALUES ($1, now())
		ON CONFLICT (key) DO UPDATE SET seen_at = now() WHERE clicks.seen_at < now() - $2::interval`, key, interval)
	if err != nil {
		return false, fmt.Errorf("record click: %w", err)
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM clicks WHERE key IN (
		SELECT key FROM clicks WHERE seen_at < now() - $1::interval LIMIT 100)`, interval); err != nil {
		return false, fmt.Errorf("forget old clicks: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// PacePost reserves the next turn to post in channel, one every interval for all replicas
// together, and returns how long to wait for it. Turns are judged on the database's clock.
func (s *Store) PacePost(ctx context.Context, channel string, interval time.Duration) (time.Duration, error) {
	var wait float64
	err := s.pool.QueryRow(ctx, `INSERT INTO pacing (channel, next_at) VALUES ($1, now() + $2::interval)
		ON CONFLICT (channel) DO UPDATE SET next_at = GREATEST(pacing.next_at, now()) + $2::interval
		RETURNING EXTRACT(EPOCH FROM (next_at - $2::interval - now()))::float8`,
		channel, fmt.Sprintf("%d milliseconds", interval.Milliseconds())).Scan(&wait)
	if err != nil {
		return 0, fmt.Errorf("pace a post in %s: %w", channel, err)
	}
	return time.Duration(wait * float64(time.Second)), nil
}
