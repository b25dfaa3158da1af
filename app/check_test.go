package app

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/slack-go/slack"

	"revokebot/secret"
)

func TestCheckNamesExactlyTheSettingThatIsWrong(t *testing.T) {
	tests := []struct {
		name string
		// change breaks one setting of a world whose configuration is right.
		change     func(w *world)
		wantFailed []string
		wantDetail string
	}{
		{name: "all is well against the fakes", change: func(*world) {}},
		{
			name:       "a wrong Slack bot token",
			change:     func(w *world) { w.cfg.SlackBotToken = secret.New("xoxb-not-the-token") },
			wantFailed: []string{"SLACK_BOT_TOKEN"},
			wantDetail: "Slack refused it (invalid_auth)",
		},
		{
			name:       "a wrong Slack app token",
			change:     func(w *world) { w.cfg.SlackAppToken = secret.New("xapp-not-the-token") },
			wantFailed: []string{"SLACK_APP_TOKEN"},
			wantDetail: "Slack refused it (invalid_auth)",
		},
		{
			name:       "the bot token given as the app token",
			change:     func(w *world) { w.cfg.SlackAppToken = w.cfg.SlackBotToken },
			wantFailed: []string{"SLACK_APP_TOKEN"},
			wantDetail: "not_allowed_token_type",
		},
		{
			name:       "a wrong AccessOwl token",
			change:     func(w *world) { w.cfg.AccessOwlToken = secret.New("not-the-owl-token") },
			wantFailed: []string{"ACCESSOWL_API_TOKEN"},
			wantDetail: "AccessOwl refused it (401)",
		},
		{
			name:       "an unknown channel is named",
			change:     func(w *world) { w.cfg.Channel = "C0NOSUCHONE" },
			wantFailed: []string{"REVOKE_CHANNEL_ID"},
			wantDetail: "the bot cannot see channel C0NOSUCHONE",
		},
		{
			name:       "an AccessOwl URL where nothing answers",
			change:     func(w *world) { w.cfg.AccessOwlURL = "http://" + closedAddr(t) },
			wantFailed: []string{"ACCESSOWL_API_URL"},
			wantDetail: "cannot reach AccessOwl",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			tt.change(w)
			results := Check(t.Context(), w.cfg, "test")
			var failed []string
			var details strings.Builder
			for _, r := range results {
				if !r.OK {
					failed = append(failed, r.Setting)
				}
				details.WriteString(r.Setting + ": " + r.Detail + "\n")
			}
			if diff := cmp.Diff(tt.wantFailed, failed); diff != "" {
				t.Errorf("failed checks (-want +got):\n%s\n%s", diff, details.String())
			}
			if !strings.Contains(details.String(), tt.wantDetail) {
				t.Errorf("no check says %q:\n%s", tt.wantDetail, details.String())
			}
			var out strings.Builder
			if ok := PrintCheck(&out, results); ok != (len(tt.wantFailed) == 0) {
				t.Errorf("PrintCheck says all passed: %v, with %d failures:\n%s", ok, len(failed), out.String())
			}
		})
	}
}

func TestCheckCoversEverySettingItCanTry(t *testing.T) {
	w := newWorld(t)
	var got []string
	for _, r := range Check(t.Context(), w.cfg, "test") {
		got = append(got, r.Setting)
	}
	want := []string{"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "REVOKE_CHANNEL_ID", "REVOKE_APPROVERS", "ACCESSOWL_API_TOKEN", "DATA_DIR"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("checks (-want +got):\n%s", diff)
	}
}

func TestCheckSendsNoMessageAndMakesNoChange(t *testing.T) {
	w := newWorld(t)
	Check(context.Background(), w.cfg, "test")
	if n := w.mutations(); n != 0 {
		t.Errorf("check made %d mutating calls to AccessOwl", n)
	}
	for _, c := range w.slack.Calls() {
		if strings.HasPrefix(c.Method, "chat.") || strings.HasPrefix(c.Method, "views.") {
			t.Errorf("check called %s", c.Method)
		}
	}
}

func TestCheckSaysWhenTheBotIsNotInTheChannel(t *testing.T) {
	// The fake workspace puts its bot in every channel, so this Slack answers by hand.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"ok":true,"channel":{"id":"C0ELSEWHERE","name":"elsewhere","is_member":false}}`)
	}))
	defer srv.Close()
	api := slack.New("xoxb-test", slack.OptionAPIURL(srv.URL+"/"), slack.OptionHTTPClient(srv.Client()))
	r := checkChannel(t.Context(), api, "C0ELSEWHERE")
	if r.OK || !strings.Contains(r.Detail, "the bot is not in #elsewhere (C0ELSEWHERE): invite it") {
		t.Errorf("checkChannel = %+v, want a failure that says to invite the bot", r)
	}
}

// closedAddr returns a local address where nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
