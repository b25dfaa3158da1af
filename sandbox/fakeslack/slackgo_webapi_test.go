package fakeslack_test

import (
	"errors"
	"testing"

	"github.com/slack-go/slack"

	"revokebot/sandbox/fakeslack"
)

// TestSlackGoDecodesEveryAnswer calls each Web API method through slack-go, so a shape slack-go
// cannot decode fails here rather than in a bot's end-to-end test.
func TestSlackGoDecodesEveryAnswer(t *testing.T) {
	s, org := startServer(t, fakeslack.Config{PostMessageBurst: 4})
	bot := startScriptedBot(t, s, ackEmpty)
	api := slack.New(s.BotToken(), slack.OptionAPIURL(s.APIURL()))
	ctx := deadline(t)
	trigger := func() string {
		t.Helper()
		if _, err := s.RunSlashCommand(ctx, org.Carol, org.General, "/revoke", ""); err != nil {
			t.Fatal(err)
		}
		envs := bot.envelopes()
		return payloadOf(t, envs[len(envs)-1])["trigger_id"].(string)
	}
	modal := slack.ModalViewRequest{
		Type: slack.VTModal, CallbackID: "revoke", PrivateMetadata: "pm",
		Title:  slack.NewTextBlockObject(slack.PlainTextType, "Revoke", false, false),
		Submit: slack.NewTextBlockObject(slack.PlainTextType, "Request", false, false),
		Blocks: slack.Blocks{BlockSet: []slack.Block{slack.NewInputBlock("reason",
			slack.NewTextBlockObject(slack.PlainTextType, "Reason", false, false), nil,
			slack.NewPlainTextInputBlockElement(nil, "reason"))}},
	}

	_, ts, err := api.PostMessageContext(ctx, org.Revocations, slack.MsgOptionText("parent", false),
		slack.MsgOptionMetadata(slack.SlackMetadata{EventType: "revocation", EventPayload: map[string]any{"id": "r1"}}))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := api.PostMessageContext(ctx, org.Revocations, slack.MsgOptionText("reply", false), slack.MsgOptionTS(ts), slack.MsgOptionBroadcast()); err != nil {
		t.Fatal(err)
	}

	var opened *slack.ViewResponse
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{name: "chat.update", call: func() error {
			_, _, _, err := api.UpdateMessageContext(ctx, org.Revocations, ts, slack.MsgOptionText("edited", false))
			return err
		}},
		{name: "chat.postEphemeral", call: func() error {
			_, err := api.PostEphemeralContext(ctx, org.Revocations, org.Carol, slack.MsgOptionText("psst", false))
			return err
		}},
		{name: "chat.getPermalink", call: func() error {
			_, err := api.GetPermalinkContext(ctx, &slack.PermalinkParameters{Channel: org.Revocations, Ts: ts})
			return err
		}},
		{name: "conversations.replies", call: func() error {
			msgs, _, _, err := api.GetConversationRepliesContext(ctx, &slack.GetConversationRepliesParameters{ChannelID: org.Revocations, Timestamp: ts})
			if err == nil && len(msgs) != 2 {
				return errors.New("want parent and reply")
			}
			return err
		}},
		{name: "conversations.open", call: func() error {
			ch, _, _, err := api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{org.Dave}})
			if err == nil && ch.ID == "" {
				return errors.New("no channel ID")
			}
			return err
		}},
		{name: "conversations.info", call: func() error {
			_, err := api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: org.General})
			return err
		}},
		{name: "users.info", call: func() error {
			u, err := api.GetUserInfoContext(ctx, org.Alice)
			if err == nil && u.Profile.Email != "alice@example.com" {
				return errors.New("no email in the profile")
			}
			return err
		}},
		{name: "users.lookupByEmail", call: func() error {
			_, err := api.GetUserByEmailContext(ctx, "bob@example.com")
			return err
		}},
		{name: "usergroups.users.list", call: func() error {
			m, err := api.GetUserGroupMembersContext(ctx, org.Approvers)
			if err == nil && len(m) != 2 {
				return errors.New("want two members")
			}
			return err
		}},
		{name: "views.open", call: func() error {
			var err error
			opened, err = api.OpenViewContext(ctx, trigger(), modal)
			return err
		}},
		{name: "views.update", call: func() error {
			_, err := api.UpdateViewContext(ctx, modal, "", opened.Hash, opened.ID)
			return err
		}},
		{name: "views.push", call: func() error {
			_, err := api.PushViewContext(ctx, trigger(), modal)
			return err
		}},
		{name: "auth.test", call: func() error {
			_, err := api.AuthTestContext(ctx)
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); err != nil {
				t.Fatal(err)
			}
		})
	}

	t.Run("a 429 becomes slack.RateLimitedError", func(t *testing.T) {
		var err error
		for range 5 {
			if _, _, err = api.PostMessageContext(ctx, org.Revocations, slack.MsgOptionText("flood", false)); err != nil {
				break
			}
		}
		var rl *slack.RateLimitedError
		if !errors.As(err, &rl) || rl.RetryAfter <= 0 {
			t.Errorf("err = %v, want *slack.RateLimitedError with RetryAfter", err)
		}
	})
	t.Run("an error code becomes slack's error", func(t *testing.T) {
		_, err := api.GetUserByEmailContext(ctx, "nobody@example.com")
		if err == nil || err.Error() != "users_not_found" {
			t.Errorf("err = %v, want users_not_found", err)
		}
	})
}
