package main

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// goPackage is what `go list -json` says of a package that the checks below need.
type goPackage struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

// listPackages lists the module's production packages with their imports and dependencies
// (tests left out).
func listPackages(t *testing.T) map[string]goPackage {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	pkgs := map[string]goPackage{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p goPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs[p.ImportPath] = p
	}
	return pkgs
}

// The fakes that tests and the sandbox run against; production code uses the real thing.
var fakes = []string{"revokebot/apiclient/owltest", "revokebot/sandbox/fakeslack"}

func underAny(path string, roots ...string) bool {
	for _, r := range roots {
		if path == r || strings.HasPrefix(path, r+"/") {
			return true
		}
	}
	return false
}

// TestTheCoreKnowsNothingOfSlack keeps the revocation lifecycle, the AccessOwl client and the
// store free of Slack: what happens to a revocation must be testable, and reusable, without it.
func TestTheCoreKnowsNothingOfSlack(t *testing.T) {
	for path, p := range listPackages(t) {
		if !underAny(path, "revokebot/revoke", "revokebot/apiclient", "revokebot/store") {
			continue
		}
		for _, dep := range p.Deps {
			if underAny(dep, "github.com/slack-go/slack") {
				t.Errorf("%s depends on %s", path, dep)
			}
		}
	}
}

// TestOnlyTheSandboxImportsAFake keeps the fakes out of what `revokebot run` executes: only the
// sandbox, which main starts only for `revokebot sandbox`, may use them.
func TestOnlyTheSandboxImportsAFake(t *testing.T) {
	for path, p := range listPackages(t) {
		if underAny(path, "revokebot/sandbox") || slices.Contains(fakes, path) {
			continue
		}
		uses := p.Deps
		if path == "revokebot" {
			uses = p.Imports // main imports the sandbox, and through it the fakes
		}
		for _, dep := range uses {
			if underAny(dep, fakes...) {
				t.Errorf("%s uses the fake %s", path, dep)
			}
		}
	}
}

// TestTheSandboxCostsNothingUntilInvoked runs the built program with Go's init trace and checks
// that no package of the sandbox or of the fakes does any work when the program starts: a bot
// run with `revokebot run` allocates, starts and initialises nothing of them.
func TestTheSandboxCostsNothingUntilInvoked(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the program")
	}
	bin := filepath.Join(t.TempDir(), "revokebot")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "version")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("revokebot version: %v\n%s", err, out)
	}
	var traced int
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 || fields[0] != "init" {
			continue
		}
		traced++
		if underAny(fields[1], append([]string{"revokebot/sandbox"}, fakes...)...) {
			t.Errorf("the program initialises %s at start: %s", fields[1], sc.Text())
		}
	}
	if traced == 0 {
		t.Fatalf("no init trace in the output; GODEBUG=inittrace=1 printed:\n%s", out)
	}
}
