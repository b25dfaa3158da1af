package fakeslack

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
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
	// blackholed: the path to the client carries nothing any more in either direction, though
	// neither end closed it (see BlackholeConnections).
	blackholed atomic.Bool
	stop       chan struct{}
	stopOnce   sync.Once
}

// writeJSON sends one frame. On a blackholed connection the frame is lost on the way and the
// write still succeeds, as it does into a dead TCP path until its buffers fill.
func (c *conn) writeJSON(v any) error {
	if c.blackholed.Load() {
		return nil
	}
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
	// lost: the last delivery went to a blackholed connection, so the next connection to open
	// gets it again as a retry, as Slack redelivers what a dead socket swallowed.
	lost  bool
	timer *time.Timer
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
		if c.blackholed.Load() {
			return nil
		}
		w.mu.Lock()
		c.pongs++
		w.notify(Change{Kind: ChangeConnection})
		w.mu.Unlock()
		return nil
	})
	ws.SetPingHandler(func(data string) error {
		if c.blackholed.Load() {
			return nil // the ping never arrived, so nothing answers it
		}
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
			if c.blackholed.Load() {
				continue
			}
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
		if c.blackholed.Load() {
			// Lost on the way. The loop goes on reading only so that the fake notices when the
			// client finally closes its end, and forgets the connection.
			continue
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
