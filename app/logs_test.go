package app

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestLogsAreJSONUnlessTextIsAskedFor(t *testing.T) {
	tests := []struct {
		name, level, format string
		wantJSON            bool
		wantDebug           bool
	}{
		{name: "json by default", level: "info", format: "json", wantJSON: true},
		{name: "text for people", level: "info", format: "text"},
		{name: "debug shows debug lines", level: "debug", format: "json", wantJSON: true, wantDebug: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			log := NewLogger(&out, tt.level, tt.format)
			log.Debug("a debug line")
			log.Info("audit", "request_id", "3f2b1c9e-7a4d-4e1b-9c2a-5d6e7f801234")
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			if got := strings.Contains(out.String(), "a debug line"); got != tt.wantDebug {
				t.Errorf("debug line shown: %v, want %v", got, tt.wantDebug)
			}
			last := lines[len(lines)-1]
			var rec map[string]any
			isJSON := json.Unmarshal([]byte(last), &rec) == nil
			if isJSON != tt.wantJSON {
				t.Fatalf("line %q is JSON: %v, want %v", last, isJSON, tt.wantJSON)
			}
			if isJSON && rec["request_id"] != "3f2b1c9e-7a4d-4e1b-9c2a-5d6e7f801234" {
				t.Errorf("request_id is not a field of its own: %v", rec)
			}
			if !isJSON && !strings.Contains(last, "request_id=3f2b1c9e-7a4d-4e1b-9c2a-5d6e7f801234") {
				t.Errorf("request_id is not a key of its own: %s", last)
			}
		})
	}
}

// TestLogLinesAboutARevocationCarryItsRequestID follows one approval through the bot's own log
// and checks that whoever reads a line about the revocation can find the request it belongs to.
// The AccessOwl client's per-attempt lines are the exception: they are at debug level, below
// what runs in production, and name the revocation in their path, because the client does not
// know which request a call serves.
func TestLogLinesAboutARevocationCarryItsRequestID(t *testing.T) {
	w := newWorld(t)
	w.start()
	_, s := w.personWithOneAccess("GitHub")
	m := w.requestState(s, "Left the company")
	w.click(w.approver, m, "Approve")
	w.reply(m, "revoked")
	rev := w.revocationOf(s)

	all := string(w.logs.Bytes())
	about, without := 0, 0
	for line := range strings.SplitSeq(all, "\n") {
		if !strings.Contains(line, rev.ID) || strings.Contains(line, `msg="accessowl request"`) {
			continue
		}
		about++
		if !strings.Contains(line, "request_id=") {
			without++
			t.Errorf("a line about revocation %s has no request_id: %s", rev.ID, line)
		}
	}
	if about == 0 {
		t.Fatalf("no log line names revocation %s", rev.ID)
	}
	t.Logf("%d lines name the revocation, %d without its request", about, without)
}
