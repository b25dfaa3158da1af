package bot

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"revokebot/sandbox/fakeslack"
)

// scriptedHandler answers every slash command with what its reply function says.
type scriptedHandler struct {
	reply func(cmd slack.SlashCommand) Reply
}

func (h scriptedHandler) SlashCommand(cmd slack.SlashCommand) Reply { return h.reply(cmd) }
func (h scriptedHandler) Interaction(slack.InteractionCallback) Reply {
	return Reply{}
}

type nopSessionObserver struct{ overloaded atomic.Int32 }

func (*nopSessionObserver) Envelope(string, int)        {}
func (*nopSessionObserver) Acked(string, time.Duration) {}
func (*nopSessionObserver) Connected(bool)              {}
func (*nopSessionObserver) Disconnected()               {}
func (o *nopSessionObserver) Overloaded(string)         { o.overloaded.Add(1) }

// startSession runs a Session against a fake Slack workspace until the test ends.
func startSession(t *testing.T, h Handler, workers, queue int) (*fakeslack.Server, fakeslack.Seeded, *nopSessionObserver) {
	t.Helper()
	ws := fakeslack.NewServer(fakeslack.Config{DisableRedelivery: true})
	t.Cleanup(ws.Close)
	org := ws.Seed()
	api := slack.New(ws.BotToken(), slack.OptionAppLevelToken(ws.AppToken()), slack.OptionAPIURL(ws.APIURL()))
	ctx, cancel := context.WithCancel(context.Background())
	pool := NewPool(ctx, PoolSize{Workers: workers, Queue: queue}, discard, nil)
	obs := &nopSessionObserver{}
	done := make(chan error, 1)
	session := NewSession(SessionConfig{API: api, Handler: h, Pool: pool, Observer: obs, Log: discard})
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
