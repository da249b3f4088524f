#!/usr/bin/env bash
# `make run`: start build/sloop on :8080, with the flags of `make run ARGS=...`. sloop watches the
# current kubeconfig context, or starts the cluster simulator when there is none
# (-simulator-if-no-kubeconfig=true here; the binary's default is false, so that an image never
# fakes a cluster).
set -euo pipefail
build="${1:-build}"
exec "$build/sloop" -simulator-if-no-kubeconfig=true "${@:2}"
