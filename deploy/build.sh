#!/bin/sh
# build.sh OUTPUT VERSION builds revokebot the one way it is released: a static binary (no cgo;
# the SQLite store is pure Go), without the build machine's paths, with its version stamped. The
# Dockerfile runs it, and deploy's tests run it to check what it makes, so the two cannot drift.
# Run it from the module's root.
set -eu
out=${1:?usage: deploy/build.sh OUTPUT VERSION}
version=${2:?usage: deploy/build.sh OUTPUT VERSION}
CGO_ENABLED=0 exec go build -trimpath -ldflags "-s -w -X main.version=${version}" -o "$out" .
