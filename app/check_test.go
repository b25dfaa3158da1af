package app

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/slack-go/slack"

	"revokebot/secret"
)

func TestCheckNamesExactlyTheSettingThatIsWrong(t *testing.T) {
	tests := []struct {
		name string
		// change breaks one setting of a world whose configuration is right.
		change     func(w *world)
		wantFailed []string
		wantNotRun []string
		wantDetail string
	}{
		{name: "all is well against the fakes", change: func(*world) {}},
		{
			name:       "a wrong Slack bot token fails, and the checks that need it are not run",
			change:     func(w *world) { w.cfg.SlackBotToken = secret.New("xoxb-not-the-token") },
			wantFailed: []string{"SLACK_BOT_TOKEN"},
			wantNotRun: []string{"REVOKE_CHANNEL_ID", "REVOKE_APPROVERS"},
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
		{
			name:       "a Slack URL where nothing answers is blamed on the URL, not the tokens",
			change:     func(w *world) { w.cfg.SlackAPIURL = "http://" + closedAddr(t) + "/api/" },
			wantFailed: []string{"SLACK_API_URL"},
			wantNotRun: []string{"SLACK_APP_TOKEN", "REVOKE_CHANNEL_ID", "REVOKE_APPROVERS"},
			wantDetail: "cannot reach Slack's Web API at http://",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			tt.change(w)
			results := Check(t.Context(), w.cfg, "test")
			got := outcomes(results)
			want := map[CheckOutcome][]string{CheckFailed: tt.wantFailed, CheckNotRun: tt.wantNotRun}
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("checks that did not pass (-want +got):\n%s\n%s", diff, printed(results))
			}
			if !strings.Contains(printed(results), tt.wantDetail) {
				t.Errorf("no check says %q:\n%s", tt.wantDetail, printed(results))
			}
			var out strings.Builder
			if ok := PrintCheck(&out, results); ok != (len(tt.wantFailed) == 0) {
				t.Errorf("PrintCheck says all passed: %v, with %d failures:\n%s", ok, len(tt.wantFailed), out.String())
			}
		})
	}
}

// TestCheckBlamesSlackAPIURLWhenSlackDoesNotAnswer covers every way a URL can fail to lead to
// Slack's Web API: each is the URL's fault, and the tokens are not judged by it.
func TestCheckBlamesSlackAPIURLWhenSlackDoesNotAnswer(t *testing.T) {
	tests := []struct {
		name string
		// slackURL returns the SLACK_API_URL to try.
		slackURL   func(t *testing.T) string
		wantDetail string
	}{
		{
			name:       "connection refused",
			slackURL:   func(t *testing.T) string { return "http://" + closedAddr(t) + "/api/" },
			wantDetail: "cannot reach Slack's Web API",
		},
		{
			name: "a TLS certificate this machine does not trust",
			slackURL: func(t *testing.T) string {
				srv := httptest.NewTLSServer(http.NotFoundHandler())
				t.Cleanup(srv.Close)
				return srv.URL + "/api/"
			},
			wantDetail: "certificate",
		},
		{
			name:       "a web server that is not Slack answers 404",
			slackURL:   func(t *testing.T) string { return serve(t, http.StatusNotFound, "text/html", "<h1>Not Found</h1>") },
			wantDetail: "answered auth.test with HTTP 404, which Slack's Web API never does",
		},
		{
			name: "a web page instead of Slack's JSON",
			slackURL: func(t *testing.T) string {
				return serve(t, http.StatusOK, "text/html", "<html>a proxy's login page</html>")
			},
			wantDetail: "answered auth.test with something other than Slack's JSON",
		},
		{
			name:       "JSON that does not say whose token it is",
			slackURL:   func(t *testing.T) string { return serve(t, http.StatusOK, "application/json", `{"ok":true}`) },
			wantDetail: "answered auth.test without naming a user or workspace",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			w.cfg.SlackAPIURL = tt.slackURL(t)
			results := Check(t.Context(), w.cfg, "test")
			got := outcomes(results)
			want := map[CheckOutcome][]string{
				CheckFailed: {"SLACK_API_URL"},
				CheckNotRun: {"SLACK_APP_TOKEN", "REVOKE_CHANNEL_ID", "REVOKE_APPROVERS"},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("checks that did not pass (-want +got):\n%s\n%s", diff, printed(results))
			}
			if !strings.Contains(results[0].Detail, tt.wantDetail) {
				t.Errorf("the SLACK_API_URL check says %q, want %q", results[0].Detail, tt.wantDetail)
			}
			for _, r := range results {
				if r.Outcome == CheckNotRun && !strings.HasPrefix(r.Detail, "not run: ") {
					t.Errorf("%s is not run but does not say so and why: %q", r.Setting, r.Detail)
				}
			}
		})
	}
}

func TestCheckBlamesSlackAPIURLWhenSlackAnswersTooLate(t *testing.T) {
	// The server holds every request until the test ends, then lets it go so Close can return.
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	api := slack.New("xoxb-test", slack.OptionAPIURL(srv.URL+"/api/"), slack.OptionHTTPClient(srv.Client()))
	// A deadline of the caller's stands in for checkTimeout, which is too long to wait for here.
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	r := checkBotToken(ctx, api, srv.URL+"/api/")
	if r.Setting != "SLACK_API_URL" || r.Outcome != CheckFailed || !strings.Contains(r.Detail, "did not answer auth.test in time") {
		t.Errorf("checkBotToken = %+v, want SLACK_API_URL failed for not answering in time", r)
	}
}

func TestPrintCheckCountsChecksThatDidNotRun(t *testing.T) {
	results := []CheckResult{
		failed("SLACK_API_URL", "cannot reach Slack's Web API at http://127.0.0.1:1/api/: connection refused"),
		notRun("SLACK_APP_TOKEN", "Slack's Web API could not be reached (SLACK_API_URL)"),
		notRun("REVOKE_CHANNEL_ID", "the bot token could not be checked (SLACK_API_URL)"),
		passed("ACCESSOWL_API_TOKEN", "AccessOwl at https://api.accessowl.com accepts it"),
	}
	var out strings.Builder
	if PrintCheck(&out, results) {
		t.Error("PrintCheck says all passed")
	}
	want := `FAIL  SLACK_API_URL: cannot reach Slack's Web API at http://127.0.0.1:1/api/: connection refused
skip  SLACK_APP_TOKEN: not run: Slack's Web API could not be reached (SLACK_API_URL)
skip  REVOKE_CHANNEL_ID: not run: the bot token could not be checked (SLACK_API_URL)
ok    ACCESSOWL_API_TOKEN: AccessOwl at https://api.accessowl.com accepts it

1 of 4 checks failed and 2 were not run: fix the settings marked FAIL, then run revokebot check again for those marked skip.
`
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("PrintCheck (-want +got):\n%s", diff)
	}
}

// outcomes lists the settings of the checks that did not pass, by outcome.
func outcomes(results []CheckResult) map[CheckOutcome][]string {
	got := map[CheckOutcome][]string{CheckFailed: nil, CheckNotRun: nil}
	for _, r := range results {
		if r.Outcome != CheckPassed {
			got[r.Outcome] = append(got[r.Outcome], r.Setting)
		}
	}
	return got
}

func printed(results []CheckResult) string {
	var out strings.Builder
	PrintCheck(&out, results)
	return out.String()
}

// serve starts a web server on loopback that answers everything with status and body, and
// returns its URL as a SLACK_API_URL.
func serve(t *testing.T, status int, contentType, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/api/"
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
	if r.OK() || !strings.Contains(r.Detail, "the bot is not in #elsewhere (C0ELSEWHERE): invite it") {
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
