// -auth-kubernetes against a scripted API server on loopback: TokenReview and
// SubjectAccessReview requests, their answers, caching, and the errors a user can act on.
#include "ingest/kube_auth.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <thread>

namespace sloop::ingest {
namespace {

class FakeApiServer {
 public:
  FakeApiServer() {
    server_.Post("/apis/authentication.k8s.io/v1/tokenreviews", [this](const httplib::Request& req,
                                                                       httplib::Response& res) {
      ++token_reviews;
      last_body = req.body;
      if (forbid) {
        res.status = 403;
        res.set_content(R"({"kind":"Status","message":"tokenreviews is forbidden"})",
                        "application/json");
        return;
      }
      bool alice = req.body.find(R"("token":"alice-token")") != std::string::npos;
      res.status = 201;
      res.set_content(alice ? R"({"status":{"authenticated":true,"user":{"username":"alice",)"
                              R"("groups":["dev","system:authenticated"]}}})"
                            : R"({"status":{"authenticated":false,"error":"invalid"}})",
                      "application/json");
    });
    server_.Post(
        "/apis/authorization.k8s.io/v1/subjectaccessreviews",
        [this](const httplib::Request& req, httplib::Response& res) {
          ++access_reviews;
          last_body = req.body;
          bool ok =
              req.body.find(R"("user":"alice")") != std::string::npos &&
              req.body.find(R"("groups":["dev","system:authenticated"])") != std::string::npos &&
              req.body.find(R"("namespace":"shop")") != std::string::npos &&
              req.body.find(R"("verb":"list")") != std::string::npos;
          res.status = 201;
          res.set_content(ok ? R"({"status":{"allowed":true}})" : R"({"status":{"allowed":false}})",
                          "application/json");
        });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ~FakeApiServer() {
    server_.stop();
    thread_.join();
  }
  ClusterConfig Cluster() const {
    ClusterConfig c;
    c.server = "http://127.0.0.1:" + std::to_string(port_);
    return c;
  }

  std::atomic<int> token_reviews{0}, access_reviews{0};
  std::atomic<bool> forbid{false};
  std::string last_body;

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

TEST(KubeAuthTest, TokenReviewSaysWhoAndIsCached) {
  FakeApiServer api;
  KubeAuth auth(api.Cluster(), std::chrono::seconds(60));
  EXPECT_TRUE(auth.MayBlock());
  auto id = auth.Authenticate("alice-token");
  ASSERT_TRUE(id.has_value()) << id.error().ToString();
  ASSERT_TRUE(id->has_value());
  EXPECT_EQ((*id)->user, "alice");
  EXPECT_EQ((*id)->groups, (std::vector<std::string>{"dev", "system:authenticated"}));
  EXPECT_NE(api.last_body.find(R"("kind":"TokenReview")"), std::string::npos) << api.last_body;
  auto again = auth.Authenticate("alice-token");
  ASSERT_TRUE(again.has_value() && again->has_value());
  EXPECT_EQ(api.token_reviews, 1) << "cached";
  auto bad = auth.Authenticate("mallory-token");
  ASSERT_TRUE(bad.has_value());
  EXPECT_FALSE(bad->has_value());
  auto quoted = auth.Authenticate("x\"}, \"spec\":{\"token\":\"alice-token");
  ASSERT_TRUE(quoted.has_value());
  EXPECT_FALSE(quoted->has_value()) << "the token is sent as one JSON string";
}

TEST(KubeAuthTest, SubjectAccessReviewDecidesNamespacesAndIsCached) {
  FakeApiServer api;
  KubeAuth auth(api.Cluster(), std::chrono::seconds(60));
  http::Identity alice{"alice", {"dev", "system:authenticated"}};
  auto shop = auth.MayRead(alice, "shop");
  ASSERT_TRUE(shop.has_value()) << shop.error().ToString();
  EXPECT_TRUE(*shop);
  EXPECT_NE(api.last_body.find(R"("resource":"pods")"), std::string::npos) << api.last_body;
  auto system = auth.MayRead(alice, "kube-system");
  ASSERT_TRUE(system.has_value());
  EXPECT_FALSE(*system);
  auto cluster = auth.MayRead(alice, "");
  ASSERT_TRUE(cluster.has_value());
  EXPECT_FALSE(*cluster);
  EXPECT_EQ(api.last_body.find("namespace"), std::string::npos) << "cluster-wide: no namespace";
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(*auth.MayRead(alice, "shop"));
  EXPECT_EQ(api.access_reviews, 3) << "cached";
}

TEST(KubeAuthTest, ForbiddenAndUnreachableAreUnavailableAndSayWhy) {
  FakeApiServer api;
  api.forbid = true;
  KubeAuth auth(api.Cluster(), std::chrono::seconds(60));
  auto r = auth.Authenticate("alice-token");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("system:auth-delegator"), std::string::npos)
      << r.error().message;
  ClusterConfig nowhere;
  nowhere.server = "http://127.0.0.1:1";
  KubeAuth down(nowhere, std::chrono::seconds(60));
  auto d = down.Authenticate("alice-token");
  ASSERT_FALSE(d.has_value());
  EXPECT_EQ(d.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(d.error().message.find("cannot reach"), std::string::npos) << d.error().message;
}

}  // namespace
}  // namespace sloop::ingest
