package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
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
	if err := testutil.GatherAndCompare(gatherer(t, m), strings.NewReader(want),
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
		{"envelopes", value(t, m, "revokebot_envelopes_total", "type", "block_actions"), 2},
		{"redeliveries", value(t, m, "revokebot_envelope_redeliveries_total", "type", "block_actions"), 1},
		{"busy", value(t, m, "revokebot_envelopes_busy_total", "type", "slash_commands"), 1},
		{"reconnects: the first connection is not one", value(t, m, "revokebot_slack_reconnects_total"), 1},
		{"connected after the reconnect", value(t, m, "revokebot_slack_connected"), 1},
		{"panics", value(t, m, "revokebot_handler_panics_total"), 1},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if n := len(scrape(t, m)["revokebot_ack_duration_seconds"].GetMetric()); n != 1 {
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
	if got := value(t, m, "revokebot_slack_api_requests_total", "method", "chat.postMessage", "code", "200"); got != 2 {
		t.Errorf("chat.postMessage 200 = %v, want 2", got)
	}
	if got := value(t, m, "revokebot_slack_api_rate_limited_total", "method", "chat.update"); got != 1 {
		t.Errorf("chat.update 429s = %v, want 1", got)
	}
	// A response_url's path ends in a secret: it is counted, never labelled with it.
	if got := value(t, m, "revokebot_slack_api_requests_total", "method", "response_url", "code", "200"); got != 1 {
		t.Errorf("response_url calls = %v, want 1", got)
	}
	if n := len(scrape(t, m)["revokebot_slack_api_requests_total"].GetMetric()); n != 3 {
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
	if got := value(t, m, "revokebot_handler_errors_total", "component", "tracker"); got != 1 {
		t.Errorf("tracker errors = %v, want 1", got)
	}
	if got := value(t, m, "revokebot_handler_errors_total", "component", "bot"); got != 1 {
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
	if err := testutil.GatherAndCompare(gatherer(t, m), strings.NewReader(want), "revokebot_tracked_revocations"); err != nil {
		t.Error(err)
	}
}

func TestTrackedRevocationsAreLeftOutWhenTheStoreFails(t *testing.T) {
	m := New("test")
	m.WatchTracked(func(context.Context) ([]store.Tracked, error) { return nil, errors.New("database is locked") })
	m.Envelope("block_actions", 0)
	mf := scrape(t, m)
	if _, ok := mf["revokebot_tracked_revocations"]; ok {
		t.Error("revokebot_tracked_revocations is exposed although the store failed")
	}
	if got := value(t, m, "revokebot_envelopes_total", "type", "block_actions"); got != 1 {
		t.Errorf("the rest of the scrape: envelopes = %v, want 1", got)
	}
}

// operatorContract is README's metrics table: the names operators alert and build dashboards
// on, which any implementation of the exposition must keep.
var operatorContract = []string{
	"revokebot_envelopes_total", "revokebot_envelope_redeliveries_total", "revokebot_ack_duration_seconds",
	"revokebot_envelopes_busy_total", "revokebot_handler_errors_total", "revokebot_handler_panics_total",
	"revokebot_accessowl_requests_total", "revokebot_accessowl_retries_total", "revokebot_accessowl_rate_limited_total",
	"revokebot_accessowl_budget_available_requests", "revokebot_tracked_revocations", "revokebot_revocation_statuses_total",
	"revokebot_slack_api_requests_total", "revokebot_slack_api_rate_limited_total", "revokebot_slack_call_errors_total",
	"revokebot_slack_connected", "revokebot_slack_reconnects_total", "revokebot_build_info", "revokebot_background_leader",
}

// TestTheExpositionIsPrometheusTextWithEveryListedMetric parses a scrape of a bot that has seen
// a little of everything with Prometheus's own parser, and checks the types, the labels and
// the histogram's arithmetic.
func TestTheExpositionIsPrometheusTextWithEveryListedMetric(t *testing.T) {
	m := New("v1.2.3")
	m.WatchBudget(func() int { return 7 })
	m.WatchLeader("pod-a-1f2e3d4c", func() bool { return true })
	m.WatchTracked(func(context.Context) ([]store.Tracked, error) {
		return []store.Tracked{{Status: apiclient.RevocationProcessing}}, nil
	})
	m.Envelope("block_actions", 1)
	m.Acked("block_actions", 700*time.Microsecond)
	m.Acked("block_actions", 4*time.Second)
	m.Acked("slash_commands", 3*time.Second) // on a bound: le is inclusive
	m.Overloaded("block_actions")
	m.Panic()
	m.Connected(false)
	m.Connected(true)
	m.SlackCall("chat.postMessage", slack.SlackErrorResponse{Err: "not_in_channel"})
	m.AccessOwlAttempt(apiclient.Attempt{Method: "GET", Route: "/users", Status: 429, Number: 1, Retry: true, RetryReason: "rate limited (429)"})
	m.StatusAnnounced("revoked")
	m.HandlerError("tracker")
	client := &http.Client{Transport: m.SlackTransport(roundTripper(func(*http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: http.StatusTooManyRequests, Body: http.NoBody}, nil
	}))}
	if resp, err := client.Get("http://slack.test/api/chat.update"); err == nil {
		resp.Body.Close()
	}

	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); expfmt.ResponseFormat(resp.Header).FormatType() != expfmt.TypeTextPlain {
		t.Errorf("Content-Type %q is not the text format", ct)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mf, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("not Prometheus text: %v", err)
	}
	for _, name := range operatorContract {
		if len(mf[name].GetMetric()) == 0 {
			t.Errorf("%s is missing", name)
		}
	}
	types := map[string]dto.MetricType{
		"revokebot_envelopes_total": dto.MetricType_COUNTER, "revokebot_ack_duration_seconds": dto.MetricType_HISTOGRAM,
		"revokebot_slack_connected": dto.MetricType_GAUGE, "revokebot_tracked_revocations": dto.MetricType_GAUGE,
		"revokebot_build_info": dto.MetricType_GAUGE, "go_gc_duration_seconds": dto.MetricType_SUMMARY,
	}
	for name, want := range types {
		if got := mf[name].GetType(); got != want {
			t.Errorf("%s is a %v, want %v", name, got, want)
		}
	}
	for _, name := range []string{"go_goroutines", "go_memstats_heap_inuse_bytes", "go_gc_duration_seconds", "go_info", "process_resident_memory_bytes", "process_cpu_seconds_total", "process_start_time_seconds", "process_open_fds"} {
		if _, ok := mf[name]; !ok && (runtime.GOOS == "linux" || !strings.HasPrefix(name, "process_")) {
			t.Errorf("%s is missing", name)
		}
	}
	if rss := value(t, m, "process_resident_memory_bytes"); runtime.GOOS == "linux" && rss < 1<<20 {
		t.Errorf("process_resident_memory_bytes = %v", rss)
	}
	// The kernel's boot time (btime) is in whole seconds, so the start time can be up to a
	// second in the future.
	if start := value(t, m, "process_start_time_seconds"); runtime.GOOS == "linux" && (start > float64(time.Now().Add(2*time.Second).Unix()) || start < float64(time.Now().Add(-time.Hour).Unix())) {
		t.Errorf("process_start_time_seconds = %v, not within the last hour", start)
	}
	if v := find(mf, "revokebot_build_info", "version", "v1.2.3"); v == nil {
		t.Error("revokebot_build_info has no version label v1.2.3")
	}

	h := find(mf, "revokebot_ack_duration_seconds", "type", "block_actions").GetHistogram()
	if h.GetSampleCount() != 2 || h.GetSampleSum() != 4.0007 {
		t.Errorf("block_actions acks: count %d, sum %v; want 2 and 4.0007", h.GetSampleCount(), h.GetSampleSum())
	}
	want := map[float64]uint64{.0005: 0, .001: 1, 3: 1}
	for _, b := range h.GetBucket() {
		if w, ok := want[b.GetUpperBound()]; ok && b.GetCumulativeCount() != w {
			t.Errorf("bucket le=%v holds %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), w)
		}
	}
	for _, b := range find(mf, "revokebot_ack_duration_seconds", "type", "slash_commands").GetHistogram().GetBucket() {
		if b.GetUpperBound() == 3 && b.GetCumulativeCount() != 1 {
			t.Errorf("an ack of exactly 3 s is not in the le=3 bucket")
		}
	}
}

func TestLabelValuesAreEscaped(t *testing.T) {
	m := New("say \"hi\"\\\nbye")
	mf := scrape(t, m)
	if find(mf, "revokebot_build_info", "version", "say \"hi\"\\\nbye") == nil {
		t.Errorf("the version label did not survive escaping: %v", mf["revokebot_build_info"])
	}
}

// scrape reads m's exposition as Prometheus does.
func scrape(t *testing.T, m *Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mf, err := parser.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("/metrics is not Prometheus text: %v", err)
	}
	return mf
}

// gatherer lets testutil compare m's exposition with the text a test expects.
func gatherer(t *testing.T, m *Metrics) prometheus.Gatherer {
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		mf := scrape(t, m)
		var out []*dto.MetricFamily
		for _, name := range slices.Sorted(maps.Keys(mf)) {
			out = append(out, mf[name])
		}
		return out, nil
	})
}

// find returns the sample of a family whose labels include the given name-value pairs.
func find(mf map[string]*dto.MetricFamily, name string, labels ...string) *dto.Metric {
next:
	for _, s := range mf[name].GetMetric() {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, l := range s.GetLabel() {
				found = found || l.GetName() == labels[i] && l.GetValue() == labels[i+1]
			}
			if !found {
				continue next
			}
		}
		return s
	}
	return nil
}

// value is a counter's or gauge's value in a scrape of m, 0 when the series is missing.
func value(t *testing.T, m *Metrics, name string, labels ...string) float64 {
	t.Helper()
	s := find(scrape(t, m), name, labels...)
	switch {
	case s == nil:
		return 0
	case s.Counter != nil:
		return s.Counter.GetValue()
	case s.Gauge != nil:
		return s.Gauge.GetValue()
	}
	return s.GetUntyped().GetValue()
}

func TestStoreRowsAndBytesAreReadAtScrape(t *testing.T) {
	m := New("test")
	counts := store.Counts{Requests: 3, Items: 7, Posts: 5, Audit: 20}
	m.WatchStore(func(context.Context) (store.Counts, error) { return counts, nil }, func() (int64, error) { return 4096, nil })
	counts.Audit = 21 // what the store holds when Prometheus asks, not when the bot started
	want := `
# HELP revokebot_store_bytes Bytes the embedded store takes on disk: the database file and its write-ahead log.
# TYPE revokebot_store_bytes gauge
revokebot_store_bytes 4096
# HELP revokebot_store_rows Rows the store holds, by table: requests, items (the accesses they revoke), posts (thread replies claimed) and audit.
# TYPE revokebot_store_rows gauge
revokebot_store_rows{table="audit"} 21
revokebot_store_rows{table="items"} 7
revokebot_store_rows{table="posts"} 5
revokebot_store_rows{table="requests"} 3
`
	if err := testutil.GatherAndCompare(gatherer(t, m), strings.NewReader(want), "revokebot_store_rows", "revokebot_store_bytes"); err != nil {
		t.Error(err)
	}
}
