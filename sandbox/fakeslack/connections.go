package fakeslack

import (
	"context"
	"slices"
	"time"
)

// Connection describes one open Socket Mode connection.
type Connection struct {
	ID       int       `json:"id"`
	OpenedAt time.Time `json:"opened_at"`
	// Pings counts the server's pings, Pongs the client's answers, ClientPings the client's own.
	Pings, Pongs, ClientPings int
	// Blackholed says the connection carries nothing any more (BlackholeConnections).
	Blackholed bool `json:"blackholed"`
}

func (c *conn) describe() Connection {
	return Connection{ID: c.id, OpenedAt: c.openedAt, Pings: c.pings, Pongs: c.pongs, ClientPings: c.clientPings, Blackholed: c.blackholed.Load()}
}

// Connections returns the open Socket Mode connections.
func (w *Workspace) Connections() []Connection {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []Connection
	for _, c := range w.sock.conns {
		out = append(out, c.describe())
	}
	return out
}

// WaitConnections waits until the open connections satisfy match, and returns them.
func (w *Workspace) WaitConnections(ctx context.Context, match func([]Connection) bool) ([]Connection, error) {
	var out []Connection
	err := w.waitFor(ctx, "connections", func() bool {
		out = out[:0]
		for _, c := range w.sock.conns {
			out = append(out, c.describe())
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

// BlackholeConnections makes every open socket go silent without closing, as a NAT or proxy
// that drops a flow does: from then on the fake writes nothing to it (no envelopes, no pings,
// no disconnect) and nothing the client sends arrives (acks, pongs and pings are lost, and its
// pings go unanswered). Slack does not know either: envelopes may still be delivered to such a
// socket, and are lost; Slack redelivers them as usual, and what is still unacked goes again,
// as a retry, to the next connection that opens. The socket is forgotten once the client closes
// it. It returns the IDs of the connections silenced.
func (w *Workspace) BlackholeConnections() []int {
	w.mu.Lock()
	defer w.mu.Unlock()
	var ids []int
	for _, c := range w.sock.conns {
		c.blackholed.Store(true)
		ids = append(ids, c.id)
	}
	w.notify(Change{Kind: ChangeConnection})
	return ids
}
