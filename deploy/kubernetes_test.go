package deploy

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"revokebot/app"
	"revokebot/deploy/kubecheck"
)

// manifests reads every object in the YAML files of dir (not its subfolders), by file name.
func manifests(t *testing.T, dir string) map[string][]kubecheck.Object {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in %s: %v", dir, err)
	}
	out := map[string][]kubecheck.Object{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		objs, err := kubecheck.Decode(raw)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[filepath.Base(f)] = objs
	}
	return out
}

// applied returns the objects that kubectl apply -k dir creates: those of every file but the
// Kustomization and the Secret example.
func applied(t *testing.T, dir string) kubecheck.Set {
	t.Helper()
	var set kubecheck.Set
	for f, objs := range manifests(t, dir) {
		if f != "kustomization.yaml" && f != "secret.example.yaml" {
			set = append(set, objs...)
		}
	}
	return set
}

// only returns the one object of kind in set, failing the test if there is not exactly one.
func only(t *testing.T, set kubecheck.Set, kind string) kubecheck.Object {
	t.Helper()
	o, err := set.Only(kind)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// secretExample is the Secret that the README and secret.example.yaml tell people to create.
func secretExample(t *testing.T) kubecheck.Object {
	t.Helper()
	return only(t, manifests(t, "kubernetes")["secret.example.yaml"], "Secret")
}

func TestKustomizationsApplyEveryManifestButTheSecretExample(t *testing.T) {
	for _, dir := range []string{"kubernetes", "kubernetes/monitoring"} {
		t.Run(dir, func(t *testing.T) {
			all := manifests(t, dir)
			k := only(t, all["kustomization.yaml"], "Kustomization")
			var want []string
			for f := range all {
				if f != "kustomization.yaml" && f != "secret.example.yaml" {
					want = append(want, f)
				}
			}
			got := slices.Clone(k.Resources)
			slices.Sort(got)
			slices.Sort(want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("kustomization resources (-want +got):\n%s", diff)
			}
		})
	}
}

func TestKustomizationAppliesWithoutThePrometheusOperator(t *testing.T) {
	for _, o := range applied(t, "kubernetes") {
		if strings.HasPrefix(o.APIVersion, "monitoring.coreos.com/") {
			t.Errorf("%s %s needs the Prometheus Operator's CRDs: it belongs in monitoring/", o.Kind, o.Metadata.Name)
		}
	}
}

func TestDeploymentRunsOneLockedDownReplicaWithItsStoreOnAVolume(t *testing.T) {
	rules, err := kubecheck.DeploymentRules(applied(t, "kubernetes"), secretExample(t).Metadata.Name)
	if err != nil {
		t.Fatal(err)
	}
	for _, broken := range kubecheck.Broken(rules) {
		t.Errorf("the Deployment breaks the rule: %s", broken)
	}
}

func TestConfigMapAndSecretSetOnlyKnownVariablesAndEveryRequiredOne(t *testing.T) {
	cm := only(t, applied(t, "kubernetes"), "ConfigMap")
	var secretKeys []string
	for k := range secretExample(t).StringData {
		secretKeys = append(secretKeys, k)
	}
	known, required := variables()
	for _, problem := range kubecheck.SettingsProblems(cm, secretKeys, known, required) {
		t.Error(problem)
	}
}

func TestNetworkPolicyLetsInOnlyMetricsAndOutOnlyDNSAndHTTPS(t *testing.T) {
	rules, err := kubecheck.NetworkPolicyRules(applied(t, "kubernetes"))
	if err != nil {
		t.Fatal(err)
	}
	for _, broken := range kubecheck.Broken(rules) {
		t.Errorf("the NetworkPolicy breaks the rule: %s", broken)
	}
}

func TestServiceMonitorScrapesTheService(t *testing.T) {
	set := append(applied(t, "kubernetes"), applied(t, "kubernetes/monitoring")...)
	rules, err := kubecheck.ServiceMonitorRules(set)
	if err != nil {
		t.Fatal(err)
	}
	for _, broken := range kubecheck.Broken(rules) {
		t.Errorf("the ServiceMonitor breaks the rule: %s", broken)
	}
}

func TestPrometheusRulesAreTheAlertsOfTheREADME(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	want, err := kubecheck.AlertTable(readme)
	if err != nil {
		t.Fatal(err)
	}
	got, err := kubecheck.Alerts(only(t, applied(t, "kubernetes/monitoring"), "PrometheusRule"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("PrometheusRule alerts (-README +monitoring/prometheusrule.yaml):\n%s", diff)
	}
}

// TestAlertsUseOnlyMetricsThatExist catches an alert on a renamed metric, which would never
// fire: every revokebot_ metric an alert reads is in the README's metric table.
func TestAlertsUseOnlyMetricsThatExist(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	metrics, err := kubecheck.MetricTable(readme)
	if err != nil {
		t.Fatal(err)
	}
	alerts, err := kubecheck.AlertTable(readme)
	if err != nil {
		t.Fatal(err)
	}
	name := regexp.MustCompile(`revokebot_[a-z_]+`)
	for _, a := range alerts {
		for _, m := range name.FindAllString(a.Expr, -1) {
			// A histogram's series are its name with _bucket, _sum and _count.
			base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m, "_bucket"), "_sum"), "_count")
			if !metrics[base] {
				t.Errorf("alert %s reads %s, which the metric table does not list", a.Name, m)
			}
		}
	}
}

// variables lists the environment variables revokebot reads, from app.Config's tags.
func variables() (known map[string]bool, required []string) {
	known = map[string]bool{}
	typ := reflect.TypeFor[app.Config]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		name := f.Tag.Get("envconfig")
		known[name] = true
		if f.Tag.Get("required") == "true" {
			required = append(required, name)
		}
	}
	return known, required
}
