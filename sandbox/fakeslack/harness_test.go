package fakeslack_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"revokebot/sandbox/fakeslack"
)

// callForm calls a Web API method with a form body, the token in the form as slack-go sends
// it for chat.*, and returns the HTTP response and the decoded JSON.
func callForm(t *testing.T, s *fakeslack.Server, method, token string, form url.Values) (*http.Response, map[string]any) {
	t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if token != "" {
		form.Set("token", token)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.APIURL()+method, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return do(t, req)
}

// callJSON calls a method with a JSON body and a Bearer token, as slack-go does for views.*.
func callJSON(t *testing.T, s *fakeslack.Server, method, token string, body any) (*http.Response, map[string]any) {
	t.Helper()
	data, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.APIURL()+method, strings.NewReader(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (*http.Response, map[string]any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("%s answered %q: %v", req.URL, data, err)
	}
	return resp, out
}

// errorCode returns a Web API answer's error, or "" when it is ok.
func errorCode(t *testing.T, body map[string]any) string {
	t.Helper()
	if ok, _ := body["ok"].(bool); ok {
		return ""
	}
	code, _ := body["error"].(string)
	return code
}

// mustOK fails the test unless the answer is ok.
func mustOK(t *testing.T, body map[string]any) map[string]any {
	t.Helper()
	if code := errorCode(t, body); code != "" {
		t.Fatalf("answer %v, want ok", body)
	}
	return body
}

// dialSocket opens a Socket Mode connection with gorilla's client and reads its hello.
func dialSocket(t *testing.T, s *fakeslack.Server) (*websocket.Conn, map[string]any) {
	t.Helper()
	_, body := callJSON(t, s, "apps.connections.open", s.AppToken(), map[string]any{})
	mustOK(t, body)
	conn, _, err := websocket.DefaultDialer.DialContext(t.Context(), body["url"].(string), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	var hello map[string]any
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if err := conn.ReadJSON(&hello); err != nil {
		t.Fatal(err)
	}
	return conn, hello
}

// wireEnvelope is an envelope as the client reads it.
type wireEnvelope struct {
	EnvelopeID             string          `json:"envelope_id"`
	Type                   string          `json:"type"`
	Payload                json.RawMessage `json:"payload"`
	AcceptsResponsePayload bool            `json:"accepts_response_payload"`
	RetryAttempt           int             `json:"retry_attempt"`
	RetryReason            string          `json:"retry_reason"`
}

// scriptedBot is a Socket Mode client whose answer to each envelope a test chooses: answer
// returns the ack payload (nil: none) and whether to ack at all.
type scriptedBot struct {
	conn   *websocket.Conn
	mu     sync.Mutex
	seen   []wireEnvelope
	answer func(wireEnvelope) (payload any, ack bool)
	done   chan struct{}
}

func startScriptedBot(t *testing.T, s *fakeslack.Server, answer func(wireEnvelope) (any, bool)) *scriptedBot {
	t.Helper()
	conn, _ := dialSocket(t, s)
	_ = conn.SetReadDeadline(time.Time{})
	b := &scriptedBot{conn: conn, answer: answer, done: make(chan struct{})}
	go b.run()
	t.Cleanup(func() {
		conn.Close()
		<-b.done
	})
	return b
}

func (b *scriptedBot) run() {
	defer close(b.done)
	for {
		var env wireEnvelope
		if err := b.conn.ReadJSON(&env); err != nil {
			return
		}
		if env.EnvelopeID == "" {
			continue
		}
		b.mu.Lock()
		b.seen = append(b.seen, env)
		answer := b.answer
		b.mu.Unlock()
		payload, ack := answer(env)
		if !ack {
			continue
		}
		msg := map[string]any{"envelope_id": env.EnvelopeID}
		if payload != nil {
			msg["payload"] = payload
		}
		if err := b.conn.WriteJSON(msg); err != nil {
			return
		}
	}
}

func (b *scriptedBot) envelopes() []wireEnvelope {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]wireEnvelope(nil), b.seen...)
}

// payloadOf decodes an envelope's payload.
func payloadOf(t *testing.T, env wireEnvelope) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(env.Payload, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// ackEmpty acks every envelope without a payload.
func ackEmpty(wireEnvelope) (any, bool) { return nil, true }

// waitUntil polls a condition the workspace cannot signal (what a client received) until it
// holds or the test's deadline passes.
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	ctx := deadline(t)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatal("condition not met before the deadline")
		case <-tick.C:
		}
	}
}

func contextWithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, d)
}

// fakeClock is a settable clock for Config.Now, safe to read from the server's goroutines.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
