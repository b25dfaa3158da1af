package app

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"revokebot/app/metrics"
	"revokebot/store/sqlite"
)

func TestCheckFailsAStoreItCannotWrite(t *testing.T) {
	dir := t.TempDir()
	st, err := sqlite.Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	if r := checkDataDir(t.Context(), dir); !r.OK() || !strings.Contains(r.Detail, "the store in it are writable") {
		t.Fatalf("checkDataDir of a writable store = %+v; want it passed, the store tried", r)
	}
	path := filepath.Join(dir, sqlite.FileName)
	if err := os.Chmod(path, 0o444); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(path, 0o600) })
	// The folder stays writable: a temporary file in it proves nothing about the store.
	var opts []sqlite.Option
	if f, err := os.OpenFile(path, os.O_WRONLY, 0); err == nil {
		f.Close()
		t.Logf("this process writes %s despite mode 0444 (it runs as root): the store is opened with mode=ro instead", path)
		opts = append(opts, sqlite.ReadOnly())
	}
	r := checkDataDir(t.Context(), dir, opts...)
	if r.Outcome != CheckFailed || r.Setting != "DATA_DIR" || !strings.Contains(r.Detail, "cannot be written") {
		t.Errorf("checkDataDir of a read-only store = %+v; want DATA_DIR failed, saying the store cannot be written", r)
	}
}

func TestReadyzIsNotReadyWhenTheStoreCannotWrite(t *testing.T) {
	st, err := sqlite.Open(t.Context(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ready := &readiness{}
	ready.Connected(false)
	h := &health{metrics: metrics.New("test"), readiness: ready, store: st, probeAccessOwl: func(context.Context) error { return nil }}
	ready.lastOwlAnswer.Store(time.Now().UnixNano())
	srv := httptest.NewServer(h.handler())
	defer srv.Close()
	if code, body := get(t, srv.URL+"/readyz"); code != 200 {
		t.Fatalf("/readyz with a writable store = %d %q, want 200", code, body)
	}
	// As when the volume under a running store is remounted read-only: reads go on, writes fail.
	if err := st.QueryOnly(t.Context()); err != nil {
		t.Fatal(err)
	}
	code, body := get(t, srv.URL+"/readyz")
	if code != 503 || !strings.Contains(body, "the store is not usable") || !strings.Contains(body, "cannot be written") {
		t.Errorf("/readyz with a store that cannot write = %d %q; want 503 saying the store cannot be written", code, body)
	}
	if !errors.Is(st.Ping(t.Context()), sqlite.ErrNotWritable) {
		t.Error("Ping does not report ErrNotWritable")
	}
}
