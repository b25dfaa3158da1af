package interactions

import (
	"strings"
	"testing"
	"time"
)

func TestALookupLimitPerPerson(t *testing.T) {
	now := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	l := newLimiter(lookupBurst, lookupEvery)
	for i := range lookupBurst {
		if ok, _ := l.allow("U0SPAM", now); !ok {
			t.Fatalf("lookup %d of the burst refused", i+1)
		}
	}
	ok, wait := l.allow("U0SPAM", now)
	if ok || wait != lookupEvery {
		t.Fatalf("one over the burst: %v, wait %s; want refused for %s", ok, wait, lookupEvery)
	}
	if ok, _ := l.allow("U0OTHER", now); !ok {
		t.Error("someone else is refused because of another person's lookups")
	}
	now = now.Add(lookupEvery)
	if ok, _ := l.allow("U0SPAM", now); !ok {
		t.Error("refused after waiting the interval")
	}
	if ok, _ := l.allow("U0SPAM", now); ok {
		t.Error("allowed twice in one interval once the burst is spent")
	}
	// Over an hour of trying every second, one person starts at most burst + 3600/every.
	allowed := 0
	for range 3600 {
		now = now.Add(time.Second)
		if ok, _ := l.allow("U0SPAM", now); ok {
			allowed++
		}
	}
	if want := int(time.Hour / lookupEvery); allowed != want {
		t.Errorf("%d lookups allowed in an hour of trying, want %d", allowed, want)
	}
	now = now.Add(time.Duration(lookupBurst) * lookupEvery)
	for i := range lookupBurst {
		if ok, _ := l.allow("U0SPAM", now); !ok {
			t.Fatalf("after a quiet while, lookup %d of a new burst refused", i+1)
		}
	}
	now = now.Add(2 * time.Hour)
	l.allow("U0NEW", now)
	if n := len(l.next); n != 1 {
		t.Errorf("%d people remembered after two quiet hours, want only the newest", n)
	}
	if text := l.slowDownText("lookups", 5500*time.Millisecond); !strings.Contains(text, "Try again in 6 seconds") || !strings.Contains(text, "10 lookups") {
		t.Errorf("slow-down text %q does not say when to try again", text)
	}
}
