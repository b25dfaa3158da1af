package sqlite

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"go.uber.org/goleak"

	"revokebot/apiclient"
	"revokebot/store"
	"revokebot/store/storetest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := Open(t.Context(), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestStateSurvivesReopening(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	r := storetest.NewRequest(1)
	if _, err := s.CreateRequest(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	d := store.Decision{State: store.Approved, By: "U0APPROVER", At: r.CreatedAt.Add(time.Minute)}
	want, _, err := s.Decide(t.Context(), r.ID, d)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	reopened, err := Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer reopened.Close()
	got, err := reopened.Request(t.Context(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("after reopening (-want +got):\n%s", diff)
	}
}

func TestOpenRefusesANewerSchema(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := sql.Open("sqlite", filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	db.Close()

	if s, err := Open(t.Context(), dir); err == nil || !strings.Contains(err.Error(), "newer") {
		if s != nil {
			s.Close()
		}
		t.Fatalf("Open on a schema from the future: %v; want a refusal that says it is newer", err)
	}
}

func TestMigrationKeepsTheRowsOfAnOlderSchema(t *testing.T) {
	dir := t.TempDir()
	db, err := sql.Open("sqlite", filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	// A database as the first release left it: schema version 1, one approved request.
	if _, err := db.Exec(migrations[0] + `; PRAGMA user_version = 1;
		INSERT INTO requests (id, requester_id, grantee_accessowl_id, access_state_id, application_id,
			application_title, reason, channel, created_at, state, decided_by, decided_at)
		VALUES ('6ba7b812-9dad-11d1-80b4-00c04fd430c8', 'U1', 'g', 's', 'a', 'GitHub', 'left', 'C1', 1, 'approved', 'U2', 2)`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err := Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.Unsubmitted(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Reason != "left" || got[0].DecidedBy != "U2" || len(got[0].Items) != 1 || got[0].Items[0].Settled() {
		t.Errorf("after migrating, Unsubmitted = %+v; want the old approved request, with its access as an unsettled item", got)
	}
}

// TestMigrationTurnsRequestsIntoItems opens a store of schema version 2 — one request a row,
// with its tracked revocation and claimed statuses beside it — and checks that every fact
// survives as an item, its tracking and its posts.
func TestMigrationTurnsRequestsIntoItems(t *testing.T) {
	dir := t.TempDir()
	db, err := sql.Open("sqlite", filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	const (
		tracked   = "6ba7b812-9dad-11d1-80b4-00c04fd430c8"
		refused   = "6ba7b812-9dad-11d1-80b4-00c04fd430c9"
		untouched = "6ba7b812-9dad-11d1-80b4-00c04fd430ca"
	)
	if _, err := db.Exec(migrations[0] + ";" + migrations[1] + `; PRAGMA user_version = 2;
		INSERT INTO requests (id, requester_id, grantee_accessowl_id, grantee_name, access_state_id, application_id,
			application_title, provisioning_type, resource_id, resource_title, permissions, reason, channel, message_ts,
			created_at, state, decided_by, decided_at, submitted_at, revocation_id, refusal)
		VALUES
			('` + tracked + `', 'U1', 'g', 'Dev Patel', 's1', 'a', 'GitHub', 'automatic', 'r', 'acme/infra', '["admin","write"]',
			 'left', 'C1', '1.1', 1, 'approved', 'U2', 2, 3, 'rev-1', ''),
			('` + refused + `', 'U1', 'g', 'Dev Patel', 's2', 'a', 'GitHub', 'automatic', '', '', '[]',
			 'left', 'C1', '1.2', 4, 'approved', 'U2', 5, 6, '', 'it does not know this access.'),
			('` + untouched + `', 'U1', 'g', 'Dev Patel', 's3', 'a', 'GitHub', 'automatic', '', '', '[]',
			 'left', 'C1', '1.3', 7, 'pending', '', 0, 0, '', '');
		INSERT INTO tracked (revocation_id, request_id, status, next_check, unchanged, final, updated_at)
		VALUES ('rev-1', '` + tracked + `', 'processing_access', 100, 2, 0, 90);
		INSERT INTO status_posts (revocation_id, status, request_id, claimed_at, posted_ts)
		VALUES ('rev-1', 'processing_access', '` + tracked + `', 80, '1.5'),
		       ('rev-1', 'revoked', '` + tracked + `', 95, '');`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err := Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.Request(t.Context(), uuid.MustParse(tracked))
	if err != nil {
		t.Fatal(err)
	}
	want := []store.Item{{
		AccessStateID: "s1", ApplicationID: "a", ApplicationTitle: "GitHub", ProvisioningType: "automatic",
		ResourceID: "r", ResourceTitle: "acme/infra",
		Permissions: []store.Permission{{Title: "admin"}, {Title: "write"}},
		SubmittedAt: fromMicros(3), RevocationID: "rev-1", Status: apiclient.RevocationProcessing,
	}}
	if diff := cmp.Diff(want, got.Items); diff != "" {
		t.Errorf("migrated items (-want +got):\n%s", diff)
	}
	if got.MessageTS != "1.1" || got.DecidedBy != "U2" || got.Grantee.Name != "Dev Patel" || got.All {
		t.Errorf("migrated request = %+v", got)
	}
	tr, err := s.TrackedRevocation(t.Context(), "rev-1")
	if err != nil || tr.Unchanged != 2 || !tr.NextCheck.Equal(fromMicros(100)) || tr.RequestID != got.ID {
		t.Errorf("migrated tracking = %+v, %v", tr, err)
	}
	r, err := s.Request(t.Context(), uuid.MustParse(refused))
	if err != nil || r.Items[0].Refusal != "it does not know this access." || r.Items[0].Permissions != nil {
		t.Errorf("migrated refusal = %+v, %v", r.Items, err)
	}
	posts, err := s.UnpostedPosts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]store.Post{{RequestID: got.ID, Key: "status/rev-1/revoked", ClaimedAt: fromMicros(95)}}, posts); diff != "" {
		t.Errorf("migrated claims (-want +got):\n%s", diff)
	}
	if claimed, err := s.ClaimPost(t.Context(), store.Post{RequestID: got.ID, Key: "status/rev-1/processing_access"}); err != nil || claimed {
		t.Errorf("a status posted before the migration can be claimed again: %v, %v", claimed, err)
	}
}
