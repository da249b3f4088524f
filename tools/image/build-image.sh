#!/usr/bin/env bash
# `make image`: the OCI image of sloop, built without a container daemon from Debian packages.
#
#   tools/image/build-image.sh [--build DIR] [--out DIR] [--no-cache] [--check-reproducible]
#                              [--allow-sanitizer]
#
# Layer 1: a Debian bookworm root holding only the runtime libraries DIR/sloop links (found with
# objdump and dpkg -S on this machine, a Debian 12 like the image), CA certificates and tzdata,
# extracted by mmdebstrap (no maintainer scripts, no shell, no package manager) and trimmed of
# docs, man pages, locales and apt state. Cached in DIR/image/cache/ keyed by the package list,
# SOURCE_DATE_EPOCH and this script, so a second run does not download anything.
# Layer 2: DIR/sloop stripped (the web UI is embedded in it) at /usr/bin/sloop, and /data.
# Both layers are tar files written with sorted names, one mtime (SOURCE_DATE_EPOCH: the commit's
# time) and numeric owners; umoci adds them to an OCI layout at DIR/image/oci without history
# and with a fixed creation time, and skopeo writes DIR/image/sloop.tar (docker-archive, tag
# sloop:VERSION) for `docker load`, `podman load` and `kind load image-archive`. Two builds of one
# commit give the same digests; --check-reproducible builds a second time from scratch (a fresh
# mmdebstrap too) and fails if a digest differs.
set -euo pipefail

here="$(cd "$(dirname "$0")/../.." && pwd)"
build="$here/build"
use_cache=true
check=false
allow_sanitizer=false
out=
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build="$(cd "$2" && pwd)"; shift 2 ;;
    --out) mkdir -p "$2"; out="$(cd "$2" && pwd)"; shift 2 ;;
    --no-cache) use_cache=false; shift ;;
    --allow-sanitizer) allow_sanitizer=true; shift ;;
    --check-reproducible) check=true; shift ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-image: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

die() { echo "build-image: $*" >&2; exit 1; }
for tool in mmdebstrap umoci skopeo objdump strip tar sha256sum jq; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is missing; run tools/install-deps.sh --image"
done
binary="$build/sloop"
[ -x "$binary" ] || die "$binary does not exist; build it first (make build, or cmake --build $build --target sloop)"
if ! $allow_sanitizer && objdump -p "$binary" | grep -qE 'NEEDED +lib(a|ub|t)san'; then
  die "$binary is a sanitizer build; the image takes a release build (make build), or pass --allow-sanitizer (the deploy tests of a sanitizer tree do)"
fi

epoch="${SOURCE_DATE_EPOCH:-$(git -C "$here" log -1 --format=%ct 2>/dev/null || true)}"
[ -n "$epoch" ] || die "no SOURCE_DATE_EPOCH and no git commit to take it from"
export SOURCE_DATE_EPOCH="$epoch"
revision="$(git -C "$here" rev-parse HEAD 2>/dev/null || echo unknown)"
version="$(sed -n 's/^project(sloop-cpp VERSION \([0-9.]*\).*/\1/p' "$here/CMakeLists.txt")"
[ -n "$version" ] || die "no project VERSION in $here/CMakeLists.txt"
created="$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)"
# Where the source is (label org.opencontainers.image.source): SLOOP_IMAGE_SOURCE, else the git
# remote "origin" when it is a URL (a clone of a local directory would put this machine's path in
# the image, and two clones would differ); with neither the label is left out rather than guessed.
source_url="${SLOOP_IMAGE_SOURCE:-$(git -C "$here" config --get remote.origin.url 2>/dev/null || true)}"
case "$source_url" in *://* | git@*) ;; *) source_url="${SLOOP_IMAGE_SOURCE:-}" ;; esac
licence="$(head -1 "$here/LICENSE" | grep -q '^BSD 3-Clause' && echo BSD-3-Clause || echo NOASSERTION)"
suite=bookworm
# bookworm with its point-release updates and security updates. The cache is keyed by the day too:
# a new day may bring security updates (the same commit on another day can give another digest;
# two builds of one day give the same one).
mirror="${SLOOP_IMAGE_MIRROR:-http://deb.debian.org/debian}"
security_mirror="${SLOOP_IMAGE_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
sources=("deb $mirror $suite main" "deb $mirror $suite-updates main"
  "deb $security_mirror $suite-security main")
out="${out:-$build/image}"
cache_dir="$build/image/cache"
mkdir -p "$out" "$cache_dir"

# ---- the Debian packages holding the libraries the binary links directly (apt adds theirs)
packages=()
while read -r lib; do
  path="$(ldd "$binary" | awk -v l="$lib" '$1 == l { print $3 }')"
  [ -n "$path" ] || die "$binary needs $lib, which this machine does not have"
  pkg="$(dpkg -S "$(readlink -f "$path")" 2>/dev/null || dpkg -S "$path" 2>/dev/null)" ||
    die "no Debian package holds $path (needed by $binary); the image takes only Debian's libraries"
  packages+=("${pkg%%:*}")
done < <(objdump -p "$binary" | awk '$1 == "NEEDED" { print $2 }')
packages+=(ca-certificates tzdata)
mapfile -t packages < <(printf '%s\n' "${packages[@]}" | LC_ALL=C sort -u)
include="$(IFS=,; echo "${packages[*]}")"

# A directory's files as a tar that depends on nothing but their names, contents and modes.
det_tar() {  # det_tar DIR OUT.tar
  (cd "$1" && find . -mindepth 1 -printf '%P\0' | LC_ALL=C sort -z |
    tar --create --file="$2" --format=gnu --mtime="@$epoch" --numeric-owner --no-recursion \
      --null --files-from=-)
}

# ---- layer 1: the Debian root (cached)
base_layer() {  # base_layer CACHE_DIR → prints the path of the layer tar
  local cache="$1"
  local key
  key="$( (echo "${sources[*]} $epoch $include $(date -u +%F)"; cat "$0") | sha256sum | cut -c1-16)"
  local layer="$cache/base-$key.tar"
  if $use_cache && [ -s "$layer" ]; then
    echo "$layer"
    return
  fi
  local tmp
  tmp="$(mktemp -d "$cache/base.XXXXXX")"
  echo "build-image: mmdebstrap $suite: ${packages[*]}" >&2
  mmdebstrap --quiet --variant=extract --include="$include" \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    "$suite" "$tmp/debian.tar" "${sources[@]}" >&2 ||
    die "mmdebstrap failed (it downloads from $mirror and $security_mirror: is the network up? SLOOP_IMAGE_MIRROR and SLOOP_IMAGE_SECURITY_MIRROR choose others)"
  mkdir "$tmp/root"
  tar -xf "$tmp/debian.tar" -C "$tmp/root" --numeric-owner
  local r="$tmp/root"
  # What nothing in the image runs: package manager state, docs, tools, iconv modules.
  rm -rf "$r"/usr/share/{doc,man,info,locale,lintian,gdb,bash-completion,pixmaps,perl5,debconf,bug,menu,gcc} \
    "$r"/var/lib/apt "$r"/var/cache/* "$r"/var/log/* "$r"/etc/apt "$r"/var/lib/dpkg "$r"/etc/dpkg \
    "$r"/usr/lib/x86_64-linux-gnu/gconv "$r"/usr/bin/openssl "$r"/usr/sbin/update-ca-certificates \
    "$r"/usr/share/zoneinfo/right "$r"/etc/ca-certificates "$r"/etc/ca-certificates.conf
  # What ca-certificates' maintainer script would have made: the bundle libcurl reads.
  mkdir -p "$r/etc/ssl/certs"
  find "$r/usr/share/ca-certificates" -name '*.crt' -print0 | LC_ALL=C sort -z | xargs -0 cat \
    >"$r/etc/ssl/certs/ca-certificates.crt"
  printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nnonroot:x:65532:65532:sloop:/data:/usr/sbin/nologin\n' >"$r/etc/passwd"
  printf 'root:x:0:\nnonroot:x:65532:\n' >"$r/etc/group"
  mkdir -p "$r/tmp" && chmod 1777 "$r/tmp"
  det_tar "$r" "$tmp/layer.tar"
  rm -f "$cache"/base-*.tar  # one cached root: the one of the current package list and epoch
  mv "$tmp/layer.tar" "$layer"
  rm -rf "$tmp"
  echo "$layer"
}

# ---- layer 2 and the image; prints the manifest digest
build_image() {  # build_image OUT_DIR CACHE_DIR
  local dest="$1" cache="$2"
  local base
  base="$(base_layer "$cache")"
  local stage
  stage="$(mktemp -d "$dest/stage.XXXXXX")"
  mkdir -p "$stage/layer/usr/bin" "$stage/layer/data"
  strip --strip-unneeded -o "$stage/layer/usr/bin/sloop" "$binary"
  chmod 0755 "$stage/layer/usr/bin/sloop" "$stage/layer/usr" "$stage/layer/usr/bin"
  chown -R 0:0 "$stage/layer"
  chown 65532:65532 "$stage/layer/data"
  det_tar "$stage/layer" "$stage/sloop-layer.tar"

  local oci="$dest/oci" ref="$dest/oci:$version"
  rm -rf "$oci"
  umoci init --layout "$oci"
  umoci new --image "$ref"
  umoci --log error raw add-layer --no-history --image "$ref" "$base"
  umoci --log error raw add-layer --no-history --image "$ref" "$stage/sloop-layer.tar"
  umoci config --no-history --image "$ref" --created "$created" --author "sloop-cpp" \
    --os linux --architecture amd64 \
    --config.user 65532:65532 --config.workingdir /data \
    --config.entrypoint /usr/bin/sloop --config.cmd -store-root=/data \
    --config.exposedports 8080/tcp --config.volume /data --config.stopsignal SIGTERM \
    --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --config.label "org.opencontainers.image.title=sloop" \
    ${source_url:+--config.label "org.opencontainers.image.source=$source_url"} \
    --config.label "org.opencontainers.image.version=$version" \
    --config.label "org.opencontainers.image.revision=$revision" \
    --config.label "org.opencontainers.image.licenses=$licence" \
    --config.label "org.opencontainers.image.created=$created" \
    --manifest.annotation "org.opencontainers.image.version=$version" \
    --manifest.annotation "org.opencontainers.image.revision=$revision" \
    --manifest.annotation "org.opencontainers.image.created=$created"
  umoci gc --layout "$oci"
  rm -f "$dest/sloop.tar"
  skopeo copy --quiet "oci:$oci:$version" "docker-archive:$dest/sloop.tar:sloop:$version" >&2
  rm -rf "$stage"
  jq -r '.manifests[0].digest' "$oci/index.json"
}

digest="$(build_image "$out" "$cache_dir")"
# What `docker load` will see: the tag, and the config a pod runs with.
tar -xOf "$out/sloop.tar" manifest.json | jq -e --arg t "sloop:$version" \
  '.[0].RepoTags | any(endswith($t))' >/dev/null || die "$out/sloop.tar is not tagged sloop:$version"
skopeo inspect --config "docker-archive:$out/sloop.tar" | jq -e '.config |
  .User == "65532:65532" and .Entrypoint == ["/usr/bin/sloop"] and .WorkingDir == "/data" and
  (.ExposedPorts | has("8080/tcp")) and (.Labels["org.opencontainers.image.version"] != null)' \
  >/dev/null || die "the image config in $out/sloop.tar is not what this script wrote"
archive_sum="$(sha256sum "$out/sloop.tar" | cut -d' ' -f1)"
layers_bytes="$(jq '[.layers[].size] | add' "$out/oci/blobs/sha256/${digest#sha256:}")"
echo "build-image: $out/oci (tag $version) manifest $digest"
[ -n "$source_url" ] || echo "build-image: note: no git remote and no SLOOP_IMAGE_SOURCE: label org.opencontainers.image.source left out"
echo "build-image: $out/sloop.tar (sloop:$version) sha256:$archive_sum"
echo "build-image: image size $(numfmt --to=iec "$layers_bytes") compressed, $(numfmt --to=iec "$(stat -c %s "$out/sloop.tar")") uncompressed (sloop.tar); packages: ${packages[*]}"

if $check; then
  again="$(mktemp -d "$out/check.XXXXXX")"
  trap 'rm -rf "$again"' EXIT
  mkdir -p "$again/cache"
  echo "build-image: --check-reproducible: building again from scratch in $again"
  use_cache=false
  digest2="$(build_image "$again" "$again/cache")"
  archive_sum2="$(sha256sum "$again/sloop.tar" | cut -d' ' -f1)"
  echo "build-image: second build: manifest $digest2, sloop.tar sha256:$archive_sum2"
  if [ "$digest" != "$digest2" ] || [ "$archive_sum" != "$archive_sum2" ]; then
    die "not reproducible: manifest $digest vs $digest2, sloop.tar $archive_sum vs $archive_sum2"
  fi
  echo "build-image: reproducible: both builds gave manifest $digest"
fi
