// The real server on a real socket: keep-alive, compression, limits, slow and hostile clients,
// streamed backups. Clients: cpp-httplib, and raw sockets where a test needs byte control.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <prometheus/registry.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "engine/backup.h"
#include "engine/store.h"
#include "http/compression.h"
#include "http/http_server.h"
#include "http/path_router.h"
#include "http/routes.h"
#include "tests/engine/record_maker.h"
#include "tests/http/raw_client.h"

namespace sloop::http {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr int64_t kSec = 1000000000LL;
constexpr int64_t kMin = 60 * kSec;
constexpr int64_t kT0 = 1795165200LL * kSec;

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sloop-http-server-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    auto s = Store::Open(StoreOpts());
    ASSERT_TRUE(s.has_value()) << s.error().ToString();
    store_ = std::move(*s);
    sloop::testing::RecordMaker mk;
    for (int i = 0; i < 50; ++i) {
      ASSERT_TRUE(store_
                      ->Append(mk.Pod(kT0 + i * kSec, "shop", "pod-" + std::to_string(i),
                                      "uid-" + std::to_string(i), i + 1, WatchType::kAdded))
                      .has_value());
    }
    ASSERT_TRUE(store_->SealActive().has_value());
    ASSERT_TRUE(store_->Append(mk.Pod(kT0 + 5 * kMin, "shop", "late", "uid-late", 99)).has_value());

    options_.port = 0;
    options_.bind_address = "127.0.0.1";
    options_.display_context = "cluster";
    options_.read_timeout = 2000ms;
    options_.write_timeout = 5000ms;
    Serve();
  }
  StoreOptions StoreOpts() {
    StoreOptions o;
    o.root = dir_;
    o.background = false;
    o.now_ns = [] { return kT0 + 10 * kMin; };
    return o;
  }
  // A router and a server on a free port for store_.
  void Serve() {
    router_ = MakeSloopRouter(options_, *store_, registry_);
    server_ = std::make_unique<HttpServer>(options_, *router_);
    auto started = server_->Start();
    ASSERT_TRUE(started.has_value()) << started.error().ToString();
    port_ = server_->port();
    ASSERT_NE(port_, 0);
  }
  void TearDown() override {
    server_.reset();
    router_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }

  httplib::Client Client() {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(10, 0);
    c.set_connection_timeout(5, 0);
    return c;
  }

  std::string ErrorParameter(const std::string& body) {
    auto p = body.find("\"parameter\":\"");
    if (p == std::string::npos) return "(none)";
    p += 13;
    return body.substr(p, body.find('"', p) - p);
  }

  fs::path dir_;
  std::unique_ptr<Store> store_;
  HttpOptions options_;
  prometheus::Registry registry_;
  std::unique_ptr<Router> router_;
  std::unique_ptr<HttpServer> server_;
  uint16_t port_ = 0;
};

TEST_F(ServerTest, ServesRoutesWithStatusAndHeaders) {
  auto c = Client();
  auto r = c.Get("/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "OK");
  EXPECT_FALSE(r->get_header_value("X-Request-Id").empty());
  r = c.Get("/healthz", {{"X-Request-Id", "abc-123"}});
  EXPECT_EQ(r->get_header_value("X-Request-Id"), "abc-123");
  r = c.Get("/no/such/page");
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
  r = c.Get("/cluster/data?query=Bogus&lookback=1h");
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(ErrorParameter(r->body), "query");
  r = c.Get("/cluster/data?query=EventHeatMap&lookback=1h&namespace=shop");
  ASSERT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("\"text\": \"late\""), std::string::npos);
  // A query says where its time went: waiting for a worker, then the query.
  const std::string timing = r->get_header_value("Server-Timing");
  EXPECT_TRUE(timing.starts_with("wait;dur=") && timing.find(", query;dur=") != std::string::npos)
      << timing;
  EXPECT_EQ(c.Get("/healthz")->get_header_value("Server-Timing"), "");  // answered in place
  r = c.Get("/");
  EXPECT_EQ(r->status, 307);
  EXPECT_EQ(r->get_header_value("Location"), "cluster");
  auto head = c.Head("/api/v1/shards");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->body, "");
  EXPECT_NE(head->get_header_value("Content-Length"), "0");
  auto post = c.Post("/api/v1/shards", "x", "text/plain");
  EXPECT_EQ(post->status, 405);
}

// Behind an Ingress or kubectl proxy on a sub-path: with -base-path the server answers both with
// the prefix kept (a proxy that forwards the path as it is) and stripped, and redirects carry it.
TEST_F(ServerTest, BasePathKeptOrStrippedAndInRedirects) {
  server_.reset();
  options_.base_path = "/sloop";
  Serve();
  auto c = Client();
  for (const char* path : {"/sloop/cluster", "/sloop/cluster/", "/cluster", "/cluster/"}) {
    auto r = c.Get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 200) << path;
    EXPECT_NE(r->get_header_value("Content-Type").find("text/html"), std::string::npos) << path;
  }
  for (const char* path : {"/sloop/cluster/api/v1/shards", "/cluster/api/v1/shards",
                           "/sloop/api/v1/shards", "/api/v1/shards"}) {
    auto r = c.Get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 200) << path;
    EXPECT_NE(r->body.find("\"shards\""), std::string::npos) << path << ": " << r->body;
  }
  for (const char* path : {"/sloop/healthz", "/healthz"}) {
    auto r = c.Get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->body, "OK") << path;
  }
  auto r = c.Get("/sloop/cluster/data?query=EventHeatMap&lookback=1h&namespace=shop");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  // The redirect from the root, asked for with the prefix or without it.
  for (const char* path : {"/sloop", "/sloop/", "/"}) {
    r = c.Get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 307) << path;
    EXPECT_EQ(r->get_header_value("Location"), "/sloop/cluster") << path;
  }
  // Only whole segments are a prefix; a path under neither is still 404.
  EXPECT_EQ(c.Get("/sloopy/cluster")->status, 404);
  EXPECT_EQ(c.Get("/sloop/nothing")->status, 404);
}

// ingress-nginx with a rewrite strips the prefix and says which it was in X-Forwarded-Prefix:
// redirects use it (it wins over -base-path); a header that is not a plain path is ignored.
TEST_F(ServerTest, ForwardedPrefixInRedirects) {
  auto c = Client();
  auto location = [&](const std::string& prefix) {
    auto r = c.Get("/", {{"X-Forwarded-Prefix", prefix}});
    EXPECT_TRUE(r);
    EXPECT_EQ(r->status, 307);
    return r ? r->get_header_value("Location") : std::string("(no answer)");
  };
  EXPECT_EQ(location("/sloop"), "/sloop/cluster");
  EXPECT_EQ(location("/sloop/"), "/sloop/cluster");
  EXPECT_EQ(location("/team-a/sloop"), "/team-a/sloop/cluster");
  for (const char* hostile : {"//evil.example", "/a//b", "https://evil.example", "evil", "/a b",
                              "/a?b", "/a\\b", "/%2F%2Fevil"}) {
    EXPECT_EQ(location(hostile), "cluster") << hostile;
  }
  // A proxy that kept the prefix it names.
  auto r = c.Get("/sloop/cluster/api/v1/shards", {{"X-Forwarded-Prefix", "/sloop"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  // The header wins over -base-path in redirects.
  server_.reset();
  options_.base_path = "/sloop";
  Serve();
  auto c2 = Client();
  r = c2.Get("/", {{"X-Forwarded-Prefix", "/other"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->get_header_value("Location"), "/other/cluster");
}

// The served index.html names its assets relative to the page (the UI works out its root from
// location), so no asset or API URL in it is absolute.
TEST_F(ServerTest, IndexHasNoAbsoluteUrls) {
  server_.reset();
  options_.base_path = "/sloop";
  Serve();
  auto c = Client();
  auto r = c.Get("/sloop/cluster/");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  for (const char* absolute : {"src=\"/", "href=\"/", "url(/", "\"/assets", "'/assets"}) {
    EXPECT_EQ(r->body.find(absolute), std::string::npos) << absolute << " in\n" << r->body;
  }
  const auto load = r->body.find("SLOOP_LOAD([");
  if (load != std::string::npos) {  // the built UI (the placeholder has no assets)
    EXPECT_EQ(r->body.compare(load, 14, "SLOOP_LOAD([\"."), 0) << r->body.substr(load, 80);
  }
}

TEST(BasePath, StripAndForwardedPrefix) {
  std::string p = "/sloop/cluster";
  EXPECT_TRUE(StripBasePath(&p, "/sloop"));
  EXPECT_EQ(p, "/cluster");
  p = "/sloop";
  EXPECT_TRUE(StripBasePath(&p, "/sloop"));
  EXPECT_EQ(p, "/");
  p = "/sloopy";
  EXPECT_FALSE(StripBasePath(&p, "/sloop"));
  EXPECT_EQ(p, "/sloopy");
  p = "/cluster";
  EXPECT_FALSE(StripBasePath(&p, ""));
  Request req;
  EXPECT_EQ(ExternalPrefix(req, "/base"), "/base");
  req.headers.emplace_back("x-forwarded-prefix", "/fwd/");
  EXPECT_EQ(ForwardedPrefix(req), "/fwd");
  EXPECT_EQ(ExternalPrefix(req, "/base"), "/fwd");
}

TEST_F(ServerTest, HostileParametersAre400NamingThem) {
  auto c = Client();
  struct Case {
    std::string target, parameter;
  };
  for (const Case& k : std::vector<Case>{
           {"/cluster/data?query=EventHeatMap&namespace=a%00b", "namespace"},
           {"/cluster/data?query=EventHeatMap&namematch=%ff%fe%fd", "namematch"},
           {"/cluster/data?query=EventHeatMap&lookback=-5h", "lookback"},
           {"/cluster/data?query=EventHeatMap&lookback=184467440737095516160h", "lookback"},
           {"/cluster/data?query=EventHeatMap&start_time=-1&end_time=10", "start_time"},
           {"/cluster/data?query=EventHeatMap&start_time=1&end_time=1e99", "end_time"},
           {"/api/v1/timeline?limit=-1", "limit"},
           {"/api/v1/timeline?limit=99999999999999999999999999", "limit"},
           {"/api/v1/timeline?kind=" + std::string(4000, 'k'), "kind"},
           {"/api/v1/payload?kind=Pod&name=x&at=%E2%82", "at"},
       }) {
    auto r = c.Get(k.target);
    ASSERT_TRUE(r) << k.target;
    EXPECT_EQ(r->status, 400) << k.target;
    EXPECT_EQ(ErrorParameter(r->body), k.parameter) << k.target << " → " << r->body;
  }
}

TEST_F(ServerTest, KeepAliveReusesOneConnection) {
  RawClient raw(port_);
  ASSERT_TRUE(raw.connected());
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(raw.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
    std::string resp = raw.ReadResponse(3000ms);
    EXPECT_TRUE(resp.starts_with("HTTP/1.1 200")) << resp;
    EXPECT_TRUE(resp.ends_with("OK")) << resp;
  }
  // Pipelined requests are answered in order.
  ASSERT_TRUE(
      raw.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n"
               "Connection: close\r\n\r\n"));
  bool closed = false;
  std::string both = raw.ReadAll(3000ms, &closed);
  EXPECT_TRUE(both.starts_with("HTTP/1.1 200")) << both;
  EXPECT_NE(both.find("HTTP/1.1 404"), std::string::npos) << both;
  EXPECT_TRUE(closed) << "Connection: close is honoured";
}

TEST_F(ServerTest, CompressesWhenAsked) {
  auto c = Client();
  c.set_decompress(false);  // this httplib is built with zlib: check the bytes on the wire
  for (std::string enc : {"gzip", "zstd"}) {
    auto r = c.Get("/cluster/data?query=EventHeatMap&lookback=1h", {{"Accept-Encoding", enc}});
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200);
    EXPECT_EQ(r->get_header_value("Content-Encoding"), enc);
    EXPECT_EQ(r->get_header_value("Vary"), "Accept-Encoding");
    std::string plain;
    ASSERT_TRUE(Decompress(enc, r->body, &plain)) << enc;
    EXPECT_TRUE(plain.starts_with("{\n \"view_options\"")) << plain.substr(0, 100);
  }
  auto r = c.Get("/cluster/data?query=EventHeatMap&lookback=1h");
  EXPECT_EQ(r->get_header_value("Content-Encoding"), "");
  EXPECT_TRUE(r->body.starts_with("{"));
  // Small bodies are not worth it.
  r = c.Get("/healthz", {{"Accept-Encoding", "gzip"}});
  EXPECT_EQ(r->get_header_value("Content-Encoding"), "");
}

TEST_F(ServerTest, SlowClientIsTimedOutWhileOthersAreServed) {
  RawClient slow(port_);
  ASSERT_TRUE(slow.connected());
  ASSERT_TRUE(slow.Send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "));
  auto c = Client();
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 10; ++i) {
    auto r = c.Get("/healthz");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1900ms) << "others are not held up";
  bool closed = false;
  std::string got = slow.ReadAll(6000ms, &closed);
  EXPECT_TRUE(closed) << "the stalled connection is closed after the read timeout";
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 1500ms) << "not before the read timeout";
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5500ms);
  auto r = c.Get("/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  // The client may see the close a moment before the server counts it: poll.
  std::string metrics;
  for (int i = 0; i < 100; ++i) {
    auto m = c.Get("/metrics");
    ASSERT_TRUE(m);
    metrics = m->body;
    if (metrics.find("sloop_http_connections_rejected_total{reason=\"timeout\"}") !=
        std::string::npos) {
      break;
    }
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_NE(metrics.find("sloop_http_connections_rejected_total{reason=\"timeout\"} 1"),
            std::string::npos)
      << metrics;
}

// The value of an unlabelled gauge in a /metrics text, or -1.
double GaugeValue(const std::string& metrics, const std::string& name) {
  auto at = metrics.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::stod(metrics.substr(at + name.size() + 2));
}

// A client that asks for a large answer and does not read it holds that answer in the server's
// memory until the write times out. While such answers add up to -http-response-budget-mb, queries
// are refused with 503 and Retry-After before anything is built; probes still pass, and once the
// client reads, queries are answered again.
TEST_F(ServerTest, AnswersNotReadByTheirClientsAreBoundedByTheResponseBudget) {
  sloop::testing::RecordMaker mk;
  // 12 versions of 1 MiB each: more than loopback's socket buffers take in.
  std::vector<std::string> payloads;
  for (int i = 0; i < 12; ++i) {
    payloads.push_back(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"big","namespace":)"
                       R"("shop","uid":"uid-big","resourceVersion":")" +
                       std::to_string(100 + i) + R"(","annotations":{"a":")" +
                       std::string(1 << 20, static_cast<char>('a' + i)) + R"("}}})");
  }
  for (int i = 0; i < 12; ++i) {
    RecordView v = mk.Pod(kT0 + 6 * kMin + i * kSec, "shop", "big", "uid-big", 100 + i);
    v.payload = payloads[i];
    ASSERT_TRUE(store_->Append(v).has_value());
  }
  server_.reset();
  router_.reset();
  options_.response_budget_bytes = 1 << 20;
  Serve();

  RawClient slow(port_);
  ASSERT_TRUE(slow.connected());
  ASSERT_TRUE(
      slow.Send("GET /api/v1/history?kind=Pod&namespace=shop&name=big HTTP/1.1\r\n"
                "Host: x\r\nConnection: close\r\n\r\n"));
  auto c = Client();
  double held = 0;
  for (int i = 0; i < 200 && held < (1 << 20); ++i) {
    auto m = c.Get("/metrics");
    ASSERT_TRUE(m);
    held = GaugeValue(m->body, "sloop_http_response_bytes_held");
    if (held < (1 << 20)) std::this_thread::sleep_for(10ms);
  }
  ASSERT_GE(held, 12 << 20) << "the unread answer is held";

  auto refused = c.Get("/api/v1/history?kind=Pod&namespace=shop&name=pod-1");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503) << refused->body;
  EXPECT_EQ(refused->get_header_value("Retry-After"), "2");
  EXPECT_NE(refused->body.find("-http-response-budget-mb"), std::string::npos) << refused->body;
  auto health = c.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);

  bool closed = false;
  std::string got = slow.ReadAll(4000ms, &closed);
  EXPECT_TRUE(closed);
  EXPECT_GT(got.size(), size_t(12) << 20) << "the slow client gets its whole answer";
  EXPECT_NE(got.find("HTTP/1.1 200"), std::string::npos);
  int status = 0;
  for (int i = 0; i < 100 && status != 200; ++i) {
    auto r = c.Get("/api/v1/history?kind=Pod&namespace=shop&name=pod-1");
    ASSERT_TRUE(r);
    status = r->status;
    if (status != 200) std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(status, 200) << "answered again once the held answer is read";
  auto m = c.Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_NE(m->body.find("sloop_http_connections_rejected_total{reason=\"response_budget\"} 1"),
            std::string::npos);
  EXPECT_LT(GaugeValue(m->body, "sloop_http_response_bytes_held"), 1 << 20)
      << "the held answer is no longer counted once written";
}

// A streamed answer whose pieces come slowly (a backup reading a slow disk) never waits on an
// I/O thread: with one I/O thread, health probes are answered while the stream's next piece is
// not ready, and the stream still arrives whole.
// A query's answer is compressed on the query worker that built it, not on the I/O thread that
// writes it: gzip of a large answer takes a second or more, and on the one I/O thread here every
// probe would wait for it (the kubelet gives a probe a second).
TEST_F(ServerTest, AnAnswerIsCompressedOnItsQueryWorkerNotOnTheIoThread) {
  server_.reset();
  router_.reset();
  options_.threads = 1;
  router_ = MakeSloopRouter(options_, *store_, registry_);
  router_->Exact(
      "/big", "big",
      [](const Request&) {
        Response r;
        r.body.reserve(48 << 20);
        uint64_t x = 88172645463325252ull;  // xorshift: text gzip cannot shrink much, and slowly
        static constexpr char kHex[] = "0123456789abcdef";
        while (r.body.size() < (48u << 20)) {
          x ^= x << 13;
          x ^= x >> 7;
          x ^= x << 17;
          r.body.push_back(kHex[x & 15]);
        }
        return r;
      },
      RouteClass{Lane::kWorker, Access::kPublic});
  server_ = std::make_unique<HttpServer>(options_, *router_);
  ASSERT_TRUE(server_->Start().has_value());
  port_ = server_->port();

  RawClient big(port_);
  ASSERT_TRUE(big.Send(
      "GET /big HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n"));
  auto c = Client();
  const auto until = std::chrono::steady_clock::now() + 3s;
  int probes = 0;
  while (std::chrono::steady_clock::now() < until) {
    const auto t0 = std::chrono::steady_clock::now();
    auto r = c.Get("/healthz");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 500ms) << "probe " << probes << " waited";
    ++probes;
    std::this_thread::sleep_for(50ms);
  }
  bool closed = false;
  const std::string got = big.ReadAll(60000ms, &closed);
  const size_t head_end = got.find("\r\n\r\n");
  ASSERT_NE(head_end, std::string::npos) << got.substr(0, 200);
  const std::string head = got.substr(0, head_end);
  EXPECT_NE(head.find("HTTP/1.1 200"), std::string::npos) << head;
  EXPECT_NE(head.find("Content-Encoding: gzip"), std::string::npos) << head;
  // One Server-Timing: the worker's wait, query and compression.
  EXPECT_NE(head.find(", compress;dur="), std::string::npos) << head;
  EXPECT_LT(got.size() - head_end, size_t{48} << 20) << "compressed";
}

// The query workers serve client addresses in turn: a client that has queued many queries
// delays another's by the query running, not by all it queued, and it may queue at most half
// the queue (more are answered 503 at once, counted apart).
TEST_F(ServerTest, QueriesOfTwoClientAddressesAreServedInTurn) {
  server_.reset();
  router_.reset();
  options_.query_workers = 1;
  options_.query_queue = 8;  // at most 4 waiting from one address
  router_ = MakeSloopRouter(options_, *store_, registry_);
  std::mutex mu;
  std::condition_variable cv;
  bool released = false;
  std::vector<std::string> order;
  router_->Exact(
      "/hold", "hold",
      [&](const Request& req) {
        std::unique_lock lock(mu);
        order.emplace_back(req.Param("id").value_or("?"));
        cv.notify_all();
        cv.wait(lock, [&] { return released; });
        Response r;
        r.body = "{}";
        return r;
      },
      RouteClass{Lane::kWorker, Access::kPublic});
  server_ = std::make_unique<HttpServer>(options_, *router_);
  ASSERT_TRUE(server_->Start().has_value());
  port_ = server_->port();
  auto ask = [&](RawClient& c, const std::string& id) {
    return c.Send("GET /hold?id=" + id + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  };
  std::vector<std::unique_ptr<RawClient>> a;
  for (int i = 1; i <= 6; ++i) {
    a.push_back(std::make_unique<RawClient>(port_, "127.0.0.1"));
    ASSERT_TRUE(ask(*a.back(), "a" + std::to_string(i)));
    if (i == 1) {
      std::unique_lock lock(mu);
      ASSERT_TRUE(cv.wait_for(lock, 5s, [&] { return !order.empty(); }));  // a1 runs
    } else {
      std::this_thread::sleep_for(50ms);  // queued in this order
    }
  }
  // a6 is one more than half the queue: refused at once.
  bool closed = false;
  const std::string refused = a.back()->ReadAll(3000ms, &closed);
  EXPECT_NE(refused.find("HTTP/1.1 503"), std::string::npos) << refused.substr(0, 300);
  EXPECT_NE(refused.find("already waiting"), std::string::npos) << refused.substr(0, 600);
  RawClient b(port_, "127.0.0.2");
  ASSERT_TRUE(ask(b, "b1"));
  std::this_thread::sleep_for(100ms);
  {
    std::lock_guard lock(mu);
    released = true;
  }
  cv.notify_all();
  for (int i = 0; i < 5; ++i) {
    const std::string got = a[i]->ReadAll(5000ms, &closed);
    EXPECT_NE(got.find("HTTP/1.1 200"), std::string::npos) << "a" << i + 1;
  }
  EXPECT_NE(b.ReadAll(5000ms, &closed).find("HTTP/1.1 200"), std::string::npos);
  std::lock_guard lock(mu);
  EXPECT_EQ(order, (std::vector<std::string>{"a1", "a2", "b1", "a3", "a4", "a5"}))
      << "b1 waited for a1 and a2, whose turn had come, not for all of a's";
}

TEST_F(ServerTest, AStreamWaitingForItsNextPieceDoesNotHoldUpTheIoThread) {
  class SlowStream : public BodyStream {
   public:
    explicit SlowStream(std::chrono::steady_clock::time_point ready_at) : ready_at_(ready_at) {}
    bool Ready() override { return std::chrono::steady_clock::now() >= ready_at_; }
    bool Next(std::string* out, std::string*) override {
      std::this_thread::sleep_until(ready_at_);  // what a blocking reader would do
      out->append(std::string(1000, 'x'));
      if (++pieces_ == 3) return false;
      ready_at_ = std::chrono::steady_clock::now() + 300ms;
      return true;
    }

   private:
    std::chrono::steady_clock::time_point ready_at_;
    int pieces_ = 0;
  };
  server_.reset();
  router_.reset();
  options_.threads = 1;
  options_.write_timeout = 2500ms;  // longer than the stream's pauses, shorter than a stall
  router_ = MakeSloopRouter(options_, *store_, registry_);
  router_->Exact(
      "/stalled-stream", "stalled",
      [](const Request&) {
        Response r;
        r.content_type = "text/plain";
        r.stream = std::make_unique<SlowStream>(std::chrono::steady_clock::now() + 1h);
        return r;
      },
      RouteClass{Lane::kInline, Access::kPublic});
  router_->Exact(
      "/slow-stream", "slow",
      [](const Request&) {
        Response r;
        r.content_type = "text/plain";
        r.compressible = false;
        r.stream = std::make_unique<SlowStream>(std::chrono::steady_clock::now() + 1500ms);
        return r;
      },
      RouteClass{Lane::kInline, Access::kPublic});
  server_ = std::make_unique<HttpServer>(options_, *router_);
  ASSERT_TRUE(server_->Start().has_value());
  port_ = server_->port();

  RawClient slow(port_);
  ASSERT_TRUE(slow.Send("GET /slow-stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  std::this_thread::sleep_for(200ms);  // the stream has started and waits for its first piece
  auto c = Client();
  for (int i = 0; i < 5; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    auto r = c.Get("/healthz");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 500ms) << "probe " << i << " waited";
  }
  bool closed = false;
  std::string got = slow.ReadAll(8000ms, &closed);
  EXPECT_TRUE(closed);
  EXPECT_NE(got.find("HTTP/1.1 200"), std::string::npos) << got.substr(0, 200);
  EXPECT_NE(got.find(std::string(1000, 'x')), std::string::npos);
  const size_t body = got.find("\r\n\r\n");
  ASSERT_NE(body, std::string::npos);
  EXPECT_EQ(std::count(got.begin() + static_cast<std::ptrdiff_t>(body), got.end(), 'x'), 3000);

  // A stream with nothing to send for the write timeout is cut, like a stalled client.
  RawClient stalled(port_);
  ASSERT_TRUE(stalled.Send("GET /stalled-stream HTTP/1.1\r\nHost: x\r\n\r\n"));
  const auto t0 = std::chrono::steady_clock::now();
  got = stalled.ReadAll(8000ms, &closed);
  EXPECT_TRUE(closed) << "cut after the write timeout";
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 2000ms);
  EXPECT_EQ(got.find("0\r\n\r\n"), std::string::npos) << "not ended as if whole: " << got;
}

TEST_F(ServerTest, OversizedHeadersAndTargetsAreRefused) {
  {
    RawClient raw(port_);
    std::string req =
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(1 << 20, 'a') + "\r\n\r\n";
    raw.Send(req);  // the server may close before it has all of it
    std::string resp = raw.ReadAll(3000ms);
    EXPECT_TRUE(resp.empty() || resp.starts_with("HTTP/1.1 431")) << resp.substr(0, 200);
  }
  {
    RawClient raw(port_);
    raw.Send("GET /api/v1/timeline?kind=" + std::string(100'000, 'x') +
             " HTTP/1.1\r\nHost: x\r\n\r\n");
    std::string resp = raw.ReadAll(3000ms);
    EXPECT_TRUE(resp.empty() || resp.starts_with("HTTP/1.1 431")) << resp.substr(0, 200);
  }
  {
    // A body above the limit.
    RawClient raw(port_);
    raw.Send("POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n" +
             std::string(1 << 16, 'b'));
    std::string resp = raw.ReadAll(3000ms);
    EXPECT_TRUE(resp.starts_with("HTTP/1.1 413")) << resp.substr(0, 200);
  }
  {
    RawClient raw(port_);
    raw.Send("THIS IS NOT HTTP\r\n\r\n");
    std::string resp = raw.ReadAll(3000ms);
    EXPECT_TRUE(resp.empty() || resp.starts_with("HTTP/1.1 400")) << resp.substr(0, 200);
  }
  {
    RawClient raw(port_);
    raw.Send("GET /cluster/data?query=Kinds%00 HTTP/1.1\r\nHost: x\r\n\r\n");
    std::string resp = raw.ReadResponse(3000ms);
    EXPECT_TRUE(resp.starts_with("HTTP/1.1 400")) << resp.substr(0, 200);
    EXPECT_NE(resp.find("\"parameter\":\"query\""), std::string::npos) << resp;
  }
  auto c = Client();
  auto r = c.Get("/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << "still serving";
}

TEST_F(ServerTest, BackupDownloadIsTheArchiveWithContentLength) {
  auto c = Client();
  auto r = c.Get("/cluster/data/backup");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/x-tar");
  EXPECT_EQ(r->get_header_value("Content-Length"), std::to_string(r->body.size()));
  EXPECT_NE(r->get_header_value("Content-Disposition").find("attachment; filename=sloop-cluster-"),
            std::string::npos);
  auto files = store_->SnapshotForBackup();
  ASSERT_TRUE(files.has_value());
  std::string expected;
  ASSERT_TRUE(
      WriteBackupArchive(*files, store_->Now(), [&](std::string_view chunk) -> Result<void> {
        expected.append(chunk);
        return {};
      }).has_value());
  EXPECT_EQ(r->body.size(), expected.size());
  EXPECT_TRUE(r->body == expected);
  // A client that goes away mid-download does not wedge the server.
  {
    RawClient raw(port_);
    raw.Send("GET /api/v1/backup HTTP/1.1\r\nHost: x\r\n\r\n");
    raw.ReadAll(100ms);
  }
  r = c.Get("/api/v1/backup");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body.size(), expected.size());
}

TEST_F(ServerTest, ConcurrentClients) {
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      auto c = Client();
      c.set_keep_alive(true);
      for (int i = 0; i < 25; ++i) {
        auto r = c.Get("/api/v1/timeline?lookback=1h&namespace=shop");
        if (r && r->status == 200) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 200);
}

TEST_F(ServerTest, StopIsPromptWithIdleConnections) {
  RawClient idle(port_);
  ASSERT_TRUE(idle.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  idle.ReadResponse(2000ms);
  auto t0 = std::chrono::steady_clock::now();
  server_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 500ms);
  server_->Stop();  // idempotent
}

TEST(HttpServerStandalone, PortInUseIsAnError) {
  Router router;
  router.Exact("/", "root", [](const Request&) { return TextResponse("x"); });
  HttpOptions o;
  o.bind_address = "127.0.0.1";
  o.port = 0;
  HttpServer a(o, router);
  ASSERT_TRUE(a.Start().has_value());
  o.port = a.port();
  HttpServer b(o, router);
  auto r = b.Start();
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("cannot listen"), std::string::npos);
}

}  // namespace
}  // namespace sloop::http

namespace sloop::http {
namespace {

TEST_F(ServerTest, AnswerThatSkippedADamagedBlockSaysSo) {
  // Damage the sealed shard's block (the first 50 pods) and serve the store again.
  server_.reset();
  router_.reset();
  store_.reset();
  const fs::path seg = dir_ / "shards" / "0000000001.seg";
  ASSERT_TRUE(fs::exists(seg));
  {
    std::fstream f(seg, std::ios::in | std::ios::out | std::ios::binary);
    const auto at = static_cast<std::streamoff>(fs::file_size(seg) / 2);
    f.seekg(at);
    char c = 0;
    f.get(c);
    f.seekp(at);
    f.put(static_cast<char>(c ^ 0x5a));
  }
  auto s = Store::Open(StoreOpts());
  ASSERT_TRUE(s.has_value()) << s.error().ToString();
  store_ = std::move(*s);
  Serve();

  auto c = Client();
  const std::string window =
      "&from=" + std::to_string(kT0 / kSec - 60) + "&to=" + std::to_string(kT0 / kSec + 600);
  auto damaged = c.Get("/api/v1/history?kind=Pod&namespace=shop&name=pod-3" + window);
  ASSERT_TRUE(damaged);
  EXPECT_EQ(damaged->status, 200) << damaged->body;  // what is readable, not a 500
  EXPECT_EQ(damaged->get_header_value("X-Sloop-Damaged-Blocks"), "1");
  EXPECT_NE(damaged->get_header_value("Warning").find("damaged"), std::string::npos);
  // An answer that read no damaged block carries no warning.
  auto intact = c.Get("/api/v1/history?kind=Pod&namespace=shop&name=late" + window);
  ASSERT_TRUE(intact);
  EXPECT_EQ(intact->status, 200) << intact->body;
  EXPECT_NE(intact->body.find("uid-late"), std::string::npos);
  EXPECT_FALSE(intact->has_header("X-Sloop-Damaged-Blocks"));
  EXPECT_FALSE(intact->has_header("Warning"));
}

// The default number of query workers follows the CPUs the container may use, not the node's
// cores: a pod's memory limit is sized for its CPU limit, and each query may hold tens of MB.
TEST(HttpServerStandalone, QueryWorkersFollowTheCgroupsCpuLimit) {
  const std::filesystem::path root =
      std::filesystem::temp_directory_path() / ("sloop-cgroup-" + std::to_string(::getpid()));
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(root / "cpu");
  const int all = UsableCpus((root / "none").string());  // no cgroup files: the CPUs we run on
  ASSERT_GE(all, 1);
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(root / name) << text << "\n";
  };
  write("cpu/cpu.cfs_quota_us", "50000");  // cgroup v1: half a CPU
  write("cpu/cpu.cfs_period_us", "100000");
  EXPECT_EQ(UsableCpus(root.string()), 1);
  write("cpu/cpu.cfs_quota_us", "-1");  // v1: no limit
  EXPECT_EQ(UsableCpus(root.string()), all);
  write("cpu.max", "150000 100000");  // cgroup v2: 1.5 CPUs, rounded up
  EXPECT_EQ(UsableCpus(root.string()), std::min(all, 2));
  write("cpu.max", "max 100000");  // v2: no limit
  EXPECT_EQ(UsableCpus(root.string()), all);
  write("cpu.max", "100000000 100000");  // more than there are
  EXPECT_EQ(UsableCpus(root.string()), all);
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace sloop::http
