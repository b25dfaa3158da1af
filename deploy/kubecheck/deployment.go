package kubecheck

import (
	"fmt"
	"slices"
	"strconv"
)

// The parts of a Deployment, a Service and a PersistentVolumeClaim that the rules read.
type (
	deploymentSpec struct {
		Replicas *int
		Strategy struct {
			Type          string
			RollingUpdate *struct {
				MaxUnavailable any `yaml:"maxUnavailable"`
			} `yaml:"rollingUpdate"`
		}
		Selector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		}
		Template struct {
			Metadata Metadata
			Spec     podSpec
		}
	}
	podSpec struct {
		SecurityContext struct {
			RunAsNonRoot   *bool           `yaml:"runAsNonRoot"`
			RunAsUser      int             `yaml:"runAsUser"`
			SeccompProfile *seccompProfile `yaml:"seccompProfile"`
		} `yaml:"securityContext"`
		AutomountServiceAccountToken *bool `yaml:"automountServiceAccountToken"`
		TopologySpreadConstraints    []struct {
			TopologyKey   string `yaml:"topologyKey"`
			LabelSelector struct {
				MatchLabels map[string]string `yaml:"matchLabels"`
			} `yaml:"labelSelector"`
		} `yaml:"topologySpreadConstraints"`
		TerminationGracePeriodSeconds *int `yaml:"terminationGracePeriodSeconds"`
		Containers                    []container
		Volumes                       []struct {
			Name                  string
			PersistentVolumeClaim *struct {
				ClaimName string `yaml:"claimName"`
			} `yaml:"persistentVolumeClaim"`
			EmptyDir *struct{} `yaml:"emptyDir"`
		}
	}
	seccompProfile struct{ Type string }
	container      struct {
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
			AllowPrivilegeEscalation *bool           `yaml:"allowPrivilegeEscalation"`
			ReadOnlyRootFilesystem   *bool           `yaml:"readOnlyRootFilesystem"`
			RunAsNonRoot             *bool           `yaml:"runAsNonRoot"`
			SeccompProfile           *seccompProfile `yaml:"seccompProfile"`
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
	serviceSpec struct {
		Selector map[string]string
		Ports    []struct {
			Name       string
			Port       int
			TargetPort string `yaml:"targetPort"`
		}
	}
	claimSpec struct {
		AccessModes []string `yaml:"accessModes"`
	}
	pdbSpec struct {
		MinAvailable   any `yaml:"minAvailable"`
		MaxUnavailable any `yaml:"maxUnavailable"`
		Selector       struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		}
	}
)

// shutdownSeconds is how long revokebot may take to stop after SIGTERM: it drains work in
// flight for up to 8 s and exits within 10 s. The grace period before SIGKILL must be longer.
const shutdownSeconds = 10

// DeploymentRules checks the Deployment of s with its ConfigMap, PersistentVolumeClaim and
// Service: one locked-down replica, its store on the claim, its probes and metrics on
// LISTEN_ADDR's port, its settings from the ConfigMap and its tokens from the Secret named
// secretName. The Secret itself need not be in s.
func DeploymentRules(s Set, secretName string) ([]Rule, error) {
	spec, cm, svc, err := deploymentParts(s)
	if err != nil {
		return nil, err
	}
	pvc, err := s.Only("PersistentVolumeClaim")
	if err != nil {
		return nil, err
	}
	claim, err := decodeSpec[claimSpec](pvc)
	if err != nil {
		return nil, err
	}
	pod := spec.Template.Spec
	c := pod.Containers[0]
	claimed := ""
	for _, v := range pod.Volumes {
		if v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == pvc.Metadata.Name {
			claimed = v.Name
		}
	}
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m.MountPath
	}
	return append([]Rule{
		{"one replica while the store is SQLite", spec.Replicas != nil && *spec.Replicas == 1},
		{"Recreate, so two pods never share the SQLite file", spec.Strategy.Type == "Recreate"},
		{"the PersistentVolumeClaim is mounted", claimed != "" && mounts[claimed] != ""},
		{"the claim is ReadWriteOnce, for one pod", slices.Equal(claim.AccessModes, []string{"ReadWriteOnce"})},
		{"DATA_DIR is where the claim is mounted", claimed != "" && cm.Data["DATA_DIR"] == mounts[claimed]},
	}, podRules(spec, cm, svc, secretName)...), nil
}

// SharedDeploymentRules checks the Deployment of the PostgreSQL variant with its ConfigMap,
// PodDisruptionBudget and Service: several replicas replaced one at a time, spread over nodes,
// never all disrupted at once, no volume of their own and DATABASE_URL from the Secret named
// secretName, whose keys are secretKeys; and the same lockdown, probes and settings as the
// single replica's.
func SharedDeploymentRules(s Set, secretName string, secretKeys []string) ([]Rule, error) {
	spec, cm, svc, err := deploymentParts(s)
	if err != nil {
		return nil, err
	}
	pdbObj, err := s.Only("PodDisruptionBudget")
	if err != nil {
		return nil, err
	}
	pdb, err := decodeSpec[pdbSpec](pdbObj)
	if err != nil {
		return nil, err
	}
	pod := spec.Template.Spec
	spread := false
	for _, t := range pod.TopologySpreadConstraints {
		if t.TopologyKey == "kubernetes.io/hostname" && subset(t.LabelSelector.MatchLabels, spec.Template.Metadata.Labels) {
			spread = true
		}
	}
	noClaim := len(s.OfKind("PersistentVolumeClaim")) == 0
	for _, v := range pod.Volumes {
		noClaim = noClaim && v.PersistentVolumeClaim == nil
	}
	maxUnavailable := ""
	if ru := spec.Strategy.RollingUpdate; ru != nil && ru.MaxUnavailable != nil {
		maxUnavailable = fmt.Sprint(ru.MaxUnavailable)
	}
	_, inCM := cm.Data["DATABASE_URL"]
	return append([]Rule{
		{"at least two replicas", spec.Replicas != nil && *spec.Replicas >= 2},
		{"RollingUpdate with maxUnavailable 0, so a deploy never leaves nobody connected",
			spec.Strategy.Type == "RollingUpdate" && (maxUnavailable == "0" || maxUnavailable == "0%")},
		{"spread over nodes", spread},
		{"a PodDisruptionBudget keeps a replica up", subset(pdb.Selector.MatchLabels, spec.Template.Metadata.Labels) &&
			((pdb.MinAvailable != nil && fmt.Sprint(pdb.MinAvailable) != "0") || fmt.Sprint(pdb.MaxUnavailable) == "1")},
		{"no PersistentVolumeClaim: the state is in PostgreSQL", noClaim},
		{"DATABASE_URL comes from the Secret, not the ConfigMap", slices.Contains(secretKeys, "DATABASE_URL") && !inCM},
	}, podRules(spec, cm, svc, secretName)...), nil
}

// deploymentParts decodes the Deployment, ConfigMap and Service of s.
func deploymentParts(s Set) (deploymentSpec, Object, serviceSpec, error) {
	var (
		spec deploymentSpec
		svc  serviceSpec
	)
	d, err := s.Only("Deployment")
	if err != nil {
		return spec, Object{}, svc, err
	}
	cm, err := s.Only("ConfigMap")
	if err != nil {
		return spec, cm, svc, err
	}
	svcObj, err := s.Only("Service")
	if err != nil {
		return spec, cm, svc, err
	}
	if spec, err = decodeSpec[deploymentSpec](d); err != nil {
		return spec, cm, svc, err
	}
	if svc, err = decodeSpec[serviceSpec](svcObj); err != nil {
		return spec, cm, svc, err
	}
	if n := len(spec.Template.Spec.Containers); n != 1 {
		return spec, cm, svc, fmt.Errorf("%d containers, want 1", n)
	}
	return spec, cm, svc, nil
}

// podRules are the rules every variant's pod keeps: locked down, probed and scraped on
// LISTEN_ADDR's port, configured from the ConfigMap and the Secret.
func podRules(spec deploymentSpec, cm Object, svc serviceSpec, secretName string) []Rule {
	pod := spec.Template.Spec
	c := pod.Containers[0]

	isTrue := func(b *bool) bool { return b != nil && *b }
	isFalse := func(b *bool) bool { return b != nil && !*b }
	scratch := ""
	for _, v := range pod.Volumes {
		if v.EmptyDir != nil {
			scratch = v.Name
		}
	}
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m.MountPath
	}
	port := map[string]int{}
	for _, p := range c.Ports {
		port[p.Name] = p.ContainerPort
	}
	listenPort := ":" + strconv.Itoa(MetricsPort)
	probeOK := func(p *probe, path string) bool {
		return p != nil && p.HTTPGet != nil && p.HTTPGet.Path == path &&
			port[p.HTTPGet.Port] == MetricsPort && cm.Data["LISTEN_ADDR"] == listenPort
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
	seccomp := (pod.SecurityContext.SeccompProfile != nil && pod.SecurityContext.SeccompProfile.Type == "RuntimeDefault") ||
		(c.SecurityContext.SeccompProfile != nil && c.SecurityContext.SeccompProfile.Type == "RuntimeDefault")
	servesMetrics := false
	for _, p := range svc.Ports {
		if p.Port == MetricsPort && port[p.TargetPort] == MetricsPort {
			servesMetrics = true
		}
	}
	return []Rule{
		{"the Deployment selects its own pods", subset(spec.Selector.MatchLabels, spec.Template.Metadata.Labels)},
		{"an emptyDir is mounted at /tmp, since the root filesystem is read-only", scratch != "" && mounts[scratch] == "/tmp"},
		{"liveness asks /healthz on LISTEN_ADDR's port", probeOK(c.LivenessProbe, "/healthz")},
		{"readiness asks /readyz on LISTEN_ADDR's port", probeOK(c.ReadinessProbe, "/readyz")},
		{"CPU and memory are requested", c.Resources.Requests["cpu"] != "" && c.Resources.Requests["memory"] != ""},
		{"CPU and memory are limited", c.Resources.Limits["cpu"] != "" && c.Resources.Limits["memory"] != ""},
		{"the pod runs as non-root", isTrue(pod.SecurityContext.RunAsNonRoot) && pod.SecurityContext.RunAsUser != 0},
		{"the container runs as non-root", isTrue(c.SecurityContext.RunAsNonRoot)},
		{"the root filesystem is read-only", isTrue(c.SecurityContext.ReadOnlyRootFilesystem)},
		{"no privilege escalation", isFalse(c.SecurityContext.AllowPrivilegeEscalation)},
		{"every capability is dropped", slices.Equal(c.SecurityContext.Capabilities.Drop, []string{"ALL"})},
		{"seccomp is RuntimeDefault", seccomp},
		{"no service account token", isFalse(pod.AutomountServiceAccountToken)},
		{"the grace period outlasts the bot's 10 s shutdown", pod.TerminationGracePeriodSeconds != nil && *pod.TerminationGracePeriodSeconds > shutdownSeconds},
		{"settings come from the ConfigMap", envFrom["ConfigMap"] == cm.Metadata.Name},
		{"tokens come from the Secret", secretName != "" && envFrom["Secret"] == secretName},
		{"the Service selects the pod", subset(svc.Selector, spec.Template.Metadata.Labels)},
		{"the Service serves port 9090 from the container's metrics port", servesMetrics},
	}
}

// SettingsProblems checks that a ConfigMap sets only variables that revokebot reads and no token,
// that the Secret's keys are exactly the tokens, and that every required variable is in one of
// them. known and required come from app.Config, which the chart's tests cannot import.
func SettingsProblems(cm Object, secretKeys []string, known map[string]bool, required []string) []string {
	var out []string
	for k := range cm.Data {
		if !known[k] {
			out = append(out, fmt.Sprintf("the ConfigMap sets %s, which revokebot does not read", k))
		}
		if slices.Contains(Tokens, k) {
			out = append(out, fmt.Sprintf("the ConfigMap holds the token %s: tokens belong in the Secret", k))
		}
	}
	keys := slices.Sorted(slices.Values(secretKeys))
	if !slices.Equal(keys, Tokens) {
		out = append(out, fmt.Sprintf("the Secret's keys are %v, want %v", keys, Tokens))
	}
	for _, k := range required {
		if _, inCM := cm.Data[k]; !inCM && !slices.Contains(secretKeys, k) {
			out = append(out, fmt.Sprintf("required variable %s is in neither the ConfigMap nor the Secret", k))
		}
	}
	slices.Sort(out)
	return out
}
