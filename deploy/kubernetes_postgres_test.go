package deploy

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"revokebot/deploy/kubecheck"
)

// The PostgreSQL variant, deploy/kubernetes/postgres: several replicas on one database.
const sharedDir = "kubernetes/postgres"

func TestPostgresKustomizationAppliesEveryManifestButTheSecretExample(t *testing.T) {
	all := manifests(t, sharedDir)
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
	base := only(t, manifests(t, "kubernetes")["kustomization.yaml"], "Kustomization")
	if diff := cmp.Diff(base.Images, k.Images); diff != "" {
		t.Errorf("the variant pulls another image than the single replica (-single +postgres):\n%s", diff)
	}
}

func TestPostgresDeploymentRunsLockedDownReplicasThatNeverAllGo(t *testing.T) {
	secret := only(t, manifests(t, sharedDir)["secret.example.yaml"], "Secret")
	var keys []string
	for k := range secret.StringData {
		keys = append(keys, k)
	}
	rules, err := kubecheck.SharedDeploymentRules(applied(t, sharedDir), secret.Metadata.Name, keys)
	if err != nil {
		t.Fatal(err)
	}
	for _, broken := range kubecheck.Broken(rules) {
		t.Errorf("the Deployment breaks the rule: %s", broken)
	}
}

func TestPostgresConfigMapAndSecretSetOnlyKnownVariablesAndEveryRequiredOne(t *testing.T) {
	set := applied(t, sharedDir)
	cm := only(t, set, "ConfigMap")
	secret := only(t, manifests(t, sharedDir)["secret.example.yaml"], "Secret")
	var tokens []string
	for k := range secret.StringData {
		if k != "DATABASE_URL" { // the one setting besides the tokens that holds a secret
			tokens = append(tokens, k)
		}
	}
	known, required := variables()
	for _, problem := range kubecheck.SettingsProblems(cm, tokens, known, required) {
		t.Error(problem)
	}
	if _, ok := cm.Data["DATA_DIR"]; ok {
		t.Error("the ConfigMap sets DATA_DIR, which replicas on PostgreSQL do not use")
	}
}

func TestPostgresNetworkPolicyLetsInOnlyMetricsAndOutOnlyDNSHTTPSAndPostgres(t *testing.T) {
	rules, err := kubecheck.SharedNetworkPolicyRules(applied(t, sharedDir), 5432)
	if err != nil {
		t.Fatal(err)
	}
	for _, broken := range kubecheck.Broken(rules) {
		t.Errorf("the NetworkPolicy breaks the rule: %s", broken)
	}
}
