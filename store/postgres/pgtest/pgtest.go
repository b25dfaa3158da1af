// Package pgtest gives tests a PostgreSQL database of their own: a fresh, uniquely named
// database on the server REVOKEBOT_TEST_DATABASE_URL names (by default the local one, as .ci/run
// starts it), dropped when the test ends. When that server does not answer and the URL was not
// set, it starts a throwaway server from the PostgreSQL binaries on PATH (initdb, postgres), as a
// non-root user; with neither, tests skip with a message that says how to get one, and fail
// under REVOKEBOT_STRICT_TESTS=1.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"revokebot/sandbox/testenv"
)

// URLVar names the server tests use: a URL whose user may create databases.
const URLVar = "REVOKEBOT_TEST_DATABASE_URL"

// defaultURL is the server .ci/run makes sure of: Debian's postgresql, trusting 127.0.0.1.
const defaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// connectTimeout bounds finding out that no server answers, so a run by hand skips quickly.
const connectTimeout = 5 * time.Second

// NewDatabase creates a database of its own for t and returns its URL; the database is dropped,
// with whatever connections are left on it, when t ends.
func NewDatabase(t testing.TB) string {
	t.Helper()
	admin := testenvURL()
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil && os.Getenv(URLVar) == "" {
		// Nothing on the default address: a server of the test binary's own, if it can.
		if url, terr := throwaway(); terr == nil {
			admin = url
			conn, err = pgx.Connect(ctx, admin)
		} else {
			err = fmt.Errorf("%w; no throwaway server either: %v", err, terr)
		}
	}
	if err != nil {
		testenv.Missing(t, "a PostgreSQL server ("+err.Error()+")",
			"set "+URLVar+" to a server where the user may create databases, start one on 127.0.0.1:5432 trusting local connections (.ci/run does), or put initdb and postgres on PATH")
		return ""
	}
	defer conn.Close(context.Background())
	var b [6]byte
	rand.Read(b[:])
	name := "revokebot_test_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create test database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Logf("drop test database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("drop test database %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

func testenvURL() string {
	if u := os.Getenv(URLVar); u != "" {
		return u
	}
	return defaultURL
}
