package sqlite

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

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
	want, _, err := s.Decide(t.Context(), r, d)
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
	if len(got) != 1 || got[0].Reason != "left" || got[0].Refusal != "" || got[0].DecidedBy != "U2" {
		t.Errorf("after migrating, Unsubmitted = %+v; want the old approved request", got)
	}
}
