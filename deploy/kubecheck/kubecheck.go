// Package kubecheck reads Kubernetes manifests and holds the rules that revokebot's Kubernetes
// deployments keep, so that the kustomization in deploy/kubernetes and the Helm chart in
// deploy/helm are checked by one set of rules. The chart's tests are a module of their own, so
// that the product's module does not depend on Helm; they import this package and nothing else
// of revokebot, which is why it depends only on a YAML parser.
package kubecheck

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"gopkg.in/yaml.v3"
)

// Tokens are the variables that belong in the Secret and nowhere else.
var Tokens = []string{"ACCESSOWL_API_TOKEN", "SLACK_APP_TOKEN", "SLACK_BOT_TOKEN"}

// MetricsPort is the port revokebot serves /healthz, /readyz and /metrics on (LISTEN_ADDR).
const MetricsPort = 9090

// Object is the part of a Kubernetes object that the rules read.
type Object struct {
	APIVersion string            `yaml:"apiVersion"`
	Kind       string            `yaml:"kind"`
	Metadata   Metadata          `yaml:"metadata"`
	Data       map[string]string `yaml:"data"`
	StringData map[string]string `yaml:"stringData"`
	Spec       yaml.Node         `yaml:"spec"`
	// Resources and Images are a Kustomization's.
	Resources []string `yaml:"resources"`
	Images    []Image  `yaml:"images"`
}

// Metadata is an object's name and labels.
type Metadata struct {
	Name   string            `yaml:"name"`
	Labels map[string]string `yaml:"labels"`
}

// Image is a Kustomization's image replacement.
type Image struct {
	Name    string `yaml:"name"`
	NewName string `yaml:"newName"`
	NewTag  string `yaml:"newTag"`
}

// Rule is one property a manifest must have, and whether it has it.
type Rule struct {
	Name string
	OK   bool
}

// Broken returns the names of the rules that do not hold.
func Broken(rules []Rule) []string {
	var out []string
	for _, r := range rules {
		if !r.OK {
			out = append(out, r.Name)
		}
	}
	return out
}

// Decode reads every object of a multi-document YAML stream. Empty documents, which Helm renders
// for templates that are turned off, are skipped.
func Decode(raw []byte) ([]Object, error) {
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	var out []Object
	for {
		var o Object
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("decode manifest: %w", err)
		}
		if o.Kind == "" && o.APIVersion == "" && o.Metadata.Name == "" {
			continue
		}
		if o.Kind == "" {
			return nil, fmt.Errorf("decode manifest: object %q has no kind", o.Metadata.Name)
		}
		out = append(out, o)
	}
}

// Set is the objects of one deployment.
type Set []Object

// OfKind returns the objects of kind.
func (s Set) OfKind(kind string) []Object {
	var out []Object
	for _, o := range s {
		if o.Kind == kind {
			out = append(out, o)
		}
	}
	return out
}

// Only returns the one object of kind, or an error when there is not exactly one.
func (s Set) Only(kind string) (Object, error) {
	found := s.OfKind(kind)
	if len(found) != 1 {
		return Object{}, fmt.Errorf("%d objects of kind %s, want 1", len(found), kind)
	}
	return found[0], nil
}

// decodeSpec decodes o's spec into a value of type T.
func decodeSpec[T any](o Object) (T, error) {
	var spec T
	if err := o.Spec.Decode(&spec); err != nil {
		return spec, fmt.Errorf("%s %s: %w", o.Kind, o.Metadata.Name, err)
	}
	return spec, nil
}

// subset reports whether every label of want is in have with the same value, and want is not
// empty: an empty selector selects everything, which is never what is meant here.
func subset(want, have map[string]string) bool {
	if len(want) == 0 {
		return false
	}
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}
