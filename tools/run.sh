#!/usr/bin/env bash
# `make run`: start build/sloop on :8080, with the flags of `make run ARGS=...`. sloop watches the
# current kubeconfig context, or starts the cluster simulator when there is none
# (-simulator-if-no-kubeconfig=true here; the binary's default is false, so that an image never
# fakes a cluster). A tree configured without the server (SLOOP_SKIP_DIRS=sloop) runs the storage
# tool on a demo workload instead.
set -euo pipefail
build="${1:-build}"
if [ -x "$build/sloop" ]; then
  exec "$build/sloop" -simulator-if-no-kubeconfig=true "${@:2}"
fi
demo="$(mktemp -d -t sloop-demo-XXXXXX)"
trap 'rm -rf "$demo"' EXIT
echo "run: build/sloop is not built (SLOOP_SKIP_DIRS?); demonstrating the segment store in $demo"
"$build/sloop-inspect" demo "$demo" --records 20000
