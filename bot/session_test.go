package bot

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/slack-go/slack"

	"revokebot/sandbox/fakeslack"
)

// scriptedHandler answers every slash command with what its reply function says, and every
// interaction with what interact says (nothing when it is nil).
type scriptedHandler struct {
	reply    func(cmd slack.SlashCommand) Reply
	interact func(cb slack.InteractionCallback) Reply
}

func (h scriptedHandler) SlashCommand(cmd slack.SlashCommand) Reply { return h.reply(cmd) }
func (h scriptedHandler) Interaction(cb slack.InteractionCallback) Reply {
	if h.interact == nil {
		return Reply{}
	}
	return h.interact(cb)
}

// recordingObserver remembers what the session said about its connection, in order, and
// counts envelopes turned away.
type recordingObserver struct {
	overloaded atomic.Int32
	mu         sync.Mutex
	connection []string
}

func (*recordingObserver) Envelope(string, int)        {}
func (*recordingObserver) Acked(string, time.Duration) {}
func (o *recordingObserver) Overloaded(string)         { o.overloaded.Add(1) }

func (o *recordingObserver) Connected(reconnect bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if reconnect {
		o.connection = append(o.connection, "reconnected")
	} else {
		o.connection = append(o.connection, "connected")
	}
}

func (o *recordingObserver) Disconnected() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.connection = append(o.connection, "disconnected")
}

func (o *recordingObserver) said() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.connection)
}

// waitSaid waits until the session has said n things of its connection, and returns them.
func (o *recordingObserver) waitSaid(ctx context.Context, n int) []string {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if said := o.said(); len(said) >= n {
			return said
		}
		select {
		case <-ctx.Done():
			return o.said()
		case <-tick.C:
		}
	}
}

// sessionSetup is what a test varies in the session it runs.
type sessionSetup struct {
	pool  PoolSize
	slack fakeslack.Config
	// answerBusy, when set, tells people of clicks turned away; with answerWithOutput, an
	// Output over the fake workspace does.
	answerBusy       Responder
	answerWithOutput bool
	stale, replace   time.Duration
}

// startSession runs a Session against a fake Slack workspace until the test ends.
func startSession(t *testing.T, h Handler, workers, queue int) (*fakeslack.Server, fakeslack.Seeded, *recordingObserver) {
	t.Helper()
	return startSessionWith(t, h, sessionSetup{pool: PoolSize{Workers: workers, Queue: queue}, slack: fakeslack.Config{DisableRedelivery: true}})
}

func startSessionWith(t *testing.T, h Handler, setup sessionSetup) (*fakeslack.Server, fakeslack.Seeded, *recordingObserver) {
	t.Helper()
	ws := fakeslack.NewServer(setup.slack)
	t.Cleanup(ws.Close)
	org := ws.Seed()
	api := slack.New(ws.BotToken(), slack.OptionAppLevelToken(ws.AppToken()), slack.OptionAPIURL(ws.APIURL()))
	responder := setup.answerBusy
	if setup.answerWithOutput {
		responder = NewOutput(api, nopObserver{}, discard)
	}
	ctx, cancel := context.WithCancel(context.Background())
	pool := NewPool(ctx, setup.pool, discard, nil)
	obs := &recordingObserver{}
	done := make(chan error, 1)
	session := NewSession(SessionConfig{API: api, Handler: h, Pool: pool, Responder: responder, Observer: obs, Log: discard,
		StaleAfter: setup.stale, ReplaceAfter: setup.replace})
	go func() { done <- session.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		if err := pool.Close(context.Background()); err != nil {
			t.Errorf("closing the pool: %v", err)
		}
		ws.Close()
	})
	wait, stop := context.WithTimeout(t.Context(), 10*time.Second)
	defer stop()
	if _, err := ws.WaitConnections(wait, func(c []fakeslack.Connection) bool { return len(c) == 1 }); err != nil {
		t.Fatalf("the session never connected: %v", err)
	}
	return ws, org, obs
}

func slash(t *testing.T, ws *fakeslack.Server, org fakeslack.Seeded, text string) fakeslack.Ack {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	ack, err := ws.RunSlashCommand(ctx, org.Carol, org.Revocations, "/revoke", text)
	if err != nil {
		t.Fatalf("/revoke %s: %v", text, err)
	}
	return ack
}

func ackText(t *testing.T, ack fakeslack.Ack) string {
	t.Helper()
	var p struct{ Text string }
	if len(ack.Payload) > 0 {
		if err := json.Unmarshal(ack.Payload, &p); err != nil {
			t.Fatalf("ack payload %s: %v", ack.Payload, err)
		}
	}
	return p.Text
}

func TestTheAckDoesNotWaitForTheWork(t *testing.T) {
	release := make(chan struct{})
	finished := make(chan struct{})
	h := scriptedHandler{reply: func(slack.SlashCommand) Reply {
		return Reply{Ack: map[string]any{"text": "on it"}, Work: func(context.Context) {
			<-release
			close(finished)
		}}
	}}
	ws, org, _ := startSession(t, h, 1, 1)
	ack := slash(t, ws, org, "")
	if ackText(t, ack) != "on it" {
		t.Errorf("ack payload %s, want the Reply's Ack", ack.Payload)
	}
	select {
	case <-finished:
		t.Fatal("the work finished before the ack, though it was blocked")
	default:
	}
	close(release)
	<-finished
}

func TestASlowPayloadIsAnsweredWithTheFallback(t *testing.T) {
	h := scriptedHandler{reply: func(slack.SlashCommand) Reply {
		return Reply{
			Payload: func(ctx context.Context) (any, func(context.Context)) {
				<-ctx.Done() // slower than AckDeadline
				return map[string]any{"text": "too late"}, func(context.Context) { t.Error("the work of a payload too late ran") }
			},
			Fallback: map[string]any{"text": "AccessOwl is slow"},
		}
	}}
	ws, org, _ := startSession(t, h, 1, 1)
	ack := slash(t, ws, org, "")
	if got := ackText(t, ack); got != "AccessOwl is slow" {
		t.Errorf("ack said %q, want the fallback", got)
	}
	// The deadline is well inside Slack's 3 s; how far inside is for the benchmark to say.
	if ack.Latency >= 3*time.Second {
		t.Errorf("ack took %s, past Slack's 3 s", ack.Latency)
	}
}

func TestAPanicInAHandlerLeavesTheSessionWorking(t *testing.T) {
	h := scriptedHandler{reply: func(cmd slack.SlashCommand) Reply {
		if cmd.Text == "boom" {
			return Reply{Work: func(context.Context) { panic("handler bug") }}
		}
		return Reply{Payload: func(context.Context) (any, func(context.Context)) { return map[string]any{"text": "still here"}, nil }}
	}}
	ws, org, _ := startSession(t, h, 1, 4)
	slash(t, ws, org, "boom")
	if got := ackText(t, slash(t, ws, org, "again")); got != "still here" {
		t.Errorf("after a panic the next envelope got %q", got)
	}
}

func TestAFullQueueTellsThePersonToRetry(t *testing.T) {
	release := make(chan struct{})
	h := scriptedHandler{reply: func(slack.SlashCommand) Reply {
		return Reply{Ack: map[string]any{"text": "queued"}, Busy: map[string]any{"text": "busy, try again"},
			Work: func(context.Context) { <-release }}
	}}
	ws, org, obs := startSession(t, h, 1, 1)
	// Registered after the session's cleanup, so it runs first and the workers can stop.
	t.Cleanup(func() { close(release) })
	var answers []string
	for range 3 { // one running, one queued, one with no room
		answers = append(answers, ackText(t, slash(t, ws, org, "")))
	}
	if !strings.Contains(strings.Join(answers, "|"), "busy, try again") || obs.overloaded.Load() == 0 {
		t.Errorf("answers %q; want the third told to try again", answers)
	}
}

func TestAFullQueueAnswersASlashCommandWithTheSessionsBusyText(t *testing.T) {
	release := make(chan struct{})
	h := scriptedHandler{reply: func(slack.SlashCommand) Reply {
		return Reply{Ack: map[string]any{"text": "queued"}, Work: func(context.Context) { <-release }}
	}}
	ws, org, _ := startSession(t, h, 1, 1)
	t.Cleanup(func() { close(release) })
	var answers []string
	for range 3 {
		answers = append(answers, ackText(t, slash(t, ws, org, "")))
	}
	if !strings.Contains(strings.Join(answers, "|"), busyText) {
		t.Errorf("answers %q; want the third told %q", answers, busyText)
	}
}

func TestWhatAPayloadFoundReachesTheWorkAfterTheAck(t *testing.T) {
	found := make(chan string, 1)
	h := scriptedHandler{reply: func(cmd slack.SlashCommand) Reply {
		return Reply{Payload: func(context.Context) (any, func(context.Context)) {
			result := "found for " + cmd.Text
			return map[string]any{"text": "accepted"}, func(context.Context) { found <- result }
		}}
	}}
	ws, org, _ := startSession(t, h, 1, 1)
	if got := ackText(t, slash(t, ws, org, "lena")); got != "accepted" {
		t.Errorf("ack said %q, want the payload's", got)
	}
	select {
	case got := <-found:
		if got != "found for lena" {
			t.Errorf("the work after the ack got %q", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the payload's work did not run")
	}
}

func TestTimeInTheQueueCountsAgainstTheAckDeadline(t *testing.T) {
	held := make(chan struct{})
	h := scriptedHandler{reply: func(cmd slack.SlashCommand) Reply {
		if cmd.Text == "hold" {
			return Reply{Work: func(context.Context) { <-held }}
		}
		return Reply{
			Payload: func(ctx context.Context) (any, func(context.Context)) {
				<-ctx.Done()
				return map[string]any{"text": "too late"}, nil
			},
			Fallback: map[string]any{"text": "fallback"},
		}
	}}
	ws, org, _ := startSession(t, h, 1, 4)
	slash(t, ws, org, "hold") // the only worker is busy…
	// …until the queued envelope's deadline has passed, so its payload gets no time of its own.
	release := time.AfterFunc(AckDeadline, func() { close(held) })
	t.Cleanup(func() { release.Stop() })
	ack := slash(t, ws, org, "ask")
	if got := ackText(t, ack); got != "fallback" {
		t.Errorf("ack said %q, want the fallback", got)
	}
	if ack.Latency >= 3*time.Second {
		t.Errorf("ack came %s after delivery, past Slack's 3 s: time in the queue was not counted", ack.Latency)
	}
}

// busyBot holds the pool's only worker with "/revoke hold" until the test ends, opens the
// request form for "/revoke form", and gives every click and every form submission
// high-priority work that must never run (the pool is full when they come).
type busyBot struct {
	t       *testing.T
	ws      *fakeslack.Server // set once the session runs
	held    chan struct{}
	release chan struct{}
}

func newBusyBot(t *testing.T) *busyBot {
	b := &busyBot{t: t, held: make(chan struct{}, 1), release: make(chan struct{})}
	return b
}

func (b *busyBot) handler() Handler {
	mustNotRun := func(context.Context) { b.t.Error("work ran although the pool was full") }
	return scriptedHandler{
		reply: func(cmd slack.SlashCommand) Reply {
			switch cmd.Text {
			case "hold":
				return Reply{Work: func(context.Context) { b.held <- struct{}{}; <-b.release }}
			case "form":
				return Reply{Work: func(ctx context.Context) {
					api := slack.New(b.ws.BotToken(), slack.OptionAPIURL(b.ws.APIURL()))
					if _, err := api.OpenViewContext(ctx, cmd.TriggerID, RequestModal("", nil, "")); err != nil {
						b.t.Errorf("open the form: %v", err)
					}
				}}
			}
			return Reply{}
		},
		interact: func(cb slack.InteractionCallback) Reply {
			switch cb.Type {
			case slack.InteractionTypeViewSubmission:
				return Reply{Priority: PriorityHigh, Payload: func(context.Context) (any, func(context.Context)) {
					return nil, mustNotRun
				}}
			case slack.InteractionTypeBlockActions:
				if cb.View.ID != "" {
					return Reply{} // choosing in the form: nothing to do
				}
				return Reply{Priority: PriorityHigh, Work: mustNotRun}
			}
			return Reply{}
		},
	}
}

// start runs the session with one worker and no room to queue anything.
func (b *busyBot) start(setup sessionSetup) (*fakeslack.Server, fakeslack.Seeded) {
	b.t.Helper()
	setup.pool = PoolSize{Workers: 1}
	setup.slack.DisableRedelivery = true
	ws, org, _ := startSessionWith(b.t, b.handler(), setup)
	b.ws = ws
	// Registered after the session's cleanup, so it runs first and the worker can stop.
	b.t.Cleanup(func() { close(b.release) })
	return ws, org
}

// fill takes the only worker.
func (b *busyBot) fill(org fakeslack.Seeded) {
	b.t.Helper()
	// The worker may still be finishing earlier work (the job that opened a form returns only
	// after Slack answered it), in which case the pool refuses the hold as busy: ask again.
	deadline := time.After(10 * time.Second)
	for {
		slash(b.t, b.ws, org, "hold")
		select {
		case <-b.held:
			return
		case <-time.After(time.Second):
		case <-deadline:
			b.t.Fatal("the holding job never started")
		}
	}
}

// buttonMessage posts, as the bot, a message with an Approve button in a channel the bot is in.
func buttonMessage(t *testing.T, ws *fakeslack.Server, org fakeslack.Seeded) (channel, ts string) {
	t.Helper()
	channel = ws.AddChannel(fakeslack.Channel{Name: "decisions", Members: []string{org.Alice, ws.BotUserID()}})
	api := slack.New(ws.BotToken(), slack.OptionAPIURL(ws.APIURL()))
	_, ts, err := api.PostMessageContext(t.Context(), channel, slack.MsgOptionText("a request", false), slack.MsgOptionBlocks(
		slack.NewActionBlock("decide", slack.NewButtonBlockElement(ActionApprove, "x", Plain("Approve")))))
	if err != nil {
		t.Fatal(err)
	}
	return channel, ts
}

func TestAFullQueueKeepsTheFormOpenWithABusyError(t *testing.T) {
	b := newBusyBot(t)
	ws, org := b.start(sessionSetup{})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	slash(t, ws, org, "form")
	if _, err := ws.WaitModal(ctx, org.Carol, func(v fakeslack.View) bool { return v.CallbackID == ModalCallback }); err != nil {
		t.Fatalf("the form never opened: %v", err)
	}
	for action, v := range map[string]fakeslack.Value{ActionPerson: fakeslack.UserValue(org.Dave), ActionReason: fakeslack.TextValue("left")} {
		if _, err := ws.SetModalInput(ctx, org.Carol, action, v); err != nil {
			t.Fatalf("fill %s: %v", action, err)
		}
	}
	b.fill(org)

	res, err := ws.SubmitModal(ctx, org.Carol)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{BlockReason: busyFormText}, res.Errors); res.ResponseAction != "errors" || diff != "" {
		t.Errorf("a form submitted to a full queue was answered %q (errors -want +got):\n%s", res.ResponseAction, diff)
	}
	if _, open := ws.Modal(org.Carol); !open {
		t.Error("the form closed as if its request had been accepted")
	}
}

func TestAFullQueueTellsAClickThroughItsResponseURL(t *testing.T) {
	b := newBusyBot(t)
	ws, org := b.start(sessionSetup{answerWithOutput: true})
	channel, ts := buttonMessage(t, ws, org)
	b.fill(org)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := ws.ClickButton(ctx, org.Alice, channel, ts, "Approve"); err != nil {
		t.Fatalf("the click was not acked: %v", err)
	}
	if _, err := ws.WaitEphemeral(ctx, org.Alice, func(e fakeslack.Ephemeral) bool { return e.Text == busyClickText }); err != nil {
		t.Errorf("the person whose click was turned away was not told: %v", err)
	}
}

// blockedResponder answers nothing until released, and counts the answers it was asked for.
type blockedResponder struct {
	asked   atomic.Int32
	release chan struct{}
}

func (r *blockedResponder) Respond(ctx context.Context, _ string, _ ...slack.MsgOption) error {
	r.asked.Add(1)
	select {
	case <-r.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func TestBusyAnswersNeverHoldTheReadLoop(t *testing.T) {
	slow := &blockedResponder{release: make(chan struct{})}
	b := newBusyBot(t)
	ws, org := b.start(sessionSetup{answerBusy: slow})
	t.Cleanup(func() { close(slow.release) })
	channel, ts := buttonMessage(t, ws, org)
	b.fill(org)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	// More clicks than there are goroutines to answer them, while every answer hangs: each is
	// still acked at once.
	const clicks = busyAnswerers + 4
	for i := range clicks {
		ack, err := ws.ClickButton(ctx, org.Alice, channel, ts, "Approve")
		if err != nil {
			t.Fatalf("click %d was not acked while busy answers hung: %v", i+1, err)
		}
		if ack.Latency > time.Second {
			t.Errorf("click %d was acked after %s", i+1, ack.Latency)
		}
	}
	if got := slow.asked.Load(); got > busyAnswerers {
		t.Errorf("%d busy answers in flight at once, want at most %d", got, busyAnswerers)
	}
}

func TestASilentSocketIsReplacedAndReportedLost(t *testing.T) {
	const ping = 100 * time.Millisecond
	ws, _, obs := startSessionWith(t, scriptedHandler{reply: func(slack.SlashCommand) Reply { return Reply{} }}, sessionSetup{
		pool:  PoolSize{Workers: 1, Queue: 1},
		slack: fakeslack.Config{PingInterval: ping, DisableRedelivery: true},
		// Ten pings without a frame make the socket stale, twenty replace it.
		stale: 10 * ping, replace: 20 * ping,
	})
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	first := ws.Connections()[0].ID
	ws.BlackholeConnections()
	conns, err := ws.WaitConnections(ctx, func(c []fakeslack.Connection) bool { return len(c) == 1 && c[0].ID > first })
	if err != nil {
		t.Fatalf("the silent socket was not replaced: %v (open: %+v)", err, ws.Connections())
	}
	if diff := cmp.Diff([]string{"connected", "disconnected", "reconnected"}, obs.waitSaid(ctx, 3)); diff != "" {
		t.Errorf("what the session said of its connection (-want +got):\n%s", diff)
	}

	t.Run("a quiet socket that Slack pings is kept", func(t *testing.T) {
		// Fifty pings answered span two and a half times the silence that replaces a socket.
		if _, err := ws.WaitConnections(ctx, func(c []fakeslack.Connection) bool { return len(c) >= 1 && c[0].Pongs >= 50 }); err != nil {
			t.Fatal(err)
		}
		if got := ws.Connections(); len(got) != 1 || got[0].ID != conns[0].ID {
			t.Errorf("connections %+v, want %d still the only one", got, conns[0].ID)
		}
		if diff := cmp.Diff([]string{"connected", "disconnected", "reconnected"}, obs.said()); diff != "" {
			t.Errorf("the session reported a healthy socket (-want +got):\n%s", diff)
		}
	})
}
