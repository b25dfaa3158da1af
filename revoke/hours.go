package revoke

import (
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// Hours are the working hours reminders keep to (REVOKE_REMIND_HOURS): from Start o'clock up to
// End o'clock in Location, every day. A Start after End spans midnight (22-06). The zero value
// is every hour: reminders go out whenever they are due.
type Hours struct {
	Start, End int
	Location   *time.Location
}

var hoursPattern = regexp.MustCompile(`^\s*(\d{1,2})\s*-\s*(\d{1,2})(?:\s+(\S+))?\s*$`)

// ParseHours reads working hours written as `09-18 Europe/Berlin`: two hours of the day (0–24)
// and an IANA time zone, UTC when left out. An empty string is every hour.
func ParseHours(s string) (Hours, error) {
	var h Hours
	return h, h.UnmarshalText([]byte(s))
}

// UnmarshalText implements encoding.TextUnmarshaler, which is how envconfig reads
// REVOKE_REMIND_HOURS.
func (h *Hours) UnmarshalText(text []byte) error {
	*h = Hours{}
	if len(text) == 0 {
		return nil
	}
	m := hoursPattern.FindStringSubmatch(string(text))
	if m == nil {
		return fmt.Errorf("working hours %q: want HH-HH and a time zone, like 09-18 Europe/Berlin", text)
	}
	start, _ := strconv.Atoi(m[1])
	end, _ := strconv.Atoi(m[2])
	if start > 24 || end > 24 || start == end || (start == 0 && end == 24) {
		return fmt.Errorf("working hours %q: want two different hours from 0 to 24, not the whole day", text)
	}
	zone := m[3]
	if zone == "" {
		zone = "UTC"
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return fmt.Errorf("working hours %q: time zone: %w", text, err)
	}
	*h = Hours{Start: start % 24, End: end % 24, Location: loc}
	return nil
}

// Contain reports whether t falls within the working hours.
func (h Hours) Contain(t time.Time) bool {
	if h.Location == nil {
		return true
	}
	hour := t.In(h.Location).Hour()
	if h.Start < h.End {
		return hour >= h.Start && hour < h.End
	}
	return hour >= h.Start || hour < h.End
}

// String writes the hours back as ParseHours reads them; "" for every hour.
func (h Hours) String() string {
	if h.Location == nil {
		return ""
	}
	end := h.End
	if end == 0 {
		end = 24
	}
	return fmt.Sprintf("%02d-%02d %s", h.Start, end, h.Location)
}
