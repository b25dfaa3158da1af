package revoke

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"revokebot/apiclient/owltest"
	"revokebot/store"
)

// reminders returns the reminders in a thread: their count and how long after since each came.
func (r *rig) reminders(threadTS string, kind Kind, since time.Time) (counts []int, after []time.Duration) {
	for _, rep := range r.notes.thread(threadTS) {
		if rep.Event.Kind == kind {
			counts = append(counts, rep.Event.Reminder)
			after = append(after, rep.At.Sub(since))
		}
	}
	return counts, after
}

func TestAnUndecidedRequestRemindsWithBackoffOnceAcrossARestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, newMemStore())
		stop := run(t, r.service())
		req := r.pending(owltest.SeedAdminApp)
		start := time.Now()

		time.Sleep(9 * time.Hour)
		stop() // a restart between the second and the third reminder
		stop = run(t, r.service())
		time.Sleep(40 * time.Hour)
		stop()

		counts, after := r.reminders(req.MessageTS, ApproversReminded, start)
		if diff := cmp.Diff([]int{1, 2, 3}, counts); diff != "" {
			t.Fatalf("reminders (-want +got):\n%s", diff)
		}
		for i, want := range []time.Duration{4 * time.Hour, 8 * time.Hour, 16 * time.Hour} {
			if after[i] < want || after[i] > want+2*time.Minute {
				t.Errorf("reminder %d came %s after the request, want %s (within a sweep)", i+1, after[i], want)
			}
		}
		t.Logf("reminders came after %v", after)
		r.wantAudited(req.ID, store.ActionRemind, store.OutcomeOK, store.OutcomeOK, store.OutcomeOK)
	})
}

func TestNoReminderAfterExpiryOrDecision(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, newMemStore())
		s := r.service(func(c *Config) { c.TTL = 10 * time.Hour })
		stop := run(t, s)
		defer stop()
		expiring := r.pending(owltest.SeedAdminApp)
		decided := r.pending(owltest.SeedAutomaticApp)
		start := time.Now()

		time.Sleep(5 * time.Hour)
		if d, err := s.Decide(t.Context(), Click{RequestID: decided.ID, Decision: store.Decision{State: store.Rejected, By: approverID, At: time.Now()}}); err != nil || !d.Decided {
			t.Fatalf("Decide = %+v, %v", d, err)
		}
		time.Sleep(40 * time.Hour)

		if got, _ := r.reminders(expiring.MessageTS, ApproversReminded, start); !cmp.Equal(got, []int{1, 2}) {
			t.Errorf("reminders of a request that expires at 10 h = %v, want 1 and 2 (4 h, 8 h)", got)
		}
		if got, _ := r.reminders(decided.MessageTS, ApproversReminded, start); !cmp.Equal(got, []int{1}) {
			t.Errorf("reminders of a request decided at 5 h = %v, want only the first", got)
		}
	})
}

func TestRemindersKeepToWorkingHours(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hours, err := ParseHours("09-18 UTC")
		if err != nil {
			t.Fatal(err)
		}
		r := newRig(t, newMemStore())
		// The bubble's clock starts at midnight UTC: wait until 20:00, so the first reminder is
		// due at midnight, outside the hours.
		time.Sleep(20 * time.Hour)
		stop := run(t, r.service(func(c *Config) { c.RemindHours = hours }))
		defer stop()
		req := r.pending(owltest.SeedAdminApp)
		start := time.Now()

		time.Sleep(30 * time.Hour)
		counts, after := r.reminders(req.MessageTS, ApproversReminded, start)
		// Due at 00:00 and 04:00 (held until 09:00, then only the latest is posted), and at
		// 12:00 (posted then).
		if diff := cmp.Diff([]int{2, 3}, counts); diff != "" {
			t.Fatalf("reminders (-want +got):\n%s", diff)
		}
		for i, rep := range after {
			at := start.Add(rep).UTC()
			if !hours.Contain(at) {
				t.Errorf("reminder %d came at %s, outside %s", counts[i], at.Format(time.TimeOnly), hours)
			}
		}
		t.Logf("reminders came at %v after 20:00", after)
	})
}

func TestAWaitingAdminRevocationRemindsItsAdmins(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, newMemStore())
		s := r.service(withPeople(&people{byEmail: map[string]string{benEmail: benSlackID}}), func(c *Config) {
			c.RemindAfter, c.RemindMax = time.Hour, 2
		})
		stop := run(t, s)
		defer stop()
		req, rev, ask := r.asked(s, owltest.SeedAdminApp)
		askedAt := ask.At

		time.Sleep(90 * time.Minute)
		if _, err := r.owl.Revoke(rev.ID); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Hour)

		counts, after := r.reminders(req.MessageTS, AdminsReminded, askedAt)
		if diff := cmp.Diff([]int{1}, counts); diff != "" {
			t.Errorf("reminders of the admins (-want +got):\n%s", diff)
		}
		for _, rep := range r.notes.thread(req.MessageTS) {
			if rep.Event.Kind == AdminsReminded && !cmp.Equal(rep.Event.Asked, []string{benSlackID}) {
				t.Errorf("the reminder mentions %v, want the asked %v", rep.Event.Asked, []string{benSlackID})
			}
		}
		t.Logf("admin reminders came after %v", after)
	})
}

func TestHoursParse(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	tests := []struct {
		in      string
		want    Hours
		wantErr bool
	}{
		{in: "", want: Hours{}},
		{in: "09-18 Europe/Berlin", want: Hours{Start: 9, End: 18, Location: berlin}},
		{in: "9-17", want: Hours{Start: 9, End: 17, Location: time.UTC}},
		{in: "22-06 UTC", want: Hours{Start: 22, End: 6, Location: time.UTC}},
		{in: "08-24 UTC", want: Hours{Start: 8, End: 0, Location: time.UTC}},
		{in: "nine to five", wantErr: true},
		{in: "09-09 UTC", wantErr: true},
		{in: "00-24 UTC", wantErr: true},
		{in: "09-25 UTC", wantErr: true},
		{in: "09-18 Mars/Olympus", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseHours(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseHours(%q) error = %v, want error %t", tt.in, err, tt.wantErr)
			continue
		}
		if !tt.wantErr && (got.Start != tt.want.Start || got.End != tt.want.End || got.Location.String() != tt.want.Location.String()) {
			t.Errorf("ParseHours(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
	h, _ := ParseHours("22-06 UTC")
	for hour, want := range map[int]bool{21: false, 22: true, 23: true, 0: true, 5: true, 6: false, 12: false} {
		if got := h.Contain(time.Date(2026, 1, 1, hour, 30, 0, 0, time.UTC)); got != want {
			t.Errorf("22-06 contains %02d:30 = %t, want %t", hour, got, want)
		}
	}
}
