package helm

import (
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/v2/lint"
	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"

	"revokebot/deploy/kubecheck"
)

const chartDir = "revokebot"

// render renders the chart as helm template would for a release named release, with values
// over the chart's defaults, and returns its objects.
func render(t *testing.T, release string, values map[string]any) kubecheck.Set {
	t.Helper()
	out, err := renderFiles(release, values)
	if err != nil {
		t.Fatalf("render the chart: %v", err)
	}
	var set kubecheck.Set
	for _, name := range slices.Sorted(maps.Keys(out)) {
		if !strings.HasSuffix(name, ".yaml") {
			continue // NOTES.txt
		}
		objs, err := kubecheck.Decode([]byte(out[name]))
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out[name])
		}
		set = append(set, objs...)
	}
	return set
}

func renderFiles(release string, values map[string]any) (map[string]string, error) {
	chart, err := loader.Load(chartDir)
	if err != nil {
		return nil, err
	}
	opts := common.ReleaseOptions{Name: release, Namespace: "revokebot", Revision: 1, IsInstall: true}
	vals, err := util.ToRenderValues(chart, values, opts, common.DefaultCapabilities)
	if err != nil {
		return nil, err
	}
	return engine.Render(chart, vals)
}

// kustomization reads what deploy/kubernetes applies, to compare the chart with.
func kustomization(t *testing.T, dir string) kubecheck.Set {
	t.Helper()
	raw, err := os.ReadFile("../kubernetes/" + dir)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := kubecheck.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func only(t *testing.T, set kubecheck.Set, kind string) kubecheck.Object {
	t.Helper()
	o, err := set.Only(kind)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// everything turns on every optional object.
var everything = map[string]any{
	"serviceMonitor": map[string]any{"enabled": true},
	"prometheusRule": map[string]any{"enabled": true},
}

func TestChartPassesHelmLint(t *testing.T) {
	for _, values := range []map[string]any{nil, everything} {
		result := lint.RunAll(chartDir, values, "revokebot")
		for _, m := range result.Messages {
			if m.Severity >= support.WarningSev {
				t.Errorf("helm lint: %s", m)
			}
		}
	}
}

func TestChartKeepsTheKustomizationsRules(t *testing.T) {
	for _, release := range []string{"revokebot", "acme"} {
		t.Run("release "+release, func(t *testing.T) {
			set := render(t, release, everything)
			rules, err := kubecheck.DeploymentRules(set, "revokebot")
			if err != nil {
				t.Fatal(err)
			}
			for _, broken := range kubecheck.Broken(rules) {
				t.Errorf("the Deployment breaks the rule: %s", broken)
			}
			for name, check := range map[string]func(kubecheck.Set) ([]kubecheck.Rule, error){
				"NetworkPolicy":  kubecheck.NetworkPolicyRules,
				"ServiceMonitor": kubecheck.ServiceMonitorRules,
			} {
				rules, err := check(set)
				if err != nil {
					t.Fatal(err)
				}
				for _, broken := range kubecheck.Broken(rules) {
					t.Errorf("the %s breaks the rule: %s", name, broken)
				}
			}
		})
	}
}

// TestChartNeverCreatesTheSecret: a Secret in the chart would put placeholder tokens over real
// ones at every upgrade.
func TestChartNeverCreatesTheSecret(t *testing.T) {
	if secrets := render(t, "revokebot", everything).OfKind("Secret"); len(secrets) > 0 {
		t.Errorf("the chart creates %d Secrets", len(secrets))
	}
	_, err := renderFiles("revokebot", map[string]any{"existingSecret": ""})
	if err == nil || !strings.Contains(err.Error(), "existingSecret") {
		t.Errorf("rendering without a Secret's name: %v; want an error that names existingSecret", err)
	}
}

// TestChartSetsTheKustomizationsSettings: deploy's tests check those settings against the
// variables revokebot reads, which this module cannot import.
func TestChartSetsTheKustomizationsSettings(t *testing.T) {
	keys := func(o kubecheck.Object) []string { return slices.Sorted(maps.Keys(o.Data)) }
	want := keys(only(t, kustomization(t, "configmap.yaml"), "ConfigMap"))
	got := keys(only(t, render(t, "revokebot", nil), "ConfigMap"))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ConfigMap variables (-kustomization +chart):\n%s", diff)
	}
	secret := only(t, kustomization(t, "secret.example.yaml"), "Secret")
	if diff := cmp.Diff(kubecheck.Tokens, slices.Sorted(maps.Keys(secret.StringData))); diff != "" {
		t.Errorf("the Secret the README tells people to create has other keys than the tokens (-want +got):\n%s", diff)
	}
}

func TestChartRefusesToMoveTheStoreOrThePort(t *testing.T) {
	for _, name := range []string{"DATA_DIR", "LISTEN_ADDR"} {
		_, err := renderFiles("revokebot", map[string]any{"config": map[string]any{name: "/elsewhere"}})
		if err == nil || !strings.Contains(err.Error(), "config."+name) {
			t.Errorf("config.%s: %v; want a refusal", name, err)
		}
	}
}

func TestChartPullsTheImageTheReleasePushes(t *testing.T) {
	k := only(t, kustomization(t, "kustomization.yaml"), "Kustomization")
	if len(k.Images) != 1 {
		t.Fatalf("the kustomization has %d images, want 1", len(k.Images))
	}
	out, err := renderFiles("revokebot", nil)
	if err != nil {
		t.Fatal(err)
	}
	image := regexp.MustCompile(`(?m)^\s+image: "([^":]+):([^"]+)"$`).FindStringSubmatch(out["revokebot/templates/deployment.yaml"])
	if image == nil || image[1] != k.Images[0].NewName || image[2] != k.Images[0].NewTag {
		t.Errorf("the chart pulls %q, want %s:%s as the kustomization does", image, k.Images[0].NewName, k.Images[0].NewTag)
	}
}

func TestChartNeedsNoPrometheusOperatorByDefault(t *testing.T) {
	for _, o := range render(t, "revokebot", nil) {
		if strings.HasPrefix(o.APIVersion, "monitoring.coreos.com/") {
			t.Errorf("%s %s needs the Prometheus Operator's CRDs, but it is rendered by default", o.Kind, o.Metadata.Name)
		}
	}
}

func TestChartAlertsAreTheREADMEs(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	want, err := kubecheck.AlertTable(readme)
	if err != nil {
		t.Fatal(err)
	}
	set := render(t, "acme", everything)
	got, err := kubecheck.Alerts(only(t, set, "PrometheusRule"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("PrometheusRule alerts (-README +chart):\n%s", diff)
	}
	// The readiness alert finds the pods by name, which the release's name prefixes.
	notReady := regexp.MustCompile(`pod=~"([^"]+)"`).FindStringSubmatch(want[1].Expr)
	if notReady == nil {
		t.Fatalf("the second alert, %s, selects no pod by name", want[1].Name)
	}
	pod := only(t, set, "Deployment").Metadata.Name + "-7d9f8b6c5d-x2x9q"
	if !regexp.MustCompile("^(?:" + notReady[1] + ")$").MatchString(pod) {
		t.Errorf("%s selects pods by %q, which misses the chart's pod %s", want[1].Name, notReady[1], pod)
	}
}
