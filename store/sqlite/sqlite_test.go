package sqlite

import (
	"database/sql"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"go.uber.org/goleak"

	"revokebot/apiclient"
	"revokebot/store"
	"revokebot/store/internal/sqlrows"
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
		SubmittedAt: sqlrows.FromMicros(3), RevocationID: "rev-1", Status: apiclient.RevocationProcessing,
	}}
	if diff := cmp.Diff(want, got.Items); diff != "" {
		t.Errorf("migrated items (-want +got):\n%s", diff)
	}
	if got.MessageTS != "1.1" || got.DecidedBy != "U2" || got.Grantee.Name != "Dev Patel" || got.All {
		t.Errorf("migrated request = %+v", got)
	}
	tr, err := s.TrackedRevocation(t.Context(), "rev-1")
	if err != nil || tr.Unchanged != 2 || !tr.NextCheck.Equal(sqlrows.FromMicros(100)) || tr.RequestID != got.ID {
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
	if diff := cmp.Diff([]store.Post{{RequestID: got.ID, Key: "status/rev-1/revoked", ClaimedAt: sqlrows.FromMicros(95)}}, posts); diff != "" {
		t.Errorf("migrated claims (-want +got):\n%s", diff)
	}
	if claimed, err := s.ClaimPost(t.Context(), store.Post{RequestID: got.ID, Key: "status/rev-1/processing_access"}); err != nil || claimed {
		t.Errorf("a status posted before the migration can be claimed again: %v, %v", claimed, err)
	}
}

func TestBackupOfAnOpenStoreHoldsItsRows(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Rows committed by the running store are still in its write-ahead log, not yet in the
	// database file: the backup must hold them all the same.
	var want []store.Request
	for i := range 3 {
		r := storetest.NewRequest(i + 1)
		if _, err := s.CreateRequest(t.Context(), r); err != nil {
			t.Fatal(err)
		}
		d := store.Decision{State: store.Approved, By: "U0APPROVER", At: r.CreatedAt.Add(time.Minute)}
		decided, _, err := s.Decide(t.Context(), r.ID, d)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, decided)
	}

	target := filepath.Join(t.TempDir(), "backup.db")
	if err := Backup(t.Context(), dir, target); err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(target); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("backup file: %v, %v; want mode 0600, since it holds the audit trail", info.Mode(), err)
	}

	// Restoring is copying the file into a DATA_DIR under the store's name.
	restored := t.TempDir()
	raw, err := os.ReadFile(target)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(restored, FileName), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := Open(t.Context(), restored)
	if err != nil {
		t.Fatalf("open the restored backup: %v", err)
	}
	defer b.Close()
	var got []store.Request
	for _, r := range want {
		g, err := b.Request(t.Context(), r.ID)
		if err != nil {
			t.Fatalf("request %s is not in the backup: %v", r.ID, err)
		}
		got = append(got, g)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("requests in the backup (-want +got):\n%s", diff)
	}
}

func TestBackupRefusesAnExistingFile(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	target := filepath.Join(t.TempDir(), "backup.db")
	const earlier = "an earlier backup"
	if err := os.WriteFile(target, []byte(earlier), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Backup(t.Context(), dir, target); !errors.Is(err, ErrBackupExists) {
		t.Errorf("Backup over an existing file: %v, want ErrBackupExists", err)
	}
	if raw, _ := os.ReadFile(target); string(raw) != earlier {
		t.Errorf("the existing file was changed to %q", raw)
	}
}

func TestBackupNeedsAStoreToCopy(t *testing.T) {
	empty := t.TempDir()
	target := filepath.Join(t.TempDir(), "backup.db")
	if err := Backup(t.Context(), empty, target); err == nil {
		t.Error("Backup of a folder with no store succeeded")
	}
	if _, err := os.Stat(filepath.Join(empty, FileName)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Backup created a store in the folder it copies from: %v", err)
	}
	if _, err := os.Stat(target); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a failed backup left %s behind: %v", target, err)
	}
}

// A backup may run as another user than the bot (root, beside a systemd DynamicUser): files it
// left beside a stopped store would belong to that user, and the bot could not write them.
func TestBackupOfAStoppedStoreLeavesNothingBesideIt(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateRequest(t.Context(), storetest.NewRequest(1)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := Backup(t.Context(), dir, filepath.Join(t.TempDir(), "backup.db")); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if diff := cmp.Diff([]string{FileName}, names); diff != "" {
		t.Errorf("files in DATA_DIR after the backup (-want +got):\n%s", diff)
	}
}
