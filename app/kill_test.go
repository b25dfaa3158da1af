package app

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"revokebot/apiclient/owltest"
	"revokebot/sandbox/fakeslack"
)

// childEnv marks the test binary re-run as a revokebot process by TestSurvivesSIGKILL.
const childEnv = "REVOKEBOT_E2E_CHILD"

// botBinaryEnv, when set, names a built revokebot that startProcess runs (as "revokebot run")
// instead of re-running the test binary, so that the process measured is the one released.
const botBinaryEnv = "REVOKEBOT_BOT_BINARY"

// TestBotProcess is not a test: it is the bot process that TestSurvivesSIGKILL starts and kills,
// configured by the environment exactly as the program is.
func TestBotProcess(t *testing.T) {
	if os.Getenv(childEnv) == "" {
		t.Skip("runs only as the bot process of TestSurvivesSIGKILL")
	}
	cfg, err := LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	SetGCDefault()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	if err := Run(ctx, cfg, Options{Version: "e2e", Log: NewLogger(os.Stderr, cfg.LogLevel, cfg.LogFormat)}); err != nil {
		t.Fatal(err)
	}
}

func TestSurvivesSIGKILL(t *testing.T) {
	const inFlight = 20
	w := newWorld(t)
	aws, _ := w.owl.ApplicationByTitle(owltest.SeedAdminApp) // admin-provisioned: stays processing
	grantee := w.owlUser("lena.vogel@" + owltest.SeedDomain)
	var states []owltest.AccessState
	for range inFlight {
		states = append(states, w.owl.AddAccessState(owltest.AccessState{ApplicationID: aws.ID, GranteeUserID: grantee.ID}))
	}

	child := w.startProcess()
	var messages []fakeslack.Message
	for i, s := range states {
		w.revoke(w.requester, fmt.Sprintf("%s Offboarding, account %d", s.ID, i))
		m, err := w.slack.WaitMessage(w.ctx(), w.channel, func(m fakeslack.Message) bool {
			return !m.IsReply() && strings.Contains(blocksText(m), fmt.Sprintf("account %d", i))
		})
		if err != nil {
			t.Fatalf("request %d not posted: %v", i, err)
		}
		messages = append(messages, m)
	}
	for _, m := range messages {
		w.click(w.approver, m, "Approve")
	}
	for _, m := range messages {
		w.reply(m, "processing_access")
	}

	if err := child.Process.Kill(); err != nil { // SIGKILL: no shutdown, no drain
		t.Fatal(err)
	}
	_ = child.Wait()
	for _, rev := range w.owl.Revocations() {
		if rev.ApplicationID == aws.ID && rev.Status == owltest.Processing {
			if _, err := w.owl.Revoke(rev.ID); err != nil {
				t.Fatal(err)
			}
		}
	}

	restarted := w.startProcess()
	for _, m := range messages {
		w.reply(m, "*revoked*")
	}
	began := time.Now()
	if err := restarted.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := restarted.Wait(); err != nil {
		t.Errorf("after SIGTERM the bot exited with %v, want 0\n%s", err, w.logs)
	}
	took := time.Since(began)
	t.Logf("SIGTERM to exit: %s", took.Round(time.Millisecond))
	if took > 10*time.Second {
		t.Errorf("shutdown took %s, want under 10s", took)
	}
	for _, m := range messages {
		assertRepliesOnce(t, w, m, "processing_access", "revoked")
	}
	if got := w.owl.Stats().RevocationsCreated; got != inFlight {
		t.Errorf("%d revocations created, want %d", got, inFlight)
	}
}

// startProcess runs the bot as a separate process on the world's configuration, with extra
// environment variables (KEY=value) overriding it, and waits until it is connected.
func (w *world) startProcess(extra ...string) *exec.Cmd {
	w.t.Helper()
	seen := w.lastConnection()
	cmd := exec.Command(os.Args[0], "-test.run=^TestBotProcess$", "-test.v")
	if bin := os.Getenv(botBinaryEnv); bin != "" {
		// The program itself rather than the test binary, which also links the fakes and the
		// test harness: what memory measurements want to see.
		cmd = exec.Command(bin, "run")
	}
	cmd.Env = append(os.Environ(), childEnv+"=1",
		"SLACK_APP_TOKEN="+w.cfg.SlackAppToken.Reveal(),
		"SLACK_BOT_TOKEN="+w.cfg.SlackBotToken.Reveal(),
		"SLACK_API_URL="+w.cfg.SlackAPIURL,
		"ACCESSOWL_API_TOKEN="+w.cfg.AccessOwlToken.Reveal(),
		"ACCESSOWL_API_URL="+w.cfg.AccessOwlURL,
		fmt.Sprintf("ACCESSOWL_RATE_LIMIT=%d", w.cfg.AccessOwlRate),
		"REVOKE_CHANNEL_ID="+w.cfg.Channel,
		"REVOKE_APPROVERS="+strings.Join(w.cfg.Approvers, ","),
		"REVOKE_STATUS_POLL=1s",
		"DATA_DIR="+w.cfg.DataDir,
		"LISTEN_ADDR=",
		"LOG_LEVEL=debug",
		"LOG_FORMAT=text",
	)
	cmd.Env = append(cmd.Env, extra...)
	cmd.Stdout, cmd.Stderr = w.logs, w.logs
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	w.waitConnected(seen, "the bot process")
	return cmd
}
