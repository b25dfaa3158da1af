package fakeslack

import (
	"maps"
	"net/http"
	"time"
)

// Fault is trouble injected into one Web API method, for testing what a client does when Slack
// is slow or does not answer at all.
type Fault struct {
	// Latency holds each call this long before it is processed and answered, as a slow Slack
	// does. A client that gives up first changes nothing.
	Latency time.Duration
	// Hang holds each call until the client gives up or the workspace closes: the call is never
	// processed and never answered, as when a response is lost on its way.
	Hang bool
}

// SetFault sets the fault of a Web API method ("chat.postMessage", …), replacing what it had;
// a zero Fault removes it.
func (w *Workspace) SetFault(method string, f Fault) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if f == (Fault{}) {
		delete(w.faults, method)
		return
	}
	w.faults[method] = f
}

// ClearFaults removes every fault.
func (w *Workspace) ClearFaults() {
	w.mu.Lock()
	defer w.mu.Unlock()
	clear(w.faults)
}

// Faults returns the faults in force, by method.
func (w *Workspace) Faults() map[string]Fault {
	w.mu.Lock()
	defer w.mu.Unlock()
	return maps.Clone(w.faults)
}

// sufferFault applies the method's fault to a call before it is processed. It returns false
// when the call must not be answered: the fault hangs it, the client gave up during the
// latency, or the workspace closed. A call that is not answered is recorded as Unanswered; a
// hung one as soon as it arrives, so a test can wait for a client to be stuck in it.
func (w *Workspace) sufferFault(r *http.Request, method string, args map[string]string) bool {
	w.mu.Lock()
	f, ok := w.faults[method]
	w.mu.Unlock()
	if !ok {
		return true
	}
	if f.Hang {
		w.recordUnanswered(method, args)
		select {
		case <-r.Context().Done():
		case <-w.done:
		}
		return false
	}
	t := time.NewTimer(f.Latency)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
	case <-w.done:
	}
	w.recordUnanswered(method, args)
	return false
}

func (w *Workspace) recordUnanswered(method string, args map[string]string) {
	call := Call{Method: method, Args: args, At: w.cfg.Now(), Unanswered: true}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls = append(w.calls, call)
	w.notify(Change{Kind: ChangeCall, Call: &call})
}
