package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"time"

	"revokebot/apiclient"
	"revokebot/bot"
	"revokebot/interactions"
	"revokebot/store"
	"revokebot/store/postgres"
	"revokebot/store/sqlite"
)

// backend is the store the bot runs on and, with DATABASE_URL, what its replicas share besides:
// the background lease, clicks and the AccessOwl budget.
type backend struct {
	store.Store
	size func() (int64, error)
	// db is the shared database; nil on the embedded store, where this process is the only one.
	db      *postgres.Store
	replica string  // this process's name among the replicas, in claims and metrics
	leader  *leader // nil on the embedded store
}

// openStore opens the store cfg names: PostgreSQL with DATABASE_URL, else SQLite in DATA_DIR.
func openStore(ctx context.Context, cfg Config, log *slog.Logger, onQuery func(string)) (*backend, error) {
	replica := replicaName()
	if cfg.DatabaseURL == "" {
		st, err := sqlite.Open(ctx, cfg.DataDir)
		if err != nil {
			return nil, err
		}
		return &backend{Store: st, size: st.Size, replica: replica}, nil
	}
	var opts []postgres.Option
	if onQuery != nil {
		opts = append(opts, postgres.OnQuery(onQuery))
	}
	db, err := postgres.Open(ctx, cfg.DatabaseURL, opts...)
	if err != nil {
		return nil, err
	}
	log.Info("store: PostgreSQL, shared with the other replicas", "database", postgres.Redact(cfg.DatabaseURL), "replica", replica)
	b := &backend{Store: db, size: db.Size, db: db, replica: replica}
	b.leader = newLeader(db, replica, log.With("component", "lease"))
	return b, nil
}

// Size returns the bytes the store takes.
func (b *backend) Size() (int64, error) { return b.size() }

// budgetOptions are the AccessOwl client's options for the budget: one hour for all replicas
// in the shared database, or the client's own.
func (b *backend) budgetOptions(perHour int) ([]apiclient.Option, error) {
	if b.db == nil {
		return nil, nil
	}
	budget, err := b.db.Budget(perHour, apiclient.DefaultReserve(perHour), nil)
	if err != nil {
		return nil, fmt.Errorf("ACCESSOWL_RATE_LIMIT: %w", err)
	}
	return []apiclient.Option{apiclient.WithBudget(budget)}, nil
}

// clicks is where clicks are remembered across replicas; nil for one replica.
func (b *backend) clicks() interactions.ClickLog {
	if b.db == nil {
		return nil
	}
	return b.db
}

// alive is revoke's Alive: nil for one replica, where any other claimer has stopped.
func (b *backend) alive() func(string) bool {
	if b.leader == nil {
		return nil
	}
	return b.leader.alive
}

// leads reports whether this replica runs the background work.
func (b *backend) leads() bool { return b.leader == nil || b.leader.leads.Load() }

// runBackground runs the lifecycle's background loops until ctx ends: at once on the embedded
// store, and while this replica holds the lease on a shared one.
func (b *backend) runBackground(ctx context.Context, lc lifecycleRunner) error {
	if b.leader == nil {
		return lc.Run(ctx)
	}
	return b.leader.run(ctx, lc)
}

// slackPostInterval is Slack's pace for chat.postMessage in one channel, about one a second.
const slackPostInterval = time.Second

// sharePacing makes out pace its posts per channel with the other replicas. A database that
// cannot answer lets the post go: Slack's 429, which out waits out, paces it then.
func (b *backend) sharePacing(out *bot.Output, log *slog.Logger) {
	if b.db == nil {
		return
	}
	out.SharePacing(func(ctx context.Context, channel string) error {
		wait, err := b.db.PacePost(ctx, channel, slackPostInterval)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			log.Warn("could not take a turn to post from the shared pacing; posting anyway", "channel", channel, "error", err)
			return nil
		}
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			return nil
		}
	})
}

// replicaName names this process among the replicas: the host name (a pod's name) and a random
// suffix, since a restarted pod keeps its name while its claims belong to the process that died.
func replicaName() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "revokebot"
	}
	var b [4]byte
	rand.Read(b[:])
	return host + "-" + hex.EncodeToString(b[:])
}

// checkStore checks the store cfg names: the database at DATABASE_URL, else DATA_DIR.
func checkStore(ctx context.Context, cfg Config) CheckResult {
	if cfg.DatabaseURL == "" {
		return checkDataDir(ctx, cfg.DataDir)
	}
	const setting = "DATABASE_URL"
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	r, err := postgres.CheckDatabase(ctx, cfg.DatabaseURL)
	switch {
	case err != nil:
		return failed(setting, err.Error())
	case r.Version == 0:
		return passed(setting, fmt.Sprintf("%s is reachable and writable; the schema is created at the first start", postgres.Redact(cfg.DatabaseURL)))
	default:
		return passed(setting, fmt.Sprintf("%s is reachable and writable, schema version %d of %d", postgres.Redact(cfg.DatabaseURL), r.Version, postgres.SchemaVersion()))
	}
}
