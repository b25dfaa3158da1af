// Package metrics counts what revokebot does, in Prometheus's terms: Slack envelopes and how fast
// they are acknowledged, handler errors and panics, AccessOwl requests and what is left of their
// budget, Slack API calls, reconnects and the revocations being tracked.
//
// It lives under app because only the wiring feeds it: the bot's packages report through small
// observer interfaces and never import Prometheus, so their tests need none of it. Every
// Metrics has its own registry, so several bots in one process (tests, the sandbox) never
// collide, and nothing is registered globally. The exposition is written here (exposition.go)
// rather than by Prometheus's client library, which cost the bot about 2.5 MB of resident
// memory for these few series.
package metrics

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

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

// trackedTimeout bounds each store query behind a scrape (revokebot_tracked_revocations,
// revokebot_store_rows), so a slow store makes that one series missing rather than the scrape
// time out.
const trackedTimeout = 2 * time.Second

// Metrics holds revokebot's collectors. Its methods return at once and are safe for concurrent
// use; it satisfies app.Observer.
type Metrics struct {
	reg *registry

	envelopes     *vec[counter]
	redeliveries  *vec[counter]
	ack           *vec[histogram]
	busy          *vec[counter]
	handlerErrors *vec[counter]
	panics        *counter
	connected     *gauge
	reconnects    *counter
	slackRequests *vec[counter]
	slackLimited  *vec[counter]
	slackErrors   *vec[counter]
	owlRequests   *vec[counter]
	owlRetries    *vec[counter]
	owlLimited    *counter
	statusChanges *vec[counter]
}

// New returns Metrics on a registry of their own, with the Go runtime's and the process's
// figures beside them.
func New(version string) *Metrics {
	r := &registry{}
	m := &Metrics{reg: r}
	m.envelopes = r.counterVec(namespace+"_envelopes_total", "Envelopes received from Slack, by type.", "type")
	m.redeliveries = r.counterVec(namespace+"_envelope_redeliveries_total", "Envelopes Slack delivered again (retry_attempt > 0), by type: each means an earlier ack was late or lost.", "type")
	m.ack = r.histogramVec(namespace+"_ack_duration_seconds",
		"Time from receiving an envelope to handing its ack to the socket, by type. Slack redelivers after 3 s.", ackBuckets, "type")
	m.busy = r.counterVec(namespace+"_envelopes_busy_total", "Envelopes answered \"busy, try again\" because the work queue was full, by type.", "type")
	m.handlerErrors = r.counterVec(namespace+"_handler_errors_total", "Errors logged while handling requests and tracking revocations, by component.", "component")
	// Zero series from the start, so an alert on an increase sees the first error.
	for _, c := range Components {
		m.handlerErrors.with(c)
	}
	m.panics = r.counter(namespace+"_handler_panics_total", "Panics recovered in handlers; each is a bug.")
	m.connected = r.gauge(namespace+"_slack_connected", "1 while the Socket Mode connection is up.")
	m.reconnects = r.counter(namespace+"_slack_reconnects_total", "Socket Mode reconnections after the first connection.")
	m.slackRequests = r.counterVec(namespace+"_slack_api_requests_total", "Slack Web API requests, by method and HTTP status code.", "method", "code")
	m.slackLimited = r.counterVec(namespace+"_slack_api_rate_limited_total", "Slack Web API requests answered 429, by method.", "method")
	m.slackErrors = r.counterVec(namespace+"_slack_call_errors_total", "Messages Slack refused, by method and Slack's error code.", "method", "error")
	m.owlRequests = r.counterVec(namespace+"_accessowl_requests_total", "AccessOwl HTTP attempts, by method, route and status (\"none\" when no answer came).", "method", "route", "status")
	m.owlRetries = r.counterVec(namespace+"_accessowl_retries_total", "AccessOwl attempts that were retried, by route and reason.", "route", "reason")
	m.owlLimited = r.counter(namespace+"_accessowl_rate_limited_total", "AccessOwl answers of 429 Too Many Requests.")
	m.statusChanges = r.counterVec(namespace+"_revocation_statuses_total", "Revocation statuses announced in request threads, once each across restarts and replicas, by status.", "status")
	r.gaugeFunc(namespace+"_build_info", "Always 1; the version label says which build runs.", func() float64 { return 1 }, "version", version)
	registerGoRuntime(r)
	registerProcess(r)
	return m
}

// Handler serves the metrics in Prometheus's text format. A figure that cannot be read (the
// store, for tracked revocations) leaves its series out instead of failing the scrape.
func (m *Metrics) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", textContentType)
		// An error here is the client gone; there is no one left to tell.
		_ = m.reg.writeTo(w)
	})
}

// WatchBudget exports budget (the requests the AccessOwl client could send at once) as a gauge
// read at scrape time.
func (m *Metrics) WatchBudget(budget func() int) {
	m.reg.gaugeFunc(namespace+"_accessowl_budget_available_requests",
		"Requests the AccessOwl client could send at once without waiting for its own budget; 0 while a 429's Retry-After lasts.",
		func() float64 { return float64(budget()) })
}

// WatchLeader exports whether this replica runs the background work (tracking, expiry,
// resubmission) that one replica of several runs at a time; replica names it. A single replica on
// the embedded store always leads.
func (m *Metrics) WatchLeader(replica string, leads func() bool) {
	m.reg.gaugeFunc(namespace+"_background_leader",
		"1 while this replica holds the lease to run the background work (tracking, expiry, resubmission); the replica label names it.",
		func() float64 {
			if leads() {
				return 1
			}
			return 0
		}, "replica", replica)
}

// WatchTracked exports the revocations being tracked, by their last status, read from tracking
// at scrape time so the figure survives restarts and covers every replica sharing the store.
func (m *Metrics) WatchTracked(tracking func(context.Context) ([]store.Tracked, error)) {
	const name = namespace + "_tracked_revocations"
	m.reg.add(family{name: name, typ: "gauge",
		help: "Submitted revocations still being followed, by the last status AccessOwl reported (\"new\" before the first).",
		write: func(e *encoder) bool {
			ctx, cancel := context.WithTimeout(context.Background(), trackedTimeout)
			defer cancel()
			rows, err := tracking(ctx)
			if err != nil {
				return false
			}
			counts := map[string]int{}
			for _, r := range rows {
				status := string(r.Status)
				if status == "" {
					status = "new"
				}
				counts[status]++
			}
			for _, status := range slices.Sorted(maps.Keys(counts)) {
				e.sample(name, float64(counts[status]), "status", status)
			}
			return true
		}})
}

// WatchStore exports how much the store holds, read at scrape time: its rows by table, from
// count, and, when size is not nil, the bytes it takes on disk. Retention should keep both
// level once it has run for a retention period; a steady climb means it is not deleting.
func (m *Metrics) WatchStore(count func(context.Context) (store.Counts, error), size func() (int64, error)) {
	if size != nil {
		const name = namespace + "_store_bytes"
		m.reg.add(family{name: name, typ: "gauge",
			help: "Bytes the embedded store takes on disk: the database file and its write-ahead log.",
			write: func(e *encoder) bool {
				n, err := size()
				if err != nil {
					return false
				}
				e.sample(name, float64(n))
				return true
			}})
	}
	const name = namespace + "_store_rows"
	m.reg.add(family{name: name, typ: "gauge",
		help: "Rows the store holds, by table: requests, items (the accesses they revoke), posts (thread replies claimed) and audit.",
		write: func(e *encoder) bool {
			ctx, cancel := context.WithTimeout(context.Background(), trackedTimeout)
			defer cancel()
			n, err := count(ctx)
			if err != nil {
				return false
			}
			e.sample(name, float64(n.Audit), "table", "audit")
			e.sample(name, float64(n.Items), "table", "items")
			e.sample(name, float64(n.Posts), "table", "posts")
			e.sample(name, float64(n.Requests), "table", "requests")
			return true
		}})
}

// Envelope counts an envelope; implements bot.SessionObserver.
func (m *Metrics) Envelope(kind string, retryAttempt int) {
	m.envelopes.with(kind).Inc()
	if retryAttempt > 0 {
		m.redeliveries.with(kind).Inc()
	}
}

// Acked observes how long an ack took; implements bot.SessionObserver.
func (m *Metrics) Acked(kind string, sinceReceived time.Duration) {
	m.ack.with(kind).Observe(sinceReceived.Seconds())
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
func (m *Metrics) Overloaded(kind string) { m.busy.with(kind).Inc() }

// SlackCall counts a message Slack refused; implements bot.OutputObserver. Successes and 429s are
// counted by the transport (SlackTransport), which sees every call.
func (m *Metrics) SlackCall(method string, err error) {
	if err == nil {
		return
	}
	m.slackErrors.with(method, slackErrorCode(err)).Inc()
}

// Panic counts a recovered panic.
func (m *Metrics) Panic() { m.panics.Inc() }

// AccessOwlAttempt counts one AccessOwl attempt; pass it to apiclient.WithObserver.
func (m *Metrics) AccessOwlAttempt(a apiclient.Attempt) {
	status := "none"
	if a.Status != 0 {
		status = strconv.Itoa(a.Status)
	}
	m.owlRequests.with(a.Method, a.Route, status).Inc()
	if a.Retry {
		m.owlRetries.with(a.Route, a.RetryReason).Inc()
	}
	if a.Status == http.StatusTooManyRequests {
		m.owlLimited.Inc()
	}
}

// StatusAnnounced counts a revocation status claimed for its thread reply.
func (m *Metrics) StatusAnnounced(status string) { m.statusChanges.with(status).Inc() }

// HandlerError counts an error logged by component.
func (m *Metrics) HandlerError(component string) { m.handlerErrors.with(component).Inc() }

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
				m.slackLimited.with(method).Inc()
			}
		}
		m.slackRequests.with(method, code).Inc()
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
