package app

import (
	"context"
	"maps"
	"net/http"
	"sync"
	"testing"
	"time"
)

// silentSocketBound is how soon a socket that went silent must be replaced: Slack pings every
// 10 s, so two missed pings and a reconnect fit well inside it.
const silentSocketBound = 30 * time.Second

// serveHealthOnAnyPort makes the bot serve /readyz on a free port, and returns a function that
// gives its base URL once the bot has started.
func (w *world) serveHealthOnAnyPort() func() string {
	w.cfg.ListenAddr = "127.0.0.1:0"
	addr := make(chan string, 1)
	w.onListen = func(a string) { addr <- a }
	return func() string { return "http://" + <-addr }
}

// readyzWatch polls /readyz until stopped and counts the statuses it answered.
type readyzWatch struct {
	mu    sync.Mutex
	codes map[int]int
	stop  func()
}

func watchReadyz(base string) *readyzWatch {
	ctx, cancel := context.WithCancel(context.Background())
	r := &readyzWatch{codes: map[int]int{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
				r.mu.Lock()
				r.codes[resp.StatusCode]++
				r.mu.Unlock()
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	r.stop = func() { cancel(); <-done }
	return r
}

func (r *readyzWatch) answers() map[int]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.codes)
}

func TestASilentSocketIsReplacedAndWhatItSwallowedIsActedOnOnce(t *testing.T) {
	w := newWorld(t)
	base := w.serveHealthOnAnyPort()
	w.start()
	health := base()
	waitFor(t, "/readyz to say ready", func() bool { code, _ := get(t, health+"/readyz"); return code == http.StatusOK })
	_, s := w.personWithOneAccess("GitHub")
	m := w.requestState(s, "Left the company")

	seen := w.lastConnection()
	readyz := watchReadyz(health)
	t.Cleanup(readyz.stop)
	silenced := time.Now()
	if ids := w.slack.BlackholeConnections(); len(ids) != 1 {
		t.Fatalf("silenced connections %v, want the bot's one", ids)
	}
	// Slack delivers the click to the dead socket, and redelivers it once a new one is open.
	clicked := make(chan error, 1)
	go func() {
		_, err := w.slack.ClickButton(w.ctx(), w.approver, w.channel, m.TS, "Approve")
		clicked <- err
	}()
	w.waitConnected(seen, "a new socket")
	replacedAfter := time.Since(silenced)
	whileSilent := readyz.answers()
	t.Logf("the silent socket was replaced %s after it went silent", replacedAfter.Round(10*time.Millisecond))
	if replacedAfter > silentSocketBound {
		t.Errorf("the silent socket was replaced after %s, want within %s", replacedAfter, silentSocketBound)
	}
	if whileSilent[http.StatusServiceUnavailable] == 0 {
		t.Errorf("/readyz never said not ready while the socket was silent (answers by status: %v)", whileSilent)
	}
	if err := <-clicked; err != nil {
		t.Fatalf("the click sent while the socket was silent was never acked: %v\n%s", err, w.logs)
	}
	w.reply(m, "revoked")
	if n := len(w.posts()); n != 1 {
		t.Errorf("%d revocation POSTs for one click, want 1", n)
	}
	if n := w.owl.Stats().RevocationsCreated; n != 1 {
		t.Errorf("%d revocations created, want 1", n)
	}
	waitFor(t, "/readyz to say ready again", func() bool { code, _ := get(t, health+"/readyz"); return code == http.StatusOK })
	for _, e := range w.slack.Envelopes() {
		if e.Type != "interactive" {
			continue
		}
		conns := map[int]bool{}
		for _, d := range e.Deliveries {
			conns[d.Conn] = true
		}
		if len(conns) < 2 {
			t.Errorf("the click was delivered on connections %v; it should reach the silent one, then a new one", conns)
		}
	}
}
