// Command revokebot lets a team revoke people's SaaS access from Slack through AccessOwl.
//
// main only reads configuration and wires packages together; everything a test would want to
// reach lives in the packages beneath it, the wiring itself in app.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"revokebot/app"
	"revokebot/sandbox"
)

// version is stamped at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `revokebot — revoke SaaS access from Slack through AccessOwl

Usage:
  revokebot [run]      run the bot, configured by the environment variables below
  revokebot check      check the configuration against Slack and AccessOwl, changing nothing
  revokebot backup FILE
                       copy the store under DATA_DIR to FILE, which must not exist (- for
                       stdout); safe while the bot runs
  revokebot audit-export [--since RFC3339] [--until RFC3339]
                       write the audit trail under DATA_DIR to stdout, one JSON object a
                       line, oldest first (since included, until not); safe while the bot runs
  revokebot migrate-store [--force]
                       copy the store under DATA_DIR into the PostgreSQL database at
                       DATABASE_URL, to move from one replica to several; stop the bot
                       first. An empty database only, unless --force: then only what it lacks
  revokebot sandbox [--listen 127.0.0.1:8080]
                       run the bot against a fake Slack and a fake AccessOwl, with a web page
  revokebot version    print the version
  revokebot help       print this help

Environment:
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches a subcommand and returns the process exit code: 0 on success, 1 when the bot
// fails while running, 2 on a usage or configuration error.
func run(args []string, stdout, stderr io.Writer) int {
	cmd := "run"
	if len(args) > 0 {
		cmd = args[0]
	}
	switch cmd {
	case "run":
		return runBot(stderr)
	case "check":
		return checkConfig(stdout, stderr)
	case "backup":
		return backupStore(args[1:], stdout, stderr)
	case "audit-export":
		return exportAudit(args[1:], stdout, stderr)
	case "migrate-store":
		return migrateStore(args[1:], stdout, stderr)
	case "sandbox":
		return runSandbox(args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintf(stdout, "revokebot %s\n", version)
		return 0
	case "help", "-h", "--help":
		printUsage(stdout)
		return 0
	default:
		fmt.Fprintf(stderr, "revokebot: unknown command %q\n\n", cmd)
		printUsage(stderr)
		return 2
	}
}

func printUsage(w io.Writer) {
	fmt.Fprint(w, usage)
	if err := app.PrintUsage(w); err != nil {
		fmt.Fprintf(w, "(cannot list the variables: %v)\n", err)
	}
}

// checkConfig runs revokebot check: 0 when all is well, 1 when a check fails, 2 when the
// configuration cannot even be read.
func checkConfig(stdout, stderr io.Writer) int {
	cfg, err := app.LoadConfig()
	if cfgErr, ok := errors.AsType[*app.ConfigError](err); ok {
		app.PrintConfigError(stdout, cfgErr)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "revokebot: configuration: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if !app.PrintCheck(stdout, app.Check(ctx, cfg, version)) {
		return 1
	}
	return 0
}

// storeCommand prepares a subcommand that reads the store under DATA_DIR, which it may do while
// the bot runs: DATA_DIR from the environment, and a context that SIGTERM or Ctrl-C ends. It
// reports a configuration error itself and returns false.
func storeCommand(stderr io.Writer) (ctx context.Context, dataDir string, stop context.CancelFunc, ok bool) {
	dataDir, err := app.LoadDataDir()
	if err != nil {
		fmt.Fprintf(stderr, "revokebot: configuration: %v\n", err)
		return nil, "", nil, false
	}
	ctx, stop = signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	return ctx, dataDir, stop, true
}

// backupStore runs revokebot backup FILE: 0 when the copy is written, 1 when it fails, 2 on a
// usage or configuration error.
func backupStore(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 || args[0] == "" {
		fmt.Fprintln(stderr, "usage: revokebot backup FILE   (FILE must not exist; - writes to stdout)")
		return 2
	}
	ctx, dataDir, stop, ok := storeCommand(stderr)
	if !ok {
		return 2
	}
	defer stop()
	if err := app.Backup(ctx, dataDir, args[0], stdout); err != nil {
		fmt.Fprintf(stderr, "revokebot backup: %v\n", err)
		return 1
	}
	if args[0] != app.BackupToStdout {
		fmt.Fprintf(stderr, "revokebot backup: the store in %s is copied to %s\n", dataDir, args[0])
	}
	return 0
}

// migrateStore runs revokebot migrate-store: 0 when the store is copied, 1 when copying fails or
// the database is not empty, 2 on a usage or configuration error.
func migrateStore(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("revokebot migrate-store", flag.ContinueOnError)
	fs.SetOutput(stderr)
	force := fs.Bool("force", false, "copy into a database that already holds requests, adding only what it lacks")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return 2
	}
	dataDir, databaseURL, err := app.LoadMigrateConfig()
	if err != nil {
		fmt.Fprintf(stderr, "revokebot: configuration: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := app.MigrateStore(ctx, dataDir, databaseURL, *force, stdout); err != nil {
		fmt.Fprintf(stderr, "revokebot migrate-store: %v\n", err)
		return 1
	}
	return 0
}

// exportAudit runs revokebot audit-export: 0 when the records are written, 1 when reading or
// writing them fails, 2 on a usage or configuration error.
func exportAudit(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("revokebot audit-export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var since, until timeFlag
	fs.Var(&since, "since", "the first moment to export, RFC3339 (2025-01-31T00:00:00Z); default: the oldest record")
	fs.Var(&until, "until", "the moment to stop before, RFC3339; default: now and whatever comes while it runs")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "revokebot audit-export: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if !until.IsZero() && !since.Before(until.Time) {
		fmt.Fprintln(stderr, "revokebot audit-export: --since must come before --until")
		return 2
	}
	ctx, dataDir, stop, ok := storeCommand(stderr)
	if !ok {
		return 2
	}
	defer stop()
	n, err := app.ExportAudit(ctx, dataDir, since.Time, until.Time, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "revokebot audit-export: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "revokebot audit-export: %d audit records from %s\n", n, dataDir)
	return 0
}

// timeFlag is a flag holding an RFC3339 time; zero when not given.
type timeFlag struct{ time.Time }

func (f *timeFlag) String() string {
	if f.IsZero() {
		return ""
	}
	return f.Format(time.RFC3339)
}

func (f *timeFlag) Set(s string) error {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return fmt.Errorf("want an RFC3339 time such as 2025-01-31T00:00:00Z: %w", err)
	}
	f.Time = t
	return nil
}

func runBot(stderr io.Writer) int {
	cfg, err := app.LoadConfig()
	if err != nil {
		fmt.Fprintf(stderr, "revokebot: configuration: %v\n", err)
		return 2
	}
	log := app.NewLogger(stderr, cfg.LogLevel, cfg.LogFormat)
	app.SetGCDefault()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := app.Run(ctx, cfg, app.Options{Version: version, Log: log}); err != nil {
		log.Error("revokebot stopped with an error", "error", err)
		return 1
	}
	return 0
}

func runSandbox(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("revokebot sandbox", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", sandbox.DefaultListen, "address to serve the page, the fakes and their APIs on")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	opts := sandbox.Options{Listen: *listen, Log: app.NewLogger(stderr, "info", "text")}
	if err := sandbox.Run(ctx, opts, stdout); err != nil {
		fmt.Fprintf(stderr, "revokebot sandbox: %v\n", err)
		return 1
	}
	return 0
}
