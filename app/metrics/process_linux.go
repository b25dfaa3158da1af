package metrics

import (
	"bytes"
	"os"
	"strconv"
	"sync"
	"syscall"
)

// registerProcess exports the process's figures under the names client_golang's process
// collector gives them: process_cpu_seconds_total, process_resident_memory_bytes,
// process_virtual_memory_bytes, process_virtual_memory_max_bytes, process_start_time_seconds,
// process_open_fds and process_max_fds, read from /proc/self at each scrape.
func registerProcess(r *registry) {
	// Linux counts in clock ticks of 1/100 s (USER_HZ) and in pages.
	const ticks = 100
	pageSize := float64(os.Getpagesize())
	stat := func() []string {
		raw, err := os.ReadFile("/proc/self/stat")
		if err != nil {
			return nil
		}
		// The fields after the command, which is in parentheses and may hold anything.
		i := bytes.LastIndexByte(raw, ')')
		if i < 0 {
			return nil
		}
		f := bytes.Fields(raw[i+1:])
		out := make([]string, len(f))
		for i := range f {
			out[i] = string(f[i])
		}
		return out
	}
	field := func(f []string, i int) float64 {
		if i >= len(f) {
			return 0
		}
		v, _ := strconv.ParseFloat(f[i], 64)
		return v
	}
	// Indexes into stat(): the fields of proc(5) from the state (field 3) on.
	const utime, stime, starttime, vsize, rss = 11, 12, 19, 20, 21

	r.gaugeFunc("process_resident_memory_bytes", "Resident memory size in bytes.", func() float64 { return field(stat(), rss) * pageSize })
	r.gaugeFunc("process_virtual_memory_bytes", "Virtual memory size in bytes.", func() float64 { return field(stat(), vsize) })
	r.gaugeFunc("process_virtual_memory_max_bytes", "Maximum amount of virtual memory available in bytes.", func() float64 {
		var l syscall.Rlimit
		if syscall.Getrlimit(syscall.RLIMIT_AS, &l) != nil {
			return 0
		}
		return float64(l.Cur)
	})
	r.gaugeFunc("process_max_fds", "Maximum number of open file descriptors.", func() float64 {
		var l syscall.Rlimit
		if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) != nil {
			return 0
		}
		return float64(l.Cur)
	})
	r.gaugeFunc("process_open_fds", "Number of open file descriptors.", func() float64 {
		d, err := os.Open("/proc/self/fd")
		if err != nil {
			return 0
		}
		defer d.Close()
		names, _ := d.Readdirnames(-1)
		return float64(len(names) - 1) // less the directory being read
	})
	r.add(family{name: "process_cpu_seconds_total", help: "Total user and system CPU time spent in seconds.", typ: "counter",
		write: func(e *encoder) bool {
			f := stat()
			e.sample("process_cpu_seconds_total", (field(f, utime)+field(f, stime))/ticks)
			return true
		}})
	startTime := sync.OnceValue(func() float64 {
		raw, err := os.ReadFile("/proc/stat")
		if err != nil {
			return 0
		}
		for line := range bytes.Lines(raw) {
			if v, ok := bytes.CutPrefix(line, []byte("btime ")); ok {
				boot, _ := strconv.ParseFloat(string(bytes.TrimSpace(v)), 64)
				return boot + field(stat(), starttime)/ticks
			}
		}
		return 0
	})
	r.gaugeFunc("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", startTime)
}
