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
