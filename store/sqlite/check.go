package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// CheckWritable reports whether the store in dir exists and can be written, changing nothing, for
// revokebot check. It opens the file as Open does but does not migrate it, so that a newer
// binary can check the store of an older one still running, and makes a write that it rolls
// back: SQLite refuses it at once on a file it could open only read-only. With no store in dir
// yet it reports exists false and no error; whether the folder can be written is the caller's
// to check.
func CheckWritable(ctx context.Context, dir string, opts ...Option) (exists bool, err error) {
	path := filepath.Join(dir, FileName)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, notWritable(dir, err)
	}
	db, err := sql.Open("sqlite", dataSource(path, opts))
	if err != nil {
		return true, fmt.Errorf("open %s: %w", path, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return true, checkFailed(dir, path, err)
	}
	defer tx.Rollback()
	// A table of a name revokebot never uses, created and rolled back: it writes the schema,
	// which every version of the store has, and leaves nothing.
	if _, err := tx.ExecContext(ctx, "CREATE TABLE revokebot_check_write (x)"); err != nil {
		return true, checkFailed(dir, path, err)
	}
	if err := tx.Rollback(); err != nil {
		return true, checkFailed(dir, path, err)
	}
	return true, db.Close()
}

func checkFailed(dir, path string, err error) error {
	if cannotWrite(err) {
		return notWritable(dir, err)
	}
	return fmt.Errorf("write to %s: %w", path, err)
}
