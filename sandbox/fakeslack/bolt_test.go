package fakeslack_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"revokebot/sandbox/fakeslack"
	"revokebot/sandbox/testenv"
)

// boltDir holds the Bolt for JavaScript app and its pinned dependencies.
const boltDir = "testdata/bolt"

// startBolt runs testdata/bolt/revoke.js against the workspace and returns once Bolt's
// app.start() has resolved, which it does only after the hello frame.
func startBolt(t *testing.T, s *fakeslack.Server) {
	t.Helper()
	node := testenv.RequireNode(t)
	testenv.RequireFile(t, filepath.Join(boltDir, "node_modules", "@slack", "bolt"),
		"install Bolt with: npm ci --prefix sandbox/fakeslack/testdata/bolt")

	cmd := exec.Command(node, "revoke.js")
	cmd.Dir = boltDir
	cmd.Env = append(os.Environ(),
		"SLACK_BOT_TOKEN="+s.BotToken(), "SLACK_APP_TOKEN="+s.AppToken(), "SLACK_API_URL="+s.APIURL())
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	lines := make(chan struct{})
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if sc.Text() == "READY" {
				close(ready)
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		<-lines
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("bolt stderr:\n%s", stderr.String())
		}
	})
	select {
	case <-ready:
	case <-lines:
		t.Fatalf("bolt exited before it started:\n%s", stderr.String())
	case <-deadline(t).Done():
		t.Fatalf("bolt did not start in time:\n%s", stderr.String())
	}
}

func TestBoltForJavaScriptWorksUnchanged(t *testing.T) {
	s, org := startServer(t, fastConfig())
	startBolt(t, s)
	ctx := deadline(t)

	// Bolt calls both before it starts, in no fixed order: its receiver opens the socket while
	// the app's init checks the token.
	var methods []string
	for _, c := range s.Calls() {
		methods = append(methods, c.Method)
	}
	if len(methods) < 2 || !slices.Contains(methods[:2], "auth.test") || !slices.Contains(methods[:2], "apps.connections.open") {
		t.Errorf("Bolt's first calls = %v, want auth.test and apps.connections.open", methods)
	}

	ack, err := s.RunSlashCommand(ctx, org.Carol, org.Revocations, "/revoke", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("ack latency of Bolt: %v, payload %s", ack.Latency, ack.Payload)

	msg, err := s.WaitMessage(ctx, org.Revocations, func(m fakeslack.Message) bool {
		return strings.Contains(m.Text, "Revocation requested by <@"+org.Carol+">")
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(msg.Blocks) == 0 {
		t.Errorf("message %+v lost its blocks", msg)
	}
	view, err := s.WaitModal(ctx, org.Carol, func(v fakeslack.View) bool { return v.CallbackID == "revoke" })
	if err != nil {
		t.Fatal(err)
	}
	if view.ID == "" || !strings.HasPrefix(view.ID, "V") {
		t.Errorf("modal has ID %q, want a V… ID", view.ID)
	}
	if errCalls := errorCalls(s); len(errCalls) > 0 {
		t.Errorf("Web API calls that failed: %v", errCalls)
	}
}

func errorCalls(s *fakeslack.Server) []fakeslack.Call {
	var out []fakeslack.Call
	for _, c := range s.Calls() {
		if c.Error != "" {
			out = append(out, c)
		}
	}
	return out
}
