package metrics

import (
	"bufio"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// This file is the little of Prometheus's client that revokebot needs: counters, a gauge and a
// histogram, by label, written in the text exposition format (version 0.0.4) that every
// Prometheus scrapes. It replaces client_golang, whose registry, protobuf descriptors and
// collectors were a sixth of the binary and about 2.5 MB of the bot's resident memory, for
// eighteen series families.

// textContentType is the exposition format's media type.
const textContentType = "text/plain; version=0.0.4; charset=utf-8"

// family is one metric name with its help, its type and a way to write its samples.
type family struct {
	name, help, typ string
	// write writes the samples, or reports false to leave the whole family out (a failed
	// store query).
	write func(e *encoder) bool
}

// registry holds the families of one Metrics.
type registry struct {
	mu       sync.Mutex
	families []family
	// scraping serialises scrapes, so that families may share what one scrape reads (the Go
	// runtime's memory statistics).
	scraping sync.Mutex
}

func (r *registry) add(f family) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, g := range r.families {
		if g.name == f.name {
			panic("metrics: " + f.name + " registered twice")
		}
	}
	r.families = append(r.families, f)
	slices.SortFunc(r.families, func(a, b family) int { return strings.Compare(a.name, b.name) })
}

// writeTo writes every family in the text format, sorted by name.
func (r *registry) writeTo(w io.Writer) error {
	r.scraping.Lock()
	defer r.scraping.Unlock()
	r.mu.Lock()
	families := slices.Clone(r.families)
	r.mu.Unlock()
	bw := bufio.NewWriter(w)
	e := &encoder{}
	for _, f := range families {
		e.samples.Reset()
		// A family without series yet is left out, as Prometheus's client does.
		if !f.write(e) || e.samples.Len() == 0 {
			continue
		}
		bw.WriteString("# HELP " + f.name + " " + escapeHelp(f.help) + "\n")
		bw.WriteString("# TYPE " + f.name + " " + f.typ + "\n")
		bw.WriteString(e.samples.String())
	}
	return bw.Flush()
}

// encoder collects one family's sample lines.
type encoder struct {
	samples strings.Builder
}

// sample writes one line: name{labels} value. labels alternate names and values.
func (e *encoder) sample(name string, value float64, labels ...string) {
	e.samples.WriteString(name)
	if len(labels) > 0 {
		e.samples.WriteByte('{')
		for i := 0; i+1 < len(labels); i += 2 {
			if i > 0 {
				e.samples.WriteByte(',')
			}
			e.samples.WriteString(labels[i] + `="` + escapeLabel(labels[i+1]) + `"`)
		}
		e.samples.WriteByte('}')
	}
	e.samples.WriteString(" " + formatFloat(value) + "\n")
}

func formatFloat(f float64) string {
	switch {
	case math.IsInf(f, +1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	case math.IsNaN(f):
		return "NaN"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

func escapeHelp(s string) string  { return helpEscaper.Replace(s) }
func escapeLabel(s string) string { return labelEscaper.Replace(s) }

// counter counts up from zero.
type counter struct{ n atomic.Uint64 }

func (c *counter) Inc()           { c.n.Add(1) }
func (c *counter) value() float64 { return float64(c.n.Load()) }

// gauge holds a value that goes up and down.
type gauge struct{ bits atomic.Uint64 }

func (g *gauge) Set(v float64)  { g.bits.Store(math.Float64bits(v)) }
func (g *gauge) value() float64 { return math.Float64frombits(g.bits.Load()) }

func (g *gauge) add(d float64) {
	for {
		old := g.bits.Load()
		if g.bits.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+d)) {
			return
		}
	}
}

// histogram counts observations into buckets with fixed upper bounds (inclusive, as
// Prometheus's le).
type histogram struct {
	upper  []float64       // shared by the family's series, ascending
	counts []atomic.Uint64 // per bucket, not cumulative; the last is +Inf
	sum    gauge
}

func newHistogram(upper []float64) *histogram {
	return &histogram{upper: upper, counts: make([]atomic.Uint64, len(upper)+1)}
}

// Observe counts v.
func (h *histogram) Observe(v float64) {
	h.counts[sort.SearchFloat64s(h.upper, v)].Add(1)
	h.sum.add(v)
}

// vec is a family's series by label values, made on first use.
type vec[T any] struct {
	labels    []string
	newMetric func() *T
	mu        sync.RWMutex
	series    map[string]*series[T] // by label values joined with \xff
}

type series[T any] struct {
	values []string
	metric *T
}

func newVec[T any](newMetric func() *T, labels ...string) *vec[T] {
	return &vec[T]{labels: labels, newMetric: newMetric, series: map[string]*series[T]{}}
}

// with returns the series with these label values, one for each of the family's labels.
func (v *vec[T]) with(values ...string) *T {
	if len(values) != len(v.labels) {
		panic("metrics: " + strconv.Itoa(len(values)) + " label values for labels " + strings.Join(v.labels, ","))
	}
	key := strings.Join(values, "\xff")
	v.mu.RLock()
	s := v.series[key]
	v.mu.RUnlock()
	if s != nil {
		return s.metric
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if s = v.series[key]; s == nil {
		s = &series[T]{values: slices.Clone(values), metric: v.newMetric()}
		v.series[key] = s
	}
	return s.metric
}

// each calls f with every series' label pairs (name, value, …; sorted by name, as Prometheus
// writes them) and metric, in the order of their label values.
func (v *vec[T]) each(f func(labels []string, m *T)) {
	v.mu.RLock()
	all := make([]*series[T], 0, len(v.series))
	for _, s := range v.series {
		all = append(all, s)
	}
	v.mu.RUnlock()
	order := make([]int, len(v.labels))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(v.labels[a], v.labels[b]) })
	pairs := func(s *series[T]) []string {
		out := make([]string, 0, 2*len(order))
		for _, i := range order {
			out = append(out, v.labels[i], s.values[i])
		}
		return out
	}
	slices.SortFunc(all, func(a, b *series[T]) int { return slices.Compare(pairs(a), pairs(b)) })
	for _, s := range all {
		f(pairs(s), s.metric)
	}
}

// The constructors register a family and return what the bot updates.

func (r *registry) counter(name, help string) *counter {
	c := &counter{}
	r.add(family{name: name, help: help, typ: "counter", write: func(e *encoder) bool {
		e.sample(name, c.value())
		return true
	}})
	return c
}

func (r *registry) counterVec(name, help string, labels ...string) *vec[counter] {
	v := newVec(func() *counter { return &counter{} }, labels...)
	r.add(family{name: name, help: help, typ: "counter", write: func(e *encoder) bool {
		v.each(func(l []string, c *counter) { e.sample(name, c.value(), l...) })
		return true
	}})
	return v
}

func (r *registry) gauge(name, help string) *gauge {
	g := &gauge{}
	r.add(family{name: name, help: help, typ: "gauge", write: func(e *encoder) bool {
		e.sample(name, g.value())
		return true
	}})
	return g
}

// gaugeFunc exports fn's value at each scrape; labels are constant name-value pairs.
func (r *registry) gaugeFunc(name, help string, fn func() float64, labels ...string) {
	r.add(family{name: name, help: help, typ: "gauge", write: func(e *encoder) bool {
		e.sample(name, fn(), labels...)
		return true
	}})
}

func (r *registry) histogramVec(name, help string, buckets []float64, labels ...string) *vec[histogram] {
	upper := slices.Clone(buckets)
	slices.Sort(upper)
	v := newVec(func() *histogram { return newHistogram(upper) }, labels...)
	r.add(family{name: name, help: help, typ: "histogram", write: func(e *encoder) bool {
		v.each(func(l []string, h *histogram) {
			var cumulative uint64
			for i := range h.counts {
				cumulative += h.counts[i].Load()
				le := "+Inf"
				if i < len(upper) {
					le = formatFloat(upper[i])
				}
				e.sample(name+"_bucket", float64(cumulative), append(slices.Clone(l), "le", le)...)
			}
			e.sample(name+"_sum", h.sum.value(), l...)
			// The count is the buckets' total, so a scrape racing an observation still has
			// the +Inf bucket equal to the count.
			e.sample(name+"_count", float64(cumulative), l...)
		})
		return true
	}})
	return v
}
