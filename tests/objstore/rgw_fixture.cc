#include "tests/objstore/rgw_fixture.h"

#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

namespace sloop::objstore::testing {
namespace {

namespace fs = std::filesystem;

const char* kScript = SLOOP_SOURCE_DIR "/tools/objectstore/rgw-cluster.sh";

// A port nothing listens on now: the kernel's pick for a socket bound to port 0. Another process
// could take it before the daemon binds; the script then fails loudly, it does not hang.
Result<int> FreePort() {
  const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return IOError("socket", "127.0.0.1", errno);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    const int e = errno;
    ::close(s);
    return IOError("bind", "127.0.0.1:0", e);
  }
  ::close(s);
  return ntohs(a.sin_port);
}

// The pid a daemon's file under DIR/pids records (0: none).
pid_t RecordedPid(const fs::path& cluster, const std::string& name) {
  std::ifstream in(cluster / "pids" / name);
  long pid = 0;
  in >> pid;
  return static_cast<pid_t>(pid);
}

// The daemons outlive the script that started them; this process is their subreaper (see Start),
// so once stopped they are reaped here rather than left as zombies.
void Reap(pid_t pid) {
  if (pid > 0) ::waitpid(pid, nullptr, WNOHANG);
}

bool OnPath(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::stringstream ss(path ? path : "/usr/bin:/bin");
  std::string d;
  while (std::getline(ss, d, ':')) {
    if (!d.empty() && ::access((fs::path(d) / program).c_str(), X_OK) == 0) return true;
  }
  return false;
}

}  // namespace

Result<std::string> RgwCluster::Script(const std::string& args) const {
  // The cluster is stopped when this process ends, even by a crash (the script's watchdog).
  const std::string cmd = "RGW_CLUSTER_OWNER_PID=" + std::to_string(::getpid()) + " bash " +
                          std::string(kScript) + " " + args + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return IOError("popen", cmd, errno);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  const int status = ::pclose(p);
  if (status != 0) {
    return MakeError(ErrorCode::kUnavailable, "rgw-cluster.sh " + args + " failed (status " +
                                                  std::to_string(status) + "):\n" + out);
  }
  return out;
}

Result<std::unique_ptr<RgwCluster>> RgwCluster::Start() {
  for (const char* b : {"radosgw", "ceph-mon", "ceph-osd", "ceph"}) {
    if (!OnPath(b)) {
      return MakeError(ErrorCode::kUnavailable,
                       std::string(b) +
                           " is not installed, and the objectstore tests need a "
                           "Ceph RADOS Gateway: run bash tools/install-deps.sh --objectstore");
    }
  }
  // Orphaned daemons are reparented to this process, not to a PID 1 that may never reap them.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  std::string tmpl = (fs::temp_directory_path() / "sloop-rgw-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) return IOError("mkdtemp", tmpl, errno);
  std::unique_ptr<RgwCluster> c(new RgwCluster());
  c->dir_ = tmpl;
  auto port = FreePort();
  if (!port) return std::unexpected(port.error());
  int mon_port = 0;
  do {
    auto p = FreePort();
    if (!p) return std::unexpected(p.error());
    mon_port = *p;
  } while (mon_port == *port);
  auto out = c->Script("start " + c->dir_.string() + "/cluster " + std::to_string(*port) + " " +
                       std::to_string(mon_port));
  if (!out) return std::unexpected(out.error());
  std::istringstream lines(*out);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.starts_with("endpoint=")) c->endpoint_ = line.substr(9);
    if (line.starts_with("access_key=")) c->access_key_ = line.substr(11);
    if (line.starts_with("secret_key=")) c->secret_key_ = line.substr(11);
  }
  if (c->endpoint_.empty() || c->access_key_.empty() || c->secret_key_.empty()) {
    return MakeError(ErrorCode::kUnavailable, "rgw-cluster.sh start printed no endpoint:\n" + *out);
  }
  return c;
}

RgwCluster::~RgwCluster() {
  if (dir_.empty()) return;
  std::vector<pid_t> pids;
  for (const char* d : {"rgw", "osd", "mon", "watchdog"})
    pids.push_back(RecordedPid(dir_ / "cluster", d));
  (void)Script("stop " + dir_.string() + "/cluster");
  for (pid_t p : pids) Reap(p);
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

S3Options RgwCluster::Options(const std::string& bucket) const {
  S3Options o;
  o.bucket = bucket;
  o.endpoint = endpoint_;
  o.region = "us-east-1";
  o.access_key = access_key_;
  o.secret_key = secret_key_;
  o.addressing = "path";
  o.connect_timeout = std::chrono::seconds(2);
  o.request_timeout = std::chrono::seconds(30);
  o.retries = 2;
  return o;
}

Result<void> RgwCluster::StopGateway() {
  const pid_t pid = RecordedPid(dir_ / "cluster", "rgw");
  auto r = Script("stop-gateway " + dir_.string() + "/cluster");
  if (!r) return std::unexpected(r.error());
  Reap(pid);
  return {};
}

Result<void> RgwCluster::StartGateway() {
  auto r = Script("start-gateway " + dir_.string() + "/cluster");
  if (!r) return std::unexpected(r.error());
  return {};
}

}  // namespace sloop::objstore::testing
