package kubecheck

import (
	"bytes"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

type (
	serviceMonitorSpec struct {
		Selector  selector
		Endpoints []struct {
			Port string
			Path string
		}
	}
	prometheusRuleSpec struct {
		Groups []struct {
			Name  string
			Rules []struct {
				Alert string
				Expr  string
				For   string
			}
		}
	}
)

// ServiceMonitorRules checks that the ServiceMonitor of s scrapes the bot's Service.
func ServiceMonitorRules(s Set) ([]Rule, error) {
	sm, err := s.Only("ServiceMonitor")
	if err != nil {
		return nil, err
	}
	svcObj, err := s.Only("Service")
	if err != nil {
		return nil, err
	}
	spec, err := decodeSpec[serviceMonitorSpec](sm)
	if err != nil {
		return nil, err
	}
	svc, err := decodeSpec[serviceSpec](svcObj)
	if err != nil {
		return nil, err
	}
	metricsPort := ""
	for _, p := range svc.Ports {
		if p.Port == MetricsPort {
			metricsPort = p.Name
		}
	}
	scrapes := false
	for _, e := range spec.Endpoints {
		if e.Port != "" && e.Port == metricsPort && (e.Path == "" || e.Path == "/metrics") {
			scrapes = true
		}
	}
	return []Rule{
		{"the ServiceMonitor selects the Service by its labels", subset(spec.Selector.MatchLabels, svcObj.Metadata.Labels)},
		{"it scrapes /metrics on the Service's port 9090, by name", scrapes},
	}, nil
}

// Alert is one alerting rule: its name, PromQL expression and how long it must hold ("" for at
// once).
type Alert struct {
	Name string
	Expr string
	For  string
}

// Alerts returns the alerting rules of a PrometheusRule, in order.
func Alerts(rule Object) ([]Alert, error) {
	if rule.Kind != "PrometheusRule" {
		return nil, fmt.Errorf("%s %s is not a PrometheusRule", rule.Kind, rule.Metadata.Name)
	}
	spec, err := decodeSpec[prometheusRuleSpec](rule)
	if err != nil {
		return nil, err
	}
	var out []Alert
	for _, g := range spec.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" {
				out = append(out, Alert{Name: r.Alert, Expr: strings.TrimSpace(r.Expr), For: r.For})
			}
		}
	}
	return out, nil
}

// AlertTable reads the alerts of the README's "What to alert on" table, in order. An alert's
// name is its title in CamelCase after "Revokebot" ("Disconnected from Slack" is
// RevokebotDisconnectedFromSlack), and a "for" of "—" means at once.
func AlertTable(readme []byte) ([]Alert, error) {
	rows, err := readmeTable(readme, "What to alert on")
	if err != nil {
		return nil, err
	}
	var out []Alert
	for _, r := range rows {
		if len(r) < 3 {
			return nil, fmt.Errorf("alert table: row %q has %d cells, want at least 3", r, len(r))
		}
		title := strings.Trim(r[0], "* ")
		expr := strings.Trim(r[1], "` ")
		forCell := strings.Trim(r[2], " ")
		if forCell == "—" {
			forCell = ""
		}
		out = append(out, Alert{Name: "Revokebot" + camelCase(title), Expr: expr, For: forCell})
	}
	return out, nil
}

// MetricTable returns the metric names of the README's "Metrics" table.
func MetricTable(readme []byte) (map[string]bool, error) {
	rows, err := readmeTable(readme, "Metrics")
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, r := range rows {
		out[strings.Trim(r[0], "` ")] = true
	}
	return out, nil
}

// readmeTable returns the body rows of the first table under the heading titled heading, each
// as its cells; a "\|" in a cell is a "|" of the cell's text.
func readmeTable(readme []byte, heading string) ([][]string, error) {
	lines := strings.Split(string(readme), "\n")
	start := -1
	for i, l := range lines {
		if h, ok := strings.CutPrefix(l, "#"); ok && strings.TrimSpace(strings.TrimLeft(h, "#")) == heading {
			start = i
			break
		}
	}
	if start < 0 {
		return nil, fmt.Errorf("the README has no heading %q", heading)
	}
	var rows [][]string
	inTable := false
	for _, l := range lines[start+1:] {
		if strings.HasPrefix(l, "#") {
			break
		}
		if !strings.HasPrefix(l, "|") {
			if inTable {
				break
			}
			continue
		}
		if !inTable {
			inTable = true // the header row
			continue
		}
		cells := splitRow(l)
		if len(cells) > 0 && strings.Trim(cells[0], "-: ") == "" {
			continue // the separator row
		}
		rows = append(rows, cells)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("no table under the README's heading %q", heading)
	}
	return rows, nil
}

// splitRow splits a Markdown table row at the pipes that are not escaped.
func splitRow(line string) []string {
	line = strings.TrimSpace(line)
	line = strings.TrimPrefix(line, "|")
	line = strings.TrimSuffix(line, "|")
	var cells []string
	var cur bytes.Buffer
	for i := 0; i < len(line); i++ {
		switch {
		case line[i] == '\\' && i+1 < len(line) && line[i+1] == '|':
			cur.WriteByte('|')
			i++
		case line[i] == '|':
			cells = append(cells, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteByte(line[i])
		}
	}
	return append(cells, strings.TrimSpace(cur.String()))
}

// camelCase joins words with each one's first letter in upper case and the rest as written.
func camelCase(title string) string {
	var b strings.Builder
	for _, w := range strings.Fields(title) {
		r, size := utf8.DecodeRuneInString(w)
		b.WriteRune(unicode.ToUpper(r))
		b.WriteString(w[size:])
	}
	return b.String()
}
