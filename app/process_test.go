package app

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// memStatus is a process's memory as /proc/<pid>/status reports it, in MB, and the CPU time it
// has used, in seconds.
type memStatus struct {
	rss, hwm   float64 // VmRSS, VmHWM
	anon, file float64 // RssAnon, RssFile
	cpu        float64 // utime + stime
}

// readMemStatus reads pid's memory; ok is false once the process is gone.
func readMemStatus(pid int) (m memStatus, ok bool) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return m, false
	}
	for _, line := range strings.Split(string(raw), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "VmRSS:":
			m.rss = kb / 1024
		case "VmHWM:":
			m.hwm = kb / 1024
		case "RssAnon:":
			m.anon = kb / 1024
		case "RssFile:":
			m.file = kb / 1024
		}
	}
	if stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		// The fields after the command's closing parenthesis; utime and stime are the 12th and
		// 13th of them, in clock ticks (100 a second on Linux).
		if i := strings.LastIndexByte(string(stat), ')'); i > 0 {
			f := strings.Fields(string(stat[i+1:]))
			if len(f) > 12 {
				u, _ := strconv.ParseFloat(f[11], 64)
				s, _ := strconv.ParseFloat(f[12], 64)
				m.cpu = (u + s) / 100
			}
		}
	}
	return m, true
}

// botProcess is the bot run as its own process for a measurement: its memory just connected,
// its peak while the load runs (sampled, besides the kernel's own VmHWM), and /metrics scraped
// as Prometheus would, so that the exposition's cost is counted.
type botProcess struct {
	t    *testing.T
	cmd  *exec.Cmd
	kind string // "test-binary" or the program's path
	addr string // LISTEN_ADDR

	idle               memStatus
	end                memStatus
	peakAnon, peakFile float64
	scrapes            atomic.Int32

	stopSampling chan struct{}
	sampling     sync.WaitGroup
	mu           sync.Mutex
}

// idleSettle is how long the connected, idle bot is left before its memory is read: start-up's
// goroutines (the tracker's first sweep, resumed submissions) have finished by then.
const idleSettle = 2 * time.Second

// scrapeEvery is how often the load scrapes /metrics; Prometheus's default is a minute, 15 s is
// common, and the load lasts seconds.
const scrapeEvery = 2 * time.Second

// startBotProcess starts the bot as its own process on the world's configuration, waits until it
// is connected and idle, reads its memory, and starts sampling it and scraping its metrics.
// REVOKEBOT_SMAPS=DIR writes its /proc/<pid>/smaps there, idle and after the load.
func (w *world) startBotProcess() *botProcess {
	w.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		w.t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p := &botProcess{t: w.t, kind: "test-binary", addr: addr, stopSampling: make(chan struct{})}
	if bin := os.Getenv(botBinaryEnv); bin != "" {
		p.kind = bin
	}
	p.cmd = w.startProcess("LOG_LEVEL="+w.cfg.LogLevel, "LISTEN_ADDR="+addr)
	pid := p.cmd.Process.Pid
	time.Sleep(idleSettle)
	p.idle, _ = readMemStatus(pid)
	p.saveSmaps("idle")
	p.sampling.Add(1)
	go func() {
		defer p.sampling.Done()
		sample := time.NewTicker(100 * time.Millisecond)
		defer sample.Stop()
		every := scrapeEvery
		if v := os.Getenv("REVOKEBOT_LOAD_SCRAPE"); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				p.t.Errorf("REVOKEBOT_LOAD_SCRAPE=%q: %v", v, err)
			}
			every = d
		}
		var scrapes <-chan time.Time
		if every > 0 {
			scrape := time.NewTicker(every)
			defer scrape.Stop()
			scrapes = scrape.C
			p.scrape()
		}
		for {
			select {
			case <-p.stopSampling:
				return
			case <-scrapes:
				p.scrape()
			case <-sample.C:
				if m, ok := readMemStatus(pid); ok {
					p.mu.Lock()
					p.peakAnon = max(p.peakAnon, m.anon)
					p.peakFile = max(p.peakFile, m.file)
					p.mu.Unlock()
				}
			}
		}
	}()
	return p
}

func (p *botProcess) scrape() {
	resp, err := http.Get("http://" + p.addr + "/metrics")
	if err != nil {
		p.t.Errorf("scrape: %v", err)
		return
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil || resp.StatusCode != http.StatusOK {
		p.t.Errorf("scrape: %d %v", resp.StatusCode, err)
		return
	}
	p.scrapes.Add(1)
}

// finish stops sampling and reads the process's memory after the load.
func (p *botProcess) finish() {
	select {
	case <-p.stopSampling:
		return
	default:
	}
	close(p.stopSampling)
	p.sampling.Wait()
	p.end, _ = readMemStatus(p.cmd.Process.Pid)
	p.saveSmaps("load")
}

func (p *botProcess) saveSmaps(when string) {
	dir := os.Getenv("REVOKEBOT_SMAPS")
	if dir == "" {
		return
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps", p.cmd.Process.Pid))
	if err != nil {
		p.t.Errorf("smaps: %v", err)
		return
	}
	if err := os.WriteFile(fmt.Sprintf("%s/smaps-%s", dir, when), raw, 0o644); err != nil {
		p.t.Errorf("smaps: %v", err)
	}
	// The pages of the program's own mappings that are resident, one address a line.
	pm, err := os.Open(fmt.Sprintf("/proc/%d/pagemap", p.cmd.Process.Pid))
	if err != nil {
		p.t.Errorf("pagemap: %v", err)
		return
	}
	defer pm.Close()
	var present strings.Builder
	for _, line := range strings.Split(string(raw), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || !strings.Contains(f[0], "-") || !strings.HasPrefix(f[5], "/") || strings.Contains(f[5], ".db") {
			continue
		}
		lo, hi, _ := strings.Cut(f[0], "-")
		a, _ := strconv.ParseUint(lo, 16, 64)
		b, _ := strconv.ParseUint(hi, 16, 64)
		buf := make([]byte, (b-a)/4096*8)
		if _, err := pm.ReadAt(buf, int64(a/4096*8)); err != nil {
			p.t.Errorf("pagemap: %v", err)
			return
		}
		for i := 0; i < len(buf); i += 8 {
			if buf[i+7]&0x80 != 0 {
				fmt.Fprintf(&present, "%x\n", a+uint64(i/8)*4096)
			}
		}
	}
	if err := os.WriteFile(fmt.Sprintf("%s/pages-%s", dir, when), []byte(present.String()), 0o644); err != nil {
		p.t.Errorf("pagemap: %v", err)
	}
}

// stop ends the process with SIGTERM, as a deployment would.
func (p *botProcess) stop() {
	p.finish()
	if p.cmd.ProcessState != nil {
		return
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.t.Error(err)
	}
	if err := p.cmd.Wait(); err != nil {
		p.t.Errorf("after SIGTERM the bot exited with %v", err)
	}
}
