package sqlite

import (
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"revokebot/store"
	"revokebot/store/storetest"
)

// readOnly makes path read-only with chmod and returns the options that open a store there as the
// bot would. Root writes a file whatever its mode, so when this process still can (CI runs as
// root), chmod proves nothing: the store is then opened with SQLite's mode=ro, which is how SQLite
// opens a file it may not write, and the test says so.
func readOnly(t *testing.T, path string, mode os.FileMode) []Option {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	// Put the mode back, so that the test's folder can be removed.
	t.Cleanup(func() { os.Chmod(path, info.Mode().Perm()) })
	if !stillWritable(path, info.IsDir()) {
		return nil
	}
	t.Logf("this process writes %s despite mode %v (it runs as root): opening the store with mode=ro instead", path, mode)
	return []Option{ReadOnly()}
}

// stillWritable reports whether this process can write path after all.
func stillWritable(path string, dir bool) bool {
	if dir {
		f, err := os.CreateTemp(path, "probe-")
		if err != nil {
			return false
		}
		f.Close()
		os.Remove(f.Name())
		return true
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return false
	}
	f.Close()
	return true
}

// newClosedStore leaves a store with one request in a new folder and returns the folder.
func newClosedStore(t *testing.T) string {
	t.Helper()
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
	return dir
}

func TestOpenRefusesAStoreItCannotWrite(t *testing.T) {
	tests := []struct {
		name string
		// stage returns DATA_DIR, made read-only in some way, and the options to open it with.
		stage func(t *testing.T) (string, []Option)
	}{
		{"a read-only database file", func(t *testing.T) (string, []Option) {
			dir := newClosedStore(t)
			return dir, readOnly(t, filepath.Join(dir, FileName), 0o444)
		}},
		{"a read-only folder holding the store", func(t *testing.T) (string, []Option) {
			dir := newClosedStore(t)
			return dir, readOnly(t, dir, 0o555)
		}},
		{"a read-only empty folder", func(t *testing.T) (string, []Option) {
			dir := t.TempDir()
			return dir, readOnly(t, dir, 0o555)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, opts := tt.stage(t)
			s, err := Open(t.Context(), dir, opts...)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded on a store it cannot write")
			}
			if !errors.Is(err, ErrNotWritable) || !strings.Contains(err.Error(), "DATA_DIR "+dir) {
				t.Errorf("Open = %v; want ErrNotWritable, naming DATA_DIR %s", err, dir)
			}
		})
	}
}

func TestPingFailsOnceTheStoreCannotWrite(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r := storetest.NewRequest(1)
	if _, err := s.CreateRequest(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping of a writable store: %v", err)
	}
	if err := s.QueryOnly(t.Context()); err != nil {
		t.Fatal(err)
	}
	// Reads still work, which is why a read cannot tell this store from a healthy one.
	if _, err := s.Request(t.Context(), r.ID); err != nil {
		t.Fatalf("a read from the read-only store: %v", err)
	}
	if err := s.Ping(t.Context()); !errors.Is(err, ErrNotWritable) || !strings.Contains(err.Error(), "DATA_DIR "+dir) {
		t.Errorf("Ping of a store that cannot write = %v; want ErrNotWritable naming DATA_DIR %s", err, dir)
	}
}

func TestPingGrowsNothing(t *testing.T) {
	s, err := Open(t.Context(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for range 100 {
		if err := s.Ping(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	var rows int
	if err := s.db.QueryRowContext(t.Context(), "SELECT count(*) FROM meta").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 1 {
		t.Errorf("after 100 pings the store holds %d heartbeat rows, want 1", rows)
	}
	if n, err := s.Count(t.Context()); err != nil || n != (store.Counts{}) {
		t.Errorf("after 100 pings Count = %+v, %v; want nothing counted", n, err)
	}
}

func TestCheckWritableTellsAndChangesNothing(t *testing.T) {
	t.Run("no store yet", func(t *testing.T) {
		dir := t.TempDir()
		exists, err := CheckWritable(t.Context(), dir)
		if exists || err != nil {
			t.Errorf("CheckWritable of an empty folder = %v, %v; want no store and no error", exists, err)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("CheckWritable left %d files in an empty folder", len(entries))
		}
	})
	t.Run("a writable store is left as it was", func(t *testing.T) {
		dir := newClosedStore(t)
		before := schemaOf(t, dir)
		exists, err := CheckWritable(t.Context(), dir)
		if !exists || err != nil {
			t.Errorf("CheckWritable of a writable store = %v, %v; want it found writable", exists, err)
		}
		if diff := cmp.Diff(before, schemaOf(t, dir)); diff != "" {
			t.Errorf("CheckWritable changed the schema (-before +after):\n%s", diff)
		}
	})
	t.Run("a read-only store fails, naming DATA_DIR", func(t *testing.T) {
		dir := newClosedStore(t)
		opts := readOnly(t, filepath.Join(dir, FileName), 0o444)
		_, err := CheckWritable(t.Context(), dir, opts...)
		if !errors.Is(err, ErrNotWritable) || !strings.Contains(err.Error(), "DATA_DIR "+dir) {
			t.Errorf("CheckWritable of a read-only store = %v; want ErrNotWritable naming DATA_DIR %s", err, dir)
		}
	})
}

// schemaOf returns the schema version and the definitions of the store in dir.
func schemaOf(t *testing.T, dir string) []string {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var version string
	if err := db.QueryRowContext(t.Context(), "PRAGMA user_version").Scan(&version); err != nil {
		t.Fatal(err)
	}
	rows, err := db.QueryContext(t.Context(), "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := []string{"version " + version}
	for rows.Next() {
		var def string
		if err := rows.Scan(&def); err != nil {
			t.Fatal(err)
		}
		out = append(out, def)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
