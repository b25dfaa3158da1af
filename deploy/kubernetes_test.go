package deploy

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"revokebot/app"
)

// The parts of Kubernetes objects the tests read.
type (
	object struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
		Metadata   struct{ Name string }
		Data       map[string]string `yaml:"data"`
		StringData map[string]string `yaml:"stringData"`
		Spec       yaml.Node         `yaml:"spec"`
		Resources  []string          `yaml:"resources"` // a Kustomization's
	}
	deploymentSpec struct {
		Replicas *int
		Strategy struct{ Type string }
		Template struct {
			Spec struct {
				SecurityContext struct {
					RunAsNonRoot *bool `yaml:"runAsNonRoot"`
					RunAsUser    int   `yaml:"runAsUser"`
				} `yaml:"securityContext"`
				AutomountServiceAccountToken *bool `yaml:"automountServiceAccountToken"`
				Containers                   []container
				Volumes                      []struct {
					Name                  string
					PersistentVolumeClaim *struct {
						ClaimName string `yaml:"claimName"`
					} `yaml:"persistentVolumeClaim"`
				}
			}
		}
	}
	container struct {
		Name    string
		EnvFrom []struct {
			ConfigMapRef *struct{ Name string } `yaml:"configMapRef"`
			SecretRef    *struct{ Name string } `yaml:"secretRef"`
		} `yaml:"envFrom"`
		Ports []struct {
			Name          string
			ContainerPort int `yaml:"containerPort"`
		}
		LivenessProbe  *probe `yaml:"livenessProbe"`
		ReadinessProbe *probe `yaml:"readinessProbe"`
		Resources      struct {
			Requests map[string]string
			Limits   map[string]string
		}
		SecurityContext struct {
			AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
			ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
			RunAsNonRoot             *bool `yaml:"runAsNonRoot"`
			Capabilities             struct{ Drop []string }
		} `yaml:"securityContext"`
		VolumeMounts []struct {
			Name      string
			MountPath string `yaml:"mountPath"`
		} `yaml:"volumeMounts"`
	}
	probe struct {
		HTTPGet *struct {
			Path string
			Port string
		} `yaml:"httpGet"`
	}
)

// manifests reads every object in deploy/kubernetes, by file.
func manifests(t *testing.T) map[string][]object {
	t.Helper()
	files, err := filepath.Glob("kubernetes/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	out := map[string][]object{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		dec.KnownFields(false)
		for {
			var o object
			if err := dec.Decode(&o); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if o.Kind == "" {
				t.Errorf("%s: an object without a kind", f)
			}
			out[filepath.Base(f)] = append(out[filepath.Base(f)], o)
		}
	}
	return out
}

// only returns the one object of kind in all, failing the test if there is not exactly one.
func only(t *testing.T, all map[string][]object, kind string) object {
	t.Helper()
	var found []object
	for _, objs := range all {
		for _, o := range objs {
			if o.Kind == kind {
				found = append(found, o)
			}
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d objects of kind %s, want 1", len(found), kind)
	}
	return found[0]
}

func TestKustomizationAppliesEveryManifestButTheSecretExample(t *testing.T) {
	all := manifests(t)
	k := only(t, all, "Kustomization")
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
}

func TestDeploymentRunsOneLockedDownReplicaWithItsStoreOnAVolume(t *testing.T) {
	all := manifests(t)
	d := only(t, all, "Deployment")
	var spec deploymentSpec
	if err := d.Spec.Decode(&spec); err != nil {
		t.Fatal(err)
	}
	pod := spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	cm := only(t, all, "ConfigMap")
	pvc := only(t, all, "PersistentVolumeClaim")
	secret := only(t, all, "Secret")

	isTrue := func(b *bool) bool { return b != nil && *b }
	isFalse := func(b *bool) bool { return b != nil && !*b }
	claimed := ""
	for _, v := range pod.Volumes {
		if v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == pvc.Metadata.Name {
			claimed = v.Name
		}
	}
	dataMount := ""
	for _, m := range c.VolumeMounts {
		if m.Name == claimed {
			dataMount = m.MountPath
		}
	}
	port := map[string]int{}
	for _, p := range c.Ports {
		port[p.Name] = p.ContainerPort
	}
	probeOK := func(p *probe, path string) bool {
		return p != nil && p.HTTPGet != nil && p.HTTPGet.Path == path && ":"+strconv.Itoa(port[p.HTTPGet.Port]) == cm.Data["LISTEN_ADDR"]
	}
	envFrom := map[string]string{}
	for _, e := range c.EnvFrom {
		if e.ConfigMapRef != nil {
			envFrom["ConfigMap"] = e.ConfigMapRef.Name
		}
		if e.SecretRef != nil {
			envFrom["Secret"] = e.SecretRef.Name
		}
	}
	for _, tt := range []struct {
		rule string
		ok   bool
	}{
		{"one replica while the store is SQLite", spec.Replicas != nil && *spec.Replicas == 1},
		{"Recreate, so two pods never share the SQLite file", spec.Strategy.Type == "Recreate"},
		{"the PersistentVolumeClaim is mounted", claimed != "" && dataMount != ""},
		{"DATA_DIR is where the claim is mounted", cm.Data["DATA_DIR"] == dataMount},
		{"liveness asks /healthz on LISTEN_ADDR's port", probeOK(c.LivenessProbe, "/healthz")},
		{"readiness asks /readyz on LISTEN_ADDR's port", probeOK(c.ReadinessProbe, "/readyz")},
		{"CPU and memory are requested", c.Resources.Requests["cpu"] != "" && c.Resources.Requests["memory"] != ""},
		{"CPU and memory are limited", c.Resources.Limits["cpu"] != "" && c.Resources.Limits["memory"] != ""},
		{"the pod runs as non-root", isTrue(pod.SecurityContext.RunAsNonRoot) && pod.SecurityContext.RunAsUser != 0},
		{"the container runs as non-root", isTrue(c.SecurityContext.RunAsNonRoot)},
		{"the root filesystem is read-only", isTrue(c.SecurityContext.ReadOnlyRootFilesystem)},
		{"no privilege escalation", isFalse(c.SecurityContext.AllowPrivilegeEscalation)},
		{"every capability is dropped", slices.Equal(c.SecurityContext.Capabilities.Drop, []string{"ALL"})},
		{"no service account token", isFalse(pod.AutomountServiceAccountToken)},
		{"settings come from the ConfigMap", envFrom["ConfigMap"] == cm.Metadata.Name},
		{"tokens come from the Secret", envFrom["Secret"] == secret.Metadata.Name},
	} {
		if !tt.ok {
			t.Errorf("the Deployment breaks the rule: %s", tt.rule)
		}
	}
}

func TestConfigMapAndSecretSetOnlyKnownVariablesAndEveryRequiredOne(t *testing.T) {
	all := manifests(t)
	cm := only(t, all, "ConfigMap")
	secret := only(t, all, "Secret")
	known, required := variables()
	tokens := []string{"ACCESSOWL_API_TOKEN", "SLACK_APP_TOKEN", "SLACK_BOT_TOKEN"}
	for k := range cm.Data {
		if !known[k] {
			t.Errorf("the ConfigMap sets %s, which revokebot does not read", k)
		}
		if slices.Contains(tokens, k) {
			t.Errorf("the ConfigMap holds the token %s: tokens belong in the Secret", k)
		}
	}
	var secretKeys []string
	for k := range secret.StringData {
		secretKeys = append(secretKeys, k)
	}
	slices.Sort(secretKeys)
	if diff := cmp.Diff(tokens, secretKeys); diff != "" {
		t.Errorf("Secret keys (-want +got):\n%s", diff)
	}
	for _, k := range required {
		if _, inCM := cm.Data[k]; !inCM && !slices.Contains(secretKeys, k) {
			t.Errorf("required variable %s is in neither the ConfigMap nor the Secret", k)
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
