package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"revokebot/apiclient/owltest"
	"revokebot/revoke"
	"revokebot/sandbox/fakeslack"
	"revokebot/sandbox/testenv"
	"revokebot/secret"
	"revokebot/store"
	"revokebot/store/postgres"
	"revokebot/store/sqlite"
)

// waitTimeout bounds every wait in the end-to-end tests: generous for a loaded 2-core machine,
// and still a failure rather than a hang when something never happens.
const waitTimeout = 45 * time.Second

// testRate is the AccessOwl budget of the test world, on both sides: large enough that status
// checks are paced by REVOKE_STATUS_POLL rather than by the budget, so tests see status changes
// within a second. The budget's own behaviour is tested in apiclient and bot.
const testRate = 36_000

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

	logs *testenv.Logs
	// onListen is told where the bot serves /healthz, /readyz and /metrics when cfg.ListenAddr
	// is set.
	onListen func(addr string)
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{
		t:       t,
		owl:     owltest.NewServer(owltest.WithAutomaticDelay(time.Second), owltest.WithRateLimit(testRate)),
		slack:   fakeslack.NewServer(fakeslack.Config{}),
		slackID: map[string]string{},
		logs:    &testenv.Logs{},
	}
	t.Cleanup(w.owl.Close)
	t.Cleanup(w.slack.Close)
	t.Cleanup(w.logAckLatency)

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
		AccessOwlRate:  testRate,
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

// seedRequests stores requests as if they had been asked for and their approval messages since
// deleted: a click on them is decided and submitted, and nothing is posted about them. Tests
// that measure decisions and submissions by the hundred use them, so that Slack's pacing of
// hundreds of threads is not what they measure. Call it before start.
func (w *world) seedRequests(rs ...store.Request) {
	w.t.Helper()
	var (
		st  store.Store
		err error
	)
	if w.cfg.DatabaseURL != "" {
		st, err = postgres.Open(w.t.Context(), w.cfg.DatabaseURL)
	} else {
		st, err = sqlite.Open(w.t.Context(), w.cfg.DataDir)
	}
	if err != nil {
		w.t.Fatal(err)
	}
	defer st.Close()
	key := revoke.Event{Kind: revoke.RequestPosted}.Key()
	for _, r := range rs {
		r.Channel, r.MessageTS = "", ""
		if _, err := st.CreateRequest(w.t.Context(), r); err != nil {
			w.t.Fatal(err)
		}
		if _, err := st.ClaimPost(w.t.Context(), store.Post{RequestID: r.ID, Key: key, ClaimedAt: r.CreatedAt}); err != nil {
			w.t.Fatal(err)
		}
		if err := st.MarkPosted(w.t.Context(), r.ID, key, "none"); err != nil {
			w.t.Fatal(err)
		}
	}
}

// instance is one running revokebot.
type instance struct {
	stop func() (time.Duration, error)
}

// start runs the bot as the program does, and waits until it is connected to Slack.
func (w *world) start() *instance {
	w.t.Helper()
	seen := w.lastConnection()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	level := slog.LevelDebug
	_ = level.UnmarshalText([]byte(w.cfg.LogLevel)) // newWorld sets debug; the load command, info
	log := slog.New(slog.NewTextHandler(w.logs, &slog.HandlerOptions{Level: level}))
	go func() { done <- Run(ctx, w.cfg, Options{Version: "e2e", Log: log, OnListen: w.onListen}) }()
	var (
		once    sync.Once
		took    time.Duration
		stopErr error
	)
	b := &instance{stop: func() (time.Duration, error) {
		once.Do(func() {
			began := time.Now()
			cancel()
			select {
			case stopErr = <-done:
			case <-time.After(waitTimeout):
				stopErr = errors.New("the bot did not stop")
			}
			took = time.Since(began)
		})
		return took, stopErr
	}}
	w.t.Cleanup(func() {
		if took, err := b.stop(); err != nil {
			w.t.Errorf("stopping the bot after %s: %v", took, err)
		}
	})
	w.waitConnected(seen, "the bot")
	return b
}

// owlUser is the AccessOwl user with email.
func (w *world) owlUser(email string) owltest.User {
	w.t.Helper()
	u, ok := w.owl.UserByEmail(email)
	if !ok {
		w.t.Fatalf("AccessOwl has no user %s", email)
	}
	return u
}

// lastConnection is the highest socket connection ID the fake Slack has handed out so far.
func (w *world) lastConnection() int {
	last := 0
	for _, c := range w.slack.Connections() {
		last = max(last, c.ID)
	}
	return last
}

// waitConnected waits for a connection newer than seen. Counting connections would not do:
// the fake may notice a killed bot's socket closing only after the new one has opened.
func (w *world) waitConnected(seen int, who string) {
	w.t.Helper()
	_, err := w.slack.WaitConnections(w.ctx(), func(cs []fakeslack.Connection) bool {
		for _, c := range cs {
			if c.ID > seen {
				return true
			}
		}
		return false
	})
	if err != nil {
		w.t.Fatalf("%s never connected: %v\n%s", who, err, w.logs)
	}
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
	r, err := w.slack.WaitReply(w.ctx(), w.channel, m.TS, func(r fakeslack.Message) bool {
		return strings.Contains(r.Text, text) || replyStatus(r) == text
	})
	if err != nil {
		w.t.Fatalf("no reply saying %q: %v\nthread: %s\nlogs:\n%s", text, err, w.thread(m), w.logs)
	}
	return r
}

// replyStatus is the AccessOwl status a reply announces, from its metadata: people read the
// status in words, machines read the code there.
func replyStatus(r fakeslack.Message) string {
	var md struct {
		Payload struct {
			Status string `json:"status"`
		} `json:"event_payload"`
	}
	_ = json.Unmarshal(r.Metadata, &md)
	return md.Payload.Status
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

// activeState returns an active access state of the person with email in the application.
func (w *world) activeState(email, app string) owltest.AccessState {
	w.t.Helper()
	a, ok := w.owl.ApplicationByTitle(app)
	if !ok {
		w.t.Fatalf("AccessOwl has no application %s", app)
	}
	for _, s := range w.owl.ActiveAccessStates(w.owlUser(email).ID) {
		if s.ApplicationID == a.ID {
			return s
		}
	}
	w.t.Fatalf("%s has no active access to %s", email, app)
	return owltest.AccessState{}
}

// personWithOneAccess returns the email of an active person with exactly one active access to
// the application, and that access.
func (w *world) personWithOneAccess(app string) (string, owltest.AccessState) {
	w.t.Helper()
	a, _ := w.owl.ApplicationByTitle(app)
	for _, u := range w.owl.Users() {
		var in []owltest.AccessState
		for _, s := range w.owl.ActiveAccessStates(u.ID) {
			if s.ApplicationID == a.ID {
				in = append(in, s)
			}
		}
		if id := w.slackID[u.Email]; len(in) == 1 && id != w.requester && id != w.approver && id != w.member {
			return u.Email, in[0]
		}
	}
	w.t.Fatalf("nobody has exactly one active access to %s", app)
	return "", owltest.AccessState{}
}

// requestState asks, as the requester, to revoke an access state by ID and returns the approval
// message.
func (w *world) requestState(s owltest.AccessState, reason string) fakeslack.Message {
	w.t.Helper()
	w.revoke(w.requester, s.ID+" "+reason)
	u, ok := w.owl.User(s.GranteeUserID)
	if !ok {
		w.t.Fatalf("access state %s has no grantee", s.ID)
	}
	a, _ := w.owl.Application(s.ApplicationID)
	m, err := w.slack.WaitMessage(w.ctx(), w.channel, func(m fakeslack.Message) bool {
		return !m.IsReply() && strings.Contains(m.Text, "Access revocation request") &&
			strings.Contains(m.Text, u.FullName) && strings.Contains(m.Text, a.Title) && strings.Contains(blocksText(m), reason)
	})
	if err != nil {
		w.t.Fatalf("no approval message for %s's %s: %v\nchannel: %s\nlogs:\n%s", u.FullName, a.Title, err, w.dump(), w.logs)
	}
	return m
}

// owlName is the full name of an AccessOwl user.
func (w *world) owlName(id string) string {
	w.t.Helper()
	u, ok := w.owl.User(id)
	if !ok {
		w.t.Fatalf("AccessOwl has no user %s", id)
	}
	return u.FullName
}

// revocationOf waits for the revocation of an access state.
func (w *world) revocationOf(s owltest.AccessState) owltest.Revocation {
	w.t.Helper()
	var found owltest.Revocation
	err := w.owl.Await(w.ctx(), func(f *owltest.Fake) bool {
		for _, r := range f.Revocations() {
			if r.AccessStateID == s.ID {
				found = r
				return true
			}
		}
		return false
	})
	if err != nil {
		w.t.Fatalf("no revocation of %s: %v", s.ID, err)
	}
	return found
}

// logAckLatency reports how fast the bot acknowledged what Slack delivered, as Slack measured
// it. The figures are for reading with -v; the benchmark is where they are judged.
func (w *world) logAckLatency() {
	var lat []time.Duration
	for _, e := range w.slack.Envelopes() {
		if e.Acked {
			lat = append(lat, e.Ack.Latency)
		}
	}
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	w.t.Logf("acks: %d, median %s, max %s", len(lat), lat[len(lat)/2], lat[len(lat)-1])
}
