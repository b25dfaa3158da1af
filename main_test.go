package main

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/google/go-cmp/cmp"

	"revokebot/store"
	"revokebot/store/sqlite"
	"revokebot/store/storetest"
)

func TestSubcommands(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		code     int
		stdout   string
		stderr   string
		noStderr bool
	}{
		{"version prints the version", []string{"version"}, 0, "revokebot dev", "", true},
		{"help lists every variable", []string{"--help"}, 0, "REVOKE_APPROVERS", "", true},
		{"a sandbox flag it does not know is a usage error", []string{"sandbox", "--port", "1"}, 2, "", "flag provided but not defined: -port", false},
		{"an unknown command is a usage error", []string{"frobnicate"}, 2, "", `unknown command "frobnicate"`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(tt.args, &stdout, &stderr); code != tt.code {
				t.Errorf("exit code %d, want %d", code, tt.code)
			}
			if !strings.Contains(stdout.String(), tt.stdout) {
				t.Errorf("stdout %q lacks %q", stdout.String(), tt.stdout)
			}
			if !strings.Contains(stderr.String(), tt.stderr) || (tt.noStderr && stderr.Len() > 0) {
				t.Errorf("stderr = %q, want %q", stderr.String(), tt.stderr)
			}
		})
	}
}

func TestMisconfigurationExitsWithTwoAndNamesTheSetting(t *testing.T) {
	for _, k := range []string{"SLACK_APP_TOKEN", "SLACK_BOT_TOKEN", "ACCESSOWL_API_TOKEN", "REVOKE_CHANNEL_ID"} {
		t.Setenv(k, "")
	}
	t.Setenv("SLACK_APP_TOKEN", "xapp-1")
	t.Setenv("SLACK_BOT_TOKEN", "xoxb-1")
	t.Setenv("ACCESSOWL_API_TOKEN", "t")
	t.Setenv("REVOKE_CHANNEL_ID", "C0REVOKE")
	t.Setenv("REVOKE_APPROVERS", "")
	var stdout, stderr bytes.Buffer
	if code := run(nil, &stdout, &stderr); code != 2 {
		t.Errorf("exit code %d, want 2", code)
	}
	if got := strings.TrimSpace(stderr.String()); !strings.Contains(got, "REVOKE_APPROVERS") || strings.Contains(got, "\n") {
		t.Errorf("stderr = %q; want one line naming REVOKE_APPROVERS", got)
	}
}

func TestMisconfigurationNamesEverySettingAtOnce(t *testing.T) {
	required := []string{"SLACK_APP_TOKEN", "SLACK_BOT_TOKEN", "ACCESSOWL_API_TOKEN", "REVOKE_CHANNEL_ID", "REVOKE_APPROVERS"}
	for _, k := range required {
		t.Setenv(k, "")
		os.Unsetenv(k) // t.Setenv restores it afterwards
	}
	t.Setenv("LOG_FORMAT", "xml")
	want := append(slices.Clone(required), "LOG_FORMAT")

	t.Run("run says all of them on one line", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		if code := run([]string{"run"}, &stdout, &stderr); code != 2 {
			t.Errorf("exit code %d, want 2", code)
		}
		got := strings.TrimSpace(stderr.String())
		if strings.Contains(got, "\n") {
			t.Errorf("stderr is not one line: %q", got)
		}
		for _, k := range want {
			if !strings.Contains(got, k) {
				t.Errorf("stderr %q does not name %s", got, k)
			}
		}
	})
	t.Run("check lists each of them", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		if code := run([]string{"check"}, &stdout, &stderr); code != 2 {
			t.Errorf("exit code %d, want 2", code)
		}
		var failed []string
		for line := range strings.Lines(stdout.String()) {
			if rest, ok := strings.CutPrefix(line, "FAIL  "); ok {
				name, _, _ := strings.Cut(rest, ":")
				failed = append(failed, name)
			}
		}
		if diff := cmp.Diff(want, failed); diff != "" {
			t.Errorf("FAIL lines (-want +got):\n%s\n%s", diff, stdout.String())
		}
		if !strings.Contains(stdout.String(), "6 settings are missing or malformed") {
			t.Errorf("no verdict counts the six settings:\n%s", stdout.String())
		}
	})
}

// TestREADMESectionsThatCodeCitesExist keeps the pointers in code comments and skip messages
// true: a section of README.md cited by its title is one of its headings, and no other README
// file is cited, since there is none.
func TestREADMESectionsThatCodeCitesExist(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	headings := map[string]bool{}
	for line := range strings.Lines(string(readme)) {
		if h, ok := strings.CutPrefix(line, "#"); ok {
			headings[strings.TrimSpace(strings.TrimLeft(h, "#"))] = true
		}
	}
	section := regexp.MustCompile(`README\.md, \\?"([^"\\]+)\\?"`)
	otherReadme := regexp.MustCompile(`README[-_.][\w-]+\.md`)
	err = filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == ".git") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range section.FindAllSubmatch(src, -1) {
			if !headings[string(m[1])] {
				t.Errorf("%s cites the README's section %q, which does not exist", path, m[1])
			}
		}
		for _, m := range otherReadme.FindAll(src, -1) {
			t.Errorf("%s cites %s, which does not exist: cite a section of README.md", path, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestBackupSubcommand(t *testing.T) {
	dataDir := t.TempDir()
	t.Setenv("DATA_DIR", dataDir)
	st, err := sqlite.Open(t.Context(), dataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	req := storetest.NewRequest(1)
	if _, err := st.CreateRequest(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	// hasRequest opens a backup as the store it would be restored as, and looks for req.
	hasRequest := func(t *testing.T, backup []byte) {
		t.Helper()
		restored := t.TempDir()
		if err := os.WriteFile(filepath.Join(restored, sqlite.FileName), backup, 0o600); err != nil {
			t.Fatal(err)
		}
		b, err := sqlite.Open(t.Context(), restored)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		if _, err := b.Request(t.Context(), req.ID); err != nil {
			t.Errorf("the backup lacks the store's request: %v", err)
		}
	}

	t.Run("to a new file, while the store is open", func(t *testing.T) {
		target := filepath.Join(t.TempDir(), "revokebot-backup.db")
		var stdout, stderr bytes.Buffer
		if code := run([]string{"backup", target}, &stdout, &stderr); code != 0 {
			t.Fatalf("exit code %d: %s", code, stderr.String())
		}
		raw, err := os.ReadFile(target)
		if err != nil {
			t.Fatal(err)
		}
		hasRequest(t, raw)
	})
	t.Run("to stdout", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		if code := run([]string{"backup", "-"}, &stdout, &stderr); code != 0 {
			t.Fatalf("exit code %d: %s", code, stderr.String())
		}
		hasRequest(t, stdout.Bytes())
	})
	t.Run("never over an existing file", func(t *testing.T) {
		target := filepath.Join(t.TempDir(), "revokebot-backup.db")
		if err := os.WriteFile(target, []byte("yesterday's backup"), 0o600); err != nil {
			t.Fatal(err)
		}
		var stdout, stderr bytes.Buffer
		if code := run([]string{"backup", target}, &stdout, &stderr); code != 1 {
			t.Errorf("exit code %d, want 1", code)
		}
		if !strings.Contains(stderr.String(), "already exists") {
			t.Errorf("stderr = %q, want it to say the file exists", stderr.String())
		}
		if raw, _ := os.ReadFile(target); string(raw) != "yesterday's backup" {
			t.Errorf("the existing file was changed to %q", raw)
		}
	})
	t.Run("without a file it is a usage error", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		if code := run([]string{"backup"}, &stdout, &stderr); code != 2 {
			t.Errorf("exit code %d, want 2", code)
		}
	})
}

// TestREADMELinksLeadSomewhere: every relative link of README.md and CHANGELOG.md names a file of
// the repository, and every in-page link a heading.
func TestREADMELinksLeadSomewhere(t *testing.T) {
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	for _, doc := range []string{"README.md", "CHANGELOG.md"} {
		raw, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		anchors := map[string]bool{}
		for line := range strings.Lines(string(raw)) {
			if h, ok := strings.CutPrefix(line, "#"); ok {
				anchors[githubAnchor(strings.TrimLeft(h, "#"))] = true
			}
		}
		for _, m := range link.FindAllStringSubmatch(string(raw), -1) {
			target := m[1]
			switch {
			case strings.Contains(target, "://"):
			case strings.HasPrefix(target, "#"):
				if !anchors[target[1:]] {
					t.Errorf("%s links to %s, which is no heading of it", doc, target)
				}
			default:
				path, _, _ := strings.Cut(target, "#")
				if _, err := os.Stat(path); err != nil {
					t.Errorf("%s links to %s: %v", doc, target, err)
				}
			}
		}
	}
}

// githubAnchor is the fragment GitHub gives a heading: lower case, punctuation but hyphens and
// underscores dropped, spaces made hyphens.
func githubAnchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

func TestAuditExportSubcommand(t *testing.T) {
	dataDir := t.TempDir()
	t.Setenv("DATA_DIR", dataDir)
	st, err := sqlite.Open(t.Context(), dataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	t0 := time.Date(2026, 1, 31, 9, 0, 0, 0, time.UTC)
	req := storetest.NewRequest(1)
	for _, a := range []store.AuditRecord{
		{At: t0.Add(time.Hour), RequestID: req.ID, Actor: "U0APPROVER", Action: store.ActionApprove, Outcome: store.OutcomeApproved},
		{At: t0, RequestID: req.ID, Actor: "U0REQUEST", Action: store.ActionRequest, Outcome: store.OutcomeCreated, Detail: `GitHub · "acme/infra"`},
		{At: t0.Add(2 * time.Hour), RequestID: req.ID, Actor: store.BotActor, Action: store.ActionSubmit, Outcome: store.OutcomeCreated, Detail: "rev-1"},
	} {
		if err := st.Audit(t.Context(), a); err != nil {
			t.Fatal(err)
		}
	}
	type line struct {
		At        time.Time `json:"at"`
		RequestID string    `json:"request_id"`
		Actor     string    `json:"actor"`
		Action    string    `json:"action"`
		Outcome   string    `json:"outcome"`
		Detail    string    `json:"detail"`
	}
	id := req.ID.String()
	created := line{t0, id, "U0REQUEST", "request", "created", `GitHub · "acme/infra"`}
	approved := line{t0.Add(time.Hour), id, "U0APPROVER", "approve", "approved", ""}
	submitted := line{t0.Add(2 * time.Hour), id, "revokebot", "submit", "created", "rev-1"}

	tests := []struct {
		name string
		args []string
		want []line
	}{
		{"everything, oldest first", nil, []line{created, approved, submitted}},
		{"since is included", []string{"--since", "2026-01-31T10:00:00Z"}, []line{approved, submitted}},
		{"until is not", []string{"--since", "2026-01-31T09:00:00Z", "--until", "2026-01-31T10:00:00Z"}, []line{created}},
		{"in another zone", []string{"--until", "2026-01-31T11:30:00+01:00"}, []line{created, approved}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(append([]string{"audit-export"}, tt.args...), &stdout, &stderr); code != 0 {
				t.Fatalf("exit code %d: %s", code, stderr.String())
			}
			var got []line
			dec := json.NewDecoder(&stdout)
			for dec.More() {
				var l line
				if err := dec.Decode(&l); err != nil {
					t.Fatal(err)
				}
				got = append(got, l)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("exported records (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("one JSON object a line", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		if code := run([]string{"audit-export"}, &stdout, &stderr); code != 0 {
			t.Fatalf("exit code %d: %s", code, stderr.String())
		}
		lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
		for _, l := range lines {
			if !json.Valid([]byte(l)) {
				t.Errorf("line %q is not one JSON object", l)
			}
		}
		if len(lines) != 3 {
			t.Errorf("%d lines, want 3", len(lines))
		}
	})
	for _, bad := range [][]string{
		{"--since", "yesterday"},
		{"--since", "2026-01-31T10:00:00Z", "--until", "2026-01-31T10:00:00Z"},
		{"extra"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(append([]string{"audit-export"}, bad...), &stdout, &stderr); code != 2 || stdout.Len() != 0 {
			t.Errorf("audit-export %q: exit code %d, stdout %q; want a usage error (2) and nothing written", bad, code, stdout.String())
		}
	}
	t.Run("no store there", func(t *testing.T) {
		t.Setenv("DATA_DIR", t.TempDir())
		var stdout, stderr bytes.Buffer
		if code := run([]string{"audit-export"}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "no store there") {
			t.Errorf("exit code %d, stderr %q; want 1 and that there is no store", code, stderr.String())
		}
	})
}
