package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
)

// ErrBackupExists is returned by Backup when its target already exists: a backup never
// overwrites a file, least of all an earlier backup.
var ErrBackupExists = errors.New("the backup file already exists")

// Backup writes a consistent copy of the store in dir to target, a file that must not exist yet.
// It is safe while revokebot runs on the same store: SQLite's VACUUM INTO reads the database in
// one read transaction, which in WAL mode sees the last committed state and blocks no writer,
// and it writes a compact file that is itself a complete database. The store is never migrated
// here, so a newer binary can back up the store of an older one still running. The copy is
// created with mode 0600, since it holds the audit trail.
func Backup(ctx context.Context, dir, target string) error {
	src := filepath.Join(dir, FileName)
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("back up %s: no store there: %w", src, err)
	}
	// Creating the target exclusively refuses an existing file with no window for a race, and
	// VACUUM INTO accepts an empty file.
	f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("back up to %s: %w", target, ErrBackupExists)
	}
	if err != nil {
		return fmt.Errorf("back up to %s: %w", target, err)
	}
	f.Close()
	if err := vacuumInto(ctx, src, target); err != nil {
		os.Remove(target)
		return fmt.Errorf("back up %s to %s: %w", src, target, err)
	}
	return nil
}

// vacuumInto copies src to target. It opens src read-write although it only reads: a read-only
// connection to a WAL database that no one else has open leaves the -wal and -shm files behind,
// owned by whoever ran the backup, and the bot may not be able to write them when it starts;
// a read-write connection removes them when it is the last to close.
func vacuumInto(ctx context.Context, src, target string) error {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	db, err := sql.Open("sqlite", "file:"+src+"?"+q.Encode())
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", target); err != nil {
		return err
	}
	return db.Close()
}
