// Package helm holds the tests of revokebot's Helm chart (deploy/helm/revokebot). They render the
// chart with Helm's own engine, without a cluster, and hold the result to the rules that
// deploy/kubecheck shares with the kustomization's tests. They are a Go module of their own so
// that Helm's many dependencies stay out of revokebot's module.
package helm
