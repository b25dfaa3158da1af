package deploy

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"revokebot/sandbox/testenv"
)

const unitPath = "systemd/revokebot.service"

// unit reads a systemd unit into section → key → values, in order; comments and blank lines are
// dropped.
func unit(t *testing.T) map[string]map[string][]string {
	t.Helper()
	f, err := os.Open(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]map[string][]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
			out[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s: not a key=value line in a section: %q", unitPath, line)
			}
			out[section][k] = append(out[section][k], v)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSystemdUnitIsHardened(t *testing.T) {
	svc := unit(t)["Service"]
	if svc == nil {
		t.Fatal("no [Service] section")
	}
	tests := []struct {
		key, want string
	}{
		{"DynamicUser", "yes"},
		{"ProtectSystem", "strict"},
		{"StateDirectory", "revokebot"},
		{"NoNewPrivileges", "yes"},
		{"ProtectHome", "yes"},
		{"PrivateTmp", "yes"},
		{"PrivateDevices", "yes"},
		{"RestrictAddressFamilies", "AF_INET AF_INET6"},
		{"SystemCallFilter", "@system-service"},
		{"SystemCallFilter", "~@privileged @resources"},
		{"SystemCallArchitectures", "native"},
		{"CapabilityBoundingSet", ""},
		{"MemoryDenyWriteExecute", "yes"},
		{"RestrictNamespaces", "yes"},
		{"LockPersonality", "yes"},
		{"ProtectKernelTunables", "yes"},
		{"ProtectKernelModules", "yes"},
		{"ProtectControlGroups", "yes"},
		{"UMask", "0077"},
		{"EnvironmentFile", "/etc/revokebot/revokebot.env"},
		// The store lives in the one writable place, the state directory.
		{"Environment", "DATA_DIR=%S/revokebot"},
		{"ExecStart", "/usr/local/bin/revokebot run"},
		{"Restart", "on-failure"},
	}
	for _, tt := range tests {
		if !slices.Contains(svc[tt.key], tt.want) {
			t.Errorf("[Service] %s=%s is missing (has %q)", tt.key, tt.want, svc[tt.key])
		}
	}
	// revokebot exits within 10 s of SIGTERM (it drains for up to 8 s); systemd must wait longer
	// than that before its SIGKILL.
	if stop := svc["TimeoutStopSec"]; len(stop) != 1 || !longerThan(stop[0], 10*time.Second) {
		t.Errorf("[Service] TimeoutStopSec=%q: want one value over 10s, the time revokebot takes to stop", stop)
	}
	if install := unit(t)["Install"]; !slices.Contains(install["WantedBy"], "multi-user.target") {
		t.Error("the unit is not wanted by multi-user.target, so enable does not start it at boot")
	}
}

func TestSystemdEnvironmentExampleSetsOnlyKnownVariablesAndEveryRequiredOne(t *testing.T) {
	raw, err := os.ReadFile("systemd/revokebot.env.example")
	if err != nil {
		t.Fatal(err)
	}
	known, required := variables()
	set := map[string]bool{}
	for line := range strings.SplitSeq(string(raw), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, _, _ := strings.Cut(line, "=")
		if !known[k] {
			t.Errorf("the example sets %s, which revokebot does not read", k)
		}
		set[k] = true
	}
	for _, k := range required {
		if !set[k] {
			t.Errorf("the example lacks the required %s", k)
		}
	}
}

// longerThan reports whether a systemd time span written as a Go duration ("15s") exceeds d.
func longerThan(span string, d time.Duration) bool {
	got, err := time.ParseDuration(span)
	return err == nil && got > d
}

// TestSystemdAcceptsTheUnit has systemd itself read the unit: systemd-analyze verify reports
// unknown keys and bad values, and security scores the sandbox (0 is locked down, 10 is none).
func TestSystemdAcceptsTheUnit(t *testing.T) {
	analyze := testenv.Require(t, "systemd-analyze", "install systemd (apt-get install -y systemd)")
	raw, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	// verify insists that ExecStart exists; the binary is not installed here, so any program
	// stands in for it.
	stand, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	raw = regexp.MustCompile(`(?m)^ExecStart=\S+`).ReplaceAll(raw, []byte("ExecStart="+stand))
	path := filepath.Join(t.TempDir(), "revokebot.service")
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}

	var stderr bytes.Buffer
	verify := exec.CommandContext(t.Context(), analyze, "verify", path)
	verify.Stderr = &stderr
	if err := verify.Run(); err != nil || stderr.Len() > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, stderr.String())
	}

	// An exposure over 2.0 means some of the hardening above stopped working.
	out, err := exec.CommandContext(t.Context(), analyze, "security", "--offline=yes", "--threshold=20", path).CombinedOutput()
	if err != nil {
		t.Errorf("systemd-analyze security: %v\n%s", err, out)
	}
	if m := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`).FindSubmatch(out); m != nil {
		t.Logf("systemd exposure level: %s (0 locked down … 10 unprotected)", m[1])
	}
}
