#!/usr/bin/env bash
# Builds the tools the deploy tests (ctest label `deploy`) run into BUILD_DIR/tools/bin: helm,
# kustomize (and kubectl on a machine without one), from their Go modules at the versions pinned
# in tools/deploy-tools/go.mod (hashes in go.sum), and the npm project of the manifest validators, tests/deploy/node (package-lock.json),
# into BUILD_DIR/tools/deploy-node. Idempotent and non-interactive: a second run only checks.
# `make test` runs it before ctest.
#   usage: tools/install-deploy-tools.sh BUILD_DIR
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 BUILD_DIR   (for example: $0 build-asan)" >&2
  exit 2
fi
here="$(cd "$(dirname "$0")/.." && pwd)"
mkdir -p "$1/tools/bin"
bin="$(cd "$1/tools/bin" && pwd)"

go_cmd="$(command -v go || true)"
if [ -z "$go_cmd" ] && [ -x /usr/local/go/bin/go ]; then go_cmd=/usr/local/go/bin/go; fi
if [ -z "$go_cmd" ]; then
  echo "install-deploy-tools: no Go toolchain found (go on PATH or /usr/local/go/bin/go);" \
    "install Go 1.26 or newer, then run this again" >&2
  exit 1
fi

# One stamp per tool: go.sum changes (a new pinned version) rebuild it.
mod="$here/tools/deploy-tools"
build_tool() { # name package [ldflags [module dir]]
  local name="$1" pkg="$2" ldflags="${3:-}" dir="${4:-$mod}" stamp="$bin/.$1.go.sum"
  if [ -x "$bin/$name" ] && [ -f "$stamp" ] && cmp -s "$stamp" "$dir/go.sum"; then
    return
  fi
  echo "install-deploy-tools: building $name ($pkg) into $bin"
  (cd "$dir" && GOFLAGS=-mod=readonly GOTOOLCHAIN=local "$go_cmd" build -trimpath -ldflags="$ldflags" -o "$bin/$name" "$pkg")
  cp "$dir/go.sum" "$stamp"
}
# helm reports the version go.mod pins (its build normally stamps it with -X).
helm_version="$(awk '$1 == "helm.sh/helm/v3" { print $2 }' "$mod/go.mod")"
build_tool helm helm.sh/helm/v3/cmd/helm "-X helm.sh/helm/v3/internal/version.version=$helm_version"
build_tool kustomize sigs.k8s.io/kustomize/kustomize/v5
# kubectl: the machine's own when it has one; otherwise the upstream command built from the
# k8s.io/kubectl module (its own module, tools/kubectl-build, so helm's pins stay as they are).
# `make test` puts BUILD_DIR/tools/bin at the end of PATH: a kubectl already installed wins.
if command -v kubectl >/dev/null 2>&1 && [ "$(command -v kubectl)" != "$bin/kubectl" ]; then
  echo "install-deploy-tools: kubectl found at $(command -v kubectl)"
else
  kube_version="v$(awk '$1 == "k8s.io/kubectl" { sub(/^v0\./, "1.", $2); print $2 }' "$here/tools/kubectl-build/go.mod")"
  build_tool kubectl . "-X k8s.io/component-base/version.gitVersion=$kube_version" "$here/tools/kubectl-build"
fi

# The offline schema validators (kubernetes-models: the Kubernetes OpenAPI schemas compiled to
# validators, shipped in the npm package) and a YAML parser, from tests/deploy/node's lock file.
node_dir="$1/tools/deploy-node"
src="$here/tests/deploy/node"
mkdir -p "$node_dir"
if [ ! -f "$node_dir/node_modules/.package-lock.json" ] || ! cmp -s "$src/package-lock.json" "$node_dir/package-lock.json"; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "install-deploy-tools: npm not found; run tools/install-deps.sh first (it installs Node.js and npm)" >&2
    exit 1
  fi
  echo "install-deploy-tools: installing the manifest validators (npm ci) into $node_dir"
  cp "$src/package.json" "$src/package-lock.json" "$node_dir/"
  (cd "$node_dir" && npm ci --no-audit --no-fund </dev/null)
fi
echo "install-deploy-tools: helm, kustomize, the manifest validators (and kubectl where none was installed) are in $1/tools"
