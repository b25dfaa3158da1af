package metrics

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// registerGoRuntime exports the Go runtime's figures under the names client_golang's Go
// collector gives them, so dashboards built on those keep working: go_goroutines, go_threads,
// go_info, go_gc_duration_seconds, the go_memstats_* gauges and counters, go_gc_gogc_percent,
// go_gc_gomemlimit_bytes and go_sched_gomaxprocs_threads. One scrape reads the memory
// statistics once.
func registerGoRuntime(r *registry) {
	r.gaugeFunc("go_goroutines", "Number of goroutines that currently exist.", func() float64 { return float64(runtime.NumGoroutine()) })
	r.gaugeFunc("go_threads", "Number of OS threads created.", func() float64 {
		n, _ := runtime.ThreadCreateProfile(nil)
		return float64(n)
	})
	r.gaugeFunc("go_info", "Information about the Go environment.", func() float64 { return 1 }, "version", runtime.Version())
	r.add(family{name: "go_gc_duration_seconds", help: "A summary of the wall-time pause (stop-the-world) duration in garbage collection cycles.", typ: "summary",
		write: func(e *encoder) bool {
			var s debug.GCStats
			s.PauseQuantiles = make([]time.Duration, 5)
			debug.ReadGCStats(&s)
			for i, q := range []string{"0", "0.25", "0.5", "0.75", "1"} {
				e.sample("go_gc_duration_seconds", s.PauseQuantiles[i].Seconds(), "quantile", q)
			}
			e.sample("go_gc_duration_seconds_sum", s.PauseTotal.Seconds())
			e.sample("go_gc_duration_seconds_count", float64(s.NumGC))
			return true
		}})

	// The memory statistics are read once per scrape, by go_memstats_alloc_bytes, which sorts
	// first of them; scrapes do not overlap (registry.scraping).
	var ms runtime.MemStats
	memstat := func(name, typ, help string, f func(*runtime.MemStats) float64) {
		name = "go_memstats_" + name
		r.add(family{name: name, help: help, typ: typ, write: func(e *encoder) bool {
			e.sample(name, f(&ms))
			return true
		}})
	}
	r.add(family{name: "go_memstats_alloc_bytes", help: "Number of bytes allocated in heap and currently in use.", typ: "gauge",
		write: func(e *encoder) bool {
			runtime.ReadMemStats(&ms)
			e.sample("go_memstats_alloc_bytes", float64(ms.Alloc))
			return true
		}})
	memstat("alloc_bytes_total", "counter", "Total number of bytes allocated in heap until now, even if released already.", func(m *runtime.MemStats) float64 { return float64(m.TotalAlloc) })
	memstat("sys_bytes", "gauge", "Number of bytes obtained from system.", func(m *runtime.MemStats) float64 { return float64(m.Sys) })
	memstat("mallocs_total", "counter", "Total number of heap objects allocated, both live and gc-ed.", func(m *runtime.MemStats) float64 { return float64(m.Mallocs) })
	memstat("frees_total", "counter", "Total number of heap objects frees.", func(m *runtime.MemStats) float64 { return float64(m.Frees) })
	memstat("heap_alloc_bytes", "gauge", "Heap bytes allocated and currently in use, same as go_memstats_alloc_bytes.", func(m *runtime.MemStats) float64 { return float64(m.HeapAlloc) })
	memstat("heap_sys_bytes", "gauge", "Number of heap bytes obtained from system.", func(m *runtime.MemStats) float64 { return float64(m.HeapSys) })
	memstat("heap_idle_bytes", "gauge", "Number of heap bytes waiting to be used.", func(m *runtime.MemStats) float64 { return float64(m.HeapIdle) })
	memstat("heap_inuse_bytes", "gauge", "Number of heap bytes that are in use.", func(m *runtime.MemStats) float64 { return float64(m.HeapInuse) })
	memstat("heap_released_bytes", "gauge", "Number of heap bytes released to OS.", func(m *runtime.MemStats) float64 { return float64(m.HeapReleased) })
	memstat("heap_objects", "gauge", "Number of currently allocated objects.", func(m *runtime.MemStats) float64 { return float64(m.HeapObjects) })
	memstat("stack_inuse_bytes", "gauge", "Number of bytes obtained from system for stack allocator in non-CGO environments.", func(m *runtime.MemStats) float64 { return float64(m.StackInuse) })
	memstat("stack_sys_bytes", "gauge", "Number of bytes obtained from system for stack allocator.", func(m *runtime.MemStats) float64 { return float64(m.StackSys) })
	memstat("mspan_inuse_bytes", "gauge", "Number of bytes in use by mspan structures.", func(m *runtime.MemStats) float64 { return float64(m.MSpanInuse) })
	memstat("mspan_sys_bytes", "gauge", "Number of bytes used for mspan structures obtained from system.", func(m *runtime.MemStats) float64 { return float64(m.MSpanSys) })
	memstat("mcache_inuse_bytes", "gauge", "Number of bytes in use by mcache structures.", func(m *runtime.MemStats) float64 { return float64(m.MCacheInuse) })
	memstat("mcache_sys_bytes", "gauge", "Number of bytes used for mcache structures obtained from system.", func(m *runtime.MemStats) float64 { return float64(m.MCacheSys) })
	memstat("buck_hash_sys_bytes", "gauge", "Number of bytes used by the profiling bucket hash table.", func(m *runtime.MemStats) float64 { return float64(m.BuckHashSys) })
	memstat("gc_sys_bytes", "gauge", "Number of bytes used for garbage collection system metadata.", func(m *runtime.MemStats) float64 { return float64(m.GCSys) })
	memstat("other_sys_bytes", "gauge", "Number of bytes used for other system allocations.", func(m *runtime.MemStats) float64 { return float64(m.OtherSys) })
	memstat("next_gc_bytes", "gauge", "Number of heap bytes when next garbage collection will take place.", func(m *runtime.MemStats) float64 { return float64(m.NextGC) })
	memstat("last_gc_time_seconds", "gauge", "Number of seconds since 1970 of last garbage collection.", func(m *runtime.MemStats) float64 { return float64(m.LastGC) / 1e9 })

	for _, rm := range []struct{ name, runtimeName, help string }{
		{"go_gc_gogc_percent", "/gc/gogc:percent", "Heap size target percentage configured by the user, otherwise 100 (GOGC)."},
		{"go_gc_gomemlimit_bytes", "/gc/gomemlimit:bytes", "Go runtime memory limit configured by the user, otherwise math.MaxInt64 (GOMEMLIMIT)."},
		{"go_sched_gomaxprocs_threads", "/sched/gomaxprocs:threads", "The current runtime.GOMAXPROCS setting."},
	} {
		r.gaugeFunc(rm.name, rm.help, func() float64 {
			s := []metrics.Sample{{Name: rm.runtimeName}}
			metrics.Read(s)
			if s[0].Value.Kind() != metrics.KindUint64 {
				return 0
			}
			return float64(s[0].Value.Uint64())
		})
	}
}
