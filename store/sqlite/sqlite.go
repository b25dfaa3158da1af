// Package sqlite is the embedded Store: one SQLite file under DATA_DIR, through the pure-Go
// modernc.org/sqlite driver so the binary stays static. It suits a single replica; several
// replicas need a shared database.
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
	"syscall"
	"time"

	driver "modernc.org/sqlite" // registers the "sqlite" driver
	sqlite3 "modernc.org/sqlite/lib"

	"revokebot/store"
	"revokebot/store/internal/sqlrows"
)

// FileName is the database's name inside DATA_DIR.
const FileName = "revokebot.db"

// busyTimeout is how long a statement waits for another process holding the file's lock
// (a second revokebot started by mistake, a backup) before failing.
const busyTimeout = 5 * time.Second

// pageCacheKiB is SQLite's page cache for the connection, in KiB, instead of its default of about
// 2 MB. The pages it does not hold are read again from the operating system's file cache. Under
// the load of the README the smaller cache keeps the process about 1.5 MB smaller at its peak;
// on a store of 10,000 requests (BenchmarkQueries, medians of 5) a read by ID or a decision
// costs the same, about 0.15 and 0.3 ms, and only the scans that cover more pages than it holds
// are slower: the resubmitter's, over 1,000 approved requests, 4.4 ms instead of 1.2 ms.
var pageCacheKiB = 256

// ErrNotWritable is what Open, Ping and CheckWritable wrap when the store's file or folder cannot
// be written: a file or folder the bot's user may not write, a volume mounted read-only, a disk
// that failed. Such a store answers every read and fails every decision, so it must not pass for
// a working one.
var ErrNotWritable = errors.New("the store cannot be written")

// Store is a store.Store kept in one SQLite file.
type Store struct {
	db  *sql.DB
	dir string
}

var _ store.Store = (*Store)(nil)

// Option changes how Open and CheckWritable open the database file.
type Option func(*options)

type options struct {
	readOnly bool
}

// ReadOnly opens the database file read-only (SQLite's mode=ro), which is how SQLite opens a file
// the process may not write. revokebot never asks for it: it lets tests stage a read-only store
// where chmod cannot, since a process running as root writes a file whatever its mode.
func ReadOnly() Option { return func(o *options) { o.readOnly = true } }

// dataSource is the driver's name for the database file at path.
func dataSource(path string, opts []Option) string {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	// WAL lets readers run beside the writer; synchronous=FULL makes a committed decision
	// survive a power cut, not just a killed process; IMMEDIATE transactions take the write
	// lock up front, so two writers never deadlock upgrading a read lock.
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Add("_pragma", fmt.Sprintf("cache_size(-%d)", pageCacheKiB))
	q.Set("_txlock", "immediate")
	if o.readOnly {
		q.Set("mode", "ro")
	}
	return "file:" + path + "?" + q.Encode()
}

// Open opens, creating if needed, the database in dir, brings its schema up to date and proves
// that it can write there: a store that could only read would open, answer every probe and fail
// every decision.
func Open(ctx context.Context, dir string, opts ...Option) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, notWritable(dir, fmt.Errorf("create the folder: %w", err))
	}
	path := filepath.Join(dir, FileName)
	db, err := sql.Open("sqlite", dataSource(path, opts))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	// One connection serialises this process's writers, which SQLite would do anyway; it
	// also keeps every statement on the connection the pragmas were applied to.
	db.SetMaxOpenConns(1)
	s := &Store{db: db, dir: dir}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		if cannotWrite(err) {
			return nil, notWritable(dir, fmt.Errorf("migrate %s: %w", path, err))
		}
		return nil, fmt.Errorf("migrate %s: %w", path, err)
	}
	if err := s.Ping(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// notWritable says that the store in dir cannot be written, and what to do about it.
func notWritable(dir string, err error) error {
	return fmt.Errorf("DATA_DIR %s: %w: %w: the folder and the %s in it must be writable by the user revokebot runs as (uid %d), on a file system mounted read-write",
		dir, ErrNotWritable, err, FileName, os.Getuid())
}

// cannotWrite reports whether err says that SQLite or the file system refused to write or to
// open the file for writing, as opposed to a busy lock or a cancelled call.
func cannotWrite(err error) bool {
	var e *driver.Error
	if errors.As(err, &e) {
		switch e.Code() & 0xff { // the primary result code; extended codes add detail above it
		case sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM, sqlite3.SQLITE_IOERR:
			return true
		}
	}
	return errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS)
}

func (s *Store) migrate(ctx context.Context) error {
	var version int
	if err := s.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return err
	}
	if version > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this revokebot knows (%d): was it downgraded?", version, len(migrations))
	}
	for i := version; i < len(migrations); i++ {
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
				return fmt.Errorf("migration %d: %w", i+1, err)
			}
			_, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", i+1))
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Ping proves that the store can write, not only read: it commits one heartbeat row that
// replaces itself, so it grows nothing, and costs one small write — cheap enough for every
// readiness probe. A store whose disk turned read-only answers reads until the next decision
// fails.
func (s *Store) Ping(ctx context.Context) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('heartbeat', 1)
		ON CONFLICT (key) DO UPDATE SET value = value + 1`)
	switch {
	case err == nil:
		return nil
	case cannotWrite(err):
		return notWritable(s.dir, err)
	default:
		return fmt.Errorf("write to the store: %w", err)
	}
}

// QueryOnly makes every later write of the store fail with SQLite's read-only error while reads
// go on, as they do when the file system under a running store is remounted read-only.
// revokebot never calls it: it lets tests stage that, which they cannot do with chmod (a file
// already open stays writable) nor, as root, at all.
func (s *Store) QueryOnly(ctx context.Context) error {
	_, err := s.db.ExecContext(ctx, "PRAGMA query_only = ON")
	return err
}

// execer is what *sql.DB and *sql.Tx share for writing.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// updateOne runs an UPDATE that must change exactly one row, and reports ErrNotFound otherwise.
func updateOne(ctx context.Context, db execer, what, query string, args ...any) error {
	res, err := db.ExecContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return nil
}

func (s *Store) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// scanner is what *sql.Row and *sql.Rows share.
type scanner = sqlrows.Scanner

func collect[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
