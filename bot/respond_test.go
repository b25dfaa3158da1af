package bot

import (
	"bytes"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

// responsePath is the secret part of a response_url: whoever holds it can post as the bot to the
// person who clicked, for 30 minutes.
const responsePath = "/actions/T0ACME0001/5829137472/wJ9zSeCrEtHoOkToKeN"

// A failed answer through a response_url is logged by whoever called Respond (the session's
// busy answer, the interactions' answers), so neither the error nor the log line may carry the
// URL's path: the host and "[redacted]" say enough to find the failing service.
func TestAFailedRespondNamesNoPartOfTheResponseURL(t *testing.T) {
	// respondTimeout stands for slackCallTimeout: a Slack that never answers.
	const respondTimeout = 200 * time.Millisecond
	tests := []struct {
		name string
		// server returns the base URL of a Slack that fails in one way.
		server func(t *testing.T) string
		// want is what the error must still say, so that the failure can be diagnosed.
		want string
	}{
		{"connection refused", func(t *testing.T) string {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			ln.Close()
			return "http://" + addr
		}, "connection refused"},
		{"no answer before the deadline", func(t *testing.T) string {
			stop := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				select {
				case <-r.Context().Done():
				case <-stop:
				}
			}))
			t.Cleanup(srv.Close)
			t.Cleanup(func() { close(stop) }) // runs first: srv.Close waits for the handler
			return srv.URL
		}, "Client.Timeout exceeded"},
		{"a 5xx", func(t *testing.T) string {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "upstream connect error", http.StatusServiceUnavailable)
			}))
			t.Cleanup(srv.Close)
			return srv.URL
		}, "503"},
		{"429s until the attempts run out", func(t *testing.T) string {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "0")
				w.WriteHeader(http.StatusTooManyRequests)
			}))
			t.Cleanup(srv.Close)
			return srv.URL
		}, "rate limit"},
		{"a redirect to nowhere", func(t *testing.T) string {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, r.URL.Path+"/again", http.StatusTemporaryRedirect)
			}))
			t.Cleanup(srv.Close)
			return srv.URL
		}, "stopped after 10 redirects"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			responseURL := tt.server(t) + responsePath
			var logs bytes.Buffer
			log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			transport := &http.Transport{}
			t.Cleanup(transport.CloseIdleConnections)
			api := slack.New("xoxb-test", slack.OptionHTTPClient(&http.Client{Transport: transport, Timeout: respondTimeout}))
			out := NewOutput(api, nopObserver{}, log)

			err := out.Respond(t.Context(), responseURL, slack.MsgOptionText("you are not allowed to approve this", false))
			if err == nil {
				t.Fatal("Respond to a failing response_url succeeded")
			}
			// What callers do with the error.
			log.Warn("could not answer the person", "error", err)
			text := slog.New(slog.NewTextHandler(&logs, nil))
			text.Warn("could not answer the person", "error", err)

			for _, shown := range []struct{ what, s string }{
				{"the error", err.Error()},
				{"the error (%+v)", fmt.Sprintf("%+v", err)},
				{"the error (%#v)", fmt.Sprintf("%#v", err)},
				{"the log", logs.String()},
			} {
				for _, part := range strings.Split(strings.Trim(responsePath, "/"), "/") {
					if strings.Contains(shown.s, part) {
						t.Errorf("%s contains %q of the response_url's path:\n%s", shown.what, part, shown.s)
					}
				}
			}
			t.Logf("Respond = %v", err)
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Respond = %v; want it to still say %q", err, tt.want)
			}
			// Whoever unwraps the error (errors.As to a *url.Error) must not find it either.
			for _, inner := range errorChain(err) {
				if strings.Contains(inner.Error(), responsePath) {
					t.Errorf("an error inside the chain still holds the response_url: %v", inner)
				}
			}
		})
	}
}
