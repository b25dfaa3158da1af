// Package deploy holds revokebot's deployment files — the Dockerfile and the script it builds
// with, the Slack app manifest, Kubernetes manifests and a systemd unit — and tests that check
// them, since none of them can run on the machines that build revokebot.
package deploy
