package app

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"revokebot/apiclient"
	"revokebot/app/metrics"
)

var _ Observer = (*metrics.Metrics)(nil)

// pinger is a store whose Ping answers err.
type pinger struct{ err error }

func (p pinger) Ping(context.Context) error { return p.err }

func TestProbes(t *testing.T) {
	answered := func(status int) func(*readiness) {
		return func(r *readiness) {
			r.AccessOwlAttempt(apiclient.Attempt{Method: "GET", Route: "/users", Status: status, Number: 1})
		}
	}
	tests := []struct {
		name      string
		connected bool
		storeErr  error
		before    func(*readiness) // what AccessOwl answered before the probe
		probe     func(*readiness) error
		stopping  bool
		wantCode  int
		wantBody  string
		wantProbe bool
	}{
		{name: "ready when connected, the store answers and AccessOwl answered recently",
			connected: true, before: answered(200), wantCode: 200, wantBody: "ready"},
		{name: "a 404 from AccessOwl still counts as an answer",
			connected: true, before: answered(404), wantCode: 200, wantBody: "ready"},
		{name: "not ready before Socket Mode connects",
			before: answered(200), wantCode: 503, wantBody: "Slack Socket Mode is not connected"},
		{name: "not ready when the store does not answer",
			connected: true, storeErr: errors.New("database is closed"), before: answered(200), wantCode: 503, wantBody: "the store is not usable: database is closed"},
		{name: "an idle bot asks AccessOwl itself and is ready when it answers",
			connected: true, probe: func(r *readiness) error { answered(200)(r); return nil }, wantCode: 200, wantBody: "ready", wantProbe: true},
		{name: "not ready when AccessOwl starts refusing the token",
			connected: true, before: func(r *readiness) { answered(200)(r); answered(401)(r) },
			probe:    func(r *readiness) error { answered(401)(r); return apiclient.ErrUnauthorized },
			wantCode: 503, wantBody: "AccessOwl refused the token (ACCESSOWL_API_TOKEN)", wantProbe: true},
		{name: "not ready when AccessOwl cannot be reached",
			connected: true, probe: func(*readiness) error { return errors.New("connection refused") },
			wantCode: 503, wantBody: "AccessOwl did not answer: connection refused", wantProbe: true},
		{name: "not ready while shutting down",
			connected: true, before: answered(200), stopping: true, wantCode: 503, wantBody: "shutting down"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ready := &readiness{}
			if tt.connected {
				ready.Connected(false)
			}
			if tt.before != nil {
				tt.before(ready)
			}
			// The probe runs on the server's goroutine.
			var probed atomic.Bool
			h := &health{metrics: metrics.New("test"), readiness: ready, store: pinger{tt.storeErr}, probeAccessOwl: func(context.Context) error {
				probed.Store(true)
				if tt.probe == nil {
					t.Error("AccessOwl was asked although it answered recently")
					return nil
				}
				return tt.probe(ready)
			}}
			h.stopping.Store(tt.stopping)
			srv := httptest.NewServer(h.handler())
			defer srv.Close()

			code, body := get(t, srv.URL+"/readyz")
			if code != tt.wantCode || !strings.Contains(body, tt.wantBody) {
				t.Errorf("/readyz = %d %q, want %d containing %q", code, body, tt.wantCode, tt.wantBody)
			}
			if probed.Load() != tt.wantProbe {
				t.Errorf("AccessOwl probed: %v, want %v", probed.Load(), tt.wantProbe)
			}
			// Alive is only "the process answers": nothing /readyz reports is cured by a restart.
			if code, body := get(t, srv.URL+"/healthz"); code != 200 || body != "ok\n" {
				t.Errorf("/healthz = %d %q, want 200 ok", code, body)
			}
		})
	}
}

func TestMetricsEndpointServesPrometheusText(t *testing.T) {
	m := metrics.New("v1.2.3")
	m.Envelope("slash_commands", 0)
	h := &health{metrics: m, store: pinger{}, probeAccessOwl: func(context.Context) error { return nil }}
	srv := httptest.NewServer(h.handler())
	defer srv.Close()
	code, body := get(t, srv.URL+"/metrics")
	for _, want := range []string{
		`revokebot_build_info{version="v1.2.3"} 1`,
		`revokebot_envelopes_total{type="slash_commands"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if code != 200 {
		t.Errorf("/metrics = %d", code)
	}
	if code, _ := get(t, srv.URL+"/elsewhere"); code != 404 {
		t.Errorf("an unknown path answered %d, want 404", code)
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}
