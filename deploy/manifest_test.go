package deploy

import (
	"os"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"
)

// botScopes are the bot token's scopes and the Slack methods that need them. A scope the code
// stops using must leave the manifest, and a new one must be added here with its reason.
var botScopes = map[string]string{
	"commands":         "/revoke",
	"chat:write":       "chat.postMessage, chat.update, chat.postEphemeral",
	"users:read":       "users.info",
	"users:read.email": "users.info's profile.email, to find the AccessOwl user",
	"usergroups:read":  "usergroups.users.list, for approver groups",
	"im:write":         "conversations.open, to tell a form's requester where the request went",
	"channels:history": "conversations.replies and conversations.history, recovering a reply or an approval message after a crash",
	"groups:history":   "conversations.replies in a private channel",
	"channels:read":    "conversations.info in revokebot check",
	"groups:read":      "conversations.info in revokebot check, for a private channel",
}

func TestSlackManifestTurnsOnSocketModeAndAsksOnlyForUsedScopes(t *testing.T) {
	raw, err := os.ReadFile("slack-app-manifest.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Features struct {
			BotUser       *struct{ DisplayName string } `yaml:"bot_user"`
			SlashCommands []struct {
				Command   string
				UsageHint string `yaml:"usage_hint"`
			} `yaml:"slash_commands"`
		}
		OAuthConfig struct {
			Scopes struct{ Bot, User []string }
		} `yaml:"oauth_config"`
		Settings struct {
			Interactivity struct {
				IsEnabled  bool   `yaml:"is_enabled"`
				RequestURL string `yaml:"request_url"`
			}
			SocketModeEnabled  bool `yaml:"socket_mode_enabled"`
			EventSubscriptions *struct {
				BotEvents []string `yaml:"bot_events"`
			} `yaml:"event_subscriptions"`
		}
	}
	if err := yaml.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if !m.Settings.SocketModeEnabled {
		t.Error("Socket Mode is off")
	}
	if !m.Settings.Interactivity.IsEnabled || m.Settings.Interactivity.RequestURL != "" {
		t.Errorf("interactivity must be on, without a request URL under Socket Mode: %+v", m.Settings.Interactivity)
	}
	if m.Settings.EventSubscriptions != nil {
		t.Error("the manifest subscribes to events, which the bot ignores")
	}
	if m.Features.BotUser == nil {
		t.Error("no bot user: there would be no bot token")
	}
	if len(m.Features.SlashCommands) != 1 || m.Features.SlashCommands[0].Command != "/revoke" || m.Features.SlashCommands[0].UsageHint == "" {
		t.Errorf("want exactly /revoke with a usage hint, got %+v", m.Features.SlashCommands)
	}
	var want []string
	for s := range botScopes {
		want = append(want, s)
	}
	got := slices.Clone(m.OAuthConfig.Scopes.Bot)
	slices.Sort(want)
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("bot scopes (-used +asked for):\n%s", diff)
	}
	if len(m.OAuthConfig.Scopes.User) > 0 {
		t.Errorf("user scopes %v: the bot acts only as itself", m.OAuthConfig.Scopes.User)
	}
}
