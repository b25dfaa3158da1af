package app

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"

	"revokebot/store/postgres"
	"revokebot/store/sqlite"
)

// ErrTargetNotEmpty is what MigrateStore returns when the database already holds requests or
// audit records and it was not told to copy into it anyway.
var ErrTargetNotEmpty = errors.New("the database already holds requests or audit records")

// MigrateStore copies the SQLite store under dataDir into the PostgreSQL database at
// databaseURL — requests with their accesses, decisions, tracked revocations, claimed and posted
// replies, and the audit trail — so that a team that started with one replica moves to several
// without losing a thread. The bot must be stopped meanwhile. It refuses a database that already
// holds requests or audit records unless force is set; with force it adds only what the
// database lacks, so an interrupted copy can be run again. It reports what it copied to out.
func MigrateStore(ctx context.Context, dataDir, databaseURL string, force bool, out io.Writer) error {
	path := filepath.Join(dataDir, sqlite.FileName)
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("no store to copy in DATA_DIR %s: %w", dataDir, err)
	}
	// Opening it brings its schema up to date, which is the one the copy reads.
	src, err := sqlite.Open(ctx, dataDir)
	if err != nil {
		return fmt.Errorf("open the store in %s: %w", dataDir, err)
	}
	src.Close()
	dst, err := postgres.Open(ctx, databaseURL)
	if err != nil {
		return err
	}
	defer dst.Close()
	empty, err := dst.Empty(ctx)
	if err != nil {
		return err
	}
	if !empty && !force {
		return fmt.Errorf("%s: %w; run again with --force to add what it lacks (nothing is copied twice)", postgres.Redact(databaseURL), ErrTargetNotEmpty)
	}
	// Read-write for the reason sqlite.ExportAudit gives: a read-only connection that is the
	// last to close leaves the write-ahead log's files behind.
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	copied, err := dst.ImportSQLite(ctx, db)
	if err != nil {
		return err
	}
	for _, c := range copied {
		fmt.Fprintf(out, "%-9s %6d read, %6d new\n", c.Table, c.Read, c.New)
	}
	fmt.Fprintf(out, "The store in %s is copied to %s. Set DATABASE_URL and start the replicas.\n", dataDir, postgres.Redact(databaseURL))
	return nil
}

// LoadMigrateConfig reads DATA_DIR and DATABASE_URL alone, for revokebot migrate-store.
func LoadMigrateConfig() (dataDir, databaseURL string, err error) {
	dataDir, err = LoadDataDir()
	if err != nil {
		return "", "", err
	}
	databaseURL = os.Getenv("DATABASE_URL")
	if databaseURL == "" || !validDatabaseURL(databaseURL) {
		return "", "", &ConfigError{Problems: []SettingError{{"DATABASE_URL", "want the postgres:// URL of the database to copy the store into"}}}
	}
	return dataDir, databaseURL, nil
}
