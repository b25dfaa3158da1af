package bot

import (
	"context"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// What the session knows about Slack's side of the socket, and the bounds it keeps to.
const (
	// slackPingInterval is how often Slack pings a Socket Mode connection (its WebSocket PING
	// frames, observed every 10 s), so an idle socket that works carries a frame at least that
	// often.
	slackPingInterval = 10 * time.Second
	// DefaultStaleAfter is how long a socket may carry nothing before readiness says it is not
	// connected: one ping late by half an interval.
	DefaultStaleAfter = slackPingInterval * 3 / 2
	// DefaultReplaceAfter is how long a socket may carry nothing before the session gives it up
	// and opens another: two pings missed, as Teleport's Slack plugin does (it drops a
	// connection after 20 s without a pong). With Slack's ping every 10 s a silent socket is
	// replaced within about 21 s of its last frame.
	DefaultReplaceAfter = 2 * slackPingInterval
	// watchInterval is how often the session looks at the socket's silence: the granularity
	// of the two bounds above.
	watchInterval = time.Second
	// socketDialTimeout bounds opening the WebSocket (TCP, TLS, proxy and upgrade), so a dial
	// into a dead network fails and slack-go tries again instead of waiting 45 s.
	socketDialTimeout = 10 * time.Second
	// socketWriteBuffer keeps every frame the bot sends in one WebSocket frame, as slack-go's
	// own dialer does: Slack does not reassemble continuation frames, and acks stay below
	// 20 KB.
	socketWriteBuffer = 32 * 1024
)

// socketWatch sees every byte Slack sends on the socket. slack-go answers Slack's pings itself
// and tells nobody, so the only way to know that a quiet socket is still alive is below it: the
// session dials the WebSocket through socketWatch, which notes the time of every read from the
// network, and can close the connection when the session gives it up.
type socketWatch struct {
	lastHeard atomic.Int64 // unix nanoseconds of the last bytes from Slack

	mu    sync.Mutex
	conns map[*watchedConn]struct{}
}

func newSocketWatch() *socketWatch {
	return &socketWatch{conns: make(map[*watchedConn]struct{})}
}

// dialer is the WebSocket dialer slack-go uses for Socket Mode: slack-go's own defaults (a
// proxy from the environment, a write buffer that keeps frames whole), with a shorter
// handshake, and every connection watched.
func (w *socketWatch) dialer() *websocket.Dialer {
	return &websocket.Dialer{
		Proxy:            http.ProxyFromEnvironment,
		HandshakeTimeout: socketDialTimeout,
		WriteBufferSize:  socketWriteBuffer,
		NetDialContext:   w.dial,
	}
}

func (w *socketWatch) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	wc := &watchedConn{Conn: c, watch: w}
	w.mu.Lock()
	w.conns[wc] = struct{}{}
	w.mu.Unlock()
	return wc, nil
}

// heard notes that something came from Slack at now.
func (w *socketWatch) heard(now time.Time) { w.lastHeard.Store(now.UnixNano()) }

// silence is how long Slack has sent nothing, as of now.
func (w *socketWatch) silence(now time.Time) time.Duration {
	return now.Sub(time.Unix(0, w.lastHeard.Load()))
}

// closeAll closes every watched connection, which ends slack-go's read of it.
func (w *socketWatch) closeAll() {
	w.mu.Lock()
	conns := make([]*watchedConn, 0, len(w.conns))
	for c := range w.conns {
		conns = append(conns, c)
	}
	w.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

// watchedConn is a network connection whose reads the socketWatch sees.
type watchedConn struct {
	net.Conn
	watch *socketWatch
}

func (c *watchedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.watch.heard(time.Now())
	}
	return n, err
}

func (c *watchedConn) Close() error {
	c.watch.mu.Lock()
	delete(c.watch.conns, c)
	c.watch.mu.Unlock()
	return c.Conn.Close()
}
