#!/usr/bin/env bash
# sloop's image in a simulated pod (ctest label deploy). The image (BUILD/image/oci, made by
# image_build_test from the build tree under test) is unpacked with umoci and run by crun as its
# own user (65532), root filesystem read-only, the service account kubesim wrote mounted at
# /var/run/secrets/kubernetes.io/serviceaccount, /data a writable bind, KUBERNETES_SERVICE_HOST/
# PORT pointing at kubesim (TLS, service-account token, RBAC from RBAC_FILE) on the host's
# loopback (the container keeps the host's network namespace).
#
#   pod_test.sh BUILD_DIR RBAC_FILE MODE
#   MODE full:       records the cluster with zero 403s; /healthz, /readyz and a timeline query
#                    answer; SIGTERM → exit 0 within 30 s with every shard sealed; a second start
#                    on the same volume serves the first run's history
#   MODE forbidden:  RBAC_FILE without configmaps: the other kinds are recorded, configmaps is
#                    logged once with the rule to add, listed on /api/v1/stats and /metrics,
#                    readiness does not wait for it, kubesim sees no retry storm
#   MODE namespace:  RBAC_FILE a Role in one namespace (the chart with config.watchNamespace=shop):
#                    sloop -watch-namespace=shop records that namespace's kinds with zero 403s
#                    and nothing of other namespaces or cluster-scoped kinds
#   MODE nocluster:  the binary never fakes a cluster: outside a pod with no kubeconfig it exits
#                    with an error naming what it looked for; in a pod whose API server is
#                    unreachable or whose token is missing it stays up, logs, retries, not ready
set -euo pipefail

build="$(cd "$1" && pwd)"
rbac_file="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"
mode="$3"
scratch="$build/tests/deploy/scratch/$mode"
grace=30

fail() { echo "FAIL ($mode): $*" >&2; exit 1; }
step() { echo "== $*"; }
for tool in crun umoci jq curl; do
  command -v "$tool" >/dev/null || fail "$tool is missing: run tools/install-deps.sh --image"
done
[ "$(id -u)" = 0 ] || fail "crun needs root here (user, pid and mount namespaces)"
oci="$build/image/oci"
[ -f "$oci/index.json" ] || fail "no image at $oci: image_build_test builds it (tools/image/build-image.sh --build $build)"
tag="$(jq -r '.manifests[0].annotations["org.opencontainers.image.ref.name"]' "$oci/index.json")"

containers=()
kubesim_pid=""
cleanup() {
  for c in "${containers[@]}"; do crun kill "$c" KILL >/dev/null 2>&1 || true; crun delete -f "$c" >/dev/null 2>&1 || true; done
  if [ -n "$kubesim_pid" ]; then kill "$kubesim_pid" 2>/dev/null || true; wait "$kubesim_pid" 2>/dev/null || true; fi
}
trap cleanup EXIT

rm -rf "$scratch"
mkdir -p "$scratch"
step "unpacking $oci:$tag"
umoci unpack --image "$oci:$tag" "$scratch/bundle" >/dev/null
cfg="$scratch/bundle/config.json"
[ "$(jq -r .process.user.uid "$cfg")" = 65532 ] || fail "the image's user is not 65532: $(jq -c .process.user "$cfg")"
[ "$(jq -r '.process.args[0]' "$cfg")" = /usr/bin/sloop ] || fail "the image's entrypoint is not /usr/bin/sloop: $(jq -c .process.args "$cfg")"
[ "$(jq -r .process.cwd "$cfg")" = /data ] || fail "the image's workdir is not /data"
mkdir -p "$scratch/data"
chown 65532:65532 "$scratch/data"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# The pod's service account: the first ServiceAccount a binding in RBAC_FILE names (the chart's
# may live in another namespace than sloop's own manifests).
service_account="$(python3 - "$rbac_file" <<'EOF'
import sys, yaml
for d in yaml.safe_load_all(open(sys.argv[1])):
    if d and d.get("kind") in ("ClusterRoleBinding", "RoleBinding"):
        for s in d.get("subjects") or []:
            if s.get("kind") == "ServiceAccount":
                ns = s.get("namespace") or d.get("metadata", {}).get("namespace", "default")
                print(f"{ns}:{s['name']}")
                sys.exit(0)
sys.exit("no binding in " + sys.argv[1] + " names a ServiceAccount")
EOF
)" || fail "cannot tell the service account from $rbac_file"

start_kubesim() {  # start_kubesim RBAC_FILE
  rm -f "$scratch/kubesim.port"
  "$build/kubesim" --port 0 --port-file "$scratch/kubesim.port" --tls --cert-dir "$scratch/certs" \
    --serviceaccount "$service_account" --serviceaccount-dir "$scratch/serviceaccount" --rbac "$1" \
    --scenario default --seed 7 --speed 5 2>"$scratch/kubesim.log" &
  kubesim_pid=$!
  for _ in $(seq 100); do [ -s "$scratch/kubesim.port" ] && break; sleep 0.1; done
  [ -s "$scratch/kubesim.port" ] || { cat "$scratch/kubesim.log" >&2; fail "kubesim did not start"; }
  kubesim_port="$(cat "$scratch/kubesim.port")"
}

# The pod: the image's config plus what the kubelet would add.
http_port=0
pod_args=()  # sloop's flags beyond the image's own and the port
run_pod() {  # run_pod NAME LOG [ENV...]: starts the container in the background
  local name="$1" log="$2"
  shift 2
  local env_json args_json='[]'
  env_json="$(printf '%s\n' "$@" | jq -R . | jq -s .)"
  if [ ${#pod_args[@]} -gt 0 ]; then args_json="$(printf '%s\n' "${pod_args[@]}" | jq -R . | jq -s .)"; fi
  jq --arg sa "$scratch/serviceaccount" --arg data "$scratch/data" --argjson env "$env_json" \
    --argjson extra "$args_json" \
    --arg port "$http_port" '
    .root.readonly = true
    | .process.terminal = false
    | .process.noNewPrivileges = true
    | .process.capabilities = {bounding: [], effective: [], permitted: [], inheritable: [], ambient: []}
    | .process.env += $env
    | .process.args += ["-port=" + $port, "-bind-address=127.0.0.1"] + $extra
    | .linux.namespaces = [{type: "pid"}, {type: "mount"}, {type: "ipc"}, {type: "uts"}]
    | del(.linux.resources)
    | .mounts = [
        {destination: "/proc", type: "proc", source: "proc"},
        {destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {destination: "/var/run/secrets/kubernetes.io/serviceaccount", type: "bind", source: $sa, options: ["rbind", "ro"]},
        {destination: "/data", type: "bind", source: $data, options: ["rbind", "rw"]}]
    ' "$scratch/bundle/config.json.orig" >"$scratch/bundle/config.json"
  # No cgroups: crun refuses this machine's hybrid v1+v2 layout ("cgroups in hybrid mode not
  # supported"), so it runs in a mount namespace of its own with only cgroup2 at /sys/fs/cgroup,
  # and creates none (--cgroup-manager=disabled); resource limits are not what is tested here.
  unshare --mount --propagation private sh -c \
    'mount -t cgroup2 none /sys/fs/cgroup 2>/dev/null || mount -t tmpfs tmpfs /sys/fs/cgroup
     exec crun --cgroup-manager=disabled run --bundle "$1" "$2"' \
    sh "$scratch/bundle" "$name" >"$log" 2>&1 </dev/null &
  pod_pid=$!
  containers+=("$name")
}
cp "$cfg" "$scratch/bundle/config.json.orig"

get() { curl -s -o "$scratch/body" -w '%{http_code}' --max-time 10 "http://127.0.0.1:$http_port$1" || true; }
wait_for() {  # wait_for SECONDS WHAT COMMAND...
  local secs="$1" what="$2"
  shift 2
  local end=$((SECONDS + secs))
  while [ $SECONDS -lt $end ]; do
    if "$@"; then return 0; fi
    kill -0 "$pod_pid" 2>/dev/null || { cat "$current_log" >&2; fail "sloop exited while waiting for $what"; }
    sleep 0.5
  done
  cat "$current_log" >&2
  fail "no $what within ${secs}s"
}
healthy() { [ "$(get /healthz)" = 200 ]; }
ready() { [ "$(get /readyz)" = 200 ]; }
forbidden_served() { curl -s --max-time 5 -k "https://127.0.0.1:$kubesim_port/debug/kubesim/counters" | jq -r .forbidden; }

stop_pod() {  # stop_pod NAME: SIGTERM, exit 0 within the grace period
  local name="$1" t0=$SECONDS
  crun kill "$name" TERM
  local end=$((SECONDS + grace))
  while kill -0 "$pod_pid" 2>/dev/null && [ $SECONDS -lt $end ]; do sleep 0.2; done
  if kill -0 "$pod_pid" 2>/dev/null; then cat "$current_log" >&2; fail "sloop did not stop within ${grace}s of SIGTERM"; fi
  local rc=0
  wait "$pod_pid" || rc=$?
  [ "$rc" = 0 ] || { cat "$current_log" >&2; fail "sloop exited $rc after SIGTERM"; }
  crun delete -f "$name" >/dev/null 2>&1 || true
  echo "stopped in $((SECONDS - t0)) s"
}

timeline_rows() {  # timeline_rows QUERY → matched
  [ "$(get "/api/v1/timeline?$1")" = 200 ] || fail "timeline $1 answered $(cat "$scratch/body")"
  jq -r .matched "$scratch/body"
}

case "$mode" in
full)
  start_kubesim "$rbac_file"
  http_port="$(free_port)"
  current_log="$scratch/sloop-1.log"
  step "first start (crun, uid 65532, read-only root, sloop on :$http_port, kubesim on :$kubesim_port)"
  t_start="$(date -u +%s)"
  run_pod "sloop-$$-1" "$current_log" KUBERNETES_SERVICE_HOST=127.0.0.1 "KUBERNETES_SERVICE_PORT=$kubesim_port"
  wait_for 60 "/healthz 200" healthy
  wait_for 90 "/readyz 200 (first list of every kind)" ready
  grep -q "in-cluster service account" "$current_log" || fail "sloop did not use the in-cluster service account"
  sleep 5  # a few seconds of simulated changes
  pods="$(timeline_rows "lookback=1h&kind=Pod")"
  deployments="$(timeline_rows "lookback=1h&kind=Deployment")"
  configmaps="$(timeline_rows "lookback=1h&kind=ConfigMap")"
  echo "recorded: $pods pods, $deployments deployments, $configmaps configmaps"
  [ "$pods" -gt 0 ] && [ "$deployments" -gt 0 ] && [ "$configmaps" -gt 0 ] || fail "nothing recorded of some kind"
  [ "$(get /api/v1/stats)" = 200 ] || fail "/api/v1/stats"
  [ "$(jq -c .forbidden_kinds "$scratch/body")" = "[]" ] || fail "forbidden kinds: $(cat "$scratch/body")"
  n403="$(forbidden_served)"
  [ "$n403" = 0 ] || { grep ' 403 ' "$scratch/kubesim.log" >&2; fail "kubesim served $n403 403s to sloop"; }
  t_end="$(date -u +%s)"
  window="from=$(date -u -d "@$((t_start - 60))" +%Y-%m-%dT%H:%M:%SZ)&to=$(date -u -d "@$t_end" +%Y-%m-%dT%H:%M:%SZ)"
  before="$(timeline_rows "$window")"
  step "SIGTERM (grace ${grace}s)"
  stop_pod "sloop-$$-1"
  grep -q "stopped cleanly" "$current_log" || fail "no 'stopped cleanly' in the log"
  active="$(find "$scratch/data" -name '*.active' | wc -l)"
  sealed="$(find "$scratch/data" -name '*.seg' | wc -l)"
  echo "store after stop: $sealed sealed shards, $active unsealed"
  [ "$active" = 0 ] && [ "$sealed" -gt 0 ] || { find "$scratch/data" -ls >&2; fail "not every shard is sealed"; }
  [ -z "$(find "$scratch/data" ! -user 65532 -print -quit)" ] || fail "files on /data not owned by 65532"

  step "second start on the same volume"
  current_log="$scratch/sloop-2.log"
  run_pod "sloop-$$-2" "$current_log" KUBERNETES_SERVICE_HOST=127.0.0.1 "KUBERNETES_SERVICE_PORT=$kubesim_port"
  wait_for 60 "/healthz 200 after restart" healthy
  after="$(timeline_rows "$window")"
  echo "the first run's window: $before rows before the restart, $after after"
  [ "$before" -gt 0 ] && [ "$after" -ge "$before" ] || fail "history lost across the restart ($before → $after rows)"
  wait_for 90 "/readyz 200 after restart" ready
  stop_pod "sloop-$$-2"
  n403="$(forbidden_served)"
  [ "$n403" = 0 ] || fail "kubesim served $n403 403s"
  ;;

forbidden)
  python3 - "$rbac_file" "$scratch/rbac-no-configmaps.yaml" <<'EOF'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
for d in docs:
    for rule in d.get("rules") or []:
        if "" in (rule.get("apiGroups") or []):
            rule["resources"] = [r for r in rule.get("resources", []) if r != "configmaps"]
yaml.safe_dump_all(docs, open(sys.argv[2], "w"))
EOF
  grep -q configmaps "$scratch/rbac-no-configmaps.yaml" && fail "configmaps still in the reduced RBAC"
  start_kubesim "$scratch/rbac-no-configmaps.yaml"
  http_port="$(free_port)"
  current_log="$scratch/sloop.log"
  step "ClusterRole without configmaps"
  run_pod "sloop-$$-f" "$current_log" KUBERNETES_SERVICE_HOST=127.0.0.1 "KUBERNETES_SERVICE_PORT=$kubesim_port"
  wait_for 60 "/healthz 200" healthy
  wait_for 90 "/readyz 200 although configmaps is forbidden" ready
  sleep 8  # long enough for a retry storm to show
  pods="$(timeline_rows "lookback=1h&kind=Pod")"
  configmaps="$(timeline_rows "lookback=1h&kind=ConfigMap")"
  echo "recorded: $pods pods, $configmaps configmaps"
  [ "$pods" -gt 0 ] || fail "the allowed kinds were not recorded"
  [ "$configmaps" = 0 ] || fail "configmaps recorded although forbidden"
  lines="$(grep -c 'configmaps: list forbidden' "$current_log" || true)"
  [ "$lines" = 1 ] || fail "configmaps' refusal logged $lines times (want once)"
  grep 'configmaps: list forbidden' "$current_log"
  grep 'configmaps: list forbidden' "$current_log" |
    grep -q 'apiGroups: \[""\], resources: \["configmaps"\], verbs: \["get", "list", "watch"\]' ||
    fail "the log does not say what to add to the role"
  [ "$(get /api/v1/stats)" = 200 ] || fail "/api/v1/stats"
  [ "$(jq -c .forbidden_kinds "$scratch/body")" = '["configmaps"]' ] || fail "stats: $(cat "$scratch/body")"
  [ "$(get /metrics)" = 200 ] || fail "/metrics"
  grep -E '^sloop_ingest_forbidden_kinds\{.*kind="ConfigMap".*\} 1$' "$scratch/body" || fail "no sloop_ingest_forbidden_kinds{kind=\"ConfigMap\"} 1 on /metrics"
  grep -E '^sloop_ingest_forbidden_kinds\{.*kind="Pod".*\} 1$' "$scratch/body" && fail "Pod reported forbidden"
  n403="$(forbidden_served)"
  echo "kubesim served $n403 403s"
  [ "$n403" -ge 1 ] && [ "$n403" -le 3 ] || fail "kubesim served $n403 403s (a probe and a list expected, no retry storm)"
  stop_pod "sloop-$$-f"
  ;;

namespace)
  start_kubesim "$rbac_file"
  http_port="$(free_port)"
  current_log="$scratch/sloop.log"
  pod_args=(-watch-namespace=shop)
  step "a Role in namespace shop only, sloop -watch-namespace=shop"
  run_pod "sloop-$$-ns" "$current_log" KUBERNETES_SERVICE_HOST=127.0.0.1 "KUBERNETES_SERVICE_PORT=$kubesim_port"
  wait_for 60 "/healthz 200" healthy
  wait_for 90 "/readyz 200 (first list of every kind in shop)" ready
  sleep 5
  shop_pods="$(timeline_rows "lookback=1h&kind=Pod&namespace=shop")"
  all_pods="$(timeline_rows "lookback=1h&kind=Pod")"
  nodes="$(timeline_rows "lookback=1h&kind=Node")"
  echo "recorded: $shop_pods pods in shop, $all_pods pods in all, $nodes nodes"
  [ "$shop_pods" -gt 0 ] || fail "nothing recorded in shop"
  [ "$all_pods" = "$shop_pods" ] || fail "pods of other namespaces recorded ($all_pods in all, $shop_pods in shop)"
  [ "$nodes" = 0 ] || fail "cluster-scoped Nodes recorded under a Role"
  [ "$(get /api/v1/stats)" = 200 ] || fail "/api/v1/stats"
  [ "$(jq -c .forbidden_kinds "$scratch/body")" = "[]" ] || fail "forbidden kinds: $(cat "$scratch/body")"
  n403="$(forbidden_served)"
  [ "$n403" = 0 ] || { grep ' 403 ' "$scratch/kubesim.log" >&2; fail "kubesim served $n403 403s to sloop"; }
  stop_pod "sloop-$$-ns"
  ;;

nocluster)
  current_log="$scratch/sloop-none.log"
  http_port="$(free_port)"
  step "outside a pod (no KUBERNETES_SERVICE_HOST), no kubeconfig: the image's sloop exits with an error"
  mkdir -p "$scratch/serviceaccount"
  run_pod "sloop-$$-n" "$current_log"
  end=$((SECONDS + 30))
  while kill -0 "$pod_pid" 2>/dev/null && [ $SECONDS -lt $end ]; do sleep 0.2; done
  kill -0 "$pod_pid" 2>/dev/null && { cat "$current_log" >&2; fail "sloop kept running with no cluster configured"; }
  rc=0
  wait "$pod_pid" || rc=$?
  crun delete -f "sloop-$$-n" >/dev/null 2>&1 || true
  grep 'sloop: error' "$current_log" || true
  [ "$rc" != 0 ] || fail "sloop exited 0 with no cluster configured"
  grep -q 'KUBECONFIG is unset, ~/.kube/config does not exist' "$current_log" || fail "the error does not say what was looked for"
  grep -q -- '-simulator-if-no-kubeconfig=true' "$current_log" || fail "the error does not say what to do"
  grep -q 'simulator (kubesim) serving' "$current_log" && fail "a simulator was started"

  step "in a pod, API server unreachable: logged, retried, not ready, no simulator"
  "$build/kubesim" --port 0 --port-file "$scratch/unused.port" --tls --cert-dir "$scratch/certs" \
    --serviceaccount "$service_account" --serviceaccount-dir "$scratch/serviceaccount" --duration 1s 2>/dev/null || true
  closed="$(free_port)"
  current_log="$scratch/sloop-unreachable.log"
  run_pod "sloop-$$-u" "$current_log" KUBERNETES_SERVICE_HOST=127.0.0.1 "KUBERNETES_SERVICE_PORT=$closed"
  wait_for 60 "/healthz 200" healthy
  sleep 3
  [ "$(get /healthz)" = 200 ] && grep -q "unreachable" "$scratch/body" || fail "/healthz does not say the API server is unreachable: $(cat "$scratch/body")"
  [ "$(get /readyz)" = 503 ] || fail "/readyz is not 503 with the API server unreachable"
  grep -q "127.0.0.1:$closed" "$current_log" || fail "the log does not name the API server"
  grep -qi "cluster simulator" "$current_log" && fail "a simulator was started in a pod"
  stop_pod "sloop-$$-u"

  step "in a pod, token missing: logged, retried, not ready"
  start_kubesim "$rbac_file"
  cp "$scratch/certs/ca.crt" "$scratch/serviceaccount/ca.crt"
  mv "$scratch/serviceaccount/token" "$scratch/token.saved"
  current_log="$scratch/sloop-notoken.log"
  run_pod "sloop-$$-t" "$current_log" KUBERNETES_SERVICE_HOST=127.0.0.1 "KUBERNETES_SERVICE_PORT=$kubesim_port"
  wait_for 60 "/healthz 200" healthy
  sleep 3
  [ "$(get /readyz)" = 503 ] || fail "/readyz is not 503 without a token"
  grep -q "token file /var/run/secrets/kubernetes.io/serviceaccount/token is missing" "$current_log" ||
    fail "the log does not name the missing token"
  grep -q "token is missing.*(attempt 2," "$current_log" || fail "the missing token was not retried"
  step "the token appears (projected late): sloop connects without a restart"
  cp "$scratch/token.saved" "$scratch/serviceaccount/token"
  wait_for 60 "/readyz 200 once the token is there" ready
  stop_pod "sloop-$$-t"
  ;;
*) fail "unknown mode '$mode' (full, forbidden, namespace, nocluster)" ;;
esac
echo "PASS ($mode) in ${SECONDS}s"
