package app

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"revokebot/apiclient/owltest"
	"revokebot/bot"
	"revokebot/store"
	"revokebot/store/postgres/pgtest"
)

// loadEnv turns TestLoad from a skip into the load command of the README's "Performance and
// reliability" section. It is a test-binary mode rather than a Go benchmark because the world is
// built on *testing.T, and rather than a command under cmd/ because it needs both fakes and the
// test harness.
const loadEnv = "REVOKEBOT_LOAD"

// TestLoad drives the real bot through the fake Slack at REVOKEBOT_LOAD_RATE envelopes a second
// (default 200) for REVOKEBOT_LOAD_SECONDS (default 10), while every AccessOwl call takes
// REVOKEBOT_LOAD_LATENCY (default 2s). Half the envelopes are /revoke by access state ID, half
// Approve clicks, so both kinds of work queue up behind the slow AccessOwl. It prints
// time-to-ack as Slack measured it, throughput, and the process's allocations and memory. It
// asserts no timing: the figures are read, not judged, since the machine is shared.
//
// With REVOKEBOT_LOAD_PROCESS=1 the bot runs as its own process (startBotProcess), so its
// resident memory is measured apart from the fakes' and the load's: just connected and at its
// peak under the load, while /metrics is scraped every REVOKEBOT_LOAD_SCRAPE (default 2s, 0
// never). REVOKEBOT_BOT_BINARY=PATH makes that process a built revokebot instead of the test
// binary.
func TestLoad(t *testing.T) {
	if os.Getenv(loadEnv) == "" {
		t.Skip("the load command: set " + loadEnv + "=1 (see README.md, \"Load: time-to-ack, throughput, allocations\")")
	}
	rate := envInt(t, "REVOKEBOT_LOAD_RATE", 200)
	seconds := envInt(t, "REVOKEBOT_LOAD_SECONDS", 10)
	latency := 2 * time.Second
	if v := os.Getenv("REVOKEBOT_LOAD_LATENCY"); v != "" {
		var err error
		if latency, err = time.ParseDuration(v); err != nil {
			t.Fatal(err)
		}
	}
	n := rate * seconds

	w := newWorld(t)
	w.cfg.LogLevel = "info"
	// REVOKEBOT_LOAD_REPLICAS=2 (or more) runs that many bots on one PostgreSQL database, with
	// Slack spreading the envelopes over their connections.
	replicas := envInt(t, "REVOKEBOT_LOAD_REPLICAS", 1)
	if replicas > 1 {
		w.cfg.DatabaseURL = pgtest.NewDatabase(t)
	}
	grantee := w.owlUser("lena.vogel@" + owltest.SeedDomain)
	github, _ := w.owl.ApplicationByTitle(owltest.SeedAutomaticApp)
	states := make([]owltest.AccessState, n)
	values := make([]string, n)
	requests := make([]store.Request, n)
	for i := range states {
		states[i] = w.owl.AddAccessState(owltest.AccessState{ApplicationID: github.ID, GranteeUserID: grantee.ID})
		requests[i] = store.Request{
			ID: uuid.New(), RequesterID: w.requester, Grantee: store.Person{AccessOwlID: grantee.ID},
			Items: []store.Item{{AccessStateID: states[i].ID, ApplicationID: github.ID}}, Reason: fmt.Sprintf("load %d", i),
			Channel: w.channel, CreatedAt: time.Now().UTC(),
		}
		v, err := bot.EncodeButton(requests[i])
		if err != nil {
			t.Fatal(err)
		}
		values[i] = v
	}
	w.seedRequests(requests...)
	// REVOKEBOT_LOAD_PROCESS runs the bot as its own process (the test binary re-run, or the
	// program named by REVOKEBOT_BOT_BINARY), so that its resident memory is measured apart
	// from the fakes' and the load generator's.
	var proc *botProcess
	var b *instance
	if os.Getenv("REVOKEBOT_LOAD_PROCESS") != "" {
		proc = w.startBotProcess()
		defer proc.stop()
	} else {
		b = w.start()
		for range replicas - 1 {
			w.start()
		}
	}
	w.owl.SetFault("", owltest.Fault{Latency: latency})

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	began := time.Now()
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	var (
		slashes sync.WaitGroup
		clicks  []string
	)
	for i := range n {
		<-tick.C
		if i%2 == 0 {
			text := states[i].ID + fmt.Sprintf(" load %d", i)
			slashes.Go(func() {
				if _, err := w.slack.RunSlashCommand(w.ctx(), w.requester, w.channel, "/revoke", text); err != nil {
					t.Errorf("/revoke %d: %v", i, err)
				}
			})
			continue
		}
		id, err := w.slack.SendEnvelope("interactive", map[string]any{
			"type": "block_actions", "user": map[string]any{"id": w.approver}, "team": map[string]any{"id": w.slack.TeamID()},
			"channel": map[string]any{"id": w.channel}, "container": map[string]any{"type": "message", "channel_id": w.channel},
			"actions": []any{map[string]any{
				"type": "button", "action_id": bot.ActionApprove, "block_id": "revokebot_decision",
				"value": values[i], "action_ts": fmt.Sprintf("%d.%06d", time.Now().Unix(), i),
			}},
		}, false)
		if err != nil {
			t.Fatal(err)
		}
		clicks = append(clicks, id)
	}
	sent := time.Since(began)
	slashes.Wait()
	for _, id := range clicks {
		if _, err := w.slack.WaitAck(w.ctx(), id); err != nil {
			t.Fatalf("envelope %s not acked: %v", id, err)
		}
	}
	elapsed := time.Since(began)
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	// The work done behind the acks by now: AccessOwl is the bottleneck (2 s a call, the
	// test's budget of 10 requests a second), so these say whether the bot kept it busy.
	owlStats := w.owl.Stats()
	if proc != nil {
		proc.finish()
	}

	var lat []time.Duration
	busy := 0
	for _, e := range w.slack.Envelopes() {
		if e.Acked {
			lat = append(lat, e.Ack.Latency)
			if strings.Contains(string(e.Ack.Payload), "busy") {
				busy++
			}
		}
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	rss, hwm := procStatus(t, os.Getpid())
	fmt.Printf("load: rate=%d/s seconds=%d accessowl_latency=%s envelopes=%d acked=%d busy_acks=%d\n", rate, seconds, latency, n, len(lat), busy)
	fmt.Printf("load: ack_p50_ms=%.3f ack_p99_ms=%.3f ack_max_ms=%.3f\n", ms(pct(0.50)), ms(pct(0.99)), ms(lat[len(lat)-1]))
	fmt.Printf("load: send_s=%.2f throughput_per_s=%.1f\n", sent.Seconds(), float64(len(lat))/elapsed.Seconds())
	fmt.Printf("load: by_the_last_ack accessowl_requests=%d revocations_created=%d\n", owlStats.Requests, owlStats.RevocationsCreated)
	fmt.Printf("load: allocs_per_envelope=%.0f bytes_per_envelope=%.0f process_vmrss_mb=%.1f process_vmhwm_mb=%.1f (whole test process: bot and both fakes)\n",
		float64(after.Mallocs-before.Mallocs)/float64(n), float64(after.TotalAlloc-before.TotalAlloc)/float64(n), rss, hwm)
	if proc != nil {
		fmt.Printf("load: bot_process=%s bot_idle_vmrss_mb=%.1f bot_idle_rssfile_mb=%.1f bot_idle_rssanon_mb=%.1f\n",
			proc.kind, proc.idle.rss, proc.idle.file, proc.idle.anon)
		fmt.Printf("load: bot_peak_vmhwm_mb=%.1f bot_peak_rssfile_mb=%.1f bot_peak_rssanon_mb=%.1f bot_end_vmrss_mb=%.1f bot_cpu_s=%.2f scrapes=%d\n",
			proc.end.hwm, proc.peakFile, proc.peakAnon, proc.end.rss, proc.end.cpu, proc.scrapes.Load())
	}
	w.owl.ClearFaults()
	if b != nil {
		if took, err := b.stop(); err != nil {
			t.Logf("stopping after the load took %s: %v", took, err)
		}
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func envInt(t *testing.T, key string, def int) int {
	t.Helper()
	v := os.Getenv(key)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive number", key, v)
	}
	return n
}

// procStatus reads a process's resident memory now (VmRSS) and at its peak (VmHWM), in MB.
func procStatus(t *testing.T, pid int) (rss, hwm float64) {
	t.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("resident memory is read from /proc (Linux only): %v", err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "VmRSS:":
			rss = kb / 1024
		case "VmHWM:":
			hwm = kb / 1024
		}
	}
	return rss, hwm
}
