package sqlite

// migrations are applied in order, each in its own transaction; PRAGMA user_version records how
// many have run. Append new ones; never edit one that has shipped.
//
// Times are Unix microseconds (0 for "not yet"), which sort and compare as integers.
var migrations = []string{
	`CREATE TABLE requests (
		id                   TEXT PRIMARY KEY,
		requester_id         TEXT NOT NULL,
		grantee_accessowl_id TEXT NOT NULL,
		grantee_slack_id     TEXT NOT NULL DEFAULT '',
		grantee_name         TEXT NOT NULL DEFAULT '',
		grantee_email        TEXT NOT NULL DEFAULT '',
		access_state_id      TEXT NOT NULL,
		application_id       TEXT NOT NULL,
		application_title    TEXT NOT NULL,
		provisioning_type    TEXT NOT NULL DEFAULT '',
		resource_id          TEXT NOT NULL DEFAULT '',
		resource_title       TEXT NOT NULL DEFAULT '',
		permissions          TEXT NOT NULL DEFAULT '[]',
		reason               TEXT NOT NULL,
		channel              TEXT NOT NULL,
		message_ts           TEXT NOT NULL DEFAULT '',
		created_at           INTEGER NOT NULL,
		state                TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'rejected', 'expired')),
		decided_by           TEXT NOT NULL DEFAULT '',
		decided_at           INTEGER NOT NULL DEFAULT 0,
		submitted_at         INTEGER NOT NULL DEFAULT 0,
		revocation_id        TEXT NOT NULL DEFAULT ''
	);
	CREATE INDEX requests_pending ON requests (created_at) WHERE state = 'pending';
	CREATE INDEX requests_revocation ON requests (revocation_id) WHERE revocation_id != '';

	CREATE TABLE tracked (
		revocation_id TEXT PRIMARY KEY,
		request_id    TEXT NOT NULL REFERENCES requests (id),
		status        TEXT NOT NULL,
		next_check    INTEGER NOT NULL,
		unchanged     INTEGER NOT NULL DEFAULT 0,
		final         INTEGER NOT NULL DEFAULT 0,
		updated_at    INTEGER NOT NULL
	);
	CREATE INDEX tracked_active ON tracked (next_check) WHERE final = 0;

	CREATE TABLE status_posts (
		revocation_id TEXT NOT NULL,
		status        TEXT NOT NULL,
		request_id    TEXT NOT NULL REFERENCES requests (id),
		claimed_at    INTEGER NOT NULL,
		posted_ts     TEXT NOT NULL DEFAULT '',
		PRIMARY KEY (revocation_id, status)
	);
	CREATE INDEX status_posts_unposted ON status_posts (claimed_at) WHERE posted_ts = '';

	CREATE TABLE audit (
		seq        INTEGER PRIMARY KEY AUTOINCREMENT,
		at         INTEGER NOT NULL,
		request_id TEXT NOT NULL,
		actor      TEXT NOT NULL,
		action     TEXT NOT NULL,
		outcome    TEXT NOT NULL,
		detail     TEXT NOT NULL DEFAULT ''
	);
	CREATE INDEX audit_request ON audit (request_id, seq);`,
	`ALTER TABLE requests ADD COLUMN refusal TEXT NOT NULL DEFAULT '';
	CREATE INDEX requests_unsubmitted ON requests (created_at)
		WHERE state = 'approved' AND revocation_id = '' AND refusal = '';`,
}
