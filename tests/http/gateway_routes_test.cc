// A gateway's router (MakeGatewayRouter) over two stores: each cluster answers under its own
// prefix and through `cluster` on the unprefixed API, never with the other's records; unknown and
// mismatched clusters are 400 naming `cluster`; the engine's series carry a cluster label. And the
// one-store router's answer to `cluster`.
#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "engine/store.h"
#include "http/http_message.h"
#include "http/path_router.h"
#include "http/routes.h"
#include "tests/engine/record_maker.h"

namespace sloop::http {
namespace {

namespace fs = std::filesystem;
using sloop::testing::RecordMaker;

constexpr int64_t kSec = 1000000000LL;
constexpr int64_t kMin = 60 * kSec;
constexpr int64_t kT0 = 1795165200LL * kSec;  // 2026-11-20T09:00:00Z
const std::string kWindow = "from=2026-11-20T09:00:00Z&to=2026-11-20T09:10:00Z";

class GatewayRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sloop-http-gateway-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    for (const char* name : {"east", "west"}) {
      StoreOptions o;
      o.root = dir_ / name;
      o.background = false;
      o.now_ns = [] { return kT0 + 10 * kMin; };
      auto s = Store::Open(o);
      ASSERT_TRUE(s.has_value()) << s.error().ToString();
      stores_.push_back(std::move(*s));
    }
    Append(0, mk_.Pod(kT0 + 1 * kMin, "shop", "cart", "cart-uid", 1, WatchType::kAdded));
    Append(0, mk_.Event(kT0 + 2 * kMin, "shop", "cart.1", "Pod", "cart", "cart-uid", "BackOff",
                        true, 1, kT0 + 2 * kMin, 2, WatchType::kAdded));
    Append(0, mk_.Pod(kT0 + 3 * kMin, "shop", "cart", "cart-uid", 3, WatchType::kModified));
    Append(1, mk_.Pod(kT0 + 1 * kMin, "web", "front", "front-uid", 1, WatchType::kAdded));
    Append(1, mk_.Node(kT0 + 2 * kMin, "node-w", "node-uid", 2, WatchType::kAdded));
    options_.display_context = "ignored";
    router_ = MakeGatewayRouter(
        options_, {{"east", stores_[0].get(), nullptr}, {"west", stores_[1].get(), nullptr}},
        registry_);
  }
  void TearDown() override {
    router_.reset();
    stores_.clear();
    fs::remove_all(dir_);
  }

  void Append(int store, const RecordView& r) {
    ASSERT_TRUE(stores_[store]->Append(r).has_value());
  }

  Response Get(const Router& router, std::string target) {
    Request req;
    req.method = "GET";
    req.target = std::move(target);
    std::string why;
    if (!ParseTarget(&req, &why)) return ErrorResponse(400, "", why);
    return router.Handle(req);
  }
  Response Get(std::string target) { return Get(*router_, std::move(target)); }

  // The body of a 400, which must name `cluster`.
  std::string BadCluster(const std::string& target) {
    Response r = Get(target);
    EXPECT_EQ(r.status, 400) << target << " → " << r.body;
    EXPECT_NE(r.body.find("\"parameter\":\"cluster\""), std::string::npos) << r.body;
    return r.body;
  }

  fs::path dir_;
  RecordMaker mk_;
  std::vector<std::unique_ptr<Store>> stores_;
  HttpOptions options_;
  prometheus::Registry registry_;
  std::unique_ptr<GatewayRouter> router_;
};

TEST_F(GatewayRoutesTest, EachClusterAnswersWithItsOwnStoreOnly) {
  for (const std::string target :
       {"/api/v1/timeline?" + kWindow, "/api/v1/timeline?cluster=east&" + kWindow,
        "/east/api/v1/timeline?" + kWindow, "/east/api/v1/timeline?cluster=east&" + kWindow}) {
    Response r = Get(target);
    ASSERT_EQ(r.status, 200) << target << ": " << r.body;
    EXPECT_NE(r.body.find("\"cart\""), std::string::npos) << target << ": " << r.body;
    EXPECT_EQ(r.body.find("\"front\""), std::string::npos) << target << ": " << r.body;
  }
  for (const std::string target :
       {"/api/v1/timeline?cluster=west&" + kWindow, "/west/api/v1/timeline?" + kWindow}) {
    Response r = Get(target);
    ASSERT_EQ(r.status, 200) << target << ": " << r.body;
    EXPECT_NE(r.body.find("\"front\""), std::string::npos) << target << ": " << r.body;
    EXPECT_NE(r.body.find("\"node-w\""), std::string::npos) << target << ": " << r.body;
    EXPECT_EQ(r.body.find("\"cart\""), std::string::npos) << target << ": " << r.body;
  }
  // History, Events and search, by parameter and by prefix.
  Response r = Get("/api/v1/history?cluster=east&kind=Pod&namespace=shop&name=cart");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("cart-uid"), std::string::npos) << r.body;
  r = Get("/west/api/v1/history?kind=Pod&namespace=shop&name=cart");
  EXPECT_EQ(r.body.find("cart-uid"), std::string::npos) << r.body;
  r = Get("/east/api/v1/events?kind=Pod&namespace=shop&name=cart&lookback=1h");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("BackOff"), std::string::npos) << r.body;
  r = Get("/api/v1/resources?cluster=west&search=fro");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("\"front\""), std::string::npos) << r.body;
  r = Get("/api/v1/resources?cluster=east&search=fro");
  EXPECT_EQ(r.body.find("\"front\""), std::string::npos) << r.body;
  // Sloop's routes under each cluster's prefix.
  r = Get("/west/data?query=EventHeatMap&lookback=10m&namespace=web&kind=Pod&sort=");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("front"), std::string::npos) << r.body;
  r = Get("/east/data?query=EventHeatMap&lookback=10m&namespace=web&kind=Pod&sort=");
  EXPECT_EQ(r.body.find("front"), std::string::npos) << r.body;
}

TEST_F(GatewayRoutesTest, UnknownOrMismatchedClustersAreRefusedByName) {
  std::string body = BadCluster("/api/v1/timeline?cluster=north&" + kWindow);
  EXPECT_NE(body.find("north"), std::string::npos) << body;
  EXPECT_NE(body.find("east, west"), std::string::npos) << "lists the clusters: " << body;
  body = BadCluster("/east/api/v1/kinds?cluster=west");
  EXPECT_NE(body.find("/west/api/v1/"), std::string::npos) << "says where to ask: " << body;
  BadCluster("/api/v1/backup?cluster=north");
  EXPECT_EQ(Get("/ignored/api/v1/kinds").status, 404) << "display_context is not a prefix";
  EXPECT_EQ(Get("/north/api/v1/kinds").status, 404);
}

TEST_F(GatewayRoutesTest, ConfigRootAndMetricsKnowEveryCluster) {
  Response r = Get("/west/api/v1/config");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("\"cluster\":\"west\""), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\"clusters\":[\"east\",\"west\"]"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\"url_prefix\":\"/west\""), std::string::npos) << r.body;
  r = Get("/api/v1/config?cluster=west");
  EXPECT_NE(r.body.find("\"url_prefix\":\"/west\""), std::string::npos) << r.body;

  r = Get("/");
  EXPECT_EQ(r.status, 307);
  ASSERT_FALSE(r.headers.empty());
  EXPECT_EQ(r.headers[0].second, "east") << "the first cluster";

  r = Get("/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("sloop_store_records_appended_total{cluster=\"east\"} 3"),
            std::string::npos)
      << r.body.substr(0, 3000);
  EXPECT_NE(r.body.find("sloop_store_records_appended_total{cluster=\"west\"} 2"),
            std::string::npos)
      << r.body.substr(0, 3000);
}

TEST_F(GatewayRoutesTest, AClusterFoundLaterIsServedWhileRequestsRun) {
  StoreOptions o;
  o.root = dir_ / "north";
  o.background = false;
  o.now_ns = [] { return kT0 + 10 * kMin; };
  auto north = Store::Open(o);
  ASSERT_TRUE(north.has_value()) << north.error().ToString();
  ASSERT_TRUE((*north)->Append(mk_.Pod(kT0 + 1 * kMin, "ops", "probe", "probe-uid", 1,
                                       WatchType::kAdded)).has_value());
  EXPECT_EQ(Get("/api/v1/kinds?cluster=north").status, 400);
  // Requests on every kind of route while the cluster is added.
  std::atomic<bool> stop{false};
  std::atomic<int> answered{0}, wrong{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&, t] {
      const char* targets[] = {"/api/v1/kinds?cluster=west", "/east/api/v1/config", "/metrics",
                               "/api/v1/timeline?cluster=north&lookback=1h"};
      for (int i = 0; !stop.load(); ++i) {
        Response r = Get(targets[(i + t) % 4]);
        if (r.status != 200 && r.status != 400) ++wrong;
        ++answered;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  router_->AddCluster({"north", north->get(), nullptr});
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_GT(answered.load(), 0);
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(router_->Clusters(), (std::vector<std::string>{"east", "west", "north"}));
  Response r = Get("/api/v1/timeline?cluster=north&" + kWindow);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("\"probe\""), std::string::npos) << r.body;
  r = Get("/north/api/v1/config");
  EXPECT_NE(r.body.find("\"clusters\":[\"east\",\"west\",\"north\"]"), std::string::npos)
      << r.body;
  EXPECT_NE(Get("/metrics").body.find("sloop_store_records_appended_total{cluster=\"north\"} 1"),
            std::string::npos);
  EXPECT_EQ(Get("/").headers[0].second, "east") << "the default stays the first";
  router_.reset();  // before the store it reads
}

TEST_F(GatewayRoutesTest, OneStoreAcceptsItsOwnNameOnly) {
  prometheus::Registry registry;
  HttpOptions o;
  o.context = "solo";
  auto router = MakeSloopRouter(o, *stores_[0], registry);
  EXPECT_EQ(Get(*router, "/api/v1/kinds?cluster=solo").status, 200);
  EXPECT_EQ(Get(*router, "/solo/api/v1/kinds?cluster=").status, 200);
  Response r = Get(*router, "/api/v1/kinds?cluster=east");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("one cluster, \\\"solo\\\""), std::string::npos) << r.body;
  r = Get(*router, "/solo/api/v1/config");
  EXPECT_NE(r.body.find("\"clusters\":[\"solo\"]"), std::string::npos) << r.body;
  r = Get(*router, "/metrics");
  EXPECT_NE(r.body.find("\nsloop_store_records_appended_total 3"), std::string::npos)
      << "no cluster label on a lone store's series";
}

}  // namespace
}  // namespace sloop::http
