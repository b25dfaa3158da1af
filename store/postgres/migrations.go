package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// migrateLock is the advisory lock key replicas take while they migrate, so that two starting
// at the same moment do not both create the same table. Any fixed number works; this one reads
// "revokebot" in the digits of a phone keypad.
const migrateLock = 738653268

// migrations are applied in order, each in its own transaction; schema_version records how many
// have run. Append new ones; never edit one that has shipped.
//
// The tables are the SQLite store's at its version 4, so that migrate-store copies rows as they
// are; times are Unix microseconds (0 for "not yet"). Besides the store, the database holds
// what replicas share: the background lease and each replica's heartbeat, recent clicks, and
// the AccessOwl budget's hour.
var migrations = []string{
	`CREATE TABLE requests (
		id                   TEXT PRIMARY KEY,
		requester_id         TEXT NOT NULL,
		grantee_accessowl_id TEXT NOT NULL,
		grantee_slack_id     TEXT NOT NULL DEFAULT '',
		grantee_name         TEXT NOT NULL DEFAULT '',
		grantee_email        TEXT NOT NULL DEFAULT '',
		reason               TEXT NOT NULL,
		all_access           BOOLEAN NOT NULL DEFAULT false,
		channel              TEXT NOT NULL,
		message_ts           TEXT NOT NULL DEFAULT '',
		created_at           BIGINT NOT NULL,
		state                TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'rejected', 'expired')),
		decided_by           TEXT NOT NULL DEFAULT '',
		decided_at           BIGINT NOT NULL DEFAULT 0
	);
	CREATE INDEX requests_pending ON requests (created_at) WHERE state = 'pending';
	CREATE INDEX requests_approved ON requests (created_at) WHERE state = 'approved';
	CREATE INDEX requests_created ON requests (created_at);

	CREATE TABLE items (
		request_id        TEXT NOT NULL REFERENCES requests (id),
		position          INTEGER NOT NULL,
		access_state_id   TEXT NOT NULL,
		application_id    TEXT NOT NULL,
		application_title TEXT NOT NULL,
		provisioning_type TEXT NOT NULL DEFAULT '',
		resource_id       TEXT NOT NULL DEFAULT '',
		resource_title    TEXT NOT NULL DEFAULT '',
		permissions       TEXT NOT NULL DEFAULT '[]',
		submitted_at      BIGINT NOT NULL DEFAULT 0,
		revocation_id     TEXT NOT NULL DEFAULT '',
		refusal           TEXT NOT NULL DEFAULT '',
		last_error        TEXT NOT NULL DEFAULT '',
		status            TEXT NOT NULL DEFAULT '',
		next_check        BIGINT NOT NULL DEFAULT 0,
		unchanged         INTEGER NOT NULL DEFAULT 0,
		updated_at        BIGINT NOT NULL DEFAULT 0,
		PRIMARY KEY (request_id, access_state_id)
	);
	CREATE UNIQUE INDEX items_revocation ON items (revocation_id) WHERE revocation_id != '';
	CREATE INDEX items_tracking ON items (next_check)
		WHERE revocation_id != '' AND status NOT IN ('revoked', 'rejected');
	CREATE INDEX items_unsettled ON items (request_id) WHERE revocation_id = '' AND refusal = '';

	CREATE TABLE posts (
		request_id TEXT NOT NULL REFERENCES requests (id),
		key        TEXT NOT NULL,
		claimed_at BIGINT NOT NULL,
		claimer    TEXT NOT NULL DEFAULT '',
		posted_ts  TEXT NOT NULL DEFAULT '',
		PRIMARY KEY (request_id, key)
	);
	CREATE INDEX posts_unposted ON posts (claimed_at) WHERE posted_ts = '';

	CREATE TABLE audit (
		seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		at         BIGINT NOT NULL,
		request_id TEXT NOT NULL,
		actor      TEXT NOT NULL,
		action     TEXT NOT NULL,
		outcome    TEXT NOT NULL,
		detail     TEXT NOT NULL DEFAULT ''
	);
	CREATE INDEX audit_request ON audit (request_id, seq);
	CREATE INDEX audit_at ON audit (at, seq);

	CREATE TABLE meta (
		key   TEXT PRIMARY KEY,
		value BIGINT NOT NULL
	);

	CREATE TABLE leases (
		name       TEXT PRIMARY KEY,
		holder     TEXT NOT NULL,
		expires_at TIMESTAMPTZ NOT NULL
	);
	CREATE TABLE replicas (
		id      TEXT PRIMARY KEY,
		seen_at TIMESTAMPTZ NOT NULL
	);
	CREATE TABLE clicks (
		key     TEXT PRIMARY KEY,
		seen_at TIMESTAMPTZ NOT NULL
	);
	CREATE INDEX clicks_seen ON clicks (seen_at);

	CREATE TABLE budget_sent (
		seq   BIGINT PRIMARY KEY,
		at    BIGINT NOT NULL,
		class SMALLINT NOT NULL
	);
	CREATE TABLE budget_state (
		id               INTEGER PRIMARY KEY CHECK (id = 1),
		taken            BIGINT NOT NULL DEFAULT 0,
		last_background  BIGINT NOT NULL DEFAULT 0,
		paused_until     BIGINT NOT NULL DEFAULT 0,
		server_after     BIGINT NOT NULL DEFAULT 0,
		server_remaining INTEGER NOT NULL DEFAULT 0,
		server_reset_at  BIGINT NOT NULL DEFAULT 0
	);
	INSERT INTO budget_state (id) VALUES (1);`,
	// 2: Slack's pacing of posts per channel, shared: two replicas pacing themselves alone post
	// twice as fast as Slack allows, and its 429s make replies late.
	`CREATE TABLE pacing (
		channel TEXT PRIMARY KEY,
		next_at TIMESTAMPTZ NOT NULL
	);`,
	// 3: who was asked to finish an admin-provisioned revocation by hand (the SQLite store's
	// version 5). asked is a JSON array of Slack user IDs; empty means the approvers.
	`CREATE TABLE asks (
		revocation_id   TEXT PRIMARY KEY,
		request_id      TEXT NOT NULL REFERENCES requests (id),
		access_state_id TEXT NOT NULL,
		asked           TEXT NOT NULL DEFAULT '[]',
		asked_at        BIGINT NOT NULL
	);
	CREATE INDEX asks_request ON asks (request_id);`,
}

// ErrNewerSchema is what Open wraps when the database was migrated by a newer revokebot.
var ErrNewerSchema = errors.New("the database's schema is newer than this revokebot knows")

// SchemaVersion is the version of the schema this binary migrates to.
func SchemaVersion() int { return len(migrations) }

// migrate brings the schema up to date under an advisory lock held on one connection for the
// whole run: a replica that starts while another migrates waits, then finds nothing to do.
func (s *Store) migrate(ctx context.Context) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrateLock); err != nil {
		return fmt.Errorf("take the migration lock: %w", err)
	}
	// Unlocked with a fresh context, so that a cancelled start does not leave the lock held on
	// a connection going back to the pool.
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrateLock)
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("create the schema_version table: %w", err)
	}
	version, err := readVersion(ctx, conn.Conn())
	if err != nil {
		return err
	}
	if version > len(migrations) {
		return fmt.Errorf("schema version %d, this revokebot knows %d: %w (was it downgraded?)", version, len(migrations), ErrNewerSchema)
	}
	for i := version; i < len(migrations); i++ {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, migrations[i]); err != nil {
				return fmt.Errorf("migration %d: %w", i+1, err)
			}
			_, err := tx.Exec(ctx, `DELETE FROM schema_version; INSERT INTO schema_version (version) VALUES (`+fmt.Sprint(i+1)+`)`)
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func readVersion(ctx context.Context, q db) (int, error) {
	var version int
	err := q.QueryRow(ctx, `SELECT COALESCE(max(version), 0) FROM schema_version`).Scan(&version)
	if err != nil {
		return 0, fmt.Errorf("read the schema version: %w", err)
	}
	return version, nil
}
