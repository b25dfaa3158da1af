package app

import (
	"context"
	"net/http"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestMetricsFollowAnApproval runs a request and its approval through the bot and reads what
// /metrics says about them: the envelopes, their acks, the one POST that created the
// revocation, and the revocation being tracked.
func TestMetricsFollowAnApproval(t *testing.T) {
	w := newWorld(t)
	w.cfg.ListenAddr = "127.0.0.1:0"
	addr := make(chan string, 1)
	w.onListen = func(a string) { addr <- a }
	bot := w.start()
	base := "http://" + <-addr

	waitFor(t, "/readyz to say ready", func() bool { code, _ := get(t, base+"/readyz"); return code == http.StatusOK })

	// An admin-provisioned application keeps its revocation processing, so it stays tracked.
	_, s := w.personWithOneAccess("AWS")
	m := w.requestState(s, "Left the company")
	w.click(w.approver, m, "Approve")
	w.reply(m, "processing_access")

	var mf map[string]*dto.MetricFamily
	waitFor(t, "the revocation to be tracked as processing_access", func() bool {
		mf = scrape(t, base)
		return value(mf, "revokebot_tracked_revocations", "status", "processing_access") == 1
	})
	checks := []struct {
		what   string
		metric string
		labels []string
		want   func(float64) bool
	}{
		{"the slash command is counted", "revokebot_envelopes_total", []string{"type", "slash_commands"}, eq(1)},
		{"the click is counted", "revokebot_envelopes_total", []string{"type", "block_actions"}, eq(1)},
		{"one POST answered 201", "revokebot_accessowl_requests_total", []string{"method", "POST", "route", "/access_revocations", "status", "201"}, eq(1)},
		{"the processing status was announced once", "revokebot_revocation_statuses_total", []string{"status", "processing_access"}, eq(1)},
		{"no panic", "revokebot_handler_panics_total", nil, eq(0)},
		{"no error logged while handling", "revokebot_handler_errors_total", []string{"component", "interactions"}, eq(0)},
		{"connected to Slack", "revokebot_slack_connected", nil, eq(1)},
		{"the approval message went through chat.postMessage", "revokebot_slack_api_requests_total", []string{"method", "chat.postMessage", "code", "200"}, atLeast(1)},
		{"the budget has room", "revokebot_accessowl_budget_available_requests", nil, atLeast(1)},
	}
	for _, c := range checks {
		if got := value(mf, c.metric, c.labels...); !c.want(got) {
			t.Errorf("%s: %s%v = %v", c.what, c.metric, c.labels, got)
		}
	}
	for _, kind := range []string{"slash_commands", "block_actions"} {
		h := histogram(mf, "revokebot_ack_duration_seconds", "type", kind)
		if h == nil || h.GetSampleCount() != 1 {
			t.Errorf("the ack of the %s envelope was not observed once: %v", kind, h)
			continue
		}
		t.Logf("ack of %s: %s", kind, time.Duration(h.GetSampleSum()*float64(time.Second)))
	}

	// The server goes down with the bot; goleak in TestMain checks it left nothing behind.
	if _, err := bot.stop(); err != nil {
		t.Fatal(err)
	}
	if resp, err := http.Get(base + "/healthz"); err == nil {
		resp.Body.Close()
		t.Errorf("/healthz still answers after Run returned")
	}
}

// waitFor polls cond until it holds, failing the test at waitTimeout.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("waited %s for %s", waitTimeout, what)
		case <-tick.C:
		}
	}
}

func scrape(t *testing.T, base string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mf, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics is not Prometheus text: %v", err)
	}
	return mf
}

// find returns the sample of a family whose labels include the given name-value pairs.
func find(mf map[string]*dto.MetricFamily, name string, labels ...string) *dto.Metric {
	f, ok := mf[name]
	if !ok {
		return nil
	}
next:
	for _, m := range f.GetMetric() {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, l := range m.GetLabel() {
				if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		return m
	}
	return nil
}

// value is a counter's or gauge's value, 0 when the series is missing.
func value(mf map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	m := find(mf, name, labels...)
	switch {
	case m == nil:
		return 0
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Untyped != nil:
		return m.Untyped.GetValue()
	}
	return 0
}

func histogram(mf map[string]*dto.MetricFamily, name string, labels ...string) *dto.Histogram {
	if m := find(mf, name, labels...); m != nil {
		return m.Histogram
	}
	return nil
}

func eq(want float64) func(float64) bool      { return func(got float64) bool { return got == want } }
func atLeast(want float64) func(float64) bool { return func(got float64) bool { return got >= want } }
