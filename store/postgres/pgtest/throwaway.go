package pgtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// nobody is the user a throwaway server runs as when the tests run as root: PostgreSQL refuses
// to run as root.
const nobody = 65534

var (
	throwawayOnce sync.Once
	throwawayURL  string
	throwawayErr  error
)

// throwaway starts, once per test binary, a PostgreSQL server of its own from the initdb and
// postgres binaries on PATH, in a temporary directory, listening on 127.0.0.1 on a free port and
// trusting local connections, and returns its URL. The server dies with the test binary.
func throwaway() (string, error) {
	throwawayOnce.Do(func() { throwawayURL, throwawayErr = startThrowaway() })
	return throwawayURL, throwawayErr
}

func startThrowaway() (string, error) {
	initdb, err := exec.LookPath("initdb")
	if err != nil {
		return "", fmt.Errorf("no initdb on PATH")
	}
	postgres, err := exec.LookPath("postgres")
	if err != nil {
		return "", fmt.Errorf("no postgres on PATH")
	}
	dir, err := os.MkdirTemp("", "revokebot-pgtest-")
	if err != nil {
		return "", err
	}
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		cred = &syscall.Credential{Uid: nobody, Gid: nobody}
		if err := os.Chown(dir, nobody, nobody); err != nil {
			return "", err
		}
	}
	data := filepath.Join(dir, "data")
	cmd := exec.Command(initdb, "--auth=trust", "--username=postgres", "--no-sync", "-D", data)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("initdb: %v: %s", err, out)
	}
	port, err := freePort()
	if err != nil {
		return "", err
	}
	server := exec.Command(postgres, "-D", data, "-h", "127.0.0.1", "-p", strconv.Itoa(port), "-k", dir,
		"-c", "fsync=off", "-c", "max_connections=200")
	// Pdeathsig: the server is killed when the test binary exits, however it exits.
	server.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL}
	if err := server.Start(); err != nil {
		return "", fmt.Errorf("start postgres: %w", err)
	}
	url := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, url)
		cancel()
		if err == nil {
			conn.Close(context.Background())
			return url, nil
		}
		if time.Now().After(deadline) {
			server.Process.Kill()
			return "", fmt.Errorf("the throwaway server in %s never answered: %w", dir, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
