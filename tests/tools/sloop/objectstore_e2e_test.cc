// End to end, flag to bucket: the real sloop recording the simulator with -object-store pointed at
// a real Ceph RADOS Gateway uploads every shard it seals, the one sealed at SIGTERM included;
// every shard in the bucket matches its manifest and the store it came from; /metrics tells; a
// restart uploads nothing again. Label objectstore.
#include <gtest/gtest.h>
#include <httplib.h>

#include <algorithm>
#include <climits>
#include <map>
#include <regex>
#include <set>

#include "engine/store.h"
#include "objstore/manifest.h"
#include "objstore/s3_client.h"
#include "tests/objstore/rgw_fixture.h"
#include "tests/tools/sloop/process.h"

namespace sloop {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::Process;
using testing::ReadFile;
using testing::WaitFor;

std::pair<int, std::string> Get(int port, const std::string& target) {
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(30, 0);
  auto res = client.Get(target);
  if (!res) return {0, ""};
  return {res->status, res->body};
}

// A series' value in a Prometheus text page (-1 when absent).
double Metric(const std::string& page, const std::string& name) {
  size_t at = page.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::stod(page.substr(at + name.size() + 2));
}

class ObjectStoreE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sloop-objstore-e2e-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto rgw = objstore::testing::RgwCluster::Start();
    ASSERT_TRUE(rgw.has_value()) << rgw.error().ToString();
    rgw_ = std::move(*rgw);
    auto client = objstore::S3Client::Create(rgw_->Options("history"));
    ASSERT_TRUE(client.has_value()) << client.error().ToString();
    s3_ = std::move(*client);

    fs::path port_file = dir_ / "kubesim.port";
    sim_.Start({SLOOP_KUBESIM, "--port", "0", "--bind", "127.0.0.1", "--port-file",
                port_file.string(), "--scenario", "e2e", "--seed", "7"},
               {}, dir_ / "kubesim.log");
    ASSERT_TRUE(WaitFor([&] { return !ReadFile(port_file).empty(); }, 15s)) << sim_.Log();
    testing::WriteSimKubeconfig(dir_ / "kubeconfig", std::stoi(ReadFile(port_file)));
  }
  void TearDown() override {
    sloop_.Kill();
    sim_.Kill();
    if (HasFailure()) {
      std::fprintf(stderr, "kept %s (sloop*.log, kubesim.log)\n", dir_.c_str());
    } else {
      fs::remove_all(dir_);
    }
  }

  void StartSloop(const std::string& log, std::vector<std::string> extra = {}) {
    port_ = testing::FreePort();
    const auto o = rgw_->Options("history");
    std::vector<std::string> args = {SLOOP_BINARY,
                                     "-port=" + std::to_string(port_),
                                     "-bind-address=127.0.0.1",
                                     "-store-root=" + (dir_ / "store").string(),
                                     "-shard-duration=1m",
                                     // Node heartbeats: records every few seconds, always.
                                     "-keep-minor-node-updates=true",
                                     "-object-store=s3://history/e2e",
                                     "-object-store-endpoint=" + rgw_->endpoint(),
                                     "-object-store-create-bucket=true",
                                     "-cluster=sim-a"};
    args.insert(args.end(), extra.begin(), extra.end());
    // Credentials the standard way, from the environment; nothing in a credentials file.
    sloop_.Start(args,
                 {"KUBECONFIG=" + (dir_ / "kubeconfig").string(), "HOME=" + dir_.string(),
                  "AWS_ACCESS_KEY_ID=" + o.access_key, "AWS_SECRET_ACCESS_KEY=" + o.secret_key},
                 dir_ / log);
    ASSERT_TRUE(WaitFor([&] { return Get(port_, "/healthz").first == 200; }, 30s)) << sloop_.Log();
  }

  double Scrape(const std::string& name) { return Metric(Get(port_, "/metrics").second, name); }

  // Every key under the cluster's shards/, with its bytes.
  std::map<std::string, std::string> Bucket() {
    std::map<std::string, std::string> out;
    std::string token;
    do {
      auto page = s3_->List("e2e/sim-a/shards/", "", token);
      EXPECT_TRUE(page.has_value()) << page.error().ToString();
      if (!page) break;
      for (const auto& o : page->objects) {
        auto bytes = s3_->Get(o.key);
        EXPECT_TRUE(bytes.has_value()) << bytes.error().ToString();
        if (bytes) out[o.key] = std::move(*bytes);
      }
      token = page->next_token;
    } while (!token.empty());
    return out;
  }

  fs::path dir_;
  std::unique_ptr<objstore::testing::RgwCluster> rgw_;
  std::unique_ptr<objstore::S3Client> s3_;
  Process sim_, sloop_;
  int port_ = 0;
};

TEST_F(ObjectStoreE2eTest, EverySealedShardReachesTheBucketVerifiedAndARestartPutsNothingTwice) {
  StartSloop("sloop.log");
  EXPECT_NE(sloop_.Log().find("created the bucket history"), std::string::npos) << sloop_.Log();
  EXPECT_NE(sloop_.Log().find("object store: uploading sealed shards to s3://history/e2e/sim-a/"),
            std::string::npos)
      << sloop_.Log();
  EXPECT_EQ(sloop_.Log().find(rgw_->Options("history").secret_key), std::string::npos)
      << "the secret is never logged";
  // The first minute's window closes, is sealed and goes up on its own.
  ASSERT_TRUE(WaitFor([&] { return Scrape("sloop_objstore_uploaded_shards_total") >= 1; }, 150s))
      << sloop_.Log();
  EXPECT_EQ(Scrape("sloop_objstore_unuploaded_shards_lost_total"), 0);
  EXPECT_GT(Scrape("sloop_objstore_requests_total"), 3);
  EXPECT_GT(Scrape("sloop_objstore_sent_bytes_total"), 0);
  // Records in the next window, so that SIGTERM has an active shard to seal, which is uploaded
  // before the process exits.
  const double appended = Scrape("sloop_store_records_appended_total");
  ASSERT_TRUE(WaitFor(
      [&] { return Scrape("sloop_store_records_appended_total") >= appended + 5; }, 30s));
  auto status = sloop_.Stop(SIGTERM, 60s);
  ASSERT_TRUE(status.has_value()) << sloop_.Log();
  EXPECT_EQ(*status, 0) << sloop_.Log();
  EXPECT_NE(sloop_.Log().find("object store: every sealed shard is uploaded"), std::string::npos)
      << sloop_.Log();

  // The bucket against the store: the same shards, each complete and as its manifest says.
  std::set<uint64_t> local;
  int64_t first_ns = INT64_MAX, last_ns = 0;
  {
    StoreOptions o;
    o.root = dir_ / "store" / "e2e";
    o.read_only = true;
    o.background = false;
    auto store = Store::Open(o);
    ASSERT_TRUE(store.has_value()) << store.error().ToString();
    for (const auto& s : (*store)->SealedShards()) {
      local.insert(s->info().id);
      first_ns = std::min(first_ns, s->info().min_ns);
      last_ns = std::max(last_ns, s->info().max_ns);
    }
  }
  ASSERT_GE(local.size(), 2u) << "a window sealed on time and the one sealed at the stop";
  auto objects = Bucket();
  std::set<uint64_t> uploaded;
  for (const auto& [key, bytes] : objects) {
    if (!key.ends_with(".json")) continue;
    auto m = objstore::ParseManifest(bytes, key);
    ASSERT_TRUE(m.has_value()) << m.error().ToString();
    EXPECT_EQ(m->cluster, "sim-a");
    const std::string base = key.substr(0, key.size() - 5);
    ASSERT_TRUE(objects.contains(base + ".seg")) << key;
    ASSERT_TRUE(objects.contains(base + ".idx")) << key;
    const std::string& seg = objects[base + ".seg"];
    const std::string& idx = objects[base + ".idx"];
    EXPECT_EQ(seg.size(), m->segment.bytes) << key;
    EXPECT_EQ(objstore::Xxh3(seg), m->segment.xxh3) << key;
    EXPECT_EQ(idx.size(), m->index.bytes) << key;
    EXPECT_EQ(objstore::Xxh3(idx), m->index.xxh3) << key;
    EXPECT_GT(m->records, 0u) << key;
    uploaded.insert(m->shard_id);
  }
  EXPECT_EQ(uploaded, local);
  EXPECT_EQ(objects.size(), 3 * local.size()) << "three objects a shard, nothing else";

  // A restart knows what is up there: nothing pending, nothing put again.
  StartSloop("sloop2.log");
  EXPECT_NE(sloop_.Log().find("(" + std::to_string(local.size()) + " uploaded before, 0 waiting"),
            std::string::npos)
      << sloop_.Log();
  ASSERT_TRUE(sloop_.Stop(SIGTERM, 60s).has_value());
  auto after = Bucket();
  for (const auto& [key, bytes] : objects) {
    ASSERT_TRUE(after.contains(key)) << key;
    // A manifest put again would carry another uploaded_at.
    EXPECT_EQ(after[key], bytes) << key << " was put again";
  }

  // Another sloop with an empty store of its own, read-only, answers from the bucket what the
  // recorder's store answers: flag, bucket, cache, engine and HTTP, end to end.
  const std::string window = "from=" + std::to_string(first_ns / 1000000000) +
                             "&to=" + std::to_string(last_ns / 1000000000 + 1);
  const std::vector<std::string> queries = {"/api/v1/timeline?" + window,
                                            "/api/v1/timeline?kind=Event&" + window,
                                            "/api/v1/kinds?" + window,
                                            "/api/v1/namespaces?" + window};
  std::string metrics;  // the last run's /metrics, after its queries
  auto answers = [&](const std::string& log, std::vector<std::string> args) {
    port_ = testing::FreePort();
    args.insert(args.begin(), {SLOOP_BINARY, "-port=" + std::to_string(port_),
                               "-bind-address=127.0.0.1", "-disable-kube-watch=true",
                               "-context=e2e"});
    const auto o = rgw_->Options("history");
    sloop_.Start(args,
                 {"KUBECONFIG=" + (dir_ / "kubeconfig").string(), "HOME=" + dir_.string(),
                  "AWS_ACCESS_KEY_ID=" + o.access_key, "AWS_SECRET_ACCESS_KEY=" + o.secret_key},
                 dir_ / log);
    std::vector<std::string> out;
    EXPECT_TRUE(WaitFor([&] { return Get(port_, "/healthz").first == 200; }, 30s)) << sloop_.Log();
    for (const auto& q : queries) {
      auto [status, body] = Get(port_, q);
      EXPECT_EQ(status, 200) << q << ": " << body << "\n" << sloop_.Log();
      out.push_back(body);
    }
    metrics = Get(port_, "/metrics").second;
    EXPECT_TRUE(sloop_.Stop(SIGTERM, 60s).has_value());
    return out;
  };
  auto metric = [&](const std::string& name) -> double {
    size_t at = metrics.find("\n" + name + " ");
    return at == std::string::npos ? -1 : std::stod(metrics.substr(at + name.size() + 2));
  };
  const auto local_answers = answers("local.log", {"-store-root=" + (dir_ / "store").string()});
  ASSERT_NE(local_answers[0].find("\"kind\":\"Pod\""), std::string::npos) << local_answers[0];
  EXPECT_EQ(metric("sloop_objstore_cache_requests_total"), -1);  // no bucket, no cache
  const auto bucket_answers =
      answers("reader.log", {"-store-root=" + (dir_ / "reader").string(),
                             "-object-store=s3://history/e2e",
                             "-object-store-endpoint=" + rgw_->endpoint(), "-cluster=sim-a"});
  EXPECT_NE(sloop_.Log().find("answering for times before the oldest local shard"),
            std::string::npos)
      << sloop_.Log();
  for (size_t i = 0; i < queries.size(); ++i) {
    EXPECT_EQ(bucket_answers[i], local_answers[i]) << queries[i];
  }
  // /metrics counts what the queries fetched through the object cache.
  EXPECT_GT(metric("sloop_objstore_cache_requests_total"), 0) << metrics;
  EXPECT_GT(metric("sloop_objstore_cache_fetched_bytes_total"), 0);
  EXPECT_GT(metric("sloop_objstore_cache_bytes"), 0);
  EXPECT_EQ(metric("sloop_objstore_cache_limit_bytes"), 512.0 * 1024 * 1024);
  // What the reader fetched stays in its cache directory; nothing was put in the bucket (the
  // restarted recorder may have sealed and put a shard of what it recorded before it stopped).
  EXPECT_FALSE(fs::is_empty(dir_ / "reader" / "e2e" / "object-cache"));
  const auto in_the_end = Bucket();
  EXPECT_EQ(in_the_end.size(), after.size());
  for (const auto& [key, bytes] : in_the_end) {
    EXPECT_TRUE(after.contains(key) && after.at(key) == bytes) << key << " was put by the reader";
  }
}

// Two recorders of two simulated clusters upload into one bucket, the second after a gateway
// started (it finds it while it runs); the gateway, with an empty store of its own, answers for
// each, by the cluster parameter and under /<cluster>/, exactly what a sloop reading that
// recorder's store answers: timelines, kinds, namespaces, name search, Pod histories and Events.
TEST_F(ObjectStoreE2eTest, AGatewayAnswersForEveryClusterInTheBucketAsItsRecorderDoes) {
  const auto o = rgw_->Options("history");
  const std::vector<std::string> keys = {"AWS_ACCESS_KEY_ID=" + o.access_key,
                                         "AWS_SECRET_ACCESS_KEY=" + o.secret_key};
  // The second cluster: another simulator, another seed.
  Process sim_b;
  fs::path port_file = dir_ / "kubesim-b.port";
  sim_b.Start({SLOOP_KUBESIM, "--port", "0", "--bind", "127.0.0.1", "--port-file",
               port_file.string(), "--scenario", "e2e", "--seed", "11"},
              {}, dir_ / "kubesim-b.log");
  ASSERT_TRUE(WaitFor([&] { return !ReadFile(port_file).empty(); }, 15s)) << sim_b.Log();
  testing::WriteSimKubeconfig(dir_ / "kubeconfig-b", std::stoi(ReadFile(port_file)));

  struct Recorder {
    std::string cluster, kubeconfig, root;
    Process process;
    int port = 0;
  };
  Recorder recorders[2] = {{"sim-a", (dir_ / "kubeconfig").string(), (dir_ / "store-a").string()},
                           {"sim-b", (dir_ / "kubeconfig-b").string(), (dir_ / "store-b").string()}};
  // A recorder runs until it has recorded enough of its cluster's life (Pods, their Events and
  // changes), then stops: its shards are all in the bucket.
  auto record = [&](Recorder& r) {
    r.port = testing::FreePort();
    std::vector<std::string> env = keys;
    env.push_back("KUBECONFIG=" + r.kubeconfig);
    env.push_back("HOME=" + dir_.string());
    r.process.Start({SLOOP_BINARY, "-port=" + std::to_string(r.port), "-bind-address=127.0.0.1",
                     "-store-root=" + r.root, "-shard-duration=1m",
                     "-keep-minor-node-updates=true", "-object-store=s3://history/e2e",
                     "-object-store-endpoint=" + rgw_->endpoint(),
                     "-object-store-create-bucket=true", "-cluster=" + r.cluster},
                    env, dir_ / (r.cluster + ".log"));
    ASSERT_TRUE(WaitFor([&] { return Get(r.port, "/healthz").first == 200; }, 30s))
        << r.process.Log();
    ASSERT_TRUE(WaitFor(
        [&] {
          return Metric(Get(r.port, "/metrics").second, "sloop_store_records_appended_total") >=
                 150;
        },
        60s))
        << r.process.Log();
    auto status = r.process.Stop(SIGTERM, 60s);
    ASSERT_TRUE(status.has_value()) << r.process.Log();
    EXPECT_EQ(*status, 0) << r.process.Log();
    EXPECT_NE(r.process.Log().find("object store: every sealed shard is uploaded"),
              std::string::npos)
        << r.process.Log();
  };
  auto start = [&](Process& p, const std::string& log, std::vector<std::string> args,
                   const std::string& kubeconfig) {
    port_ = testing::FreePort();
    args.insert(args.begin(),
                {SLOOP_BINARY, "-port=" + std::to_string(port_), "-bind-address=127.0.0.1"});
    std::vector<std::string> env = keys;
    env.push_back("KUBECONFIG=" + kubeconfig);
    env.push_back("HOME=" + dir_.string());
    p.Start(args, env, dir_ / log);
    EXPECT_TRUE(WaitFor([&] { return Get(port_, "/healthz").first == 200; }, 30s)) << p.Log();
    return port_;
  };

  // The first cluster uploads; a gateway, with nothing of its own, starts on the bucket; the
  // second cluster's recorder then uploads, and the gateway finds it while it runs.
  ASSERT_NO_FATAL_FAILURE(record(recorders[0]));
  Process gateway;
  const int gateway_port = start(gateway, "gateway.log",
                                 {"-gateway=true", "-gateway-refresh=1s",
                                  "-store-root=" + (dir_ / "gateway").string(),
                                  "-object-store=s3://history/e2e",
                                  "-object-store-endpoint=" + rgw_->endpoint()},
                                 (dir_ / "kubeconfig").string());
  EXPECT_NE(gateway.Log().find("gateway: serving 1 cluster from"), std::string::npos)
      << gateway.Log();
  EXPECT_EQ(Get(gateway_port, "/api/v1/kinds?cluster=sim-b").first, 400);
  ASSERT_NO_FATAL_FAILURE(record(recorders[1]));
  ASSERT_TRUE(WaitFor(
      [&] {
        return Get(gateway_port, "/api/v1/config").second.find(
                   "\"clusters\":[\"sim-a\",\"sim-b\"]") != std::string::npos;
      },
      30s))
      << gateway.Log();
  EXPECT_NE(gateway.Log().find("gateway: now serving cluster sim-b at /sim-b/"), std::string::npos)
      << gateway.Log();

  // Each recorder's store, read by a sloop of its own (no bucket), and the queries to compare.
  struct Expected {
    std::vector<std::string> queries, answers;
    std::string since;  // /api/v1/gaps' recording_since: where the cluster's history begins
  };
  static const std::regex since_re(R"re("recording_since":("[^"]*"|null))re");
  auto since_of = [](const std::string& gaps) {
    std::smatch m;
    return std::regex_search(gaps, m, since_re) ? m[1].str() : "(none: " + gaps + ")";
  };
  // A live resource's last_seen in a search is "now" while its newest shard's window is open:
  // the one field that depends on when the question is asked.
  auto comparable = [](const std::string& query, const std::string& body) {
    if (!query.starts_with("resources?")) return body;
    static const std::regex now_re(R"re("last_seen":"[^"]*")re");
    return std::regex_replace(body, now_re, R"("last_seen":"")");
  };
  std::map<std::string, Expected> expected;
  for (Recorder& r : recorders) {
    int64_t first_ns = INT64_MAX, last_ns = 0;
    {
      StoreOptions so;
      so.root = fs::path(r.root) / "e2e";
      so.read_only = true;
      so.background = false;
      auto store = Store::Open(so);
      ASSERT_TRUE(store.has_value()) << store.error().ToString();
      for (const auto& sh : (*store)->SealedShards()) {
        first_ns = std::min(first_ns, sh->info().min_ns);
        last_ns = std::max(last_ns, sh->info().max_ns);
      }
    }
    ASSERT_LT(first_ns, last_ns) << r.cluster;
    const std::string window = "from=" + std::to_string(first_ns / 1000000000) +
                               "&to=" + std::to_string(last_ns / 1000000000 + 1);
    Process local;
    const int port = start(local, r.cluster + "-local.log",
                           {"-store-root=" + r.root, "-disable-kube-watch=true", "-context=e2e"},
                           r.kubeconfig);
    Expected& e = expected[r.cluster];
    e.queries = {"timeline?" + window, "timeline?kind=Event&" + window, "kinds?" + window,
                 "namespaces?" + window, "resources?search=-&" + window};
    // Every Pod's history and Events (the Pods named in the timeline).
    const std::string pods = Get(port, "/api/v1/timeline?kind=Pod&" + window).second;
    static const std::regex pod_re(R"re("kind":"Pod","namespace":"([^"]*)","name":"([^"]*)")re");
    size_t n = 0;
    for (auto it = std::sregex_iterator(pods.begin(), pods.end(), pod_re);
         it != std::sregex_iterator() && n < 30; ++it, ++n) {
      const std::string what = "kind=Pod&namespace=" + (*it)[1].str() + "&name=" + (*it)[2].str();
      e.queries.push_back("history?" + what + "&" + window);
      e.queries.push_back("events?" + what + "&" + window);
    }
    ASSERT_GE(n, 3u) << r.cluster << ": " << pods.substr(0, 500);
    bool some_events = false;
    for (const auto& q : e.queries) {
      auto [status, body] = Get(port, "/api/v1/" + q);
      EXPECT_EQ(status, 200) << q << ": " << body;
      if (q.starts_with("events?") && body.find("\"reason\"") != std::string::npos) {
        some_events = true;
      }
      e.answers.push_back(comparable(q, body));
    }
    EXPECT_TRUE(some_events) << r.cluster << ": no Pod had Events; the comparison would be empty";
    e.since = since_of(Get(port, "/api/v1/gaps?" + window).second);
    EXPECT_NE(e.since, "null");
    EXPECT_NE(e.answers[4].find("\"resources\":[{"), std::string::npos) << e.answers[4];
    ASSERT_TRUE(local.Stop(SIGTERM, 60s).has_value());
  }
  ASSERT_NE(expected["sim-a"].answers[0], expected["sim-b"].answers[0])
      << "two clusters with the same timeline prove nothing";

  // The gateway answers for each cluster as that cluster's own store does.
  const int port = gateway_port;
  for (const auto& [cluster, e] : expected) {
    for (size_t i = 0; i < e.queries.size(); ++i) {
      for (const std::string target : {"/api/v1/" + e.queries[i] + "&cluster=" + cluster,
                                       "/" + cluster + "/api/v1/" + e.queries[i]}) {
        auto [status, body] = Get(port, target);
        EXPECT_EQ(status, 200) << target << ": " << body;
        EXPECT_EQ(comparable(e.queries[i], body), e.answers[i]) << target;
      }
    }
  }
  // The UI shades what is before the history's start as "not recorded": a gateway's history
  // starts where the bucket's does, though it holds nothing itself.
  for (const auto& [cluster, e] : expected) {
    EXPECT_EQ(since_of(Get(port, "/" + cluster + "/api/v1/gaps?" + e.queries[0].substr(9)).second),
              e.since)
        << cluster;
  }
  auto [status, body] = Get(port, "/api/v1/config?cluster=sim-b");
  EXPECT_NE(body.find("\"clusters\":[\"sim-a\",\"sim-b\"]"), std::string::npos) << body;
  std::tie(status, body) = Get(port, "/api/v1/kinds?cluster=sim-c");
  EXPECT_EQ(status, 400) << body;
  std::tie(status, body) = Get(port, "/sim-b/");
  EXPECT_EQ(status, 200) << "the UI of each cluster";
  const std::string metrics = Get(port, "/metrics").second;
  EXPECT_NE(metrics.find("sloop_store_shards{cluster=\"sim-b\"}"), std::string::npos) << metrics;
  EXPECT_GT(Metric(metrics, "sloop_objstore_cache_requests_total"), 0) << metrics;
  EXPECT_TRUE(gateway.Stop(SIGTERM, 60s).has_value());
  EXPECT_NE(gateway.Log().find("stopped cleanly"), std::string::npos) << gateway.Log();
  // Read-only: the gateway put nothing in the bucket.
  auto listed = s3_->List("e2e/", "", "");
  ASSERT_TRUE(listed.has_value());
  for (const auto& obj : listed->objects) {
    EXPECT_TRUE(obj.key.starts_with("e2e/sim-a/shards/") || obj.key.starts_with("e2e/sim-b/shards/"))
        << obj.key;
  }
}

TEST_F(ObjectStoreE2eTest, AMissingBucketOrBadCredentialsStopStartUpWithWhatToDo) {
  port_ = testing::FreePort();
  const auto o = rgw_->Options("history");
  auto run = [&](std::vector<std::string> extra, std::vector<std::string> env,
                 const std::string& log) {
    std::vector<std::string> args = {SLOOP_BINARY, "-port=" + std::to_string(port_),
                                     "-bind-address=127.0.0.1",
                                     "-store-root=" + (dir_ / "store").string(),
                                     "-object-store-endpoint=" + rgw_->endpoint()};
    args.insert(args.end(), extra.begin(), extra.end());
    env.push_back("KUBECONFIG=" + (dir_ / "kubeconfig").string());
    env.push_back("HOME=" + dir_.string());
    sloop_.Start(args, env, dir_ / log);
    auto status = sloop_.Stop(0, 30s);  // signal 0: only wait for it to exit
    EXPECT_TRUE(status.has_value()) << sloop_.Log();
    return status.value_or(-1);
  };
  const std::vector<std::string> keys = {"AWS_ACCESS_KEY_ID=" + o.access_key,
                                         "AWS_SECRET_ACCESS_KEY=" + o.secret_key};
  EXPECT_NE(run({"-object-store=s3://no-such-bucket/x"}, keys, "missing.log"), 0);
  EXPECT_NE(sloop_.Log().find("-object-store-create-bucket"), std::string::npos) << sloop_.Log();
  EXPECT_NE(run({"-object-store=s3://history/x"},
                {"AWS_ACCESS_KEY_ID=" + o.access_key, "AWS_SECRET_ACCESS_KEY=wrong"},
                "badkey.log"),
            0);
  EXPECT_NE(sloop_.Log().find("credentials"), std::string::npos) << sloop_.Log();
  // No credentials anywhere (HOME has no .aws/credentials): it says what to set.
  EXPECT_NE(run({"-object-store=s3://history/x"}, {}, "nokey.log"), 0);
  EXPECT_NE(sloop_.Log().find("AWS_ACCESS_KEY_ID"), std::string::npos) << sloop_.Log();
  // A credentials file named but missing is named.
  EXPECT_NE(run({"-object-store=s3://history/x"}, {"AWS_SHARED_CREDENTIALS_FILE=/nonexistent"},
                "nofile.log"),
            0);
  EXPECT_NE(sloop_.Log().find("/nonexistent"), std::string::npos) << sloop_.Log();
}

}  // namespace
}  // namespace sloop
