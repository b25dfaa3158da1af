package interactions

import (
	"testing"
	"time"

	"github.com/slack-go/slack"
)

func TestTheSameClickIsHandledOnce(t *testing.T) {
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	h := NewHandler("C0REVOKE", Deps{Now: func() time.Time { return now }})
	click := func(user, ts, request string) bool {
		return h.firstTime(user, &slack.BlockAction{ActionID: "revokebot_approve", ActionTs: ts, Value: request})
	}
	steps := []struct {
		name              string
		advance           time.Duration
		user, ts, request string
		firstTimer        bool
	}{
		{"a click is new", 0, "U1", "1.1", "req-a", true},
		{"the same click delivered again is not", time.Second, "U1", "1.1", "req-a", false},
		{"another click of the same person is new", 0, "U1", "1.2", "req-a", true},
		{"the same moment by someone else is new", 0, "U2", "1.1", "req-a", true},
		{"the same moment on another request is new", 0, "U1", "1.1", "req-b", true},
		{"within the memory a repeat is still caught", clickMemory - 2*time.Second, "U1", "1.1", "req-a", false},
		{"past the memory the click is forgotten", clickMemory + time.Minute, "U1", "1.1", "req-a", true},
	}
	for _, s := range steps {
		now = now.Add(s.advance)
		if got := click(s.user, s.ts, s.request); got != s.firstTimer {
			t.Errorf("%s: firstTime = %v, want %v", s.name, got, s.firstTimer)
		}
	}
}
