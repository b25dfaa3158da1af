package fakeslack_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"revokebot/sandbox/fakeslack"
)

// slackGoBot is a minimal bot on slack-go's own socketmode client, unmodified: it answers
// /revoke in its ack, posts a message and a thread reply, and skips the first delivery of a
// command whose text is "ignore-once".
type slackGoBot struct {
	api    *slack.Client
	client *socketmode.Client
	mu     sync.Mutex
	hellos int
	errs   []error
}

func startSlackGoBot(t *testing.T, s *fakeslack.Server, channel string) *slackGoBot {
	t.Helper()
	api := slack.New(s.BotToken(), slack.OptionAppLevelToken(s.AppToken()), slack.OptionAPIURL(s.APIURL()))
	b := &slackGoBot{api: api, client: socketmode.New(api)}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = b.client.RunContext(ctx) })
	wg.Go(func() { b.handle(ctx, channel) })
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, err := range b.errs {
			t.Errorf("bot: %v", err)
		}
	})
	return b
}

func (b *slackGoBot) fail(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.errs = append(b.errs, err)
}

func (b *slackGoBot) handle(ctx context.Context, channel string) {
	for {
		var evt socketmode.Event
		select {
		case <-ctx.Done():
			return
		case evt = <-b.client.Events:
		}
		switch evt.Type {
		case socketmode.EventTypeHello:
			b.mu.Lock()
			b.hellos++
			b.mu.Unlock()
		case socketmode.EventTypeSlashCommand:
			cmd := evt.Data.(slack.SlashCommand)
			if cmd.Text == "ignore-once" && evt.Request.RetryAttempt == 0 {
				continue
			}
			if err := b.client.Ack(*evt.Request, map[string]any{"text": "got " + cmd.Text}); err != nil {
				b.fail(err)
			}
			if cmd.Text != "post" {
				continue
			}
			_, ts, err := b.api.PostMessageContext(ctx, channel, slack.MsgOptionText("request from <@"+cmd.UserID+">", false),
				slack.MsgOptionBlocks(slack.NewActionBlock("decide",
					slack.NewButtonBlockElement("approve", "req-1", slack.NewTextBlockObject(slack.PlainTextType, "Approve", false, false)))))
			if err != nil {
				b.fail(err)
				continue
			}
			if _, _, err := b.api.PostMessageContext(ctx, channel, slack.MsgOptionText("submitted", false), slack.MsgOptionTS(ts)); err != nil {
				b.fail(err)
			}
		}
	}
}

func TestSlackGoSocketModeClientWorksUnchanged(t *testing.T) {
	s, org := startServer(t, fastConfig())
	bot := startSlackGoBot(t, s, org.Revocations)
	ctx := deadline(t)

	first, err := s.WaitConnections(ctx, func(c []fakeslack.Connection) bool { return len(c) == 1 })
	if err != nil {
		t.Fatal(err)
	}

	t.Run("a slash command's ack payload reaches its user as an ephemeral message", func(t *testing.T) {
		ack, err := s.RunSlashCommand(ctx, org.Carol, org.Revocations, "/revoke", "help")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(`{"text":"got help"}`, string(ack.Payload)); diff != "" {
			t.Errorf("ack payload (-want +got):\n%s", diff)
		}
		t.Logf("ack latency of slack-go: %v", ack.Latency)
		e, err := s.WaitEphemeral(ctx, org.Carol, func(e fakeslack.Ephemeral) bool { return e.Text == "got help" })
		if err != nil {
			t.Fatal(err)
		}
		if e.Channel != org.Revocations || e.Source != "ack" {
			t.Errorf("ephemeral = %+v, want it in the command's channel, from the ack", e)
		}
	})

	t.Run("chat.postMessage posts a message and a thread reply", func(t *testing.T) {
		if _, err := s.RunSlashCommand(ctx, org.Carol, org.Revocations, "/revoke", "post"); err != nil {
			t.Fatal(err)
		}
		parent, err := s.WaitMessage(ctx, org.Revocations, func(m fakeslack.Message) bool { return strings.HasPrefix(m.Text, "request from") })
		if err != nil {
			t.Fatal(err)
		}
		reply, err := s.WaitReply(ctx, org.Revocations, parent.TS, nil)
		if err != nil {
			t.Fatal(err)
		}
		if reply.Text != "submitted" || reply.User != s.BotUserID() {
			t.Errorf("reply = %+v, want the bot's \"submitted\"", reply)
		}
	})

	t.Run("refresh_requested makes the client reconnect with a new ticket", func(t *testing.T) {
		s.Disconnect("refresh_requested")
		if _, err := s.WaitConnections(ctx, func(c []fakeslack.Connection) bool { return len(c) == 1 && c[0].ID != first[0].ID }); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RunSlashCommand(ctx, org.Dave, org.Revocations, "/revoke", "after-refresh"); err != nil {
			t.Fatal(err)
		}
		bot.mu.Lock()
		hellos := bot.hellos
		bot.mu.Unlock()
		if hellos < 2 {
			t.Errorf("client saw %d hellos, want one per connection", hellos)
		}
		if n := len(s.CallsTo("apps.connections.open")); n < 2 {
			t.Errorf("apps.connections.open called %d times, want once per connection", n)
		}
	})

	t.Run("an envelope left unacked comes again with retry_attempt 1", func(t *testing.T) {
		ack, err := s.RunSlashCommand(ctx, org.Dave, org.Revocations, "/revoke", "ignore-once")
		if err != nil {
			t.Fatal(err)
		}
		if ack.RetryAttempt != 1 {
			t.Errorf("acked delivery has retry_attempt %d, want 1", ack.RetryAttempt)
		}
		envs := s.Envelopes()
		last := envs[len(envs)-1]
		var got []string
		for _, d := range last.Deliveries {
			got = append(got, d.RetryReason)
		}
		if diff := cmp.Diff([]string{"", "timeout"}, got); diff != "" {
			t.Errorf("retry reasons of the deliveries (-want +got):\n%s", diff)
		}
	})

	t.Run("the client answers the server's pings", func(t *testing.T) {
		if _, err := s.WaitConnections(ctx, func(c []fakeslack.Connection) bool { return len(c) == 1 && c[0].Pongs >= 2 }); err != nil {
			t.Fatal(err)
		}
	})
}
