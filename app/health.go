package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"revokebot/apiclient"
	"revokebot/app/metrics"
)

const (
	// accessOwlFresh is how recent an answer from AccessOwl must be for /readyz to trust it. An
	// idle bot makes no calls, so past it /readyz asks AccessOwl itself: at most one cheap GET
	// per five minutes, 12 of the 1,000 requests an hour.
	accessOwlFresh = 5 * time.Minute
	// readyCheckTimeout bounds each check behind /readyz, well inside a probe's usual 5 s
	// timeout.
	readyCheckTimeout = 2 * time.Second
	// healthShutdownTimeout bounds closing the health server once the bot has stopped; probes and
	// scrapes are short.
	healthShutdownTimeout = time.Second
	// healthReadHeaderTimeout keeps a slow client from holding a connection open forever.
	healthReadHeaderTimeout = 5 * time.Second
)

// readiness is what /readyz judges by: whether Socket Mode is connected, and when AccessOwl last
// answered with the token accepted or refused it. The session and the AccessOwl client tell it.
type readiness struct {
	connected      atomic.Bool
	lastOwlAnswer  atomic.Int64 // unix nanoseconds; 0: never
	lastOwlRefusal atomic.Int64 // unix nanoseconds of the last 401 or 403; 0: never
}

var _ Observer = (*readiness)(nil)

// Connected records a Socket Mode connection.
func (r *readiness) Connected(bool) { r.connected.Store(true) }

// Disconnected records a lost connection.
func (r *readiness) Disconnected() { r.connected.Store(false) }

// Envelope, Acked, Overloaded, SlackCall and Panic say nothing about readiness.
func (*readiness) Envelope(string, int)        {}
func (*readiness) Acked(string, time.Duration) {}
func (*readiness) Overloaded(string)           {}
func (*readiness) SlackCall(string, error)     {}
func (*readiness) Panic()                      {}

// AccessOwlAttempt records when AccessOwl answered: any status but 5xx means it is there, and
// 401 or 403 that it refuses the token.
func (r *readiness) AccessOwlAttempt(a apiclient.Attempt) {
	now := time.Now().UnixNano()
	switch {
	case a.Status == http.StatusUnauthorized || a.Status == http.StatusForbidden:
		r.lastOwlRefusal.Store(now)
	case a.Status != 0 && a.Status < 500:
		r.lastOwlAnswer.Store(now)
	}
}

// accessOwlAnswered returns when AccessOwl last answered with its token accepted, and when it
// last refused the token; zero times mean never.
func (r *readiness) accessOwlAnswered() (answered, refused time.Time) {
	return unixTime(r.lastOwlAnswer.Load()), unixTime(r.lastOwlRefusal.Load())
}

func unixTime(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// health answers the probes and serves the metrics.
type health struct {
	metrics   *metrics.Metrics
	readiness *readiness
	store     interface{ Ping(context.Context) error }
	// probeAccessOwl makes one cheap call to AccessOwl; the metrics see its answer.
	probeAccessOwl func(context.Context) error
	stopping       atomic.Bool
	probing        sync.Mutex // one AccessOwl probe at a time, however many probes arrive
}

func (h *health) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		// Alive means the process answers: restarting it cures nothing that /readyz reports.
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		problems := h.ready(r.Context())
		if len(problems) > 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "not ready: "+strings.Join(problems, "; "))
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.Handle("GET /metrics", h.metrics.Handler())
	return mux
}

// ready returns what keeps the bot from doing its work, in words for whoever reads the probe.
func (h *health) ready(ctx context.Context) []string {
	if h.stopping.Load() {
		return []string{"shutting down"}
	}
	var problems []string
	if !h.readiness.connected.Load() {
		problems = append(problems, "Slack Socket Mode is not connected")
	}
	sctx, cancel := context.WithTimeout(ctx, readyCheckTimeout)
	defer cancel()
	if err := h.store.Ping(sctx); err != nil {
		// Ping proves the store can write: one that only reads would fail the next decision.
		problems = append(problems, "the store is not usable: "+err.Error())
	}
	if p := h.accessOwlProblem(ctx); p != "" {
		problems = append(problems, p)
	}
	return problems
}

// accessOwlProblem reports whether AccessOwl answered recently with the token accepted, asking
// it once if the last answer is too old.
func (h *health) accessOwlProblem(ctx context.Context) string {
	if p := h.accessOwlSeen(); p == "" {
		return ""
	}
	// Another probe is asking AccessOwl already: judge by what is known.
	if !h.probing.TryLock() {
		return h.accessOwlSeen()
	}
	defer h.probing.Unlock()
	pctx, cancel := context.WithTimeout(ctx, readyCheckTimeout)
	defer cancel()
	err := h.probeAccessOwl(pctx)
	p := h.accessOwlSeen()
	if p != "" && err != nil && !errors.Is(err, apiclient.ErrUnauthorized) && !errors.Is(err, apiclient.ErrForbidden) {
		return "AccessOwl did not answer: " + err.Error()
	}
	return p
}

func (h *health) accessOwlSeen() string {
	answered, refused := h.readiness.accessOwlAnswered()
	switch {
	case !refused.IsZero() && !refused.Before(answered):
		return "AccessOwl refused the token (ACCESSOWL_API_TOKEN)"
	case answered.IsZero():
		return "AccessOwl has not answered yet"
	case time.Since(answered) > accessOwlFresh:
		return fmt.Sprintf("AccessOwl has not answered for %s", time.Since(answered).Round(time.Second))
	}
	return ""
}

// serveHealth listens on addr and serves h until stop is called. The listener is open when it
// returns, so a port already taken fails Run at once.
func serveHealth(addr string, h *health, log *slog.Logger, onListen func(string)) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("LISTEN_ADDR: %w", err)
	}
	if onListen != nil {
		onListen(ln.Addr().String())
	}
	srv := &http.Server{Handler: h.handler(), ReadHeaderTimeout: healthReadHeaderTimeout}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			// Serve fails only on a broken listener; the bot goes on without its endpoints.
			log.Error("health and metrics server stopped", "error", err)
		}
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), healthShutdownTimeout)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			srv.Close()
		}
		<-done
	}, nil
}
