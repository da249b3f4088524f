#!/usr/bin/env bash
# A one-node Ceph cluster with a RADOS Gateway, for the S3 client's tests (label objectstore):
# one monitor, one OSD keeping its objects in memory (memstore), radosgw on 127.0.0.1:PORT and an
# S3 user with fixed keys. Plain processes under DIR, no systemd, no ceph-mgr; starts in seconds.
#
#   rgw-cluster.sh start DIR PORT [MON_PORT]   a new cluster; prints endpoint= access_key= secret_key=
#   rgw-cluster.sh stop DIR                    stops what start started (the pids it recorded only)
#                                              (RGW_CLUSTER_OWNER_PID=PID start ...: also when PID ends)
#   rgw-cluster.sh stop-gateway DIR            stops radosgw only (an outage, for tests)
#   rgw-cluster.sh start-gateway DIR           starts it again; waits until it answers
#
# Needs ceph-mon ceph-osd radosgw ceph-common: bash tools/install-deps.sh --objectstore.
set -euo pipefail

ACCESS_KEY=SLOOPRGWTESTACCESS01
SECRET_KEY=sloopRgwTestSecretKey0123456789abcdefghij
EMPTY_SHA256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855

die() { echo "rgw-cluster: $*" >&2; exit 1; }

need() {
  for b in ceph-mon ceph-osd radosgw ceph-authtool monmaptool radosgw-admin ceph curl; do
    command -v "$b" >/dev/null 2>&1 ||
      die "$b is not installed: run bash tools/install-deps.sh --objectstore"
  done
}

# Runs a daemon in the foreground of a background job, detached from our stdout (a test runner
# waits for its pipes to close), and records its pid for stop.
spawn() {
  local name=$1; shift
  setsid "$@" -f </dev/null >"$DIR/log/$name.out" 2>&1 &
  echo $! >"$DIR/pids/$name"
}

# Running: there, and not a zombie (the daemons outlive the shell that started them, and their
# new parent may be slow to reap them, or never: PID 1 of a container).
running() {
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ]
}
alive() { [ -f "$DIR/pids/$1" ] && running "$(cat "$DIR/pids/$1")"; }

# Stops a recorded daemon: SIGTERM, SIGKILL after grace seconds (0: at once; the cluster is
# thrown away and memstore has nothing to save), and waits until it is gone.
kill_recorded() {
  local name=$1 grace=$2 pid
  [ -f "$DIR/pids/$name" ] || return 0
  pid=$(cat "$DIR/pids/$name")
  if running "$pid"; then
    if [ "$grace" != 0 ]; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq $((grace * 20))); do running "$pid" || break; sleep 0.05; done
    fi
    kill -KILL "$pid" 2>/dev/null || true
    for _ in $(seq 100); do running "$pid" || break; sleep 0.05; done
  fi
  rm -f "$DIR/pids/$name"
}

ceph_cli() { timeout 20 ceph -c "$DIR/ceph.conf" --connect-timeout 15 "$@"; }

fail_with_logs() {
  echo "rgw-cluster: $*" >&2
  for f in "$DIR"/log/*; do
    [ -f "$f" ] || continue
    echo "---- $f (last lines)" >&2
    tail -n 15 "$f" >&2
  done
  exit 1
}

# Ready when a signed ListBuckets is answered with a bucket list (a port that accepts
# connections is not enough: radosgw listens before it can authenticate).
wait_gateway() {
  local port endpoint out
  port=$(cat "$DIR/port")
  endpoint="http://127.0.0.1:$port"
  for _ in $(seq 300); do
    alive rgw || fail_with_logs "radosgw exited"
    out=$(curl -s --max-time 2 --aws-sigv4 "aws:amz:us-east-1:s3" --user "$ACCESS_KEY:$SECRET_KEY" \
      -H "x-amz-content-sha256: $EMPTY_SHA256" "$endpoint/" 2>/dev/null || true)
    case "$out" in *"<ListAllMyBucketsResult"*) return 0 ;; esac
    sleep 0.1
  done
  fail_with_logs "radosgw did not answer a signed ListBuckets on $endpoint within 30 s"
}

start_gateway() {
  alive rgw && return 0
  spawn rgw radosgw -c "$DIR/ceph.conf" -n client.rgw.a --keyring "$DIR/rgw.keyring"
  wait_gateway
}

start() {
  local port=$1 mon_port=${2:-$(($1 + 1))} fsid osd_uuid
  need
  [ -e "$DIR/pids" ] && die "$DIR holds a cluster already (stop it first)"
  mkdir -p "$DIR"/{mon,osd,rgw,run,log,pids}
  DIR=$(cd "$DIR" && pwd)
  echo "$port" >"$DIR/port"
  fsid=$(cat /proc/sys/kernel/random/uuid)
  osd_uuid=$(cat /proc/sys/kernel/random/uuid)
  cat >"$DIR/ceph.conf" <<CONF
[global]
fsid = $fsid
mon host = v1:127.0.0.1:$mon_port
public addr = 127.0.0.1
ms bind msgr2 = false
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
keyring = $DIR/admin.keyring
run dir = $DIR/run
admin socket = $DIR/run/\$name.asok
log file = $DIR/log/\$name.log
pid file = $DIR/run/\$name.pid
log to stderr = false
err to stderr = true
# One OSD: pools of size one, no redundancy warnings, placement on the one host.
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon max pg per osd = 1000
# No ceph-mgr: nothing here needs one.
mon warn on no mgr = false
mgr initial modules =
# Each start step otherwise waits a second for the monitor's next proposal.
paxos propose interval = 0.1
paxos min wait = 0.01
mon data avail warn = 1
mon data avail crit = 0
osd objectstore = memstore
memstore device bytes = 1073741824
[mon.a]
mon data = $DIR/mon
[osd.0]
osd data = $DIR/osd
keyring = $DIR/osd/keyring
[client.rgw.a]
# tcp_nodelay: else a small answer's body waits for the ACK of its headers (Nagle against the
# client's delayed ACK), 40 ms a request on a reused connection.
rgw frontends = beast endpoint=127.0.0.1:$port tcp_nodelay=1
rgw data = $DIR/rgw
rgw enable usage log = false
rgw thread pool size = 64
# Few keys per listing page, so that tests page through listings without thousands of keys.
rgw max listing results = 7
CONF
  # cephx keys: the monitor's keyring holds every entity from the start (mkfs imports it).
  ceph-authtool "$DIR/admin.keyring" --create-keyring --gen-key -n client.admin \
    --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' >/dev/null
  ceph-authtool "$DIR/osd/keyring" --create-keyring --gen-key -n osd.0 \
    --cap mon 'allow profile osd' --cap osd 'allow *' --cap mgr 'allow profile osd' >/dev/null
  ceph-authtool "$DIR/rgw.keyring" --create-keyring --gen-key -n client.rgw.a \
    --cap mon 'allow rw' --cap osd 'allow rwx' --cap mgr 'allow rw' >/dev/null
  ceph-authtool "$DIR/mon.keyring" --create-keyring --gen-key -n mon. --cap mon 'allow *' >/dev/null
  for k in admin.keyring osd/keyring rgw.keyring; do
    ceph-authtool "$DIR/mon.keyring" --import-keyring "$DIR/$k" >/dev/null
  done
  monmaptool --create --fsid "$fsid" --addv a "[v1:127.0.0.1:$mon_port]" "$DIR/monmap" >/dev/null
  ceph-mon -c "$DIR/ceph.conf" -i a --mkfs --monmap "$DIR/monmap" --keyring "$DIR/mon.keyring" \
    >"$DIR/log/mon-mkfs.out" 2>&1 || fail_with_logs "ceph-mon --mkfs failed"
  spawn mon ceph-mon -c "$DIR/ceph.conf" -i a

  ceph_cli osd new "$osd_uuid" 0 >/dev/null 2>"$DIR/log/osd-new.out" ||
    fail_with_logs "ceph osd new failed (is the monitor up?)"
  ceph-osd -c "$DIR/ceph.conf" -i 0 --mkfs --osd-uuid "$osd_uuid" \
    >"$DIR/log/osd-mkfs.out" 2>&1 || fail_with_logs "ceph-osd --mkfs failed"
  spawn osd ceph-osd -c "$DIR/ceph.conf" -i 0
  for i in $(seq 300); do
    alive osd || fail_with_logs "ceph-osd exited"
    if ceph_cli osd dump 2>/dev/null | grep -q '^osd.0 up'; then break; fi
    [ "$i" = 300 ] && fail_with_logs "the OSD did not come up within 30 s"
    sleep 0.1
  done
  ceph_cli health mute MGR_DOWN >/dev/null 2>&1 || true

  radosgw-admin -c "$DIR/ceph.conf" user create --uid=sloop --display-name=sloop \
    --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >"$DIR/log/user-create.out" 2>&1 ||
    fail_with_logs "radosgw-admin user create failed"
  start_gateway
  # With RGW_CLUSTER_OWNER_PID (the test process), a watchdog stops the cluster within a second
  # of that process's end, so that a test that crashes or is killed leaves no daemons behind.
  if [ -n "${RGW_CLUSTER_OWNER_PID:-}" ]; then
    setsid bash -c 'while kill -0 "$1" 2>/dev/null && [ -d "$2/pids" ]; do sleep 1; done
      exec bash "$3" stop "$2"' watchdog "$RGW_CLUSTER_OWNER_PID" "$DIR" "$0" \
      </dev/null >/dev/null 2>&1 &
    echo $! >"$DIR/pids/watchdog"
  fi
  echo "endpoint=http://127.0.0.1:$port"
  echo "access_key=$ACCESS_KEY"
  echo "secret_key=$SECRET_KEY"
}

cmd=${1:-}
DIR=${2:-}
[ -n "$cmd" ] && [ -n "$DIR" ] || die "usage: $0 start DIR PORT [MON_PORT] | stop DIR | stop-gateway DIR | start-gateway DIR"
case "$cmd" in
  start)
    [ -n "${3:-}" ] || die "usage: $0 start DIR PORT [MON_PORT]"
    start "$3" "${4:-}" ;;
  stop)
    [ -d "$DIR/pids" ] || exit 0
    kill_recorded rgw 0; kill_recorded osd 0; kill_recorded mon 0
    # Unless this is the watchdog itself, stopping what it watched.
    if [ "$(cat "$DIR/pids/watchdog" 2>/dev/null)" != "$$" ]; then kill_recorded watchdog 0; fi
    rm -f "$DIR/pids/watchdog" ;;
  stop-gateway) kill_recorded rgw 1 ;;
  start-gateway) need; DIR=$(cd "$DIR" && pwd); start_gateway ;;
  *) die "unknown command $cmd" ;;
esac
