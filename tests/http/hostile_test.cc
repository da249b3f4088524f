// Hostile clients against the real server on loopback: queries that occupy every worker while
// probes must still answer, a full queue, a missed deadline, connection floods from one address,
// slowloris, and heavy real queries while /healthz is timed. Label: hostile.
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/store.h"
#include "http/http_server.h"
#include "http/path_router.h"
#include "http/routes.h"
#include "tests/engine/record_maker.h"
#include "tests/http/raw_client.h"

namespace sloop::http {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Handlers block here until the test releases them.
class Latch {
 public:
  void Wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return released_; });
  }
  void Release() {
    {
      std::lock_guard lock(mu_);
      released_ = true;
    }
    cv_.notify_all();
  }
  bool released() {
    std::lock_guard lock(mu_);
    return released_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool released_ = false;
};

int Status(const std::string& response) {
  if (!response.starts_with("HTTP/1.1 ")) return 0;
  return std::stoi(response.substr(9, 3));
}

bool WaitFor(const std::function<bool()>& cond, std::chrono::milliseconds limit = 10'000ms) {
  auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return cond();
}

// A server whose /slow route blocks on a latch, counting who entered and who saw the cancel flag.
class BlockingServer {
 public:
  explicit BlockingServer(HttpOptions o) {
    router_.Exact("/healthz", "healthz", [](const Request&) { return TextResponse("OK"); },
                  {Lane::kInline, Access::kPublic});
    router_.Exact("/slow", "slow", [this](const Request& req) {
      ++entered_;
      latch_.Wait();
      if (req.Cancelled()) ++saw_cancel_;
      return TextResponse("done");
    });
    router_.Exact("/quick", "quick", [](const Request&) { return TextResponse("quick"); });
    o.bind_address = "127.0.0.1";
    o.port = 0;
    server_ = std::make_unique<HttpServer>(o, router_);
    auto started = server_->Start();
    EXPECT_TRUE(started.has_value()) << started.error().ToString();
  }
  ~BlockingServer() {
    latch_.Release();
    server_.reset();
  }
  uint16_t port() const { return server_->port(); }

  Router router_;
  Latch latch_;
  std::atomic<int> entered_{0};
  std::atomic<int> saw_cancel_{0};
  std::unique_ptr<HttpServer> server_;
};

TEST(HostileTest, HealthzAnswersWhileEveryWorkerIsBusy) {
  HttpOptions o;
  o.query_workers = 2;
  o.query_queue = 8;
  BlockingServer s(o);
  std::vector<std::thread> slow;
  std::vector<std::string> answers(4);
  for (int i = 0; i < 4; ++i) {  // two run, two wait
    slow.emplace_back([&, i] { answers[i] = RawGet(s.port(), "/slow"); });
  }
  ASSERT_TRUE(WaitFor([&] { return s.entered_ == 2; })) << "both workers are busy";
  auto t0 = Clock::now();
  std::string health = RawGet(s.port(), "/healthz");
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
  std::printf("healthz while every worker is blocked: %lld ms\n",
              static_cast<long long>(took.count()));
  EXPECT_EQ(Status(health), 200) << health;
  EXPECT_FALSE(s.latch_.released()) << "answered before any query finished";
  EXPECT_EQ(s.entered_, 2);
  s.latch_.Release();
  for (auto& t : slow) t.join();
  for (const auto& a : answers) EXPECT_EQ(Status(a), 200) << a;
  EXPECT_EQ(s.entered_, 4);
}

TEST(HostileTest, FullQueueIs503AtOnce) {
  HttpOptions o;
  o.query_workers = 1;
  o.query_queue = 1;
  BlockingServer s(o);
  std::string running, waiting;
  std::thread a([&] { running = RawGet(s.port(), "/slow"); });
  ASSERT_TRUE(WaitFor([&] { return s.entered_ == 1; }));
  std::thread b([&] { waiting = RawGet(s.port(), "/slow"); });
  // The second waits in the queue; the third finds it full.
  ASSERT_TRUE(WaitFor([&] { return s.server_->query_load().queued == 1; }));
  auto t0 = Clock::now();
  std::string refused = RawGet(s.port(), "/quick");
  std::printf(
      "full queue answered in %lld ms\n",
      static_cast<long long>(
          std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count()));
  EXPECT_EQ(Status(refused), 503) << refused;
  EXPECT_FALSE(s.latch_.released());
  EXPECT_NE(refused.find("Retry-After: "), std::string::npos) << refused;
  EXPECT_NE(refused.find("\"message\":\"the server is busy"), std::string::npos) << refused;
  EXPECT_EQ(Status(RawGet(s.port(), "/healthz")), 200) << "probes are not queued";
  s.latch_.Release();
  a.join();
  b.join();
  EXPECT_EQ(Status(running), 200);
  EXPECT_EQ(Status(waiting), 200);
  EXPECT_EQ(Status(RawGet(s.port(), "/quick")), 200) << "serving again";
}

TEST(HostileTest, QueryPastItsDeadlineIs503AndTheConnectionIsClosed) {
  HttpOptions o;
  o.query_workers = 1;
  o.query_timeout = 300ms;
  BlockingServer s(o);
  RawClient c(s.port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.Send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"));  // keep-alive asked
  bool closed = false;
  std::string answer = c.ReadAll(10'000ms, &closed);
  EXPECT_EQ(Status(answer), 503) << answer;
  EXPECT_NE(answer.find("Retry-After: "), std::string::npos) << answer;
  EXPECT_NE(answer.find("-query-timeout"), std::string::npos) << answer;
  EXPECT_TRUE(closed) << "the connection is not held for the late answer";
  EXPECT_FALSE(s.latch_.released()) << "answered while the handler still ran";
  s.latch_.Release();
  ASSERT_TRUE(WaitFor([&] { return s.saw_cancel_ == 1; })) << "the handler sees Cancelled()";
  EXPECT_EQ(Status(RawGet(s.port(), "/quick")), 200);
}

TEST(HostileTest, OneAddressCannotLockOthersOut) {
  HttpOptions o;
  o.max_connections_per_ip = 8;
  o.max_connections = 64;
  BlockingServer s(o);
  // Eight idle keep-alive connections from 127.0.0.1, each admitted (answered once).
  std::vector<std::unique_ptr<RawClient>> flood;
  for (int i = 0; i < 8; ++i) {
    flood.push_back(std::make_unique<RawClient>(s.port(), "127.0.0.1"));
    ASSERT_TRUE(flood.back()->Send("GET /quick HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_EQ(Status(flood.back()->ReadResponse(5000ms)), 200) << i;
  }
  // Another address is served as usual, queries included.
  EXPECT_EQ(Status(RawGet(s.port(), "/quick", "127.0.0.2")), 200);
  // The flooding address gets its health probe answered, and nothing else.
  std::string health = RawGet(s.port(), "/healthz", "127.0.0.1");
  EXPECT_EQ(Status(health), 200) << health;
  std::string query = RawGet(s.port(), "/quick", "127.0.0.1");
  EXPECT_EQ(Status(query), 503) << query;
  EXPECT_NE(query.find("too many connections from 127.0.0.1"), std::string::npos) << query;
  // Beyond the few over-the-limit connections that are read at all, more are closed at once.
  std::vector<std::unique_ptr<RawClient>> extra;
  for (int i = 0; i < 40; ++i) extra.push_back(std::make_unique<RawClient>(s.port(), "127.0.0.1"));
  int closed_at_once = 0;
  for (auto& e : extra) {
    bool closed = false;
    e->ReadAll(50ms, &closed);
    if (closed) ++closed_at_once;
  }
  EXPECT_GE(closed_at_once, 40 - 16);
  EXPECT_EQ(Status(RawGet(s.port(), "/healthz", "127.0.0.2")), 200);
  EXPECT_EQ(Status(RawGet(s.port(), "/quick", "127.0.0.3")), 200);
  extra.clear();
  flood.clear();
  // Once they are gone, the address is served again.
  ASSERT_TRUE(WaitFor([&] { return Status(RawGet(s.port(), "/quick", "127.0.0.1")) == 200; }));
}

TEST(HostileTest, AFloodOfIdleConnectionsWithTheDefaultLimits) {
  BlockingServer s(HttpOptions{});
  // The repro, scaled to this process's descriptors: many idle connections from one
  // address, sending nothing.
  std::vector<std::unique_ptr<RawClient>> flood;
  for (int i = 0; i < 300; ++i) {
    flood.push_back(std::make_unique<RawClient>(s.port(), "127.0.0.1"));
    ASSERT_TRUE(flood.back()->connected()) << i;
  }
  std::string other = RawGet(s.port(), "/quick", "127.0.0.2");
  EXPECT_EQ(Status(other), 200) << other;
  // A probe from another address that is itself over its limit still gets its few connections.
  std::vector<std::unique_ptr<RawClient>> busy;
  for (int i = 0; i < 64; ++i) {
    busy.push_back(std::make_unique<RawClient>(s.port(), "127.0.0.3"));
    ASSERT_TRUE(busy.back()->Send("GET /quick HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_EQ(Status(busy.back()->ReadResponse(5000ms)), 200) << i;
  }
  std::string health = RawGet(s.port(), "/healthz", "127.0.0.3");
  EXPECT_EQ(Status(health), 200) << health;
  // The flooding address's own probe: its over-the-limit connections hold the few slots kept for
  // probes until they time out (2 s of silence), then a probe gets through.
  auto t0 = Clock::now();
  ASSERT_TRUE(WaitFor([&] { return Status(RawGet(s.port(), "/healthz", "127.0.0.1")) == 200; }))
      << "a probe from the flooding address";
  std::printf(
      "probe from the flooding address answered after %lld ms\n",
      static_cast<long long>(
          std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count()));
}

TEST(HostileTest, SlowlorisIsCutAfterTheHeaderTimeoutButIdleKeepAliveIsNot) {
  HttpOptions o;
  o.header_timeout = 1000ms;
  o.read_timeout = 20'000ms;
  o.idle_timeout = 5000ms;
  BlockingServer s(o);
  RawClient loris(s.port());
  ASSERT_TRUE(loris.connected());
  const std::string request =
      "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(200, 'a') + "\r\n\r\n";
  auto t0 = Clock::now();
  size_t sent = 0;
  bool cut = false;
  while (sent < request.size() && Clock::now() - t0 < 15s) {
    if (!loris.Send(std::string_view(request).substr(sent, 1))) {
      cut = true;
      break;
    }
    ++sent;
    bool closed = false;
    loris.ReadAll(200ms, &closed);  // one byte every 200 ms
    if (closed) {
      cut = true;
      break;
    }
  }
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
  std::printf("slowloris cut after %lld ms and %zu of %zu bytes\n",
              static_cast<long long>(took.count()), sent, request.size());
  EXPECT_TRUE(cut);
  EXPECT_LT(sent, request.size()) << "the headers never completed";
  // A kept-alive connection may stay idle longer than the header timeout.
  RawClient idle(s.port());
  ASSERT_TRUE(idle.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_EQ(Status(idle.ReadResponse(5000ms)), 200);
  std::this_thread::sleep_for(1500ms);
  ASSERT_TRUE(idle.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(Status(idle.ReadResponse(5000ms)), 200);
}

TEST(HostileTest, HealthzAnswersDuringConcurrentHeavyQueries) {
  fs::path dir = fs::temp_directory_path() / ("sloop-hostile-" + std::to_string(getpid()));
  fs::remove_all(dir);
  constexpr int64_t kSec = 1'000'000'000LL;
  constexpr int64_t kT0 = 1795165200LL * kSec;
  StoreOptions so;
  so.root = dir;
  so.background = false;
  so.now_ns = [] { return kT0 + 7200 * kSec; };
  auto store = Store::Open(so);
  ASSERT_TRUE(store.has_value()) << store.error().ToString();
  sloop::testing::RecordMaker mk;
  for (int i = 0; i < 6000; ++i) {
    auto ns = "ns-" + std::to_string(i % 20);
    ASSERT_TRUE((*store)
                    ->Append(mk.Pod(kT0 + i * kSec, ns, "pod-" + std::to_string(i % 700),
                                    "uid-" + std::to_string(i % 700), i + 1, WatchType::kModified))
                    .has_value());
  }
  HttpOptions o;
  o.bind_address = "127.0.0.1";
  o.port = 0;
  o.query_workers = 2;
  o.display_context = "cluster";
  prometheus::Registry registry;
  auto router = MakeSloopRouter(o, **store, registry);
  HttpServer server(o, *router);
  ASSERT_TRUE(server.Start().has_value());
  std::atomic<bool> stop{false};
  std::atomic<int> queries{0};
  std::vector<std::thread> heavy;
  for (int i = 0; i < 4; ++i) {
    heavy.emplace_back([&, i] {
      const char* targets[] = {"/api/v1/events?lookback=2h", "/api/v1/timeline?lookback=2h",
                               "/cluster/data?query=EventHeatMap&lookback=2h",
                               "/api/v1/history?kind=Pod&namespace=ns-1&name=pod-1&lookback=2h"};
      while (!stop) {
        RawGet(server.port(), targets[i]);
        ++queries;
      }
    });
  }
  ASSERT_TRUE(WaitFor([&] { return queries >= 4; }, 60'000ms));
  long long worst = 0;
  for (int i = 0; i < 20; ++i) {
    auto t0 = Clock::now();
    std::string r = RawGet(server.port(), "/healthz");
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
    worst = std::max<long long>(worst, ms);
    EXPECT_EQ(Status(r), 200) << r;
    std::this_thread::sleep_for(20ms);
  }
  stop = true;
  for (auto& t : heavy) t.join();
  std::printf(
      "healthz during 4 concurrent heavy query loops (%d queries): worst %lld ms "
      "(target 100 ms)\n",
      queries.load(), worst);
  EXPECT_LT(worst, 1000) << "generous bound for sanitizer builds on a shared machine";
  server.Stop();
  router.reset();
  store->reset();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace sloop::http
