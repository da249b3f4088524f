// kubesim: a simulated Kubernetes cluster behind a protocol-faithful API server (server mode), or
// the same model run as fast as possible into a capture file (capture mode). See `kubesim --help`.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "api_server.h"
#include "capture_writer.h"
#include "certs.h"
#include "cluster.h"
#include "object_store.h"
#include "rbac.h"
#include "scenarios.h"
#include "sim_time.h"

namespace {

using namespace kubesim;
using std::chrono::milliseconds;

constexpr int kUsageError = 2;

struct Options {
  std::optional<int> port;
  std::string bind = "127.0.0.1";
  std::string port_file;
  bool tls = false;
  std::string token, forbidden_token;
  std::map<std::string, std::string> user_tokens;  // token → user
  std::string serviceaccount = "default:default";  // NS:NAME
  std::string serviceaccount_dir;
  std::string rbac_file;
  std::string cert_dir;
  std::string client_ca;
  std::string scenario = "default";
  uint64_t seed = 1;
  double speed = 1.0;
  int pods = 0, nodes = 0;
  size_t window = 100'000;
  milliseconds bookmark_interval{60'000};
  milliseconds clock_offset{0};  // the Date header's clock against this machine's
  milliseconds watch_timeout{30 * 60'000};
  std::string kubeconfig_out;
  std::string capture;
  std::optional<SimTime> duration;
  std::optional<SimTime> freeze_after;
  std::optional<SimTime> start;
  int minor = 32;
  bool legacy_discovery = false;
  bool log_requests = false;
  milliseconds drop_watches_every{0}, stall_watches_after{0}, expire_every{0};
  int throttle_every = 0, error_every = 0;
};

void print_help() {
  std::printf(
      "kubesim: a simulated Kubernetes cluster behind a Kubernetes API server (v1.32 wire "
      "protocol)\n\n"
      "Server mode:   kubesim --port P [options]\n"
      "Capture mode:  kubesim --capture FILE [--duration 24h] [model options]   (no --port)\n\n"
      "Server:\n"
      "  --port P                  listen port; 0 picks a free one\n"
      "  --bind ADDR               listen address (default 127.0.0.1)\n"
      "  --port-file F             write the bound port to F once listening\n"
      "  --tls                     serve HTTPS with a CA and server certificate made at start\n"
      "  --cert-dir DIR            where to write ca.crt, server.crt/key, client.crt/key\n"
      "                            (default: a new temporary directory)\n"
      "  --client-ca FILE|generated  require client certificates signed by FILE (or by the\n"
      "                            generated CA; the kubeconfig then carries client.crt)\n"
      "  --token T                 require 'Authorization: Bearer T' (kubectl sends tokens only\n"
      "                            over TLS); 401 otherwise\n"
      "  --forbidden-token T       a token that authenticates but gets 403 on every resource\n"
      "  --user-token T=USER       a token of user USER (repeatable); authorized by --rbac\n"
      "  --serviceaccount NS:NAME  the service account of --serviceaccount-dir (default\n"
      "                            default:default): user system:serviceaccount:NS:NAME\n"
      "  --serviceaccount-dir DIR  write token, ca.crt and namespace into DIR as the kubelet\n"
      "                            mounts them at /var/run/secrets/kubernetes.io/serviceaccount\n"
      "                            (needs --tls; the token is new at every start)\n"
      "  --rbac FILE               authorize --user-token and service-account requests with the\n"
      "                            ClusterRoles, Roles and bindings in FILE (YAML, "
      "multi-document);\n"
      "                            a refusal is the apiserver's 403 Status; read again when FILE\n"
      "                            changes. --token stays admin.\n"
      "                            403s are counted at GET /debug/kubesim/counters\n"
      "  --kubeconfig-out F        write a kubeconfig for this server (context 'kubesim')\n"
      "  --minor N                 Kubernetes minor version reported by /version (default 32)\n"
      "  --legacy-discovery        never answer aggregated discovery (tests the fallback)\n"
      "  --window N                watch event window in events (default 100000); older\n"
      "                            resourceVersions get 410 Expired\n"
      "  --bookmark-interval D     BOOKMARK period for allowWatchBookmarks watches (default 60s)\n"
      "  --clock-offset D          the server's clock (its Date header) this far from this\n"
      "                            machine's: -30d is a month behind (default 0)\n"
      "  --watch-timeout D         end watches that set no timeoutSeconds after D (default 30m)\n"
      "  --duration D              stop after D of real time (default: run until SIGINT/SIGTERM)\n"
      "  --freeze-after D          after D of real time the cluster stops changing and faults\n"
      "                            stop (the capture is complete); serving goes on\n"
      "  --log-requests            log every request to stderr\n"
      "  --capture FILE            also record every object and event into a capture file\n\n"
      "Model:\n"
      "  --scenario NAME           see below (default 'default')\n"
      "  --seed N                  random seed (default 1); same seed, same events\n"
      "  --speed X                 simulated seconds per real second (default 1)\n"
      "  --pods N, --nodes N       size of the 'default' scenario\n"
      "  --start TIME              simulated start, e.g. 2026-11-20T09:00:00Z (default: now)\n\n"
      "Faults (server mode):\n"
      "  --drop-watches-every D    cut each watch connection D after it started\n"
      "  --stall-watches-after D   each watch goes silent D after it started\n"
      "  --throttle-every N        every Nth request gets 429 with Retry-After: 1\n"
      "  --error-every N           every Nth request gets 500\n"
      "  --expire-every D          every D, forget the event window (forces 410 Expired)\n\n"
      "Durations: 500ms, 90s, 15m, 1h30m, 1d.\n\nScenarios:\n");
  for (const auto& s : scenarios()) {
    std::printf("  %-14s %.*s\n", std::string(s.name).c_str(),
                static_cast<int>(s.description.size()), s.description.data());
  }
}

[[noreturn]] void usage_error(const std::string& msg) {
  std::fprintf(stderr, "kubesim: %s (kubesim --help lists the flags)\n", msg.c_str());
  std::exit(kUsageError);
}

// Parses argv; exits 2 on errors.
Options parse_args(int argc, char** argv) {
  Options o;
  std::vector<std::string> args(argv + 1, argv + argc);
  for (size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i];
    std::optional<std::string> inline_value;
    if (flag.starts_with("--") && flag.find('=') != std::string::npos) {
      inline_value = flag.substr(flag.find('=') + 1);
      flag = flag.substr(0, flag.find('='));
    }
    auto value = [&](const char* form) -> std::string {
      if (inline_value) return *inline_value;
      if (i + 1 >= args.size()) usage_error(flag + " needs a value: " + flag + " " + form);
      return args[++i];
    };
    auto integer = [&](const char* form, long long min) -> long long {
      const std::string v = value(form);
      char* end = nullptr;
      errno = 0;
      const long long n = std::strtoll(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || errno != 0 || n < min) {
        usage_error("bad value '" + v + "' for " + flag + ": expected " + form);
      }
      return n;
    };
    auto duration = [&](bool allow_zero) -> SimTime {
      const std::string v = value("DURATION");
      auto d = parse_duration(v);
      if (!d || *d < 0 || (!allow_zero && *d == 0)) {
        usage_error("bad value '" + v + "' for " + flag +
                    ": expected a duration such as 500ms, 30s, 15m, 2h or 1d");
      }
      return *d;
    };
    auto ms = [&](bool allow_zero) { return milliseconds(duration(allow_zero) / kMillisecond); };
    auto no_value = [&] {
      if (inline_value) usage_error(flag + " takes no value");
    };

    if (flag == "--help" || flag == "-h") {
      print_help();
      std::exit(0);
    } else if (flag == "--port") {
      const long long p = integer("a port number 0-65535 (0 = any free port)", 0);
      if (p > 65535) usage_error("bad value for --port: expected a port number 0-65535");
      o.port = static_cast<int>(p);
    } else if (flag == "--bind") {
      o.bind = value("ADDRESS");
    } else if (flag == "--port-file") {
      o.port_file = value("FILE");
    } else if (flag == "--tls") {
      no_value();
      o.tls = true;
    } else if (flag == "--token") {
      o.token = value("TOKEN");
      if (o.token.empty()) usage_error("--token must not be empty");
    } else if (flag == "--forbidden-token") {
      o.forbidden_token = value("TOKEN");
    } else if (flag == "--user-token") {
      const std::string v = value("TOKEN=USER");
      const size_t eq = v.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == v.size()) {
        usage_error("bad value '" + v + "' for --user-token: expected TOKEN=USER");
      }
      o.user_tokens[v.substr(0, eq)] = v.substr(eq + 1);
    } else if (flag == "--serviceaccount") {
      o.serviceaccount = value("NAMESPACE:NAME");
      const size_t colon = o.serviceaccount.find(':');
      if (colon == std::string::npos || colon == 0 || colon + 1 == o.serviceaccount.size() ||
          o.serviceaccount.find(':', colon + 1) != std::string::npos) {
        usage_error("bad value '" + o.serviceaccount +
                    "' for --serviceaccount: expected NAMESPACE:NAME, e.g. sloop:sloop");
      }
    } else if (flag == "--serviceaccount-dir") {
      o.serviceaccount_dir = value("DIR");
    } else if (flag == "--rbac") {
      o.rbac_file = value("FILE");
    } else if (flag == "--cert-dir") {
      o.cert_dir = value("DIR");
    } else if (flag == "--client-ca") {
      o.client_ca = value("FILE|generated");
    } else if (flag == "--scenario") {
      o.scenario = value("NAME");
    } else if (flag == "--seed") {
      o.seed = static_cast<uint64_t>(integer("a non-negative integer", 0));
    } else if (flag == "--speed") {
      const std::string v = value("FACTOR");
      char* end = nullptr;
      o.speed = std::strtod(v.c_str(), &end);
      if (v.empty() || *end != '\0' || !(o.speed > 0) || o.speed > 1e6) {
        usage_error("bad value '" + v + "' for --speed: expected a factor > 0, e.g. 1, 10, 0.5");
      }
    } else if (flag == "--pods") {
      o.pods = static_cast<int>(integer("a non-negative integer", 0));
    } else if (flag == "--nodes") {
      o.nodes = static_cast<int>(integer("a non-negative integer", 0));
    } else if (flag == "--window") {
      o.window = static_cast<size_t>(integer("a number of events >= 1", 1));
    } else if (flag == "--bookmark-interval") {
      o.bookmark_interval = ms(false);
    } else if (flag == "--clock-offset") {
      std::string v = value("DURATION");
      const bool behind = !v.empty() && v.front() == '-';
      auto d = parse_duration(behind ? v.substr(1) : v);
      if (!d || *d < 0) {
        usage_error("bad value '" + v +
                    "' for --clock-offset: expected a duration, with - for a "
                    "clock behind, such as -30d or 2h");
      }
      o.clock_offset = milliseconds((behind ? -1 : 1) * (*d / kMillisecond));
    } else if (flag == "--watch-timeout") {
      o.watch_timeout = ms(false);
    } else if (flag == "--kubeconfig-out") {
      o.kubeconfig_out = value("FILE");
    } else if (flag == "--capture") {
      o.capture = value("FILE");
    } else if (flag == "--duration") {
      o.duration = duration(false);
    } else if (flag == "--freeze-after") {
      o.freeze_after = duration(false);
    } else if (flag == "--start") {
      const std::string v = value("TIME");
      auto t = parse_time(v);
      if (!t) usage_error("bad value '" + v + "' for --start: expected e.g. 2026-11-20T09:00:00Z");
      o.start = *t;
    } else if (flag == "--minor") {
      o.minor = static_cast<int>(integer("a minor version such as 32", 0));
    } else if (flag == "--legacy-discovery") {
      no_value();
      o.legacy_discovery = true;
    } else if (flag == "--log-requests") {
      no_value();
      o.log_requests = true;
    } else if (flag == "--drop-watches-every") {
      o.drop_watches_every = ms(false);
    } else if (flag == "--stall-watches-after") {
      o.stall_watches_after = ms(false);
    } else if (flag == "--expire-every") {
      o.expire_every = ms(false);
    } else if (flag == "--throttle-every") {
      o.throttle_every = static_cast<int>(integer("a request count >= 1", 1));
    } else if (flag == "--error-every") {
      o.error_every = static_cast<int>(integer("a request count >= 1", 1));
    } else {
      usage_error("unknown flag '" + args[i] + "'");
    }
  }
  if (!o.port && o.capture.empty()) {
    usage_error("give --port P to serve, or --capture FILE [--duration D] to write a capture");
  }
  if (!o.port && (o.tls || !o.token.empty() || !o.kubeconfig_out.empty() || !o.port_file.empty())) {
    usage_error("--tls, --token, --kubeconfig-out and --port-file need --port");
  }
  if (!o.client_ca.empty() && !o.tls) usage_error("--client-ca needs --tls");
  if (!o.serviceaccount_dir.empty() && !o.tls) {
    usage_error("--serviceaccount-dir needs --tls (a pod trusts the API server through ca.crt)");
  }
  return o;
}

// Fans the model's events out to the store and the capture writer.
class Tee : public EventSink {
 public:
  void add(EventSink* s) { sinks_.push_back(s); }
  void on_event(const WatchEvent& e) override {
    for (EventSink* s : sinks_) s->on_event(e);
  }

 private:
  std::vector<EventSink*> sinks_;
};

bool write_atomically(const std::string& path, const std::string& content, std::string* error) {
  const std::string tmp = path + ".tmp." + std::to_string(getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << content;
    out.flush();
    if (!out) {
      *error = "cannot write " + tmp;
      return false;
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    *error = "cannot rename " + tmp + " to " + path + ": " + ec.message();
    return false;
  }
  return true;
}

// An opaque bearer token (real service-account tokens are JWTs; clients must not look inside).
std::string random_token() {
  std::random_device rd;
  std::string out;
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = 0; i < 40; ++i) out += kHex[rd() % 16];
  return out;
}

// The files the kubelet projects into every pod, readable by any uid (the projected volume's
// default mode 0644): token, ca.crt, namespace.
bool write_service_account(const std::string& dir, const std::string& token,
                           const std::string& ca_pem, const std::string& ns, std::string* error) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    *error = "cannot create " + dir + ": " + ec.message();
    return false;
  }
  std::filesystem::permissions(dir, std::filesystem::perms(0755), ec);
  for (const auto& [name, content] : {std::pair<std::string, std::string>{"token", token},
                                      {"ca.crt", ca_pem},
                                      {"namespace", ns}}) {
    const std::string path = dir + "/" + name;
    if (!write_atomically(path, content, error)) return false;
    std::filesystem::permissions(path, std::filesystem::perms(0644), ec);
  }
  return true;
}

SimTime wall_now() {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  return ns / kSecond * kSecond;
}

std::unique_ptr<CaptureWriter> open_capture(const Options& o, SimTime start, Cluster& cluster,
                                            Tee& tee) {
  std::string error;
  CaptureHeader h;
  h.scenario = o.scenario;
  h.seed = o.seed;
  h.created = start;
  auto cw = CaptureWriter::open(o.capture, h, &error);
  if (!cw) {
    std::fprintf(stderr, "kubesim: %s\n", error.c_str());
    std::exit(1);
  }
  for (int k = 0; k < kKindCount; ++k) {
    cluster.for_each(static_cast<Kind>(k),
                     [&](const ObjectVersion& v) { cw->write_list(v, cluster.now()); });
  }
  tee.add(cw.get());
  return cw;
}

std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) { g_stop.store(true); }

std::string mb(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MB", static_cast<double>(bytes) / 1e6);
  return buf;
}

int run_capture(const Options& o) {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  const SimTime start = o.start.value_or(wall_now());
  const SimTime duration = o.duration.value_or(kHour);
  Tee tee;
  Cluster cluster(o.seed, start, &tee);
  ScenarioOptions so{o.scenario, o.pods, o.nodes};
  std::string error;
  if (!setup_scenario(cluster, so, &error)) {
    std::fprintf(stderr, "kubesim: %s\n", error.c_str());
    return kUsageError;
  }
  auto cw = open_capture(o, start, cluster, tee);

  const auto real_start = std::chrono::steady_clock::now();
  auto last_progress = real_start;
  const SimTime end = start + duration;
  while (cluster.now() < end && !g_stop.load()) {
    cluster.advance_to(std::min(end, cluster.now() + 10 * kSecond));
    if (cw->failed()) break;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_progress >= std::chrono::seconds(3)) {
      last_progress = now;
      std::fprintf(stderr, "kubesim: capture %llu records, %s, simulated %s of %s\n",
                   static_cast<unsigned long long>(cw->records()), mb(cw->bytes_in()).c_str(),
                   format_age(cluster.now() - start).c_str(), format_age(duration).c_str());
    }
  }
  const bool ok = cw->close(&error);
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - real_start).count();
  std::fprintf(stderr,
               "kubesim: capture %s: %llu records (%s uncompressed), simulated %s in %.1fs, "
               "scenario %s, seed %llu, %llu events\n",
               o.capture.c_str(), static_cast<unsigned long long>(cw->records()),
               mb(cw->bytes_in()).c_str(), format_age(cluster.now() - start).c_str(), secs,
               o.scenario.c_str(), static_cast<unsigned long long>(o.seed),
               static_cast<unsigned long long>(cluster.events_emitted()));
  if (!ok) {
    std::fprintf(stderr, "kubesim: %s\n", error.c_str());
    return 1;
  }
  return 0;
}

int run_server(const Options& o) {
  // Signals go to the main thread only (sigwait); every thread started below inherits the mask.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  const SimTime start = o.start.value_or(wall_now());
  ObjectStore store(o.window);
  Tee tee;
  tee.add(&store);
  Cluster cluster(o.seed, start, &tee);
  ScenarioOptions so{o.scenario, o.pods, o.nodes};
  std::string error;
  if (!setup_scenario(cluster, so, &error)) {
    std::fprintf(stderr, "kubesim: %s\n", error.c_str());
    return kUsageError;
  }
  std::unique_ptr<CaptureWriter> cw;
  if (!o.capture.empty()) cw = open_capture(o, start, cluster, tee);

  ServerOptions so_srv;
  so_srv.bind = o.bind;
  so_srv.port = *o.port;
  so_srv.tls = o.tls;
  so_srv.token = o.token;
  so_srv.forbidden_token = o.forbidden_token;
  so_srv.minor = o.minor;
  so_srv.legacy_discovery = o.legacy_discovery;
  so_srv.bookmark_interval = o.bookmark_interval;
  so_srv.clock_offset = o.clock_offset;
  so_srv.watch_timeout = o.watch_timeout;
  so_srv.log_requests = o.log_requests;
  so_srv.drop_watches_every = o.drop_watches_every;
  so_srv.stall_watches_after = o.stall_watches_after;
  so_srv.throttle_every = o.throttle_every;
  so_srv.error_every = o.error_every;
  so_srv.user_tokens = o.user_tokens;
  if (!o.rbac_file.empty()) {
    auto rbac = std::make_shared<Rbac>();
    if (!Rbac::load(o.rbac_file, rbac.get(), &error)) {
      std::fprintf(stderr, "kubesim: --rbac %s\n", error.c_str());
      return kUsageError;
    }
    std::fprintf(stderr, "kubesim: RBAC from %s: %zu roles, %zu bindings\n", o.rbac_file.c_str(),
                 rbac->role_count(), rbac->binding_count());
    so_srv.rbac = std::move(rbac);
  }
  std::string sa_token;
  if (!o.serviceaccount_dir.empty()) {
    sa_token = random_token();
    const std::string sa = o.serviceaccount;
    so_srv.user_tokens[sa_token] = "system:serviceaccount:" + sa;
  }
  CertPaths certs;
  std::string ca_pem, client_cert_pem, client_key_pem;
  if (o.tls) {
    std::string dir = o.cert_dir;
    if (dir.empty()) {
      std::string tmpl = (std::filesystem::temp_directory_path() / "kubesim-certs-XXXXXX").string();
      if (mkdtemp(tmpl.data()) == nullptr) {
        std::fprintf(stderr, "kubesim: cannot create a temporary certificate directory\n");
        return 1;
      }
      dir = tmpl;
    }
    if (!generate_certs(dir, &certs, &error)) {
      std::fprintf(stderr, "kubesim: %s\n", error.c_str());
      return 1;
    }
    so_srv.cert_file = certs.server_cert;
    so_srv.key_file = certs.server_key;
    read_file(certs.ca_cert, &ca_pem);
    if (o.client_ca == "generated") {
      so_srv.client_ca_file = certs.ca_cert;
      read_file(certs.client_cert, &client_cert_pem);
      read_file(certs.client_key, &client_key_pem);
    } else {
      so_srv.client_ca_file = o.client_ca;
    }
  }
  if (!o.serviceaccount_dir.empty()) {
    const std::string ns = o.serviceaccount.substr(0, o.serviceaccount.find(':'));
    if (!write_service_account(o.serviceaccount_dir, sa_token, ca_pem, ns, &error)) {
      std::fprintf(stderr, "kubesim: --serviceaccount-dir: %s\n", error.c_str());
      return 1;
    }
    std::fprintf(stderr,
                 "kubesim: service account %s (user system:serviceaccount:%s): token, "
                 "ca.crt and namespace in %s\n",
                 o.serviceaccount.c_str(), o.serviceaccount.c_str(), o.serviceaccount_dir.c_str());
  }
  SimClock clock(start, o.speed);
  ApiServer server(
      store, [&clock] { return clock.now(); }, so_srv);
  if (!server.bind(&error)) {
    std::fprintf(stderr, "kubesim: %s\n", error.c_str());
    return 1;
  }

  std::atomic<bool> stopping{false};
  std::atomic<bool> server_done{false};
  std::thread server_thread([&] {
    server.run();
    server_done.store(true);
    if (!stopping.load()) kill(getpid(), SIGTERM);
  });

  std::mutex mu;
  std::condition_variable cv;
  std::thread driver([&] {
    auto last_flush = std::chrono::steady_clock::now();
    auto last_expire = last_flush;
    const auto freeze_at = o.freeze_after ? last_flush + std::chrono::nanoseconds(*o.freeze_after)
                                          : std::chrono::steady_clock::time_point::max();
    bool frozen = false;
    // --rbac is read again when the file changes, as a real cluster applies an edited role.
    std::error_code ec;
    auto rbac_mtime = o.rbac_file.empty() ? std::filesystem::file_time_type{}
                                          : std::filesystem::last_write_time(o.rbac_file, ec);
    auto last_rbac_check = last_flush;
    std::unique_lock lock(mu);
    while (!stopping.load()) {
      const auto now = std::chrono::steady_clock::now();
      if (!o.rbac_file.empty() && now - last_rbac_check >= milliseconds(250)) {
        last_rbac_check = now;
        auto mtime = std::filesystem::last_write_time(o.rbac_file, ec);
        if (!ec && mtime != rbac_mtime) {
          rbac_mtime = mtime;
          auto rbac = std::make_shared<Rbac>();
          std::string rbac_error;
          if (Rbac::load(o.rbac_file, rbac.get(), &rbac_error)) {
            server.set_rbac(std::move(rbac));
            std::fprintf(stderr, "kubesim: RBAC reloaded from %s\n", o.rbac_file.c_str());
          } else {
            std::fprintf(stderr, "kubesim: --rbac %s (keeping the previous rules)\n",
                         rbac_error.c_str());
          }
        }
      }
      if (!frozen && now >= freeze_at) {
        frozen = true;
        server.set_faults_enabled(false);
        if (cw) cw->flush();
        std::fprintf(stderr, "kubesim: frozen at resourceVersion %llu: no more changes or faults\n",
                     static_cast<unsigned long long>(store.resource_version()));
      }
      if (frozen) {
        cv.wait_for(lock, milliseconds(100), [&] { return stopping.load(); });
        continue;
      }
      cluster.advance_to(clock.now());
      if (o.expire_every.count() > 0 && now - last_expire >= o.expire_every) {
        store.expire_all();
        last_expire = now;
      }
      if (cw && now - last_flush >= std::chrono::seconds(1)) {
        cw->flush();
        last_flush = now;
      }
      auto wait =
          std::chrono::duration_cast<milliseconds>(clock.real_until(cluster.next_action_time()));
      wait = std::clamp(wait, milliseconds(1), milliseconds(100));
      cv.wait_for(lock, wait, [&] { return stopping.load(); });
    }
  });

  if (!o.port_file.empty() &&
      !write_atomically(o.port_file, std::to_string(server.port()) + "\n", &error)) {
    std::fprintf(stderr, "kubesim: %s\n", error.c_str());
  }
  if (!o.kubeconfig_out.empty() &&
      !write_atomically(
          o.kubeconfig_out,
          render_kubeconfig(server.url(), ca_pem, o.token, client_cert_pem, client_key_pem),
          &error)) {
    std::fprintf(stderr, "kubesim: %s\n", error.c_str());
  }
  std::fprintf(stderr, "kubesim: serving %s scenario %s seed %llu speed %g%s%s%s%s\n",
               server.url().c_str(), o.scenario.c_str(), static_cast<unsigned long long>(o.seed),
               o.speed, o.kubeconfig_out.empty() ? "" : " kubeconfig: ", o.kubeconfig_out.c_str(),
               o.tls ? " certs: " : "", o.tls ? certs.dir.c_str() : "");
  if (!o.token.empty() && !o.tls) {
    std::fprintf(stderr,
                 "kubesim: warning: --token without --tls; kubectl sends no token over plain "
                 "HTTP\n");
  }

  // Wait for a signal or the end of --duration.
  if (o.duration) {
    timespec ts{static_cast<time_t>(*o.duration / kSecond),
                static_cast<long>(*o.duration % kSecond)};
    siginfo_t info;
    while (sigtimedwait(&set, &info, &ts) < 0 && errno == EINTR) {
    }
  } else {
    int sig = 0;
    sigwait(&set, &sig);
  }

  {
    std::lock_guard lock(mu);
    stopping.store(true);
  }
  cv.notify_all();
  store.shutdown();
  server.stop();
  driver.join();
  int rc = 0;
  if (cw && !cw->close(&error)) {
    std::fprintf(stderr, "kubesim: %s\n", error.c_str());
    rc = 1;
  }
  std::fprintf(stderr, "kubesim: stopped after %llu requests, resourceVersion %llu\n",
               static_cast<unsigned long long>(server.requests()),
               static_cast<unsigned long long>(store.resource_version()));
  // Idle keep-alive connections hold cpp-httplib's workers for up to a second; do not wait for
  // them longer than half of that: everything worth keeping is written.
  const auto give_up = std::chrono::steady_clock::now() + milliseconds(500);
  while (!server_done.load() && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  if (!server_done.load()) {
    std::fflush(nullptr);
    _exit(rc);
  }
  server_thread.join();
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse_args(argc, argv);
  return o.port ? run_server(o) : run_capture(o);
}
