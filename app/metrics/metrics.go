// Package metrics counts what revokebot does, in Prometheus's terms: Slack envelopes and how fast
// they are acknowledged, handler errors and panics, AccessOwl requests and what is left of their
// budget, Slack API calls, reconnects and the revocations being tracked.
//
// It lives under app because only the wiring feeds it: the bot's packages report through small
// observer interfaces and never import Prometheus, so their tests need none of it. Every
// Metrics has its own registry, so several bots in one process (tests, the sandbox) never
// collide, and nothing is registered globally.
package metrics

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/slack-go/slack"

	"revokebot/apiclient"
	"revokebot/bot"
	"revokebot/store"
)

const namespace = "revokebot"

// Components are the values of the component attribute that app gives each part's logger, and
// so of revokebot_handler_errors_total's label; "bot" is a line without one.
var Components = []string{"session", "pool", "interactions", "output", "revoke", "accessowl", "health", "bot"}

// ackBuckets spans a healthy ack (well under 10 ms) to Slack's 3 s redelivery deadline, so both
// the p99 goal and a near miss are visible.
var ackBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2, 3}

// trackedTimeout bounds the store query behind revokebot_tracked_revocations, so a slow store
// makes that one series missing rather than the scrape time out.
const trackedTimeout = 2 * time.Second

// Metrics holds revokebot's collectors. Its methods return at once and are safe for concurrent
// use; it satisfies app.Observer.
type Metrics struct {
	reg *prometheus.Registry

	envelopes     *prometheus.CounterVec
	redeliveries  *prometheus.CounterVec
	ack           *prometheus.HistogramVec
	busy          *prometheus.CounterVec
	handlerErrors *prometheus.CounterVec
	panics        prometheus.Counter
	connected     prometheus.Gauge
	reconnects    prometheus.Counter
	slackRequests *prometheus.CounterVec
	slackLimited  *prometheus.CounterVec
	slackErrors   *prometheus.CounterVec
	owlRequests   *prometheus.CounterVec
	owlRetries    *prometheus.CounterVec
	owlLimited    prometheus.Counter
	statusChanges *prometheus.CounterVec
}

// New returns Metrics on a registry of their own, with the Go runtime's and the process's
// collectors beside them.
func New(version string) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	f := factory{m.reg}
	m.envelopes = f.counterVec("envelopes_total", "Envelopes received from Slack, by type.", "type")
	m.redeliveries = f.counterVec("envelope_redeliveries_total", "Envelopes Slack delivered again (retry_attempt > 0), by type: each means an earlier ack was late or lost.", "type")
	m.ack = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "ack_duration_seconds",
		Help:    "Time from receiving an envelope to handing its ack to the socket, by type. Slack redelivers after 3 s.",
		Buckets: ackBuckets,
	}, []string{"type"})
	m.reg.MustRegister(m.ack)
	m.busy = f.counterVec("envelopes_busy_total", "Envelopes answered \"busy, try again\" because the work queue was full, by type.", "type")
	m.handlerErrors = f.counterVec("handler_errors_total", "Errors logged while handling requests and tracking revocations, by component.", "component")
	// Zero series from the start, so an alert on an increase sees the first error.
	for _, c := range Components {
		m.handlerErrors.WithLabelValues(c)
	}
	m.panics = f.counter("handler_panics_total", "Panics recovered in handlers; each is a bug.")
	m.connected = f.gauge("slack_connected", "1 while the Socket Mode connection is up.")
	m.reconnects = f.counter("slack_reconnects_total", "Socket Mode reconnections after the first connection.")
	m.slackRequests = f.counterVec("slack_api_requests_total", "Slack Web API requests, by method and HTTP status code.", "method", "code")
	m.slackLimited = f.counterVec("slack_api_rate_limited_total", "Slack Web API requests answered 429, by method.", "method")
	m.slackErrors = f.counterVec("slack_call_errors_total", "Messages Slack refused, by method and Slack's error code.", "method", "error")
	m.owlRequests = f.counterVec("accessowl_requests_total", "AccessOwl HTTP attempts, by method, route and status (\"none\" when no answer came).", "method", "route", "status")
	m.owlRetries = f.counterVec("accessowl_retries_total", "AccessOwl attempts that were retried, by route and reason.", "route", "reason")
	m.owlLimited = f.counter("accessowl_rate_limited_total", "AccessOwl answers of 429 Too Many Requests.")
	m.statusChanges = f.counterVec("revocation_statuses_total", "Revocation statuses announced in request threads, once each across restarts and replicas, by status.", "status")
	f.gaugeFunc("build_info", "Always 1; the version label says which build runs.", prometheus.Labels{"version": version}, func() float64 { return 1 })
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in Prometheus's text format. A collector that fails (the store, for
// tracked revocations) leaves its series out instead of failing the scrape.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// Registry is where the collectors are registered, for tests that read them.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// WatchBudget exports budget (the requests the AccessOwl client could send at once) as a gauge
// read at scrape time.
func (m *Metrics) WatchBudget(budget func() int) {
	factory{m.reg}.gaugeFunc("accessowl_budget_available_requests",
		"Requests the AccessOwl client could send at once without waiting for its own budget; 0 while a 429's Retry-After lasts.",
		nil, func() float64 { return float64(budget()) })
}

// WatchTracked exports the revocations being tracked, by their last status, read from tracking
// at scrape time so the figure survives restarts and covers every replica sharing the store.
func (m *Metrics) WatchTracked(tracking func(context.Context) ([]store.Tracked, error)) {
	m.reg.MustRegister(trackedCollector{
		desc: prometheus.NewDesc(namespace+"_tracked_revocations",
			"Submitted revocations still being followed, by the last status AccessOwl reported (\"new\" before the first).",
			[]string{"status"}, nil),
		tracking: tracking,
	})
}

// Envelope counts an envelope; implements bot.SessionObserver.
func (m *Metrics) Envelope(kind string, retryAttempt int) {
	m.envelopes.WithLabelValues(kind).Inc()
	if retryAttempt > 0 {
		m.redeliveries.WithLabelValues(kind).Inc()
	}
}

// Acked observes how long an ack took; implements bot.SessionObserver.
func (m *Metrics) Acked(kind string, sinceReceived time.Duration) {
	m.ack.WithLabelValues(kind).Observe(sinceReceived.Seconds())
}

// Connected records a Socket Mode connection; implements bot.SessionObserver.
func (m *Metrics) Connected(reconnect bool) {
	m.connected.Set(1)
	if reconnect {
		m.reconnects.Inc()
	}
}

// Disconnected records a lost connection; implements bot.SessionObserver.
func (m *Metrics) Disconnected() {
	m.connected.Set(0)
}

// Overloaded counts an envelope turned away; implements bot.SessionObserver.
func (m *Metrics) Overloaded(kind string) { m.busy.WithLabelValues(kind).Inc() }

// SlackCall counts a message Slack refused; implements bot.OutputObserver. Successes and 429s are
// counted by the transport (SlackTransport), which sees every call.
func (m *Metrics) SlackCall(method string, err error) {
	if err == nil {
		return
	}
	m.slackErrors.WithLabelValues(method, slackErrorCode(err)).Inc()
}

// Panic counts a recovered panic.
func (m *Metrics) Panic() { m.panics.Inc() }

// AccessOwlAttempt counts one AccessOwl attempt; pass it to apiclient.WithObserver.
func (m *Metrics) AccessOwlAttempt(a apiclient.Attempt) {
	status := "none"
	if a.Status != 0 {
		status = strconv.Itoa(a.Status)
	}
	m.owlRequests.WithLabelValues(a.Method, a.Route, status).Inc()
	if a.Retry {
		m.owlRetries.WithLabelValues(a.Route, a.RetryReason).Inc()
	}
	if a.Status == http.StatusTooManyRequests {
		m.owlLimited.Inc()
	}
}

// StatusAnnounced counts a revocation status claimed for its thread reply.
func (m *Metrics) StatusAnnounced(status string) { m.statusChanges.WithLabelValues(status).Inc() }

// HandlerError counts an error logged by component.
func (m *Metrics) HandlerError(component string) { m.handlerErrors.WithLabelValues(component).Inc() }

// SlackTransport counts every Slack Web API request that passes through next, by method and
// status code: lookups, views and connections as well as messages.
func (m *Metrics) SlackTransport(next http.RoundTripper) http.RoundTripper {
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		method := req.URL.Path[strings.LastIndex(req.URL.Path, "/")+1:]
		if !slackMethod.MatchString(method) {
			// Answers through an interaction's response_url, whose path ends in a secret that
			// must not become a label.
			method = "response_url"
		}
		resp, err := next.RoundTrip(req)
		code := "none"
		if err == nil {
			code = strconv.Itoa(resp.StatusCode)
			if resp.StatusCode == http.StatusTooManyRequests {
				m.slackLimited.WithLabelValues(method).Inc()
			}
		}
		m.slackRequests.WithLabelValues(method, code).Inc()
		return resp, err
	})
}

// slackMethod matches a Web API method name, such as chat.postMessage.
var slackMethod = regexp.MustCompile(`^[a-z]+(\.[a-zA-Z]+)+$`)

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// slackErrorCode turns a failed Slack call into a label: Slack's own error code (such as
// not_in_channel), or a fixed word, never free text.
func slackErrorCode(err error) string {
	var limited *slack.RateLimitedError
	switch code := bot.SlackErrorCode(err); {
	case errors.As(err, &limited):
		return "ratelimited"
	case code != "" && validLabel(code):
		return code
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	return "other"
}

// validLabel accepts what looks like one of Slack's error codes, so a label stays bounded.
func validLabel(s string) bool {
	if s == "" || len(s) > 40 {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && r != '_' {
			return false
		}
	}
	return true
}

type trackedCollector struct {
	desc     *prometheus.Desc
	tracking func(context.Context) ([]store.Tracked, error)
}

func (c trackedCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c trackedCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), trackedTimeout)
	defer cancel()
	rows, err := c.tracking(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	counts := map[string]int{}
	for _, r := range rows {
		status := string(r.Status)
		if status == "" {
			status = "new"
		}
		counts[status]++
	}
	for status, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), status)
	}
}

// LogHandler counts the error records that pass through it (HandlerError, by the record's
// "component" attribute, "bot" without one) and hands every record on to next.
func (m *Metrics) LogHandler(next slog.Handler) slog.Handler {
	return &countingHandler{next: next, m: m, component: "bot"}
}

type countingHandler struct {
	next      slog.Handler
	m         *Metrics
	component string
}

func (h *countingHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelError || h.next.Enabled(ctx, l)
}

func (h *countingHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError {
		h.m.HandlerError(h.component)
	}
	if !h.next.Enabled(ctx, r.Level) {
		return nil
	}
	return h.next.Handle(ctx, r)
}

func (h *countingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.next = h.next.WithAttrs(attrs)
	for _, a := range attrs {
		if a.Key == "component" {
			c.component = a.Value.String()
		}
	}
	return &c
}

func (h *countingHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.next = h.next.WithGroup(name)
	return &c
}

// factory registers collectors named under the namespace.
type factory struct{ reg *prometheus.Registry }

func (f factory) counter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help})
	f.reg.MustRegister(c)
	return c
}

func (f factory) counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help}, labels)
	f.reg.MustRegister(c)
	return c
}

func (f factory) gauge(name, help string) prometheus.Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: name, Help: help})
	f.reg.MustRegister(g)
	return g
}

func (f factory) gaugeFunc(name, help string, labels prometheus.Labels, fn func() float64) {
	f.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: namespace, Name: name, Help: help, ConstLabels: labels}, fn))
}
