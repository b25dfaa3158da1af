package testenv

import (
	"fmt"
	"strings"
	"testing"
)

// recorder captures how a helper ended a test without ending the real one.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper() {}
func (r *recorder) Skip(args ...any) {
	r.skipped = args[0].(string)
}
func (r *recorder) Fatalf(format string, args ...any) { r.failed = format }

func TestMissingSkipsByHandAndFailsWhenStrict(t *testing.T) {
	for _, tc := range []struct {
		name       string
		strict     string
		wantSkip   bool
		wantFailed bool
	}{
		{name: "by hand a missing tool skips", strict: "", wantSkip: true},
		{name: "strict mode turns the skip into a failure", strict: "1", wantFailed: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(StrictVar, tc.strict)
			r := &recorder{TB: t}
			Require(r, "no-such-tool-revokebot", "install it with magic")
			if got := r.skipped != ""; got != tc.wantSkip {
				t.Errorf("skipped = %v (%q), want %v", got, r.skipped, tc.wantSkip)
			}
			if got := r.failed != ""; got != tc.wantFailed {
				t.Errorf("failed = %v, want %v", got, tc.wantFailed)
			}
			if tc.wantSkip && r.skipped != "no-such-tool-revokebot is missing; install it with magic" {
				t.Errorf("skip message = %q, want it to say what is missing and how to install it", r.skipped)
			}
		})
	}
}

func TestRequireFindsToolsOnPath(t *testing.T) {
	if path := Require(t, "sh", "it is always there"); path == "" {
		t.Fatal("Require returned no path for sh")
	}
}

func TestLogsShowTheirEnd(t *testing.T) {
	var l Logs
	for i := range 2 * logsTail {
		fmt.Fprintf(&l, "%d", i%10)
	}
	fmt.Fprint(&l, "LAST")
	got := l.String()
	if !strings.HasSuffix(got, "LAST") || len(got) > logsTail+len("…") {
		t.Errorf("String() ends %q and is %d bytes; want the end of the logs, at most %d", got[len(got)-8:], len(got), logsTail)
	}
}
