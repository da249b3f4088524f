// Soak (ctest label soak, `make soak`): the simulator at high churn, a real sloop recording it with
// a small disk limit and one-minute shards, and clients querying it without pause, for minutes
// (SLOOP_SOAK_SECONDS, default 180). Sampled twice a second: the store's bytes on disk never pass
// -max-disk-mb, and sloop's resident memory stays within -memory-budget-mb plus the process's
// fixed part. At the end nothing retained was lost: every object the simulator emitted late
// enough to be inside retention has its last version served, before and after a restart.
#include <gtest/gtest.h>
#include <httplib.h>
#include <simdjson.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/tools/sloop/emitted.h"
#include "tests/tools/sloop/process.h"

namespace sloop {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::Process;
using testing::ReadFile;
using testing::WaitFor;

constexpr uint64_t kMaxDiskMb = 6;
constexpr uint64_t kMemoryBudgetMb = 64;
// What sloop holds besides the budgeted engine memory: code, libraries, HTTP and ingest buffers,
// the sanitizer's shadow where there is one.
constexpr uint64_t kFixedMb = 96;
// Simulated seconds per real second: the capture's times are simulated ones.
constexpr int kSpeed = 20;

int SoakSeconds() {
  const char* s = std::getenv("SLOOP_SOAK_SECONDS");
  return s ? std::max(20, std::atoi(s)) : 180;
}

uint64_t StoreBytes(const fs::path& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    std::error_code e2;
    if (it->is_regular_file(e2)) total += it->file_size(e2);
  }
  return total;
}

uint64_t RssBytes(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10) << 10;
  }
  return 0;
}

std::pair<int, std::string> Get(int port, const std::string& target, int timeout_s = 30) {
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(timeout_s, 0);
  client.set_connection_timeout(5, 0);
  auto res = client.Get(target);
  if (!res) return {0, ""};
  return {res->status, res->body};
}

using testing::UrlEscape;

int64_t Rfc3339Seconds(std::string_view text) {
  std::tm tm{};
  std::string s(text.substr(0, 19));
  strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  return static_cast<int64_t>(timegm(&tm));
}

TEST(Soak, DiskAndMemoryStayWithinLimitsAndNothingRetainedIsLost) {
  const fs::path dir = fs::temp_directory_path() / ("sloop-soak-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path store_root = dir / "store";

  Process sim;
  fs::path port_file = dir / "kubesim.port";
  sim.Start({SLOOP_KUBESIM, "--port", "0", "--bind", "127.0.0.1", "--port-file", port_file.string(),
             "--scenario", "default", "--pods", "1000", "--nodes", "30", "--speed",
             std::to_string(kSpeed), "--seed", "11",
             // The cluster stops changing (and keeps serving) a while after the soak ends, so
             // that its last events reach sloop before the simulator is stopped.
             "--freeze-after", std::to_string(SoakSeconds() + 45) + "s", "--capture",
             (dir / "emitted.jsonl").string()},
            {}, dir / "kubesim.log");
  ASSERT_TRUE(WaitFor([&] { return !ReadFile(port_file).empty(); }, 30s)) << sim.Log();
  const int sim_port = std::stoi(ReadFile(port_file));
  std::ofstream(dir / "kubeconfig")
      << "apiVersion: v1\nkind: Config\ncurrent-context: soak\n"
      << "clusters:\n- name: sim\n  cluster:\n    server: http://127.0.0.1:" << sim_port << "\n"
      << "users:\n- name: nobody\n  user: {}\n"
      << "contexts:\n- name: soak\n  context:\n    cluster: sim\n    user: nobody\n";

  const int port = testing::FreePort();
  const std::vector<std::string> args = {SLOOP_BINARY,
                                         "-port=" + std::to_string(port),
                                         "-bind-address=127.0.0.1",
                                         "-store-root=" + store_root.string(),
                                         "-max-disk-mb=" + std::to_string(kMaxDiskMb),
                                         "-memory-budget-mb=" + std::to_string(kMemoryBudgetMb),
                                         "-shard-duration=1m",
                                         "-sync-interval=200ms"};
  const std::vector<std::string> env = {"KUBECONFIG=" + (dir / "kubeconfig").string(),
                                        "HOME=" + dir.string()};
  Process sloop;
  sloop.Start(args, env, dir / "sloop.log");
  ASSERT_TRUE(WaitFor([&] { return Get(port, "/healthz").first == 200; }, 30s)) << sloop.Log();
  // The soak starts once the first list of pods (the biggest) is in.
  ASSERT_TRUE(WaitFor([&] { return sloop.Log().find("pods: listed") != std::string::npos; }, 180s))
      << sloop.Log();

  // Clients that never pause: timelines, Events, search.
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> answered{0}, refused{0}, failed{0};
  std::mutex first_failure_mu;
  std::string first_failure;
  std::vector<std::thread> clients;
  const std::vector<std::string> queries = {"/api/v1/timeline?lookback=10m&limit=5000",
                                            "/api/v1/timeline?lookback=1h&kind=Pod",
                                            "/api/v1/timeline?lookback=30m&kind=Event",
                                            "/api/v1/resources?search=web",
                                            "/api/v1/stats",
                                            "/api/v1/namespaces?lookback=1h"};
  for (int c = 0; c < 2; ++c) {
    clients.emplace_back([&, c] {
      size_t i = c;
      while (!stop.load()) {
        auto [status, body] = Get(port, queries[i++ % queries.size()]);
        if (status == 200 || status == 404) {
          ++answered;
        } else if (status == 503) {
          ++refused;  // overload is answered, not suffered
        } else if (++failed == 1) {
          std::lock_guard lock(first_failure_mu);
          first_failure = queries[(i - 1) % queries.size()] + " answered " +
                          std::to_string(status) + ": " + body.substr(0, 300);
        }
      }
    });
  }

  // Samples until the end of the soak.
  uint64_t max_disk = 0, max_rss = 0, samples = 0;
  int slow_health = 0;
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(SoakSeconds());
  while (std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(500ms);
    uint64_t disk = StoreBytes(store_root / "soak");
    uint64_t rss = RssBytes(sloop.pid());
    max_disk = std::max(max_disk, disk);
    max_rss = std::max(max_rss, rss);
    ++samples;
    EXPECT_LE(disk, kMaxDiskMb << 20) << "sample " << samples << ": the store holds " << disk
                                      << " bytes, over -max-disk-mb=" << kMaxDiskMb;
    auto t0 = std::chrono::steady_clock::now();
    int health = Get(port, "/healthz", 5).first;
    if (health != 200 || std::chrono::steady_clock::now() - t0 > 1s) ++slow_health;
    ASSERT_TRUE(sloop.running()) << sloop.Log();
  }
  stop = true;
  for (auto& t : clients) t.join();
  std::printf(
      "soak: %llu samples, peak store %.2f MB (limit %llu), peak RSS %.1f MB (budget %llu "
      "+ %llu fixed), %llu answers, %llu refused (503), %llu failed, %d slow or failed "
      "health checks\n",
      static_cast<unsigned long long>(samples), max_disk / 1048576.0,
      static_cast<unsigned long long>(kMaxDiskMb), max_rss / 1048576.0,
      static_cast<unsigned long long>(kMemoryBudgetMb), static_cast<unsigned long long>(kFixedMb),
      static_cast<unsigned long long>(answered), static_cast<unsigned long long>(refused),
      static_cast<unsigned long long>(failed), slow_health);
  EXPECT_LE(max_rss, (kMemoryBudgetMb + kFixedMb) << 20);
  EXPECT_EQ(failed.load(), 0u) << first_failure;
  EXPECT_GT(answered.load(), 0u);
  EXPECT_EQ(slow_health, 0) << "/healthz failed or took over a second";

  // The simulator freezes: its capture is complete, and once its last events have reached
  // sloop's watches, what sloop has is final.
  ASSERT_TRUE(WaitFor([&] { return sim.Log().find("frozen at") != std::string::npos; }, 120s))
      << sim.Log();
  std::this_thread::sleep_for(3s);
  ASSERT_TRUE(sim.Stop(SIGTERM, 20s).has_value());
  auto capture = testing::LoadEmitted(dir / "emitted.jsonl");
  ASSERT_GT(capture.by_uid.size(), 100u);

  auto check_retained = [&](const char* when) {
    auto [status, body] = Get(port, "/api/v1/stats");
    ASSERT_EQ(status, 200) << body;
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    ASSERT_FALSE(parser.parse(body).get(doc)) << body;
    std::string_view oldest_text;
    ASSERT_FALSE(doc["oldest_record"].get_string().get(oldest_text)) << body;
    // Shards follow each other in time and retention deletes whole ones, oldest first: an object
    // last emitted after the oldest retained record (plus a margin for the two clocks) has its
    // last version retained.
    const int64_t horizon_ns = (Rfc3339Seconds(oldest_text) + 15) * 1000000000LL;
    // The capture's times run kSpeed times faster than the clock from the simulation's start
    // (the wall clock when it started): back to real time, to compare with what sloop observed.
    int64_t sim_start = INT64_MAX;
    for (const auto& [uid, e] : capture.by_uid) sim_start = std::min(sim_start, e.first_ns);
    auto real_ns = [&](int64_t sim_ns) { return sim_start + (sim_ns - sim_start) / kSpeed; };
    std::vector<const testing::Emitted*> candidates;
    for (const auto& [uid, e] : capture.by_uid) {
      if (real_ns(e.last_ns) >= horizon_ns && e.kind != "Node" && e.kind != "Event" &&
          e.kind != "Lease") {
        candidates.push_back(&e);
      }
    }
    ASSERT_GT(candidates.size(), 20u) << when << ": too few objects inside retention";
    std::mt19937 rng(5);
    std::shuffle(candidates.begin(), candidates.end(), rng);
    if (candidates.size() > 150) candidates.resize(150);
    for (const auto* e : candidates) {
      auto [hs, hbody] = Get(port, "/api/v1/history?kind=" + UrlEscape(e->kind) + "&namespace=" +
                                       UrlEscape(e->ns) + "&name=" + UrlEscape(e->name) +
                                       "&uid=" + UrlEscape(e->uid) + "&payloads=false");
      ASSERT_EQ(hs, 200) << when << ": " << hbody;
      simdjson::dom::element h;
      ASSERT_FALSE(parser.parse(hbody).get(h));
      simdjson::dom::array versions;
      ASSERT_FALSE(h["versions"].get_array().get(versions));
      ASSERT_GT(versions.size(), 0u) << when << ": " << e->kind << " " << e->ns << "/" << e->name
                                     << " emitted but not recorded";
      simdjson::dom::element last;
      for (auto v : versions) last = v;
      std::string_view rv;
      ASSERT_FALSE(last["resource_version"].get_string().get(rv));
      EXPECT_EQ(rv, e->last_rv) << when << ": " << e->kind << " " << e->ns << "/" << e->name;
    }
  };
  check_retained("while running");

  auto status = sloop.Stop(SIGTERM, 60s);
  ASSERT_TRUE(status.has_value()) << "sloop did not stop on SIGTERM within 60 s";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << sloop.Log();
  EXPECT_LE(StoreBytes(store_root / "soak"), kMaxDiskMb << 20) << "after sealing at shutdown";

  Process again;
  again.Start({SLOOP_BINARY, "-port=" + std::to_string(port), "-bind-address=127.0.0.1",
               "-store-root=" + store_root.string(), "-context=soak", "-disable-kube-watch"},
              env, dir / "sloop2.log");
  ASSERT_TRUE(WaitFor([&] { return Get(port, "/healthz").first == 200; }, 30s)) << again.Log();
  check_retained("after a restart");
  again.Stop(SIGTERM, 30s);
  if (!::testing::Test::HasFailure()) fs::remove_all(dir);
}

}  // namespace
}  // namespace sloop
