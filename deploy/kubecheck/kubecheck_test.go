package kubecheck

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// goodDeployment is a minimal deployment that keeps every rule.
const goodDeployment = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: revokebot}
spec:
  replicas: 1
  strategy: {type: Recreate}
  selector: {matchLabels: {app: revokebot}}
  template:
    metadata: {labels: {app: revokebot}}
    spec:
      automountServiceAccountToken: false
      terminationGracePeriodSeconds: 15
      securityContext: {runAsNonRoot: true, runAsUser: 65532, seccompProfile: {type: RuntimeDefault}}
      containers:
        - name: revokebot
          envFrom: [{configMapRef: {name: revokebot}}, {secretRef: {name: revokebot}}]
          ports: [{name: http-metrics, containerPort: 9090}]
          livenessProbe: {httpGet: {path: /healthz, port: http-metrics}}
          readinessProbe: {httpGet: {path: /readyz, port: http-metrics}}
          resources: {requests: {cpu: 20m, memory: 64Mi}, limits: {cpu: 500m, memory: 128Mi}}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            runAsNonRoot: true
            capabilities: {drop: [ALL]}
          volumeMounts: [{name: data, mountPath: /data}, {name: tmp, mountPath: /tmp}]
      volumes:
        - {name: data, persistentVolumeClaim: {claimName: revokebot-data}}
        - {name: tmp, emptyDir: {}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: revokebot}
data: {DATA_DIR: /data, LISTEN_ADDR: ":9090", REVOKE_CHANNEL_ID: C0123}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: revokebot-data}
spec: {accessModes: [ReadWriteOnce]}
---
apiVersion: v1
kind: Service
metadata: {name: revokebot, labels: {app: revokebot}}
spec:
  selector: {app: revokebot}
  ports: [{name: http-metrics, port: 9090, targetPort: http-metrics}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: revokebot}
spec:
  podSelector: {matchLabels: {app: revokebot}}
  policyTypes: [Ingress, Egress]
  ingress: [{ports: [{port: 9090}]}]
  egress:
    - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}, podSelector: {matchLabels: {k8s-app: kube-dns}}}]
      ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}]
    - ports: [{protocol: TCP, port: 443}]
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: revokebot}
spec:
  selector: {matchLabels: {app: revokebot}}
  endpoints: [{port: http-metrics, path: /metrics}]
`

func decode(t *testing.T, raw string) Set {
	t.Helper()
	objs, err := Decode([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func TestEveryRuleCatchesTheManifestThatBreaksIt(t *testing.T) {
	tests := []struct {
		rule     string
		old, new string
		// alsoBroken are rules that the change breaks as well, by their nature.
		alsoBroken []string
	}{
		{"one replica while the store is SQLite", "replicas: 1", "replicas: 2", nil},
		{"Recreate, so two pods never share the SQLite file", "type: Recreate", "type: RollingUpdate", nil},
		{"the claim is ReadWriteOnce, for one pod", "accessModes: [ReadWriteOnce]", "accessModes: [ReadWriteMany]", nil},
		{"DATA_DIR is where the claim is mounted", "DATA_DIR: /data", "DATA_DIR: /var/data", nil},
		{"an emptyDir is mounted at /tmp, since the root filesystem is read-only", "{name: tmp, mountPath: /tmp}", "{name: tmp, mountPath: /scratch}", nil},
		{"readiness asks /readyz on LISTEN_ADDR's port", "path: /readyz", "path: /healthz", nil},
		{"CPU and memory are limited", "limits: {cpu: 500m, memory: 128Mi}", "limits: {cpu: 500m}", nil},
		{"the root filesystem is read-only", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false", nil},
		{"no privilege escalation", "allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true", nil},
		{"every capability is dropped", "drop: [ALL]", "drop: [NET_RAW]", nil},
		{"seccomp is RuntimeDefault", "seccompProfile: {type: RuntimeDefault}", "seccompProfile: {type: Unconfined}", nil},
		{"no service account token", "automountServiceAccountToken: false", "automountServiceAccountToken: true", nil},
		{"the grace period outlasts the bot's 10 s shutdown", "terminationGracePeriodSeconds: 15", "terminationGracePeriodSeconds: 10", nil},
		{"tokens come from the Secret", "secretRef: {name: revokebot}", "secretRef: {name: other}", nil},
		{"the Service serves port 9090 from the container's metrics port", "port: 9090, targetPort: http-metrics", "port: 9090, targetPort: web", nil},
		{"ingress is allowed only to the metrics port, 9090", "ingress: [{ports: [{port: 9090}]}]", "ingress: [{ports: [{port: 9090}]}, {ports: [{port: 22}]}]", nil},
		{"egress allows DNS to kube-dns, on UDP and TCP 53", "{protocol: UDP, port: 53}, ", "", []string{"egress allows nothing else"}},
		{"egress allows nothing else", "- ports: [{protocol: TCP, port: 443}]", "- ports: [{protocol: TCP, port: 443}]\n    - ports: [{protocol: TCP, port: 5432}]", nil},
		{"it governs both ingress and egress", "policyTypes: [Ingress, Egress]", "policyTypes: [Ingress]", nil},
		{"it scrapes /metrics on the Service's port 9090, by name", "endpoints: [{port: http-metrics, path: /metrics}]", "endpoints: [{port: web, path: /metrics}]", nil},
	}
	check := func(t *testing.T, set Set) []string {
		t.Helper()
		var broken []string
		for _, rules := range []func(Set) ([]Rule, error){
			func(s Set) ([]Rule, error) { return DeploymentRules(s, "revokebot") },
			NetworkPolicyRules,
			ServiceMonitorRules,
		} {
			r, err := rules(set)
			if err != nil {
				t.Fatal(err)
			}
			broken = append(broken, Broken(r)...)
		}
		return broken
	}
	if broken := check(t, decode(t, goodDeployment)); len(broken) > 0 {
		t.Fatalf("the good deployment breaks %q", broken)
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			if !strings.Contains(goodDeployment, tt.old) {
				t.Fatalf("the good deployment has no %q to change", tt.old)
			}
			got := check(t, decode(t, strings.Replace(goodDeployment, tt.old, tt.new, 1)))
			if diff := cmp.Diff(append([]string{tt.rule}, tt.alsoBroken...), got); diff != "" {
				t.Errorf("broken rules (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSettingsProblems(t *testing.T) {
	known := map[string]bool{"REVOKE_CHANNEL_ID": true, "DATA_DIR": true, "SLACK_APP_TOKEN": true, "SLACK_BOT_TOKEN": true, "ACCESSOWL_API_TOKEN": true}
	required := []string{"REVOKE_CHANNEL_ID", "SLACK_APP_TOKEN", "SLACK_BOT_TOKEN", "ACCESSOWL_API_TOKEN"}
	tests := []struct {
		name       string
		cm         map[string]string
		secretKeys []string
		want       []string
	}{
		{"tokens in the Secret and the rest in the ConfigMap", map[string]string{"REVOKE_CHANNEL_ID": "C1"}, Tokens, nil},
		{
			"a variable revokebot does not read", map[string]string{"REVOKE_CHANNEL_ID": "C1", "REVOKE_CHANNEL": "C1"}, Tokens,
			[]string{"the ConfigMap sets REVOKE_CHANNEL, which revokebot does not read"},
		},
		{
			"a token in the ConfigMap", map[string]string{"REVOKE_CHANNEL_ID": "C1", "SLACK_BOT_TOKEN": "xoxb-1"}, Tokens,
			[]string{"the ConfigMap holds the token SLACK_BOT_TOKEN: tokens belong in the Secret"},
		},
		{
			"a required variable nowhere", nil, Tokens,
			[]string{"required variable REVOKE_CHANNEL_ID is in neither the ConfigMap nor the Secret"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := SettingsProblems(Object{Data: tt.cm}, tt.secretKeys, known, required)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAlertTableReadsEscapedPipesAndNoFor(t *testing.T) {
	readme := "# x\n\n### What to alert on\n\nSome words.\n\n" +
		"| alert | expression (PromQL) | for | what it means |\n" +
		"|---|---|---|---|\n" +
		"| **Disconnected from Slack** | `revokebot_slack_connected == 0` | 5m | Run `check`. |\n" +
		"| **AccessOwl refuses the token** | `increase(x{status=~\"401\\|403\"}[10m]) > 0` | — | Replace it. |\n" +
		"\nAfter the table.\n\n### Logs\n"
	got, err := AlertTable([]byte(readme))
	if err != nil {
		t.Fatal(err)
	}
	want := []Alert{
		{Name: "RevokebotDisconnectedFromSlack", Expr: "revokebot_slack_connected == 0", For: "5m"},
		{Name: "RevokebotAccessOwlRefusesTheToken", Expr: `increase(x{status=~"401|403"}[10m]) > 0`},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("alerts (-want +got):\n%s", diff)
	}
}

func TestDecodeSkipsTheEmptyDocumentsOfTemplatesTurnedOff(t *testing.T) {
	got := decode(t, "---\n# Source: revokebot/templates/networkpolicy.yaml\n---\napiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\n")
	if len(got) != 1 || got[0].Kind != "Service" {
		t.Errorf("Decode = %+v, want the one Service", got)
	}
}
