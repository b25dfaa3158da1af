package testenv

import (
	"bytes"
	"sync"
)

// Logs collects what a bot under test logs, from any number of goroutines, so a failing test
// can show the end of it.
type Logs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// logsTail is how much of the logs String shows: enough for the last few requests' lines.
const logsTail = 16 << 10

// Write appends p.
func (l *Logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String returns the end of the logs.
func (l *Logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.buf.String()
	if len(out) > logsTail {
		out = "…" + out[len(out)-logsTail:]
	}
	return out
}

// Bytes returns a copy of everything logged.
func (l *Logs) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.buf.Bytes())
}
