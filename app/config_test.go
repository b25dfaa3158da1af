package app

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// validEnv is a complete, valid configuration.
var validEnv = map[string]string{
	"SLACK_APP_TOKEN":     "xapp-1-A0-1-abc",
	"SLACK_BOT_TOKEN":     "xoxb-1-abc",
	"ACCESSOWL_API_TOKEN": "owl-token",
	"REVOKE_CHANNEL_ID":   "C0REVOKE",
	"REVOKE_APPROVERS":    "U0BOSS,S0SEC",
}

func setEnv(t *testing.T, env map[string]string) {
	t.Helper()
	for k := range validEnv {
		t.Setenv(k, "")
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
}

func TestLoadConfigAppliesTheDocumentedDefaults(t *testing.T) {
	setEnv(t, validEnv)
	c, err := LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	if c.SlackAPIURL != "https://slack.com/api/" || c.AccessOwlURL != "https://api.accessowl.com" || c.AccessOwlRate != 1000 ||
		c.RequestTTL != 72*time.Hour || c.StatusPoll != 15*time.Second || c.DataDir != "./data" || c.ListenAddr != ":9090" ||
		c.LogLevel != "info" || c.LogFormat != "json" || c.AllowSelfApproval ||
		c.Retention != 90*24*time.Hour || c.AuditRetention != 365*24*time.Hour {
		t.Errorf("defaults = %+v", c)
	}
	if c.SlackBotToken.Reveal() != "xoxb-1-abc" || len(c.Approvers) != 2 {
		t.Errorf("values not read: %+v", c)
	}
}

func TestLoadConfigAddsTheSlashSlackGoNeeds(t *testing.T) {
	setEnv(t, validEnv)
	t.Setenv("SLACK_API_URL", "http://127.0.0.1:1/api")
	c, err := LoadConfig()
	if err != nil || c.SlackAPIURL != "http://127.0.0.1:1/api/" {
		t.Errorf("SLACK_API_URL read as %q, %v; want the slash added", c.SlackAPIURL, err)
	}
}

func TestAShortAuditRetentionIsNamedOnce(t *testing.T) {
	setEnv(t, validEnv)
	t.Setenv("AUDIT_RETENTION", "1h")
	_, err := LoadConfig()
	var ce *ConfigError
	if !errors.As(err, &ce) || len(ce.Problems) != 1 || ce.Problems[0].Variable != "AUDIT_RETENTION" {
		t.Errorf("AUDIT_RETENTION=1h: %v; want one problem, naming it", err)
	}
}

func TestLoadConfigNamesTheSettingAtFault(t *testing.T) {
	tests := []struct {
		name    string
		set     map[string]string
		unset   string
		wantVar string
	}{
		{"missing app token", nil, "SLACK_APP_TOKEN", "SLACK_APP_TOKEN"},
		{"bot token in the app token's place", map[string]string{"SLACK_APP_TOKEN": "xoxb-1"}, "", "SLACK_APP_TOKEN"},
		{"user token as bot token", map[string]string{"SLACK_BOT_TOKEN": "xoxp-1"}, "", "SLACK_BOT_TOKEN"},
		{"missing AccessOwl token", nil, "ACCESSOWL_API_TOKEN", "ACCESSOWL_API_TOKEN"},
		{"Slack URL that is not one", map[string]string{"SLACK_API_URL": "slack.com/api/"}, "", "SLACK_API_URL"},
		{"listen address without a colon", map[string]string{"LISTEN_ADDR": "9090"}, "", "LISTEN_ADDR"},
		{"AccessOwl URL that is not one", map[string]string{"ACCESSOWL_API_URL": "api.accessowl.com"}, "", "ACCESSOWL_API_URL"},
		{"rate limit not a number", map[string]string{"ACCESSOWL_RATE_LIMIT": "lots"}, "", "ACCESSOWL_RATE_LIMIT"},
		{"rate limit too low", map[string]string{"ACCESSOWL_RATE_LIMIT": "10"}, "", "ACCESSOWL_RATE_LIMIT"},
		{"channel name instead of ID", map[string]string{"REVOKE_CHANNEL_ID": "#revocations"}, "", "REVOKE_CHANNEL_ID"},
		{"no approvers", map[string]string{"REVOKE_APPROVERS": " , "}, "", "REVOKE_APPROVERS"},
		{"approver by name", map[string]string{"REVOKE_APPROVERS": "alice"}, "", "REVOKE_APPROVERS"},
		{"TTL not a duration", map[string]string{"REVOKE_REQUEST_TTL": "3 days"}, "", "REVOKE_REQUEST_TTL"},
		{"poll too short", map[string]string{"REVOKE_STATUS_POLL": "10ms"}, "", "REVOKE_STATUS_POLL"},
		{"retention in the wrong unit", map[string]string{"REVOKE_RETENTION": "90m"}, "", "REVOKE_RETENTION"},
		{"negative retention", map[string]string{"REVOKE_RETENTION": "-1h"}, "", "REVOKE_RETENTION"},
		{"audit retention not a duration", map[string]string{"AUDIT_RETENTION": "1 year"}, "", "AUDIT_RETENTION"},
		{"audit kept shorter than the requests", map[string]string{"REVOKE_RETENTION": "8760h", "AUDIT_RETENTION": "2160h"}, "", "AUDIT_RETENTION"},
		{"unknown log level", map[string]string{"LOG_LEVEL": "loud"}, "", "LOG_LEVEL"},
		{"unknown log format", map[string]string{"LOG_FORMAT": "xml"}, "", "LOG_FORMAT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range validEnv {
				if k != tt.unset {
					env[k] = v
				}
			}
			for k, v := range tt.set {
				env[k] = v
			}
			setEnv(t, env)
			if tt.unset != "" {
				// t.Setenv cannot unset; an empty value is "set", so drop it from the process.
				unsetenv(t, tt.unset)
			}
			_, err := LoadConfig()
			if err == nil {
				t.Fatal("accepted")
			}
			if msg := err.Error(); !strings.Contains(msg, tt.wantVar) || strings.Contains(msg, "\n") {
				t.Errorf("error %q does not name %s on one line", msg, tt.wantVar)
			}
		})
	}
}

func TestLoadConfigNamesEverySettingAtFaultAtOnce(t *testing.T) {
	everyVariable := func(t *testing.T) {
		t.Helper()
		for _, k := range variableNames() {
			t.Setenv(k, "")
			unsetenv(t, k)
		}
	}
	tests := []struct {
		name string
		set  map[string]string
		want []SettingError
	}{
		{
			name: "a first setup with nothing set names every required variable",
			want: []SettingError{
				{"SLACK_APP_TOKEN", "required, not set"},
				{"SLACK_BOT_TOKEN", "required, not set"},
				{"ACCESSOWL_API_TOKEN", "required, not set"},
				{"REVOKE_CHANNEL_ID", "required, not set"},
				{"REVOKE_APPROVERS", "required, not set"},
			},
		},
		{
			name: "missing, unreadable and out-of-range settings are named together, each once",
			set: map[string]string{
				"SLACK_BOT_TOKEN":      "xoxb-1-abc",
				"ACCESSOWL_API_TOKEN":  "owl-token",
				"REVOKE_CHANNEL_ID":    "#revocations",
				"REVOKE_APPROVERS":     "U0BOSS",
				"ACCESSOWL_RATE_LIMIT": "lots",
				"REVOKE_REQUEST_TTL":   "3 days",
				"REVOKE_STATUS_POLL":   "10ms",
				"LOG_FORMAT":           "xml",
			},
			want: []SettingError{
				{"SLACK_APP_TOKEN", "required, not set"},
				{"ACCESSOWL_RATE_LIMIT", `"lots" is not a whole number`},
				{"REVOKE_CHANNEL_ID", `"#revocations" is not a Slack channel ID (C… or G…)`},
				{"REVOKE_REQUEST_TTL", `"3 days" is not a duration such as 72h, 90m or 15s`},
				{"REVOKE_STATUS_POLL", "10ms is shorter than a second"},
				{"LOG_FORMAT", `"xml" is not json or text`},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			everyVariable(t)
			for k, v := range tt.set {
				t.Setenv(k, v)
			}
			_, err := LoadConfig()
			cfgErr, ok := errors.AsType[*ConfigError](err)
			if !ok {
				t.Fatalf("LoadConfig() = %v, want a *ConfigError", err)
			}
			if diff := cmp.Diff(tt.want, cfgErr.Problems); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			if msg := err.Error(); strings.Contains(msg, "\n") {
				t.Errorf("the error is not one line: %q", msg)
			}
		})
	}
}

// variableNames lists every variable Config reads.
func variableNames() []string {
	var out []string
	typ := reflect.TypeFor[Config]()
	for i := range typ.NumField() {
		out = append(out, typ.Field(i).Tag.Get("envconfig"))
	}
	return out
}

func TestConfigErrorsNeverShowTokens(t *testing.T) {
	setEnv(t, validEnv)
	t.Setenv("SLACK_APP_TOKEN", "xoxb-secret-in-the-wrong-place")
	t.Setenv("ACCESSOWL_RATE_LIMIT", "x")
	_, err := LoadConfig()
	if err == nil || strings.Contains(err.Error(), "secret-in-the-wrong-place") {
		t.Errorf("error = %v", err)
	}
}

func TestAPrintedConfigHidesTheTokens(t *testing.T) {
	c := validConfig(t)
	if s := fmtConfig(c); strings.Contains(s, "xoxb-1-abc") || strings.Contains(s, "xapp-1-A0-1-abc") || strings.Contains(s, "owl-token") {
		t.Errorf("a printed config shows the token: %s", s)
	}
}

func TestUsageListsEveryVariableWithItsDefault(t *testing.T) {
	var out bytes.Buffer
	if err := PrintUsage(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"SLACK_APP_TOKEN", "required", "SLACK_API_URL", "https://slack.com/api/", "ACCESSOWL_RATE_LIMIT", "1000",
		"REVOKE_REQUEST_TTL", "72h", "REVOKE_STATUS_POLL", "15s", "DATA_DIR", "./data", "LISTEN_ADDR", ":9090", "LOG_FORMAT", "json",
		"REVOKE_ALLOW_SELF_APPROVAL", "REVOKE_APPROVERS", "REVOKE_CHANNEL_ID", "ACCESSOWL_API_URL", "LOG_LEVEL",
		"REVOKE_RETENTION", "2160h", "AUDIT_RETENTION", "8760h"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("usage lacks %q:\n%s", want, out.String())
		}
	}
}

func TestZeroRetentionKeepsForEverAndIsAccepted(t *testing.T) {
	for _, env := range []map[string]string{
		{"REVOKE_RETENTION": "0", "AUDIT_RETENTION": "0"},
		{"REVOKE_RETENTION": "0", "AUDIT_RETENTION": "8760h"},
		{"REVOKE_RETENTION": "720h", "AUDIT_RETENTION": "0"},
	} {
		all := map[string]string{}
		for k, v := range validEnv {
			all[k] = v
		}
		for k, v := range env {
			all[k] = v
		}
		setEnv(t, all)
		if _, err := LoadConfig(); err != nil {
			t.Errorf("%v refused: %v", env, err)
		}
	}
}
