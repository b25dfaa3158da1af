// Package testenv is support for revokebot's tests. It lets tests that need a tool outside Go
// (node, Chromium, installed npm packages) skip with a clear message when run by hand, and fail
// instead under CI, where REVOKEBOT_STRICT_TESTS=1 says everything must be there; and it
// collects the logs of a bot under test for failure messages.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// StrictVar is the environment variable that turns missing tools into failures.
const StrictVar = "REVOKEBOT_STRICT_TESTS"

// Strict reports whether missing tools must fail the test rather than skip it.
func Strict() bool { return os.Getenv(StrictVar) == "1" }

// Missing ends the test because something it needs is absent: a skip when run by hand, a
// failure under REVOKEBOT_STRICT_TESTS=1. what says what is missing, hint how to get it.
func Missing(t testing.TB, what, hint string) {
	t.Helper()
	msg := what + " is missing; " + hint
	if Strict() {
		t.Fatalf("%s (%s=1, so this fails instead of skipping)", msg, StrictVar)
		return
	}
	t.Skip(msg)
}

// Require returns the path of an executable on PATH, or ends the test through Missing.
func Require(t testing.TB, tool, hint string) string {
	t.Helper()
	path, err := exec.LookPath(tool)
	if err != nil {
		Missing(t, tool, hint)
	}
	return path
}

// RequireNode returns the path of node.
func RequireNode(t testing.TB) string {
	t.Helper()
	return Require(t, "node", "install Node.js 20 (apt-get install -y nodejs npm)")
}

// RequireFile ends the test through Missing unless path exists.
func RequireFile(t testing.TB, path, hint string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		Missing(t, path, hint)
	}
}
