#!/usr/bin/env bash
# `make run`: start what the build has. With the sloop server built, it starts it on :8080; until
# then it runs the storage tool on a demo workload so that the storage core can be seen working.
set -euo pipefail
build="${1:-build}"
if [ -x "$build/sloop" ]; then
  exec "$build/sloop" "${@:2}"
fi
demo="$(mktemp -d -t sloop-demo-XXXXXX)"
trap 'rm -rf "$demo"' EXIT
echo "run: the sloop server is not built yet; demonstrating the segment store in $demo"
"$build/sloop-inspect" demo "$demo" --records 20000
