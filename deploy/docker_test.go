package deploy

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// dockerfile is one instruction per entry, continuation lines joined.
func dockerfile(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	var cur strings.Builder
	for line := range strings.SplitSeq(string(raw), "\n") {
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if s, ok := strings.CutSuffix(trimmed, "\\"); ok {
			cur.WriteString(s + " ")
			continue
		}
		cur.WriteString(trimmed)
		out = append(out, cur.String())
		cur.Reset()
	}
	return out
}

// stages splits the instructions at each FROM.
func stages(instructions []string) [][]string {
	var out [][]string
	for _, in := range instructions {
		if strings.HasPrefix(strings.ToUpper(in), "FROM ") {
			out = append(out, nil)
		}
		if len(out) > 0 {
			out[len(out)-1] = append(out[len(out)-1], in)
		}
	}
	return out
}

func TestDockerfileBuildsWithTheScriptAndRunsDistrolessAsNonRoot(t *testing.T) {
	st := stages(dockerfile(t))
	if len(st) != 2 {
		t.Fatalf("%d stages, want 2 (build, runtime)", len(st))
	}
	build, runtime := strings.Join(st[0], "\n"), st[1]
	if !regexp.MustCompile(`(?m)^RUN GOOS=\$\{TARGETOS\} GOARCH=\$\{TARGETARCH\} sh deploy/build\.sh /out/revokebot "\$\{VERSION\}"`).MatchString(build) {
		t.Errorf("the build stage does not build with deploy/build.sh for the target platform and the VERSION argument:\n%s", build)
	}
	// A build stage on the target's platform would compile under emulation in a multi-arch build.
	if !regexp.MustCompile(`(?m)^FROM --platform=\$BUILDPLATFORM golang:`).MatchString(build) {
		t.Errorf("the build stage does not run on the build platform:\n%s", build)
	}
	rt := strings.Join(runtime, "\n")
	for _, tt := range []struct {
		rule, pattern string
	}{
		{"the runtime is distroless static, which has no shell", `(?m)^FROM gcr\.io/distroless/static-debian12:nonroot$`},
		{"it runs as the non-root user", `(?m)^USER 65532:65532$`},
		{"DATA_DIR is /data", `(?m)^ENV DATA_DIR=/data\b`},
		{"/data is a volume", `(?m)^VOLUME \["/data"\]$`},
		{"/data belongs to the runtime user", `(?m)^COPY --from=build --chown=65532:65532 \S+ /data$`},
		{"the binary is the entrypoint", `(?m)^ENTRYPOINT \["/revokebot"\]$`},
	} {
		if !regexp.MustCompile(tt.pattern).MatchString(rt) {
			t.Errorf("%s: no match for %s in\n%s", tt.rule, tt.pattern, rt)
		}
	}
	if strings.Contains(rt, ":debug") || regexp.MustCompile(`(?m)^RUN `).MatchString(rt) {
		t.Errorf("the runtime stage runs commands or uses a debug image with a shell:\n%s", rt)
	}
}

// TestReleaseBuildIsStaticAndStamped builds revokebot with deploy/build.sh, as the Dockerfile
// does, and checks what a distroless image needs: no dynamic loader, no shared libraries, no
// build machine paths, and the version it was given.
func TestReleaseBuildIsStaticAndStamped(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the whole program")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "revokebot")
	const version = "v9.8.7-test"
	cmd := exec.CommandContext(t.Context(), "sh", "deploy/build.sh", bin, version)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("deploy/build.sh: %v\n%s", err, out)
	}

	f, err := elf.Open(bin)
	if err != nil {
		t.Fatalf("not an ELF binary: %v", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary asks for a dynamic loader (PT_INTERP): it is not static")
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("the binary needs shared libraries %v (%v)", libs, err)
	}
	raw, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(root)) {
		t.Errorf("the binary contains the build directory %s: -trimpath is missing", root)
	}
	info, _ := os.Stat(bin)
	t.Logf("release binary: %d bytes (%.1f MiB)", info.Size(), float64(info.Size())/(1<<20))

	out, err := exec.CommandContext(t.Context(), bin, "version").Output()
	if err != nil {
		t.Fatalf("revokebot version: %v", err)
	}
	if got, want := strings.TrimSpace(string(out)), "revokebot "+version; got != want {
		t.Errorf("revokebot version = %q, want %q", got, want)
	}
}

func TestBuildScriptDisablesCgoAndTrimsPaths(t *testing.T) {
	raw, err := os.ReadFile("build.sh")
	if err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`(?m)^CGO_ENABLED=0 exec go build .*$`).Find(raw)
	if line == nil {
		t.Fatalf("build.sh has no CGO_ENABLED=0 go build line:\n%s", raw)
	}
	for _, flag := range []string{"-trimpath", `-X main.version=${version}`} {
		if !bytes.Contains(line, []byte(flag)) {
			t.Errorf("the build line lacks %s: %s", flag, line)
		}
	}
}
