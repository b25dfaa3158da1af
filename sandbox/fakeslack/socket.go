package fakeslack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// writeWait bounds every socket write, so a stalled client cannot hold the workspace.
const writeWait = 10 * time.Second

// socketHub holds Socket Mode's tickets, connections and envelopes. Its state is guarded by
// the workspace's mutex; each connection serialises its own writes.
type socketHub struct {
	w        *Workspace
	upgrader websocket.Upgrader
	tickets  map[string]ticket
	conns    []*conn
	connSeq  int
	envs     map[string]*envelope
	envOrder []*envelope
}

type ticket struct {
	debugReconnects bool
}

type conn struct {
	id       int
	ws       *websocket.Conn
	openedAt time.Time
	writeMu  sync.Mutex
	// counters read under the workspace lock
	pings, pongs, clientPings int
	stop                      chan struct{}
	stopOnce                  sync.Once
}

func (c *conn) writeJSON(v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(writeWait))
	return c.ws.WriteMessage(websocket.TextMessage, data)
}

func (c *conn) halt() { c.stopOnce.Do(func() { close(c.stop) }) }

// envelope is one payload Slack delivers, with its deliveries and its ack.
type envelope struct {
	Envelope
	attempt int
	queued  bool // waiting for a connection
	timer   *time.Timer
	// onAck applies the ack's payload to the workspace (under the lock) and returns what the
	// act that sent it reports back.
	onAck func(payload json.RawMessage) any
	// result is onAck's answer.
	result any
}

// Envelope is the record of one Socket Mode envelope: what was sent, each delivery, the ack.
type Envelope struct {
	ID                     string          `json:"envelope_id"`
	Type                   string          `json:"type"`
	Payload                json.RawMessage `json:"payload"`
	AcceptsResponsePayload bool            `json:"accepts_response_payload"`
	Deliveries             []Delivery      `json:"deliveries"`
	Acked                  bool            `json:"acked"`
	Ack                    Ack             `json:"ack"`
}

// Delivery is one sending of an envelope.
type Delivery struct {
	Conn         int       `json:"conn"`
	RetryAttempt int       `json:"retry_attempt"`
	RetryReason  string    `json:"retry_reason"`
	At           time.Time `json:"at"`
}

// Ack is an envelope's acknowledgement as the client sent it.
type Ack struct {
	EnvelopeID string `json:"envelope_id"`
	// Payload is the ack's payload as sent: nil when there was none, "{}" from Node.
	Payload json.RawMessage `json:"payload,omitempty"`
	At      time.Time       `json:"at"`
	// Latency runs from the delivery the ack answered to the ack's arrival.
	Latency      time.Duration `json:"latency"`
	RetryAttempt int           `json:"retry_attempt"`
	Conn         int           `json:"conn"`
}

// wireEnvelope is an envelope as it travels on the socket.
type wireEnvelope struct {
	EnvelopeID             string          `json:"envelope_id"`
	Type                   string          `json:"type"`
	Payload                json.RawMessage `json:"payload"`
	AcceptsResponsePayload bool            `json:"accepts_response_payload"`
	RetryAttempt           int             `json:"retry_attempt"`
	RetryReason            string          `json:"retry_reason"`
}

func newSocketHub(w *Workspace) *socketHub {
	return &socketHub{
		w: w,
		// Clients are not browsers: slack-go sends Origin https://api.slack.com, which the
		// default same-origin check would refuse.
		upgrader: websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }},
		tickets:  map[string]ticket{},
		envs:     map[string]*envelope{},
	}
}

func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// openConnection answers apps.connections.open: a single-use ticket on the socket URL.
func (h *socketHub) openConnection(base string, debugReconnects bool) string {
	t := randomToken(16)
	h.w.mu.Lock()
	h.tickets[t] = ticket{debugReconnects: debugReconnects}
	h.w.mu.Unlock()
	wsBase := "ws" + base[len("http"):]
	return wsBase + "socket?ticket=" + t
}

func (h *socketHub) serveSocket(rw http.ResponseWriter, r *http.Request) {
	w := h.w
	w.mu.Lock()
	t, ok := h.tickets[r.URL.Query().Get("ticket")]
	delete(h.tickets, r.URL.Query().Get("ticket"))
	closed := isClosed(w.done)
	if ok && !closed {
		w.wg.Add(1)
	}
	w.mu.Unlock()
	if closed {
		http.Error(rw, "workspace closed", http.StatusServiceUnavailable)
		return
	}
	if !ok {
		http.Error(rw, "invalid or used ticket", http.StatusUnauthorized)
		return
	}
	defer w.wg.Done()
	ws, err := h.upgrader.Upgrade(rw, r, nil)
	if err != nil {
		return
	}
	ws.SetReadLimit(maxFrameBytes - 1)
	c := &conn{ws: ws, openedAt: w.cfg.Now(), stop: make(chan struct{})}
	ws.SetPongHandler(func(string) error {
		w.mu.Lock()
		c.pongs++
		w.notify(Change{Kind: ChangeConnection})
		w.mu.Unlock()
		return nil
	})
	ws.SetPingHandler(func(data string) error {
		w.mu.Lock()
		c.clientPings++
		w.notify(Change{Kind: ChangeConnection})
		w.mu.Unlock()
		err := ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(writeWait))
		if errors.Is(err, websocket.ErrCloseSent) {
			return nil
		}
		return err
	})

	lifetime := w.cfg.DebugReconnectAfter
	if !t.debugReconnects {
		lifetime = 5 * time.Hour // Slack's routine refresh comes every few hours
	}
	// The connection becomes a target for envelopes and gets its hello under one lock, so no
	// envelope can overtake the hello: clients wait for it before they count as started.
	w.mu.Lock()
	h.connSeq++
	c.id = h.connSeq
	h.conns = append(h.conns, c)
	hello := map[string]any{
		"type":            "hello",
		"num_connections": len(h.conns),
		"connection_info": map[string]any{"app_id": w.cfg.AppID},
		"debug_info": map[string]any{
			"host":                        "fakeslack",
			"build_number":                1,
			"approximate_connection_time": int(lifetime.Seconds()),
		},
	}
	err = c.writeJSON(hello)
	w.notify(Change{Kind: ChangeConnection})
	w.mu.Unlock()
	if err != nil {
		h.drop(c)
		return
	}
	h.flushQueued(c)

	var loops sync.WaitGroup
	loops.Go(func() { h.pingLoop(c) })
	if t.debugReconnects {
		loops.Go(func() {
			select {
			case <-time.After(lifetime):
				_ = c.writeJSON(map[string]any{"type": "disconnect", "reason": "refresh_requested", "debug_info": map[string]any{"host": "fakeslack"}})
			case <-c.stop:
			}
		})
	}
	h.readLoop(c)
	h.drop(c)
	loops.Wait()
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func (h *socketHub) pingLoop(c *conn) {
	t := time.NewTicker(h.w.cfg.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			if err := c.ws.WriteControl(websocket.PingMessage, []byte("fakeslack"), time.Now().Add(writeWait)); err != nil {
				c.ws.Close()
				return
			}
			h.w.mu.Lock()
			c.pings++
			h.w.mu.Unlock()
		}
	}
}

func (h *socketHub) readLoop(c *conn) {
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			// A frame over the limit has already been answered with close code 1009 by the
			// websocket library.
			return
		}
		var ack struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if err := json.Unmarshal(data, &ack); err != nil || ack.EnvelopeID == "" {
			h.w.cfg.Log.Warn("fakeslack: unreadable frame from client", "conn", c.id, "frame", string(data))
			continue
		}
		h.acknowledge(c, ack.EnvelopeID, ack.Payload)
	}
}

// drop forgets a connection and closes it.
func (h *socketHub) drop(c *conn) {
	c.halt()
	_ = c.ws.Close()
	h.w.mu.Lock()
	defer h.w.mu.Unlock()
	if i := slices.Index(h.conns, c); i >= 0 {
		h.conns = slices.Delete(h.conns, i, i+1)
		h.w.notify(Change{Kind: ChangeConnection})
	}
}

func (h *socketHub) closeAll() {
	h.w.mu.Lock()
	conns := slices.Clone(h.conns)
	for _, e := range h.envs {
		if e.timer != nil {
			e.timer.Stop()
		}
	}
	h.w.mu.Unlock()
	for _, c := range conns {
		c.halt()
		_ = c.ws.NetConn().Close()
	}
}

func (h *socketHub) acknowledge(c *conn, id string, payload json.RawMessage) {
	w := h.w
	w.mu.Lock()
	defer w.mu.Unlock()
	e, ok := h.envs[id]
	if !ok {
		w.cfg.Log.Warn("fakeslack: ack for unknown envelope", "envelope_id", id)
		return
	}
	if e.Acked {
		return // a late ack of a redelivered envelope: Slack keeps the first
	}
	now := w.cfg.Now()
	e.Acked = true
	last := e.Deliveries[len(e.Deliveries)-1]
	for _, d := range slices.Backward(e.Deliveries) {
		if d.Conn == c.id {
			last = d
			break
		}
	}
	if len(payload) == 0 || string(payload) == "null" {
		payload = nil
	}
	e.Ack = Ack{EnvelopeID: id, Payload: payload, At: now, Latency: now.Sub(last.At), RetryAttempt: last.RetryAttempt, Conn: c.id}
	if e.timer != nil {
		e.timer.Stop()
	}
	if e.onAck != nil {
		e.result = e.onAck(payload)
	}
	w.notify(Change{Kind: ChangeEnvelope, Envelope: id})
}

// sendLocked records a new envelope and delivers it to a random connection, or queues it for
// the next connection when none is open.
func (h *socketHub) sendLocked(typ string, payload any, acceptsResponse bool, onAck func(json.RawMessage) any) (string, error) {
	raw, err := json.Marshal(payload)
	if err != nil {
		return "", fmt.Errorf("encode %s payload: %w", typ, err)
	}
	e := &envelope{
		Envelope: Envelope{ID: randomToken(12), Type: typ, Payload: raw, AcceptsResponsePayload: acceptsResponse},
		onAck:    onAck,
	}
	h.envs[e.ID] = e
	h.envOrder = append(h.envOrder, e)
	h.deliverLocked(e, "", nil)
	h.w.notify(Change{Kind: ChangeEnvelope, Envelope: e.ID})
	return e.ID, nil
}

// deliverLocked sends the envelope with its current attempt to target (or a random connection
// when nil) and arms redelivery.
func (h *socketHub) deliverLocked(e *envelope, reason string, target *conn) {
	w := h.w
	if target == nil {
		if len(h.conns) == 0 {
			e.queued = true
			return
		}
		target = h.conns[w.cfg.Rand.IntN(len(h.conns))]
	}
	e.queued = false
	wire := wireEnvelope{EnvelopeID: e.ID, Type: e.Type, Payload: e.Payload, AcceptsResponsePayload: e.AcceptsResponsePayload, RetryAttempt: e.attempt, RetryReason: reason}
	e.Deliveries = append(e.Deliveries, Delivery{Conn: target.id, RetryAttempt: e.attempt, RetryReason: reason, At: w.cfg.Now()})
	// Write outside the lock would reorder envelopes; the write deadline bounds the wait.
	if err := target.writeJSON(wire); err != nil {
		w.cfg.Log.Warn("fakeslack: envelope write failed", "conn", target.id, "err", err)
	}
	h.armRedeliveryLocked(e)
}

func (h *socketHub) armRedeliveryLocked(e *envelope) {
	w := h.w
	if w.cfg.DisableRedelivery || e.attempt >= w.cfg.MaxRetries {
		return
	}
	if e.timer != nil {
		e.timer.Stop()
	}
	e.timer = time.AfterFunc(w.cfg.RedeliveryDelay, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if e.Acked || isClosed(w.done) {
			return
		}
		e.attempt++
		h.deliverLocked(e, "timeout", nil)
		w.notify(Change{Kind: ChangeEnvelope, Envelope: e.ID})
	})
}

// flushQueued sends, on a fresh connection, what arrived while no socket was open.
func (h *socketHub) flushQueued(c *conn) {
	h.w.mu.Lock()
	defer h.w.mu.Unlock()
	for _, e := range h.envOrder {
		if e.queued && !e.Acked {
			h.deliverLocked(e, "", c)
		}
	}
}

// SendEnvelope delivers an arbitrary envelope (type "events_api", "interactive",
// "slash_commands") to one connection and returns its ID; the ack is not applied to the
// workspace. Use WaitAck to see it.
func (w *Workspace) SendEnvelope(typ string, payload any, acceptsResponsePayload bool) (string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.sock.sendLocked(typ, payload, acceptsResponsePayload, nil)
}

// Redeliver sends an envelope again at once, as Slack's at-least-once delivery does: with
// retry_attempt one higher and the given retry_reason, to a random connection.
func (w *Workspace) Redeliver(envelopeID, reason string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	e, ok := w.sock.envs[envelopeID]
	if !ok {
		return fmt.Errorf("redeliver %s: no such envelope", envelopeID)
	}
	e.attempt++
	w.sock.deliverLocked(e, reason, nil)
	return nil
}

// DeliverOnEveryConnection sends an envelope again, unchanged, on every open connection — the
// same payload reaching two replicas.
func (w *Workspace) DeliverOnEveryConnection(envelopeID string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	e, ok := w.sock.envs[envelopeID]
	if !ok {
		return fmt.Errorf("deliver %s: no such envelope", envelopeID)
	}
	if len(w.sock.conns) == 0 {
		return fmt.Errorf("deliver %s: no connection open", envelopeID)
	}
	for _, c := range w.sock.conns {
		w.sock.deliverLocked(e, "", c)
	}
	return nil
}

// WaitAck waits until the envelope is acked and returns the ack.
func (w *Workspace) WaitAck(ctx context.Context, envelopeID string) (Ack, error) {
	var ack Ack
	err := w.waitFor(ctx, "ack of "+envelopeID, func() bool {
		e, ok := w.sock.envs[envelopeID]
		if ok && e.Acked {
			ack = e.Ack
			return true
		}
		return false
	})
	return ack, err
}

// waitResult waits for the ack and returns what the envelope's onAck made of it.
func (w *Workspace) waitResult(ctx context.Context, envelopeID string) (Ack, any, error) {
	ack, err := w.WaitAck(ctx, envelopeID)
	if err != nil {
		return Ack{}, nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return ack, w.sock.envs[envelopeID].result, nil
}

// Envelopes returns every envelope sent so far with its deliveries and ack, oldest first.
func (w *Workspace) Envelopes() []Envelope {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]Envelope, 0, len(w.sock.envOrder))
	for _, e := range w.sock.envOrder {
		c := e.Envelope
		c.Deliveries = slices.Clone(e.Deliveries)
		out = append(out, c)
	}
	return out
}

// WaitDelivery waits until an envelope has been delivered with retry_attempt at least attempt.
func (w *Workspace) WaitDelivery(ctx context.Context, envelopeID string, attempt int) (Delivery, error) {
	var d Delivery
	err := w.waitFor(ctx, fmt.Sprintf("delivery %d of %s", attempt, envelopeID), func() bool {
		e, ok := w.sock.envs[envelopeID]
		if !ok {
			return false
		}
		for _, del := range e.Deliveries {
			if del.RetryAttempt >= attempt {
				d = del
				return true
			}
		}
		return false
	})
	return d, err
}

// Connection describes one open Socket Mode connection.
type Connection struct {
	ID       int       `json:"id"`
	OpenedAt time.Time `json:"opened_at"`
	// Pings counts the server's pings, Pongs the client's answers, ClientPings the client's own.
	Pings, Pongs, ClientPings int
}

// Connections returns the open Socket Mode connections.
func (w *Workspace) Connections() []Connection {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []Connection
	for _, c := range w.sock.conns {
		out = append(out, Connection{ID: c.id, OpenedAt: c.openedAt, Pings: c.pings, Pongs: c.pongs, ClientPings: c.clientPings})
	}
	return out
}

// WaitConnections waits until the open connections satisfy match, and returns them.
func (w *Workspace) WaitConnections(ctx context.Context, match func([]Connection) bool) ([]Connection, error) {
	var out []Connection
	err := w.waitFor(ctx, "connections", func() bool {
		out = out[:0]
		for _, c := range w.sock.conns {
			out = append(out, Connection{ID: c.id, OpenedAt: c.openedAt, Pings: c.pings, Pongs: c.pongs, ClientPings: c.clientPings})
		}
		return match(out)
	})
	return out, err
}

// Disconnect sends {"type":"disconnect","reason":reason} on every open connection
// ("warning", "refresh_requested", "link_disabled"); the client is expected to reconnect.
func (w *Workspace) Disconnect(reason string) {
	w.mu.Lock()
	conns := slices.Clone(w.sock.conns)
	w.mu.Unlock()
	for _, c := range conns {
		_ = c.writeJSON(map[string]any{"type": "disconnect", "reason": reason, "debug_info": map[string]any{"host": "fakeslack"}})
	}
}

// CutConnections drops every socket abruptly, without a close frame, as a network failure does.
func (w *Workspace) CutConnections() {
	w.mu.Lock()
	conns := slices.Clone(w.sock.conns)
	w.mu.Unlock()
	for _, c := range conns {
		_ = c.ws.NetConn().Close()
	}
}
