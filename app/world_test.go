package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"revokebot/apiclient/owltest"
	"revokebot/sandbox/fakeslack"
	"revokebot/secret"
)

// waitTimeout bounds every wait in the end-to-end tests: generous for a loaded 2-core machine,
// and still a failure rather than a hang when something never happens.
const waitTimeout = 20 * time.Second

// world is a fake Slack workspace and a fake AccessOwl with the same people, and the real bot
// wired by Run between them over real HTTP and WebSocket.
type world struct {
	t     *testing.T
	owl   *owltest.Server
	slack *fakeslack.Server
	cfg   Config

	channel   string
	group     string            // the approvers' user group
	slackID   map[string]string // email → Slack user ID
	requester string            // Slack user IDs of the cast
	approver  string            // listed by ID
	member    string            // approver through the group
	outsider  string

	logs *syncBuffer
}

// worldOption changes how a world is built.
type worldOption func(*worldConfig)

type worldConfig struct {
	owl   []owltest.Option
	slack fakeslack.Config
}

func withOwl(opts ...owltest.Option) worldOption {
	return func(c *worldConfig) { c.owl = append(c.owl, opts...) }
}

func newWorld(t *testing.T, opts ...worldOption) *world {
	t.Helper()
	wc := worldConfig{owl: []owltest.Option{owltest.WithAutomaticDelay(time.Second)}}
	for _, o := range opts {
		o(&wc)
	}
	w := &world{t: t, owl: owltest.NewServer(wc.owl...), slack: fakeslack.NewServer(wc.slack), slackID: map[string]string{}, logs: &syncBuffer{}}
	t.Cleanup(w.owl.Close)
	t.Cleanup(w.slack.Close)

	// Slack knows AccessOwl's people by the same emails, as in a real company.
	var everyone []string
	for _, u := range w.owl.Users() {
		id := w.slack.AddUser(fakeslack.User{Name: strings.Split(u.Email, "@")[0], RealName: u.FullName, Email: u.Email})
		w.slackID[u.Email] = id
		everyone = append(everyone, id)
	}
	w.requester = w.slackID["ana.garcia@"+owltest.SeedDomain]
	w.approver = w.slackID["ben.okafor@"+owltest.SeedDomain]
	w.member = w.slackID["chloe.martin@"+owltest.SeedDomain]
	w.outsider = w.slackID["kim@"+owltest.SeedDomain]
	for name, id := range map[string]string{"requester": w.requester, "approver": w.approver, "member": w.member, "outsider": w.outsider} {
		if id == "" {
			t.Fatalf("the seed has no %s: update the cast to owltest's seed people", name)
		}
	}
	w.group = w.slack.AddUserGroup(fakeslack.UserGroup{Handle: "it-approvers", Name: "IT approvers", Members: []string{w.member}})
	w.channel = w.slack.AddChannel(fakeslack.Channel{Name: "revocations", Members: append(everyone, w.slack.BotUserID())})

	w.cfg = Config{
		SlackAppToken:  secret.New(w.slack.AppToken()),
		SlackBotToken:  secret.New(w.slack.BotToken()),
		SlackAPIURL:    w.slack.APIURL(),
		AccessOwlToken: secret.New(owltest.DefaultToken),
		AccessOwlURL:   w.owl.URL,
		AccessOwlRate:  1000,
		Channel:        w.channel,
		Approvers:      []string{w.approver, w.group},
		RequestTTL:     72 * time.Hour,
		// Short, so status changes show within a test's patience; the budget still governs.
		StatusPoll: 200 * time.Millisecond,
		DataDir:    t.TempDir(),
		LogLevel:   "debug",
		LogFormat:  "text",
	}
	return w
}

// instance is one running revokebot.
type instance struct {
	stop func() (time.Duration, error)
}

// start runs the bot as the program does, and waits until it is connected to Slack.
func (w *world) start() *instance {
	w.t.Helper()
	before := len(w.slack.Connections())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	log := slog.New(slog.NewTextHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	go func() { done <- Run(ctx, w.cfg, Options{Version: "e2e", Log: log}) }()
	b := &instance{stop: func() (time.Duration, error) {
		began := time.Now()
		cancel()
		select {
		case err := <-done:
			return time.Since(began), err
		case <-time.After(waitTimeout):
			return time.Since(began), errors.New("the bot did not stop")
		}
	}}
	var once sync.Once
	w.t.Cleanup(func() {
		once.Do(func() {
			if took, err := b.stop(); err != nil {
				w.t.Errorf("stopping the bot after %s: %v", took, err)
			}
		})
	})
	if _, err := w.slack.WaitConnections(w.ctx(), func(c []fakeslack.Connection) bool { return len(c) > before }); err != nil {
		w.t.Fatalf("the bot never connected: %v\n%s", err, w.logs)
	}
	return b
}

// ctx is a context for one wait.
func (w *world) ctx() context.Context {
	ctx, cancel := context.WithTimeout(w.t.Context(), waitTimeout)
	w.t.Cleanup(cancel)
	return ctx
}

// revoke runs /revoke as user in the revocations channel and returns the ack.
func (w *world) revoke(user, text string) fakeslack.Ack {
	w.t.Helper()
	ack, err := w.slack.RunSlashCommand(w.ctx(), user, w.channel, "/revoke", text)
	if err != nil {
		w.t.Fatalf("/revoke %s: %v", text, err)
	}
	return ack
}

// approvalMessage waits for the approval message whose text names the grantee's name.
func (w *world) approvalMessage(grantee string) fakeslack.Message {
	w.t.Helper()
	m, err := w.slack.WaitMessage(w.ctx(), w.channel, func(m fakeslack.Message) bool {
		return !m.IsReply() && strings.Contains(m.Text, "Access revocation request") && strings.Contains(m.Text, grantee)
	})
	if err != nil {
		w.t.Fatalf("no approval message for %s: %v\nchannel: %s\nlogs:\n%s", grantee, err, w.dump(), w.logs)
	}
	return m
}

// click clicks a button of the approval message as user.
func (w *world) click(user string, m fakeslack.Message, button string) fakeslack.Ack {
	w.t.Helper()
	ack, err := w.slack.ClickButton(w.ctx(), user, w.channel, m.TS, button)
	if err != nil {
		w.t.Fatalf("click %s as %s: %v", button, user, err)
	}
	return ack
}

// ephemeral waits for an ephemeral to user containing text.
func (w *world) ephemeral(user, text string) fakeslack.Ephemeral {
	w.t.Helper()
	e, err := w.slack.WaitEphemeral(w.ctx(), user, func(e fakeslack.Ephemeral) bool { return strings.Contains(e.Text, text) })
	if err != nil {
		var seen []string
		for _, e := range w.slack.Ephemerals(user) {
			seen = append(seen, e.Text)
		}
		w.t.Fatalf("no ephemeral saying %q to %s: %v\nseen: %q\nlogs:\n%s", text, user, err, seen, w.logs)
	}
	return e
}

// reply waits for a thread reply under m containing text.
func (w *world) reply(m fakeslack.Message, text string) fakeslack.Message {
	w.t.Helper()
	r, err := w.slack.WaitReply(w.ctx(), w.channel, m.TS, func(r fakeslack.Message) bool { return strings.Contains(r.Text, text) })
	if err != nil {
		w.t.Fatalf("no reply saying %q: %v\nthread: %s\nlogs:\n%s", text, err, w.thread(m), w.logs)
	}
	return r
}

// parent waits until the approval message satisfies match.
func (w *world) parent(m fakeslack.Message, what string, match func(fakeslack.Message) bool) fakeslack.Message {
	w.t.Helper()
	got, err := w.slack.WaitMessageState(w.ctx(), w.channel, m.TS, match)
	if err != nil {
		cur, _ := w.slack.Message(w.channel, m.TS)
		w.t.Fatalf("the approval message never %s: %v\nit is: %s\n%s\nlogs:\n%s", what, err, cur.Text, cur.Blocks, w.logs)
	}
	return got
}

// posts returns the revocation POSTs AccessOwl received.
func (w *world) posts() []owltest.Call {
	var out []owltest.Call
	for _, c := range w.owl.Calls() {
		if c.Method == "POST" && c.Path == "/api/v1/access_revocations" {
			out = append(out, c)
		}
	}
	return out
}

// mutations counts requests that could change something at AccessOwl.
func (w *world) mutations() int {
	n := 0
	for _, c := range w.owl.Calls() {
		if c.Method != "GET" {
			n++
		}
	}
	return n
}

func (w *world) thread(m fakeslack.Message) string {
	var b strings.Builder
	for _, r := range w.slack.Thread(w.channel, m.TS) {
		b.WriteString(r.Text + "\n")
	}
	return b.String()
}

func (w *world) dump() string {
	var b strings.Builder
	for _, m := range w.slack.Messages(w.channel) {
		b.WriteString(m.Text + "\n")
	}
	return b.String()
}

// hasButtons reports whether a message still offers Approve or Reject.
func hasButtons(m fakeslack.Message) bool {
	return bytes.Contains(m.Blocks, []byte(`"Approve"`)) || bytes.Contains(m.Blocks, []byte(`"Reject"`))
}

// blocksText is a message's blocks as Slack reads them: JSON's \u003c is <.
func blocksText(m fakeslack.Message) string {
	var v any
	if err := json.Unmarshal(m.Blocks, &v); err != nil {
		return string(m.Blocks)
	}
	var b strings.Builder
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, y := range x {
				if s, ok := y.(string); ok && k == "text" {
					b.WriteString(s + "\n")
				} else {
					walk(y)
				}
			}
		case []any:
			for _, y := range x {
				walk(y)
			}
		}
	}
	walk(v)
	return b.String()
}

// syncBuffer collects the bot's logs for failure messages.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	const tail = 6000
	out := s.buf.String()
	if len(out) > tail {
		out = "…" + out[len(out)-tail:]
	}
	return out
}
