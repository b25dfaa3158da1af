package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/slack-go/slack"

	"revokebot/apiclient"
	"revokebot/store"
)

func TestAccessOwlAttemptsAreCountedByRouteStatusAndReason(t *testing.T) {
	m := New("test")
	for _, a := range []apiclient.Attempt{
		{Method: "POST", Route: "/access_revocations", Status: 503, Number: 1, Retry: true, RetryReason: "server error (503)"},
		{Method: "POST", Route: "/access_revocations", Status: 0, Number: 2, Retry: true, RetryReason: "network error"},
		{Method: "POST", Route: "/access_revocations", Status: 429, Number: 3, Retry: true, RetryReason: "rate limited (429)"},
		{Method: "POST", Route: "/access_revocations", Status: 201, Number: 4},
	} {
		m.AccessOwlAttempt(a)
	}
	want := `
# HELP revokebot_accessowl_requests_total AccessOwl HTTP attempts, by method, route and status ("none" when no answer came).
# TYPE revokebot_accessowl_requests_total counter
revokebot_accessowl_requests_total{method="POST",route="/access_revocations",status="201"} 1
revokebot_accessowl_requests_total{method="POST",route="/access_revocations",status="429"} 1
revokebot_accessowl_requests_total{method="POST",route="/access_revocations",status="503"} 1
revokebot_accessowl_requests_total{method="POST",route="/access_revocations",status="none"} 1
# HELP revokebot_accessowl_retries_total AccessOwl attempts that were retried, by route and reason.
# TYPE revokebot_accessowl_retries_total counter
revokebot_accessowl_retries_total{reason="network error",route="/access_revocations"} 1
revokebot_accessowl_retries_total{reason="rate limited (429)",route="/access_revocations"} 1
revokebot_accessowl_retries_total{reason="server error (503)",route="/access_revocations"} 1
# HELP revokebot_accessowl_rate_limited_total AccessOwl answers of 429 Too Many Requests.
# TYPE revokebot_accessowl_rate_limited_total counter
revokebot_accessowl_rate_limited_total 1
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want),
		"revokebot_accessowl_requests_total", "revokebot_accessowl_retries_total", "revokebot_accessowl_rate_limited_total"); err != nil {
		t.Error(err)
	}
}

func TestSessionEventsMoveEnvelopesAcksAndConnection(t *testing.T) {
	m := New("test")
	m.Envelope("block_actions", 0)
	m.Envelope("block_actions", 1)
	m.Acked("block_actions", 0)
	m.Overloaded("slash_commands")
	m.Connected(false)
	m.Disconnected()
	m.Connected(true)
	m.Panic()
	for _, c := range []struct {
		name string
		got  float64
		want float64
	}{
		{"envelopes", testutil.ToFloat64(m.envelopes.WithLabelValues("block_actions")), 2},
		{"redeliveries", testutil.ToFloat64(m.redeliveries.WithLabelValues("block_actions")), 1},
		{"busy", testutil.ToFloat64(m.busy.WithLabelValues("slash_commands")), 1},
		{"reconnects: the first connection is not one", testutil.ToFloat64(m.reconnects), 1},
		{"connected after the reconnect", testutil.ToFloat64(m.connected), 1},
		{"panics", testutil.ToFloat64(m.panics), 1},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if n := testutil.CollectAndCount(m.ack, "revokebot_ack_duration_seconds"); n != 1 {
		t.Errorf("%d ack series, want 1", n)
	}
}

func TestSlackTransportCountsEveryCallAnd429s(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "chat.update") {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		fmt.Fprint(w, `{"ok":true}`)
	}))
	defer srv.Close()
	m := New("test")
	client := &http.Client{Transport: m.SlackTransport(http.DefaultTransport)}
	for _, path := range []string{"/api/chat.postMessage", "/api/chat.postMessage", "/api/chat.update", "/actions/T0001/1234/s3cr3tt0k3n"} {
		resp, err := client.Post(srv.URL+path, "application/json", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if got := testutil.ToFloat64(m.slackRequests.WithLabelValues("chat.postMessage", "200")); got != 2 {
		t.Errorf("chat.postMessage 200 = %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.slackLimited.WithLabelValues("chat.update")); got != 1 {
		t.Errorf("chat.update 429s = %v, want 1", got)
	}
	// A response_url's path ends in a secret: it is counted, never labelled with it.
	if got := testutil.ToFloat64(m.slackRequests.WithLabelValues("response_url", "200")); got != 1 {
		t.Errorf("response_url calls = %v, want 1", got)
	}
	if n := testutil.CollectAndCount(m.slackRequests); n != 3 {
		t.Errorf("%d series of Slack requests, want 3 (postMessage, update, response_url)", n)
	}
}

func TestSlackErrorsAreLabelledBySlacksCodeOnly(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"Slack's error code", slack.SlackErrorResponse{Err: "not_in_channel"}, "not_in_channel"},
		{"a 429", &slack.RateLimitedError{}, "ratelimited"},
		{"a plain error that is a code", errors.New("channel_not_found"), "channel_not_found"},
		{"a deadline", fmt.Errorf("post: %w", context.DeadlineExceeded), "timeout"},
		{"free text never becomes a label", errors.New("dial tcp 10.0.0.1:443: connection refused"), "other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := slackErrorCode(tt.err); got != tt.want {
				t.Errorf("slackErrorCode(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}

func TestErrorLogLinesAreCountedByComponentEvenBelowTheLogLevel(t *testing.T) {
	m := New("test")
	var out strings.Builder
	log := slog.New(m.LogHandler(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelError + 4})))
	log.With("component", "tracker").Error("cannot save a tracked revocation")
	log.Error("could not post")
	log.Warn("a warning is not an error")
	if got := testutil.ToFloat64(m.handlerErrors.WithLabelValues("tracker")); got != 1 {
		t.Errorf("tracker errors = %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.handlerErrors.WithLabelValues("bot")); got != 1 {
		t.Errorf("errors without a component = %v, want 1", got)
	}
	if out.Len() != 0 {
		t.Errorf("records below the level were written: %s", out.String())
	}
}

func TestTrackedRevocationsAreCountedByStatusAtScrape(t *testing.T) {
	m := New("test")
	rows := []store.Tracked{{Status: ""}, {Status: apiclient.RevocationProcessing}, {Status: apiclient.RevocationProcessing}}
	m.WatchTracked(func(context.Context) ([]store.Tracked, error) { return rows, nil })
	want := `
# HELP revokebot_tracked_revocations Submitted revocations still being followed, by the last status AccessOwl reported ("new" before the first).
# TYPE revokebot_tracked_revocations gauge
revokebot_tracked_revocations{status="new"} 1
revokebot_tracked_revocations{status="processing_access"} 2
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "revokebot_tracked_revocations"); err != nil {
		t.Error(err)
	}
}
