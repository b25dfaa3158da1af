package app

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"revokebot/store/postgres"
	"revokebot/store/postgres/pgtest"
)

// runner is a lifecycle that records when it runs.
type runner struct {
	name string
	log  *runLog
}

// runLog records which runners ran when, to find two running at once.
type runLog struct {
	mu      sync.Mutex
	running map[string]bool
	overlap bool
	starts  []string
}

func (r runner) Run(ctx context.Context) error {
	r.log.mu.Lock()
	for other, on := range r.log.running {
		if on && other != r.name {
			r.log.overlap = true
		}
	}
	r.log.running[r.name] = true
	r.log.starts = append(r.log.starts, r.name)
	r.log.mu.Unlock()
	<-ctx.Done()
	r.log.mu.Lock()
	r.log.running[r.name] = false
	r.log.mu.Unlock()
	return nil
}

func (runner) Kick() {}

func (l *runLog) leader() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	for name, on := range l.running {
		if on {
			return name
		}
	}
	return ""
}

// TestTheLeaseMovesWithoutTwoLeaders runs two replicas' leaders on one database: one leads; when
// its database goes away it stops before its lease could expire, and the other takes over; the
// background work never runs on both at once.
func TestTheLeaseMovesWithoutTwoLeaders(t *testing.T) {
	url := pgtest.NewDatabase(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	rl := &runLog{running: map[string]bool{}}
	stores := map[string]*postgres.Store{}
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(t.Context())
	defer func() { cancel(); wg.Wait() }()
	for _, name := range []string{"a", "b"} {
		s, err := postgres.Open(t.Context(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		stores[name] = s
		l := newLeader(s, name, log)
		wg.Go(func() {
			if err := l.run(ctx, runner{name, rl}); err != nil {
				t.Errorf("leader %s: %v", name, err)
			}
		})
	}
	waitFor(t, "a leader", func() bool { return rl.leader() != "" })
	first := rl.leader()
	other := map[string]string{"a": "b", "b": "a"}[first]
	// The leader's database goes away: its beats fail, and it must stop leading on its own.
	lost := time.Now()
	stores[first].Close()
	waitFor(t, "the other replica to lead", func() bool { return rl.leader() == other })
	t.Logf("replica %s lost its database; %s led %s later", first, other, time.Since(lost).Round(10*time.Millisecond))
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if rl.overlap {
		t.Errorf("two replicas ran the background work at once; starts: %v", rl.starts)
	}
}
