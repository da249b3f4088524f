// kubesim's API side without kubectl: selectors, the object store's pages and window, and the
// HTTP handlers (discovery, LIST with pagination and selectors, GET, Table, WATCH, 410, auth)
// over loopback with cpp-httplib's client.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "api_server.h"
#include "cluster.h"
#include "object_store.h"
#include "scenarios.h"
#include "selectors.h"

namespace kubesim {
namespace {

constexpr SimTime kStart = 1'795'600'000 * kSecond;

int count(const std::string& s, std::string_view needle) {
  int n = 0;
  for (size_t p = s.find(needle); p != std::string::npos; p = s.find(needle, p + needle.size())) {
    ++n;
  }
  return n;
}

std::string json_string_field(const std::string& body, const std::string& key) {
  const std::string k = "\"" + key + "\":\"";
  const size_t p = body.find(k);
  if (p == std::string::npos) return "";
  const size_t b = p + k.size();
  return body.substr(b, body.find('"', b) - b);
}

TEST(Selectors, LabelSelector) {
  std::string err;
  auto s = LabelSelector::parse("app=web,tier!=db,env in (prod,staging),!legacy", &err);
  ASSERT_TRUE(s) << err;
  EXPECT_TRUE(s->matches({{"app", "web"}, {"env", "prod"}}));
  EXPECT_FALSE(s->matches({{"app", "web"}, {"env", "dev"}}));
  EXPECT_FALSE(s->matches({{"app", "web"}, {"env", "prod"}, {"tier", "db"}}));
  EXPECT_FALSE(s->matches({{"app", "web"}, {"env", "prod"}, {"legacy", "1"}}));
  EXPECT_TRUE(LabelSelector::parse("", &err)->empty());
  EXPECT_FALSE(LabelSelector::parse("a=(", &err));
}

TEST(Selectors, FieldSelector) {
  std::string err;
  auto s = FieldSelector::parse("metadata.namespace=shop,spec.nodeName!=n1", Kind::Pod, &err);
  ASSERT_TRUE(s) << err;
  EXPECT_EQ(s->pinned_namespace(), "shop");
  ObjectVersion v;
  v.kind = Kind::Pod;
  v.ns = "shop";
  v.name = "p";
  v.fields = {{"spec.nodeName", "n2"}};
  EXPECT_TRUE(s->matches(v));
  v.fields = {{"spec.nodeName", "n1"}};
  EXPECT_FALSE(s->matches(v));
  EXPECT_FALSE(FieldSelector::parse("spec.nodeName=x", Kind::Deployment, &err));
  EXPECT_NE(err.find("field label not supported"), std::string::npos);
}

// A Cluster running the e2e scenario into a store.
struct Model {
  explicit Model(size_t window) : store(window), cluster(7, kStart, &store) {
    std::string err;
    EXPECT_TRUE(setup_scenario(cluster, ScenarioOptions{"e2e", 0, 0}, &err)) << err;
    cluster.advance_to(kStart + 8 * kSecond);
  }
  ObjectStore store;
  Cluster cluster;
};

TEST(ObjectStore, PagesCoverTheListInKeyOrder) {
  Model m(100'000);
  auto all = m.store.list(Kind::Pod, "", nullptr, "", 0);
  ASSERT_GT(all.items.size(), 4u);
  std::vector<std::string> paged;
  std::string after;
  for (int i = 0; i < 100; ++i) {
    auto page = m.store.list(Kind::Pod, "", nullptr, after, 2);
    for (auto& o : page.items) paged.push_back(object_key(o->ns, o->name));
    if (page.last_key.empty()) break;
    EXPECT_EQ(page.remaining + page.items.size() + paged.size() - page.items.size(),
              all.items.size());
    after = page.last_key;
  }
  ASSERT_EQ(paged.size(), all.items.size());
  for (size_t i = 0; i < paged.size(); ++i) {
    EXPECT_EQ(paged[i], object_key(all.items[i]->ns, all.items[i]->name));
  }
  EXPECT_TRUE(std::is_sorted(paged.begin(), paged.end()));
  // Namespace scope.
  auto ns = m.store.list(Kind::Pod, "e2e-data", nullptr, "", 0);
  for (auto& o : ns.items) EXPECT_EQ(o->ns, "e2e-data");
  EXPECT_FALSE(ns.items.empty());
}

TEST(ObjectStore, WindowExpires) {
  Model m(20);
  std::vector<WatchEvent> out;
  EXPECT_EQ(m.store.events_after(1, 100, &out), ObjectStore::Read::Expired);
  const uint64_t floor = m.store.oldest_resource_version();
  EXPECT_EQ(m.store.events_after(floor, 100, &out), ObjectStore::Read::Ok);
  EXPECT_EQ(out.size(), 20u);
  for (size_t i = 1; i < out.size(); ++i) EXPECT_LT(out[i - 1].rv, out[i].rv);
  m.store.expire_all();
  out.clear();
  EXPECT_EQ(m.store.events_after(floor, 100, &out), ObjectStore::Read::Expired);
  EXPECT_EQ(m.store.events_after(m.store.resource_version(), 100, &out), ObjectStore::Read::Ok);
}

// An ApiServer on a loopback port, in-process.
class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(ServerOptions{}); }
  void Start(ServerOptions opt) {
    opt.bind = "127.0.0.1";
    opt.port = 0;
    server_ = std::make_unique<ApiServer>(
        model_.store, [this] { return now_.load(); }, opt);
    std::string err;
    ASSERT_TRUE(server_->bind(&err)) << err;
    thread_ = std::thread([this] { server_->run(); });
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    client_->set_read_timeout(10, 0);
  }
  void TearDown() override {
    model_.store.shutdown();
    server_->stop();
    if (thread_.joinable()) thread_.join();
  }
  httplib::Result Get(const std::string& path, const std::string& accept = "application/json") {
    return client_->Get(path.c_str(), httplib::Headers{{"Accept", accept}});
  }

  Model model_{100'000};
  std::atomic<SimTime> now_{kStart + 8 * kSecond};
  std::unique_ptr<ApiServer> server_;
  std::unique_ptr<httplib::Client> client_;
  std::thread thread_;
};

TEST_F(ApiTest, VersionAndDiscovery) {
  auto r = Get("/version?timeout=5s");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("\"minor\":\"32\""), std::string::npos);
  EXPECT_NE(r->body.find("\"gitVersion\":\"v1.32."), std::string::npos);

  r = Get("/apis",
          "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json");
  ASSERT_TRUE(r);
  EXPECT_NE(r->get_header_value("Content-Type").find("as=APIGroupDiscoveryList"),
            std::string::npos);
  EXPECT_NE(r->body.find("\"resource\":\"widgets\""), std::string::npos);
  r = Get("/apis");
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
  EXPECT_NE(r->body.find("\"kind\":\"APIGroupList\""), std::string::npos);
  r = Get("/api/v1");
  EXPECT_NE(r->body.find("\"name\":\"pods\""), std::string::npos);
  r = Get("/apis/apps/v1");
  EXPECT_NE(r->body.find("\"name\":\"deployments\""), std::string::npos);
  r = Get("/apis/nope/v1");
  EXPECT_EQ(r->status, 404);
}

TEST_F(ApiTest, ListPaginationAndSelectors) {
  auto r = Get("/api/v1/pods");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(r->body.rfind("{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":{", 0), 0u);
  // Items of built-in kinds carry no kind of their own.
  EXPECT_EQ(count(r->body, "\"kind\":\"Pod\""), 0);
  const int total = count(r->body, "\"generateName\"") + count(r->body, "\"name\":\"doomed\"");
  const int all_names = count(r->body, "\"creationTimestamp\"");
  ASSERT_GT(all_names, 3);

  int seen = 0;
  std::string cont;
  for (int i = 0; i < 50; ++i) {
    r = Get("/api/v1/pods?limit=2" + (cont.empty() ? "" : "&continue=" + cont));
    ASSERT_EQ(r->status, 200) << r->body;
    seen += count(r->body, "\"creationTimestamp\"");
    cont = json_string_field(r->body, "continue");
    if (cont.empty()) break;
    EXPECT_NE(r->body.find("\"remainingItemCount\""), std::string::npos);
  }
  EXPECT_EQ(seen, all_names);
  (void)total;

  // Namespace scope and selectors.
  r = Get("/api/v1/namespaces/e2e-data/pods");
  EXPECT_EQ(count(r->body, "\"namespace\":\"e2e-apps\""), 0);
  EXPECT_GT(count(r->body, "\"namespace\":\"e2e-data\""), 0);
  r = Get("/api/v1/pods?fieldSelector=metadata.name%3Ddb-0");
  EXPECT_EQ(count(r->body, "\"creationTimestamp\""), 1) << r->body;
  r = Get("/api/v1/pods?labelSelector=app.kubernetes.io%2Fname%3Dnone");
  EXPECT_NE(r->body.find("\"items\":[]"), std::string::npos);
  r = Get("/api/v1/pods?fieldSelector=spec.bogus%3D1");
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("\"reason\":\"BadRequest\""), std::string::npos);
  r = Get("/api/v1/pods?labelSelector=a%3D(");
  EXPECT_EQ(r->status, 400);
}

TEST_F(ApiTest, ExpiredContinueIs410) {
  auto r = Get("/api/v1/pods?limit=1");
  const std::string cont = json_string_field(r->body, "continue");
  ASSERT_FALSE(cont.empty());
  model_.cluster.advance_to(kStart + 12 * kSecond);
  model_.store.expire_all();
  r = Get("/api/v1/pods?limit=1&continue=" + cont);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 410);
  EXPECT_NE(r->body.find("\"reason\":\"Expired\""), std::string::npos);
  EXPECT_NE(r->body.find("The provided continue parameter is too old"), std::string::npos);
  const std::string fresh = json_string_field(r->body, "continue");
  ASSERT_FALSE(fresh.empty());
  r = Get("/api/v1/pods?limit=1&continue=" + fresh);
  EXPECT_EQ(r->status, 200);
  r = Get("/api/v1/pods?limit=1&continue=garbage!");
  EXPECT_EQ(r->status, 400);
}

TEST_F(ApiTest, GetAndNotFound) {
  auto r = Get("/api/v1/namespaces/e2e-data/pods/db-0");
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(r->body.rfind("{\"kind\":\"Pod\",\"apiVersion\":\"v1\"", 0), 0u);
  r = Get("/api/v1/namespaces/e2e-data/pods/nope");
  EXPECT_EQ(r->status, 404);
  EXPECT_NE(
      r->body.find(
          R"("message":"pods \"nope\" not found","reason":"NotFound","details":{"name":"nope","kind":"pods"},"code":404)"),
      std::string::npos)
      << r->body;
  r = Get("/apis/apps/v1/namespaces/e2e-apps/deployments/nope");
  EXPECT_NE(r->body.find(R"(deployments.apps \"nope\" not found)"), std::string::npos);
  r = Get("/api/v1/namespaces/e2e-data");
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("\"kind\":\"Namespace\""), std::string::npos);
  r = Get("/api/v1/nopes");
  EXPECT_EQ(r->status, 404);
}

TEST_F(ApiTest, Table) {
  const std::string accept =
      "application/json;as=Table;v=v1;g=meta.k8s.io,application/"
      "json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
  auto r = Get("/api/v1/namespaces/e2e-data/pods", accept);
  ASSERT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("\"kind\":\"Table\",\"apiVersion\":\"meta.k8s.io/v1\""),
            std::string::npos);
  EXPECT_NE(r->body.find("\"columnDefinitions\":[{\"name\":\"Name\""), std::string::npos);
  EXPECT_NE(r->body.find("\"cells\":[\"db-0\",\"1/1\",\"Running\""), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("\"kind\":\"PartialObjectMetadata\""), std::string::npos);
  r = Get("/api/v1/namespaces/e2e-data/pods?includeObject=None", accept);
  EXPECT_EQ(r->body.find("PartialObjectMetadata"), std::string::npos);
}

// Collects a watch stream's body until it ends.
std::string Watch(httplib::Client& c, const std::string& path,
                  const std::string& accept = "application/json") {
  std::string body;
  c.Get(path.c_str(), httplib::Headers{{"Accept", accept}}, [&](const char* data, size_t len) {
    body.append(data, len);
    return true;
  });
  return body;
}

TEST_F(ApiTest, WatchStreamsEventsAndEnds) {
  const uint64_t rv = model_.store.resource_version();
  std::atomic<bool> done{false};
  std::string body;
  std::thread t([&] {
    body = Watch(*client_,
                 "/api/v1/pods?watch=1&timeoutSeconds=2&allowWatchBookmarks=true&resourceVersion=" +
                     std::to_string(rv));
    done = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  model_.cluster.advance_to(kStart + 20 * kSecond);
  model_.cluster.delete_pod("e2e-data", "db-0");
  model_.cluster.advance_to(kStart + 60 * kSecond);
  const auto started = std::chrono::steady_clock::now();
  t.join();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(3));
  EXPECT_TRUE(done.load());
  EXPECT_GT(count(body, "{\"type\":\"MODIFIED\",\"object\":{\"kind\":\"Pod\""), 0) << body;
  EXPECT_GT(count(body, "{\"type\":\"DELETED\",\"object\":{\"kind\":\"Pod\""), 0);
  EXPECT_EQ(count(body, "\"kind\":\"Node\""), 0);
  for (size_t p = 0, q; (q = body.find('\n', p)) != std::string::npos; p = q + 1) {
    EXPECT_EQ(body[p], '{');
    EXPECT_EQ(body[q - 1], '}');
  }
}

TEST_F(ApiTest, WatchFromZeroStartsWithAddedAndFilters) {
  std::string body = Watch(
      *client_, "/api/v1/namespaces/e2e-data/pods?watch=true&resourceVersion=0&timeoutSeconds=1");
  EXPECT_GT(count(body, "{\"type\":\"ADDED\""), 0);
  EXPECT_EQ(count(body, "\"namespace\":\"e2e-apps\""), 0);
  // Table watch: column definitions only in the first frame.
  body = Watch(*client_, "/api/v1/namespaces/e2e-data/pods?watch=true&timeoutSeconds=1",
               "application/json;as=Table;v=v1;g=meta.k8s.io,application/json");
  EXPECT_GT(count(body, "\"kind\":\"Table\""), 1);
  EXPECT_EQ(count(body, "columnDefinitions"), 1);
}

TEST_F(ApiTest, WatchTooOldAfterExpiry) {
  model_.store.expire_all();
  model_.cluster.advance_to(kStart + 30 * kSecond);
  auto r = Get("/api/v1/pods?watch=1&resourceVersion=1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(
      r->body.find(
          R"x({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 1 ()x"),
      std::string::npos);
  EXPECT_NE(r->body.find("\"reason\":\"Expired\",\"code\":410}}\n"), std::string::npos) << r->body;
}

class AuthTest : public ApiTest {
 protected:
  void SetUp() override {
    ServerOptions o;
    o.token = "good";
    o.forbidden_token = "viewer";
    Start(o);
  }
};

TEST_F(AuthTest, TokenRequired) {
  auto r = Get("/api/v1/pods");
  EXPECT_EQ(r->status, 401);
  EXPECT_NE(r->body.find("\"reason\":\"Unauthorized\""), std::string::npos);
  EXPECT_EQ(Get("/version")->status, 200);  // anonymous may read /version
  client_->set_bearer_token_auth("good");
  EXPECT_EQ(Get("/api/v1/pods")->status, 200);
  client_->set_bearer_token_auth("bad");
  EXPECT_EQ(Get("/api/v1/pods")->status, 401);
  EXPECT_EQ(Get("/version")->status, 401);
  client_->set_bearer_token_auth("viewer");
  r = Get("/apis/apps/v1/namespaces/e2e-apps/deployments");
  EXPECT_EQ(r->status, 403);
  EXPECT_NE(
      r->body.find(
          R"(deployments.apps is forbidden: User \"kubesim-viewer\" cannot list resource \"deployments\" in API group \"apps\" in the namespace \"e2e-apps\")"),
      std::string::npos)
      << r->body;
}

// A service account's token authorized by RBAC: what the role allows is served, the rest is the
// apiserver's 403 Status, counted (for tests that assert none).
class RbacTest : public ApiTest {
 protected:
  void SetUp() override {
    ServerOptions o;
    o.token = "admin";
    o.user_tokens["sa-token"] = "system:serviceaccount:sloop:sloop";
    auto rbac = std::make_shared<Rbac>();
    std::string error;
    ASSERT_TRUE(Rbac::parse(R"(
kind: ClusterRole
metadata: {name: sloop}
rules: [{apiGroups: [""], resources: [pods], verbs: [get, list, watch]}]
---
kind: ClusterRoleBinding
metadata: {name: sloop}
roleRef: {kind: ClusterRole, name: sloop}
subjects: [{kind: ServiceAccount, name: sloop, namespace: sloop}]
)",
                            rbac.get(), &error))
        << error;
    o.rbac = rbac;
    Start(o);
  }
};

TEST_F(RbacTest, RolesDecide) {
  client_->set_bearer_token_auth("sa-token");
  EXPECT_EQ(Get("/api/v1/pods")->status, 200);
  EXPECT_EQ(Get("/api/v1/pods?watch=1&timeoutSeconds=1")->status, 200);
  EXPECT_EQ(Get("/apis")->status, 200);  // discovery is open to every authenticated user
  EXPECT_EQ(server_->forbidden_responses(), 0u);
  auto r = Get("/api/v1/configmaps");
  EXPECT_EQ(r->status, 403);
  for (
      const char* want :
      {R"("kind":"Status")", R"("status":"Failure")", R"("reason":"Forbidden")", R"("code":403)",
       R"(configmaps is forbidden: User \"system:serviceaccount:sloop:sloop\" cannot list resource \"configmaps\" in API group \"\" at the cluster scope)"}) {
    EXPECT_NE(r->body.find(want), std::string::npos) << want << " in " << r->body;
  }
  EXPECT_EQ(Get("/apis/apps/v1/namespaces/e2e-apps/deployments")->status, 403);
  EXPECT_EQ(server_->forbidden_responses(), 2u);
  auto counters = Get("/debug/kubesim/counters");
  EXPECT_NE(counters->body.find("\"forbidden\":2"), std::string::npos) << counters->body;
  client_->set_bearer_token_auth("admin");  // --token is system:masters
  EXPECT_EQ(Get("/api/v1/configmaps")->status, 200);
}

class FaultTest : public ApiTest {
 protected:
  void SetUp() override {
    ServerOptions o;
    o.throttle_every = 2;
    Start(o);
  }
};

TEST_F(FaultTest, ThrottleEverySecondRequest) {
  EXPECT_EQ(Get("/api/v1/pods")->status, 200);
  auto r = Get("/api/v1/pods");
  EXPECT_EQ(r->status, 429);
  EXPECT_EQ(r->get_header_value("Retry-After"), "1");
  EXPECT_EQ(Get("/api/v1/pods")->status, 200);
}

}  // namespace
}  // namespace kubesim
