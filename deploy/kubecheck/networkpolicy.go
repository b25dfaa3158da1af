package kubecheck

import (
	"slices"
	"strconv"

	"gopkg.in/yaml.v3"
)

type (
	networkPolicySpec struct {
		PodSelector selector `yaml:"podSelector"`
		PolicyTypes []string `yaml:"policyTypes"`
		Ingress     []policyRule
		Egress      []policyRule
	}
	policyRule struct {
		From  []peer `yaml:"from"`
		To    []peer `yaml:"to"`
		Ports []policyPort
	}
	peer struct {
		PodSelector       *selector `yaml:"podSelector"`
		NamespaceSelector *selector `yaml:"namespaceSelector"`
		IPBlock           *struct {
			CIDR string `yaml:"cidr"`
		} `yaml:"ipBlock"`
	}
	selector struct {
		MatchLabels map[string]string `yaml:"matchLabels"`
	}
	policyPort struct {
		Protocol string
		Port     portValue
	}
)

// portValue is a port given as a number or a name.
type portValue string

// UnmarshalYAML takes the scalar as written, number or name.
func (p *portValue) UnmarshalYAML(n *yaml.Node) error {
	*p = portValue(n.Value)
	return nil
}

// ports returns a rule's ports as "PROTOCOL/port", TCP when the protocol is left out, sorted.
func (r policyRule) ports() []string {
	var out []string
	for _, p := range r.Ports {
		proto := p.Protocol
		if proto == "" {
			proto = "TCP"
		}
		out = append(out, proto+"/"+string(p.Port))
	}
	slices.Sort(out)
	return out
}

// toKubeDNS reports whether a rule's only destination is the cluster's DNS pods.
func (r policyRule) toKubeDNS() bool {
	if len(r.To) != 1 {
		return false
	}
	to := r.To[0]
	return to.NamespaceSelector != nil && to.PodSelector != nil &&
		to.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] == "kube-system" &&
		to.PodSelector.MatchLabels["k8s-app"] == "kube-dns"
}

// toAnywhere reports whether a rule lets traffic go to any address, as egress to SaaS APIs must,
// since their addresses are not fixed.
func (r policyRule) toAnywhere() bool {
	if len(r.To) == 0 {
		return true
	}
	return len(r.To) == 1 && r.To[0].IPBlock != nil && r.To[0].IPBlock.CIDR == "0.0.0.0/0"
}

// NetworkPolicyRules checks the NetworkPolicy of s against its Deployment: it applies to the
// bot's pods, lets in only connections to the metrics port, and lets out only DNS to kube-dns
// and HTTPS (Slack and AccessOwl).
func NetworkPolicyRules(s Set) ([]Rule, error) { return networkPolicyRules(s, 0) }

// SharedNetworkPolicyRules checks the NetworkPolicy of the PostgreSQL variant: the same, and it
// also lets out TCP to databasePort, in a rule of its own.
func SharedNetworkPolicyRules(s Set, databasePort int) ([]Rule, error) {
	return networkPolicyRules(s, databasePort)
}

// networkPolicyRules checks the rules of NetworkPolicyRules, and the database's port unless 0.
func networkPolicyRules(s Set, databasePort int) ([]Rule, error) {
	np, err := s.Only("NetworkPolicy")
	if err != nil {
		return nil, err
	}
	d, err := s.Only("Deployment")
	if err != nil {
		return nil, err
	}
	spec, err := decodeSpec[networkPolicySpec](np)
	if err != nil {
		return nil, err
	}
	dep, err := decodeSpec[deploymentSpec](d)
	if err != nil {
		return nil, err
	}
	metrics := []string{"TCP/" + strconv.Itoa(MetricsPort)}
	onlyMetricsIn := len(spec.Ingress) == 1 && slices.Equal(spec.Ingress[0].ports(), metrics)
	var dns, https, database, other int
	for _, r := range spec.Egress {
		switch {
		case databasePort != 0 && slices.Equal(r.ports(), []string{"TCP/" + strconv.Itoa(databasePort)}):
			database++
		case r.toKubeDNS() && slices.Equal(r.ports(), []string{"TCP/53", "UDP/53"}):
			dns++
		case r.toAnywhere() && slices.Equal(r.ports(), []string{"TCP/443"}):
			https++
		default:
			other++
		}
	}
	types := slices.Sorted(slices.Values(spec.PolicyTypes))
	return []Rule{
		{"the NetworkPolicy applies to the bot's pods", subset(spec.PodSelector.MatchLabels, dep.Template.Metadata.Labels)},
		{"it governs both ingress and egress", slices.Equal(types, []string{"Egress", "Ingress"})},
		{"ingress is allowed only to the metrics port, 9090", onlyMetricsIn},
		{"egress allows DNS to kube-dns, on UDP and TCP 53", dns == 1},
		{"egress allows HTTPS (TCP 443) to Slack and AccessOwl, whose addresses are not fixed", https == 1},
		{"egress allows the database's port when there is one", database == min(1, databasePort)},
		{"egress allows nothing else", other == 0},
	}, nil
}
