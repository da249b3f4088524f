#!/usr/bin/env bash
# Installs every build, test and UI dependency that is missing. Idempotent and non-interactive:
# running it again on a machine that has everything does nothing but check.
set -euo pipefail

APT_PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config clang-format
  libcurl4-openssl-dev libzstd-dev zstd libxxhash-dev libsimdjson-dev
  libflatbuffers-dev flatbuffers-compiler libboost-dev libcpp-httplib-dev libssl-dev
  prometheus-cpp-dev libbenchmark-dev libgtest-dev libgmock-dev libyaml-cpp-dev
  librocksdb-dev libprotobuf-dev protobuf-compiler openssl curl wrk chromium libexpat1-dev
)
# `install-deps.sh --fuzz`: only what the libFuzzer tree needs (make test-fuzz, make fuzz).
only_listed=false
if [ "${1:-}" = "--fuzz" ]; then
  only_listed=true
  APT_PACKAGES=(clang-16 libclang-rt-16-dev)
fi
# `install-deps.sh --image`: only what `make image` and the deploy tests need: the daemonless image
# tools (mmdebstrap, umoci, skopeo; objdump and strip from binutils), the OCI runtime the pod tests
# run it with (crun), and jq/curl/python3-yaml for their driver (tests/deploy/pod_test.sh).
if [ "${1:-}" = "--image" ]; then
  only_listed=true
  APT_PACKAGES=(mmdebstrap umoci skopeo crun binutils jq curl python3 python3-yaml ca-certificates)
fi
# `install-deps.sh --objectstore`: a one-node Ceph cluster with its S3 gateway (mon, a memstore OSD,
# radosgw; ceph-common for ceph-authtool, monmaptool, radosgw-admin and the ceph CLI) that the
# objectstore ctest label starts (tools/objectstore/rgw-cluster.sh); curl signs its readiness probe.
if [ "${1:-}" = "--objectstore" ]; then
  only_listed=true
  APT_PACKAGES=(ceph-mon ceph-osd radosgw ceph-common curl)
fi
# `install-deps.sh --go`: a Go toolchain, for the benchmark's Badger side (bench/harness/badger,
# `make bench`). Any go already here is kept (on PATH, or the upstream tarball's /usr/local/go);
# otherwise Debian's golang-go (bookworm: Go 1.19, which that module's go.mod asks for).
if [ "${1:-}" = "--go" ]; then
  if command -v go >/dev/null 2>&1 || [ -x /usr/local/go/bin/go ] || [ -x /usr/lib/go/bin/go ]; then
    echo "install-deps: Go present"
    exit 0
  fi
  only_listed=true
  APT_PACKAGES=(golang-go gcc libc6-dev)
fi
# Node.js and npm may come from elsewhere on the image; take Debian's only when there are none.
if ! $only_listed && { ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; }; then
  APT_PACKAGES+=(nodejs npm)
fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${#missing[@]} missing Debian packages: ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo -n"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
else
  echo "install-deps: all Debian packages present"
fi

if $only_listed; then exit 0; fi

# The browser UI's npm packages (lock file committed; npm ci is reproducible).
here="$(cd "$(dirname "$0")/.." && pwd)"
if [ -f "$here/webfiles/package-lock.json" ]; then
  if [ ! -d "$here/webfiles/node_modules" ] || [ "$here/webfiles/package-lock.json" -nt "$here/webfiles/node_modules/.package-lock.json" ]; then
    echo "install-deps: installing npm packages for webfiles/"
    (cd "$here/webfiles" && npm ci --no-audit --no-fund </dev/null)
  fi
fi
