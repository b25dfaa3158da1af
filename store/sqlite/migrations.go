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
	// 3: a request revokes one or more accesses (items); each item carries its submission and
	// its tracking, so one revocation belongs to one item of one request. Replies of every kind
	// are claimed in posts, keyed within their request. The rows of version 2 become one item
	// each; their status claims keep their "status/<revocation>/<status>" key.
	`CREATE TABLE items (
		request_id        TEXT NOT NULL REFERENCES requests (id),
		position          INTEGER NOT NULL,
		access_state_id   TEXT NOT NULL,
		application_id    TEXT NOT NULL,
		application_title TEXT NOT NULL,
		provisioning_type TEXT NOT NULL DEFAULT '',
		resource_id       TEXT NOT NULL DEFAULT '',
		resource_title    TEXT NOT NULL DEFAULT '',
		permissions       TEXT NOT NULL DEFAULT '[]',
		submitted_at      INTEGER NOT NULL DEFAULT 0,
		revocation_id     TEXT NOT NULL DEFAULT '',
		refusal           TEXT NOT NULL DEFAULT '',
		last_error        TEXT NOT NULL DEFAULT '',
		status            TEXT NOT NULL DEFAULT '',
		next_check        INTEGER NOT NULL DEFAULT 0,
		unchanged         INTEGER NOT NULL DEFAULT 0,
		updated_at        INTEGER NOT NULL DEFAULT 0,
		PRIMARY KEY (request_id, access_state_id)
	);
	CREATE UNIQUE INDEX items_revocation ON items (revocation_id) WHERE revocation_id != '';
	CREATE INDEX items_tracking ON items (next_check)
		WHERE revocation_id != '' AND status NOT IN ('revoked', 'rejected');
	CREATE INDEX items_unsettled ON items (request_id) WHERE revocation_id = '' AND refusal = '';

	WITH linked AS (
		SELECT r.*, COALESCE(NULLIF(r.revocation_id, ''),
			(SELECT t.revocation_id FROM tracked t WHERE t.request_id = r.id ORDER BY t.updated_at LIMIT 1), '') AS rev
		FROM requests r
	)
	INSERT INTO items (request_id, position, access_state_id, application_id, application_title,
		provisioning_type, resource_id, resource_title, permissions, submitted_at, revocation_id,
		refusal, status, next_check, unchanged, updated_at)
	SELECT l.id, 0, l.access_state_id, l.application_id, l.application_title, l.provisioning_type,
		l.resource_id, l.resource_title,
		(SELECT json_group_array(json_object('title', p.value)) FROM json_each(l.permissions) AS p),
		l.submitted_at, l.rev, l.refusal,
		COALESCE(t.status, ''), COALESCE(t.next_check, 0), COALESCE(t.unchanged, 0), COALESCE(t.updated_at, 0)
	FROM linked l LEFT JOIN tracked t ON t.revocation_id = l.rev AND l.rev != '';

	CREATE TABLE posts (
		request_id TEXT NOT NULL REFERENCES requests (id),
		key        TEXT NOT NULL,
		claimed_at INTEGER NOT NULL,
		claimer    TEXT NOT NULL DEFAULT '',
		posted_ts  TEXT NOT NULL DEFAULT '',
		PRIMARY KEY (request_id, key)
	);
	CREATE INDEX posts_unposted ON posts (claimed_at) WHERE posted_ts = '';
	INSERT INTO posts (request_id, key, claimed_at, posted_ts)
	SELECT request_id, 'status/' || revocation_id || '/' || status, claimed_at, posted_ts FROM status_posts;

	DROP TABLE status_posts;
	DROP TABLE tracked;
	DROP INDEX requests_revocation;
	DROP INDEX requests_unsubmitted;
	ALTER TABLE requests DROP COLUMN access_state_id;
	ALTER TABLE requests DROP COLUMN application_id;
	ALTER TABLE requests DROP COLUMN application_title;
	ALTER TABLE requests DROP COLUMN provisioning_type;
	ALTER TABLE requests DROP COLUMN resource_id;
	ALTER TABLE requests DROP COLUMN resource_title;
	ALTER TABLE requests DROP COLUMN permissions;
	ALTER TABLE requests DROP COLUMN submitted_at;
	ALTER TABLE requests DROP COLUMN revocation_id;
	ALTER TABLE requests DROP COLUMN refusal;
	ALTER TABLE requests ADD COLUMN all_access INTEGER NOT NULL DEFAULT 0;
	CREATE INDEX requests_approved ON requests (created_at) WHERE state = 'approved';`,
	// 4: a heartbeat row that Ping rewrites to prove the store can write; indexes for the
	// retention sweep (requests by age, audit records by time) and the audit export.
	`CREATE TABLE meta (
		key   TEXT PRIMARY KEY,
		value INTEGER NOT NULL
	);
	CREATE INDEX requests_created ON requests (created_at);
	CREATE INDEX audit_at ON audit (at, seq);`,
	// 5: who a thread asked to finish an admin-provisioned revocation by hand (a JSON array of
	// Slack user IDs, empty when the approvers were asked), one ask per revocation; reminders
	// count from asked_at. Pending requests are found by the index of version 1.
	`CREATE TABLE asks (
		revocation_id   TEXT PRIMARY KEY,
		request_id      TEXT NOT NULL REFERENCES requests (id),
		access_state_id TEXT NOT NULL,
		asked           TEXT NOT NULL DEFAULT '[]',
		asked_at        INTEGER NOT NULL
	);
	CREATE INDEX asks_request ON asks (request_id);`,
}
