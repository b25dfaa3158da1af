package app

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"revokebot/store/postgres"
)

const (
	// leaseName names the lease of the background work in the shared database.
	leaseName = "background"
	// leaseTTL is how long a lease outlives its holder's last beat, and beatInterval how often
	// every replica beats: a leader that dies is replaced within leaseTTL + beatInterval, 12 s,
	// inside the 15 s the design promises, while a leader whose database answers slowly for a
	// few beats keeps the lease.
	leaseTTL     = 10 * time.Second
	beatInterval = 2 * time.Second
	// leaseMargin is how long before its lease could have expired a leader that cannot renew it
	// stops its background work, so that two replicas never run it at once.
	leaseMargin = 2 * time.Second
	// releaseTimeout bounds giving the lease up at shutdown.
	releaseTimeout = 2 * time.Second
)

// lifecycleRunner is what the leader runs: revoke.Service's background loops.
type lifecycleRunner interface {
	Run(ctx context.Context) error
	Kick()
}

// leader runs the lifecycle's background loops on whichever replica holds the lease, and keeps
// this replica's heartbeat, from which every replica learns which others are alive.
type leader struct {
	db      *postgres.Store
	replica string
	log     *slog.Logger
	leads   atomic.Bool

	mu   sync.Mutex
	gone map[string]bool // replicas whose heartbeat stopped, as of the last beat
}

func newLeader(db *postgres.Store, replica string, log *slog.Logger) *leader {
	return &leader{db: db, replica: replica, log: log, gone: map[string]bool{}}
}

// alive reports whether a replica may still be posting a reply it claimed: only one whose
// heartbeat stopped is known not to be, and a replica not known yet (it started since the last
// beat) may well be.
func (l *leader) alive(replica string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return !l.gone[replica]
}

// run beats until ctx ends, runs lc's loops while this replica holds the lease, and gives the
// lease up when it stops, so that another replica takes over at its next beat.
func (l *leader) run(ctx context.Context, lc lifecycleRunner) error {
	var (
		stop      context.CancelFunc
		done      chan error
		heldUntil time.Time
	)
	halt := func(why string) {
		if stop == nil {
			return
		}
		stop()
		if err := <-done; err != nil {
			l.log.Error("background work stopped with an error", "error", err)
		}
		stop, done = nil, nil
		l.leads.Store(false)
		l.log.Info("stopped the background work", "replica", l.replica, "why", why)
	}
	defer func() {
		halt("shutting down")
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
		defer cancel()
		if err := l.db.Release(rctx, leaseName, l.replica); err != nil {
			l.log.Warn("could not give the lease up; another replica takes it when it expires", "error", err)
		}
	}()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-done:
			// The loops end only with ctx, so this is a failure: let the owner see it.
			return err
		case <-timer.C:
		}
		start := time.Now()
		bctx, cancel := context.WithTimeout(ctx, beatInterval)
		beat, err := l.db.Heartbeat(bctx, leaseName, l.replica, leaseTTL)
		cancel()
		if err != nil {
			l.log.Warn("heartbeat failed", "error", err)
			if stop != nil && time.Now().After(heldUntil) {
				halt("the lease could not be renewed in time")
			}
			timer.Reset(beatInterval)
			continue
		}
		l.remember(beat)
		switch {
		case beat.Leader && stop == nil:
			stop, done = startBackground(ctx, lc)
			l.leads.Store(true)
			l.log.Info("took the lease: running the background work", "replica", l.replica)
		case beat.Leader:
			// Another replica may have started tracking a revocation since the last beat.
			lc.Kick()
		case stop != nil:
			halt("replica " + beat.Holder + " holds the lease")
		}
		if beat.Leader {
			heldUntil = start.Add(leaseTTL - leaseMargin)
		}
		timer.Reset(beatInterval)
	}
}

// startBackground runs lc's loops until the returned function is called; their error comes on the
// channel, which the caller must receive from.
func startBackground(ctx context.Context, lc lifecycleRunner) (context.CancelFunc, chan error) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- lc.Run(ctx) }()
	return cancel, done
}

func (l *leader) remember(b postgres.Beat) {
	l.mu.Lock()
	defer l.mu.Unlock()
	clear(l.gone)
	for _, id := range b.Gone {
		l.gone[id] = true
	}
}
