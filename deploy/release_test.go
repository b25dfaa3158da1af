package deploy

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"
)

// The parts of a GitHub Actions workflow that the tests read.
type (
	workflow struct {
		On struct {
			Push struct {
				Tags []string
			}
		}
		Permissions map[string]string
		Env         map[string]string
		Jobs        map[string]job
	}
	job struct {
		Needs       any
		Permissions map[string]string
		Strategy    struct {
			Matrix map[string][]string
		}
		Steps []step
	}
	step struct {
		ID   string
		Uses string
		Run  string
		Env  map[string]string
		With map[string]string
	}
)

const releaseWorkflow = "../.github/workflows/release.yml"

func readWorkflow(t *testing.T, path string) workflow {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var w workflow
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	if err := dec.Decode(&w); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return w
}

// action returns the steps of j that use the action named (without its version).
func (j job) action(name string) []step {
	var out []step
	for _, s := range j.Steps {
		if n, _, _ := strings.Cut(s.Uses, "@"); n == name {
			out = append(out, s)
		}
	}
	return out
}

// runs returns the steps of j whose script contains text.
func (j job) runs(text string) []step {
	var out []step
	for _, s := range j.Steps {
		if strings.Contains(s.Run, text) {
			out = append(out, s)
		}
	}
	return out
}

func TestReleaseWorkflowBuildsBothArchitecturesWithTheBuildScript(t *testing.T) {
	w := readWorkflow(t, releaseWorkflow)
	if !slices.Contains(w.On.Push.Tags, "v*") {
		t.Errorf("the workflow does not run on pushed version tags: %v", w.On.Push.Tags)
	}
	bin, ok := w.Jobs["binaries"]
	if !ok {
		t.Fatal("no binaries job")
	}
	if got := slices.Sorted(slices.Values(bin.Strategy.Matrix["arch"])); !slices.Equal(got, []string{"amd64", "arm64"}) {
		t.Errorf("binaries are built for %v, want amd64 and arm64", got)
	}
	builds := bin.runs("sh deploy/build.sh ")
	if len(builds) != 1 {
		t.Fatalf("%d steps run deploy/build.sh, want 1", len(builds))
	}
	if b := builds[0]; b.Env["GOOS"] != "linux" || b.Env["GOARCH"] != "${{ matrix.arch }}" || !strings.Contains(b.Run, "${GITHUB_REF_NAME}") {
		t.Errorf("the build step does not build linux/<matrix arch> stamped with the tag: env %v, run %q", b.Env, b.Run)
	}
}

func TestReleaseWorkflowPublishesChecksumsAndAnSBOM(t *testing.T) {
	rel, ok := readWorkflow(t, releaseWorkflow).Jobs["release"]
	if !ok {
		t.Fatal("no release job")
	}
	sbom := rel.action("anchore/sbom-action")
	if len(sbom) != 1 || sbom[0].With["path"] != "dist" || sbom[0].With["output-file"] == "" {
		t.Fatalf("no SBOM of the downloaded binaries (dist) written to a file: %+v", sbom)
	}
	sums := rel.runs("sha256sum ")
	if len(sums) != 1 {
		t.Fatalf("%d steps run sha256sum, want 1", len(sums))
	}
	for _, f := range []string{"revokebot-linux-amd64", "revokebot-linux-arm64", "revokebot.spdx.json", "> SHA256SUMS"} {
		if !strings.Contains(sums[0].Run, f) {
			t.Errorf("the checksum step does not cover %s: %q", f, sums[0].Run)
		}
	}
	publish := rel.runs("gh release create")
	if len(publish) != 1 {
		t.Fatalf("%d steps create the release, want 1", len(publish))
	}
	for _, f := range []string{"dist/revokebot-linux-amd64", "dist/revokebot-linux-arm64", "dist/revokebot.spdx.json", "dist/SHA256SUMS"} {
		if !strings.Contains(publish[0].Run, f) {
			t.Errorf("the release does not publish %s", f)
		}
	}
	if rel.Permissions["contents"] != "write" {
		t.Errorf("the release job cannot create a release: permissions %v", rel.Permissions)
	}
}

func TestReleaseWorkflowPushesTheImageTheKustomizationPulls(t *testing.T) {
	w := readWorkflow(t, releaseWorkflow)
	img, ok := w.Jobs["image"]
	if !ok {
		t.Fatal("no image job")
	}
	image := w.Env["IMAGE"]
	if !strings.HasPrefix(image, "ghcr.io/") {
		t.Errorf("IMAGE = %q, want an image on ghcr.io", image)
	}
	k := only(t, manifests(t, "kubernetes")["kustomization.yaml"], "Kustomization")
	var pulled []string
	for _, i := range k.Images {
		pulled = append(pulled, i.NewName)
	}
	if diff := cmp.Diff([]string{image}, pulled); diff != "" {
		t.Errorf("the kustomization's image (-pushed +pulled):\n%s", diff)
	}

	login := img.action("docker/login-action")
	if len(login) != 1 || login[0].With["registry"] != "ghcr.io" {
		t.Errorf("the image job does not log in to ghcr.io: %+v", login)
	}
	meta := img.action("docker/metadata-action")
	if len(meta) != 1 || meta[0].With["images"] != "${{ env.IMAGE }}" || meta[0].ID == "" {
		t.Fatalf("the image's tags are not made for IMAGE: %+v", meta)
	}
	push := img.action("docker/build-push-action")
	if len(push) != 1 {
		t.Fatalf("%d build-push steps, want 1", len(push))
	}
	p := push[0].With
	platforms := strings.Split(p["platforms"], ",")
	slices.Sort(platforms)
	for _, tt := range []struct {
		rule string
		ok   bool
	}{
		{"it builds deploy/Dockerfile", p["file"] == "deploy/Dockerfile" && p["context"] == "."},
		{"for linux/amd64 and linux/arm64", slices.Equal(platforms, []string{"linux/amd64", "linux/arm64"})},
		{"with the tags made for IMAGE", p["tags"] == "${{ steps."+meta[0].ID+".outputs.tags }}"},
		{"stamped with the release's version", p["build-args"] == "VERSION=${{ github.ref_name }}"},
		{"and pushes it", p["push"] == "true"},
		{"the job may push packages", img.Permissions["packages"] == "write"},
	} {
		if !tt.ok {
			t.Errorf("the image job breaks the rule: %s (%v)", tt.rule, p)
		}
	}
}

// TestWorkflowsPinActionsToVersions: an action referenced by a branch or a major version runs
// whatever its owner pushes there next; a release's build should not change under it.
func TestWorkflowsPinActionsToVersions(t *testing.T) {
	pinned := regexp.MustCompile(`^[\w.-]+/[\w./-]+@(v\d+\.\d+\.\d+|[0-9a-f]{40})$`)
	w := readWorkflow(t, releaseWorkflow)
	if w.Permissions["contents"] != "read" || len(w.Permissions) != 1 {
		t.Errorf("the workflow's default permissions are %v, want only contents: read", w.Permissions)
	}
	n := 0
	for name, j := range w.Jobs {
		for _, s := range j.Steps {
			if s.Uses == "" {
				continue
			}
			n++
			if !pinned.MatchString(s.Uses) {
				t.Errorf("job %s uses %s: pin it to a release (vX.Y.Z) or a commit", name, s.Uses)
			}
		}
	}
	if n == 0 {
		t.Error("the workflow uses no action: the test read nothing")
	}
}
