// The sloop binary's configuration: Sloop's flags and config files load, flags override the file,
// and every bad input fails with the name of the flag or the file and key.
#include "tools/sloop/config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

namespace sloop {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sloop-config-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text) {
    fs::path p = dir_ / name;
    std::ofstream(p) << text;
    return p.string();
  }

  Result<SloopConfig> Load(std::vector<std::string> args, const char* env = nullptr) {
    args.insert(args.begin(), "sloop");
    std::vector<const char*> argv;
    for (const auto& a : args) argv.push_back(a.c_str());
    help_ = false;
    return LoadConfig(static_cast<int>(argv.size()), argv.data(), env, &help_);
  }

  std::string LoadError(std::vector<std::string> args, const char* env = nullptr) {
    auto c = Load(std::move(args), env);
    EXPECT_FALSE(c.has_value());
    return c ? std::string() : c.error().message;
  }

  fs::path dir_;
  bool help_ = false;
};

TEST_F(ConfigTest, DefaultsAreSloops) {
  auto c = Load({});
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->port, 8080);
  EXPECT_EQ(c->store_root, "./data");
  EXPECT_EQ(c->max_look_back, 336h);
  EXPECT_EQ(c->max_disk_mb, 32768);
  EXPECT_EQ(c->default_namespace, "default");
  EXPECT_EQ(c->default_kind, "_all");
  EXPECT_EQ(c->default_lookback, "1h");
  EXPECT_EQ(c->kube_watch_resync_interval, 30min);
  EXPECT_EQ(c->crd_refresh_interval, 5min);
  EXPECT_TRUE(c->watch_crds);
  EXPECT_FALSE(c->keep_minor_node_updates);
  EXPECT_FALSE(c->disable_kube_watch);
  EXPECT_TRUE(c->ignored.empty());
  // The binary (and so the image) never fakes a cluster; `make run` asks for the simulator.
  EXPECT_FALSE(c->simulator_if_no_kubeconfig);
  c = Load({"-simulator-if-no-kubeconfig=true"});
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_TRUE(c->simulator_if_no_kubeconfig);
}

TEST_F(ConfigTest, FlagsTakeBothForms) {
  auto c =
      Load({"-port=9090", "-store-root", "/tmp/x", "--max-look-back=24h", "-disable-kube-watch",
            "-include-kinds=Pod, Deployment", "-sync-policy", "every-block"});
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->port, 9090);
  EXPECT_EQ(c->store_root, "/tmp/x");
  EXPECT_EQ(c->max_look_back, 24h);
  EXPECT_TRUE(c->disable_kube_watch);
  EXPECT_EQ(c->include_kinds, (std::vector<std::string>{"Pod", "Deployment"}));
  EXPECT_EQ(c->sync_policy, "every-block");
  EXPECT_FALSE(c->restore_allow_empty);
  c = Load({"-restore-allow-empty", "-gc-threshold=0.5"});
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_TRUE(c->restore_allow_empty);
  EXPECT_DOUBLE_EQ(c->gc_threshold, 0.5);
}

TEST_F(ConfigTest, HelpIsReportedAndUsageListsFlags) {
  auto c = Load({"-port=1", "-help"});
  ASSERT_TRUE(c);
  EXPECT_TRUE(help_);
  std::string usage = ConfigUsage();
  for (const char* flag :
       {"-max-look-back", "-max-disk-mb", "-store-root", "-context", "-restore-database-file",
        "-restore-allow-empty", "-gc-threshold", "-memory-budget-mb", "-sync-policy"}) {
    EXPECT_NE(usage.find(flag), std::string::npos) << flag;
  }
}

TEST_F(ConfigTest, JsonFileIsLoadedAndFlagsOverrideIt) {
  std::string file = Write("sloop.json", R"({
    "port": 7070, "maxLookBack": "48h", "storeRoot": "/var/sloop", "defaultNamespace": "shop",
    "exclusionRules": {"_all": [{"==": [{"var": "metadata.namespace"}, "kube-system"]}]},
    "leftBarLinks": [{"text": "Dashboards", "urlTemplate": "https://grafana/"}],
    "resourceLinks": [{"text": "Logs", "urlTemplate": "https://logs/?q={{.Name}}", "kinds": ["Pod"]}]
  })");
  auto c = Load({"-config=" + file, "-port=6060"});
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->port, 6060);  // the flag wins
  EXPECT_EQ(c->max_look_back, 48h);
  EXPECT_EQ(c->store_root, "/var/sloop");
  EXPECT_EQ(c->default_namespace, "shop");
  EXPECT_NE(c->exclusion_rules_json.find("kube-system"), std::string::npos);
  ASSERT_EQ(c->left_bar_links.size(), 1u);
  EXPECT_EQ(c->left_bar_links[0].url_template, "https://grafana/");
  ASSERT_EQ(c->resource_links.size(), 1u);
  EXPECT_EQ(c->resource_links[0].kinds, (std::vector<std::string>{"Pod"}));
}

TEST_F(ConfigTest, YamlFileFromTheEnvironment) {
  std::string file = Write("sloop.yaml",
                           "maxDiskMb: 2048\n"
                           "keepMinorNodeUpdates: true\n"
                           "crdRefreshInterval: 2m\n"
                           "kubeWatchResyncInterval: 60000000000\n"  // Go: a bare number is ns
                           "exclusionRules:\n"
                           "  Pod:\n"
                           "    - {\"in\": [{\"var\": \"metadata.name\"}, [\"a\", \"b\"]]}\n");
  auto c = Load({}, file.c_str());
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->config_file, file);
  EXPECT_EQ(c->max_disk_mb, 2048);
  EXPECT_TRUE(c->keep_minor_node_updates);
  EXPECT_EQ(c->crd_refresh_interval, 2min);
  EXPECT_EQ(c->kube_watch_resync_interval, 1min);
  EXPECT_EQ(c->exclusion_rules_json, R"({"Pod":[{"in":[{"var":"metadata.name"},["a","b"]]}]})");
}

TEST_F(ConfigTest, BadgerSettingsAreAcceptedWithAWarningList) {
  std::string file =
      Write("old.yaml", "badgerMaxTableSize: 67108864\nbadgerKeepL0InMemory: false\n");
  auto c = Load(
      {"-config", file, "-badger-vlog-gc-freq=1m", "-badger-sync-writes", "-v=2", "-logtostderr"});
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->ignored.size(), 4u);  // glog's -v and -logtostderr are not worth a warning
  bool has_flag = false;
  for (const auto& name : c->ignored) has_flag |= name == "-badger-vlog-gc-freq";
  EXPECT_TRUE(has_flag);
}

TEST_F(ConfigTest, ObjectStoreSettingsLoadAndTheSecretIsNeverPrinted) {
  auto c = Load({"-config=" + Write("o.yaml",
                                    "objectStore: s3://history/sloop\n"
                                    "objectStoreEndpoint: http://127.0.0.1:7480\n"
                                    "objectStoreSecretAccessKey: hunter2-secret\n"
                                    "objectStoreRetention: 2160h\n"
                                    "cluster: prod-eu\n"),
                 "-object-store-addressing=path", "-object-store-part-size-mb=8",
                 "-object-store-access-key-id=AKIDEXAMPLE"});
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->object_store, "s3://history/sloop");
  EXPECT_EQ(c->object_store_endpoint, "http://127.0.0.1:7480");
  EXPECT_EQ(c->object_store_secret_access_key, "hunter2-secret");
  EXPECT_EQ(c->object_store_access_key_id, "AKIDEXAMPLE");
  EXPECT_EQ(c->object_store_addressing, "path");
  EXPECT_EQ(c->object_store_retention, std::chrono::hours(2160));
  EXPECT_EQ(c->object_store_part_size_mb, 8);
  EXPECT_EQ(c->cluster, "prod-eu");
  for (bool redact : {false, true}) {
    std::string yaml = ConfigToYaml(*c, redact);
    EXPECT_EQ(yaml.find("hunter2"), std::string::npos) << yaml;
    EXPECT_NE(yaml.find("objectStoreSecretAccessKey: <redacted>"), std::string::npos) << yaml;
    EXPECT_NE(yaml.find("objectStore: s3://history/sloop"), std::string::npos);
  }
  c = Load({});
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->object_store, "");
  EXPECT_EQ(c->object_store_retention.count(), 0) << "the bucket keeps everything by default";
  EXPECT_EQ(c->object_store_addressing, "auto");
  struct Bad {
    std::vector<std::string> args;
    const char* flag;
  };
  for (const Bad& b : std::vector<Bad>{
           {{"-object-store=history/sloop"}, "-object-store"},
           {{"-object-store=gs://b"}, "-object-store"},
           {{"-object-store=s3://b", "-object-store-addressing=dns"}, "-object-store-addressing"},
           {{"-object-store=s3://b", "-object-store-retention=30m"}, "-object-store-retention"},
           {{"-object-store=s3://b", "-object-store-retention=-1h"}, "-object-store-retention"},
           {{"-object-store=s3://b", "-object-store-part-size-mb=4"}, "-object-store-part-size-mb"},
           {{"-object-store-endpoint=http://x"}, "-object-store"},
       }) {
    std::string e = LoadError(b.args);
    EXPECT_NE(e.find(b.flag), std::string::npos) << b.args.back() << ": " << e;
  }
}

TEST_F(ConfigTest, AGatewayNeedsABucketAndOnlyReadsIt) {
  auto c = Load({"-config=" + Write("g.yaml",
                                    "gateway: true\n"
                                    "gatewayRefresh: 30s\n"
                                    "objectStore: s3://history/sloop\n")});
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_TRUE(c->gateway);
  EXPECT_EQ(c->gateway_refresh, std::chrono::seconds(30));
  c = Load({});
  ASSERT_TRUE(c.has_value());
  EXPECT_FALSE(c->gateway);
  EXPECT_EQ(c->gateway_refresh, std::chrono::minutes(1));
  struct Bad {
    std::vector<std::string> args;
    const char* says;
  };
  for (const Bad& b : std::vector<Bad>{
           {{"-gateway"}, "-object-store=s3://BUCKET/PREFIX"},
           {{"-gateway", "-object-store=s3://b", "-playback-file=x.rec"}, "-playback-file"},
           {{"-gateway", "-object-store=s3://b", "-restore-database-file=x.tar"},
            "-restore-database-file"},
           {{"-gateway", "-object-store=s3://b", "-auth-kubernetes"}, "-auth-token-file"},
           {{"-gateway", "-object-store=s3://b", "-gateway-refresh=100ms"}, "-gateway-refresh"},
       }) {
    std::string e = LoadError(b.args);
    EXPECT_NE(e.find(b.says), std::string::npos) << b.args.back() << ": " << e;
  }
}

TEST_F(ConfigTest, BasePathIsNormalisedAndChecked) {
  auto c = Load({"-base-path=/sloop/"});
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->base_path, "/sloop");
  c = Load({"-base-path=/"});
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->base_path, "");
  c = Load({"-config=" + Write("c.yaml", "basePath: /team/sloop\n")});
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->base_path, "/team/sloop");
  for (const char* bad : {"-base-path=sloop", "-base-path=/a//b", "-base-path=/a/../b",
                          "-base-path=//evil", "-base-path=/a b", "-base-path=/a?x"}) {
    std::string e = LoadError({bad});
    EXPECT_NE(e.find("-base-path"), std::string::npos) << bad << ": " << e;
  }
  c = Load({"-print-rbac"});
  ASSERT_TRUE(c.has_value());
  EXPECT_TRUE(c->print_rbac);
  EXPECT_EQ(ConfigToYaml(*c).find("printRbac"), std::string::npos) << "a flag, not a setting";
}

TEST_F(ConfigTest, WatchNamespaceIsANamespaceName) {
  auto c = Load({"-config=" + Write("ns.yaml", "watchNamespace: team-a\n")});
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->watch_namespace, "team-a");
  for (const char* bad : {"-watch-namespace=Team", "-watch-namespace=-a", "-watch-namespace=a_b",
                          "-watch-namespace=a/b"}) {
    std::string e = LoadError({bad});
    EXPECT_NE(e.find("-watch-namespace"), std::string::npos) << bad << ": " << e;
  }
  EXPECT_FALSE(LoadError({"-watch-namespace=" + std::string(64, 'a')}).empty());
}

TEST_F(ConfigTest, UnknownFlagIsNamed) {
  EXPECT_NE(LoadError({"-max-lookback=1h"}).find("-max-lookback"), std::string::npos);
  EXPECT_NE(LoadError({"stray"}).find("stray"), std::string::npos);
  EXPECT_NE(LoadError({"-port"}).find("needs a value"), std::string::npos);
}

TEST_F(ConfigTest, BadDurationsAndSizesAreNamed) {
  std::string e = LoadError({"-max-look-back=2weeks"});
  EXPECT_NE(e.find("-max-look-back"), std::string::npos) << e;
  EXPECT_NE(e.find("2weeks"), std::string::npos) << e;
  e = LoadError({"-max-disk-mb=1GB"});
  EXPECT_NE(e.find("-max-disk-mb"), std::string::npos) << e;
  e = LoadError({"-max-disk-mb=-5"});
  EXPECT_NE(e.find("negative"), std::string::npos) << e;
  e = LoadError({"-port=70000"});
  EXPECT_NE(e.find("-port"), std::string::npos) << e;
  e = LoadError({"-max-look-back=0"});
  EXPECT_NE(e.find("-max-look-back"), std::string::npos) << e;
  e = LoadError({"-sync-policy=sometimes"});
  EXPECT_NE(e.find("sometimes"), std::string::npos) << e;
  e = LoadError({"-keep-minor-node-updates=maybe"});
  EXPECT_NE(e.find("boolean"), std::string::npos) << e;
  e = LoadError({"-default-lookback=soon"});
  EXPECT_NE(e.find("-default-lookback"), std::string::npos) << e;
  e = LoadError({"-max-watch-frame-mb=0"});
  EXPECT_NE(e.find("-max-watch-frame-mb"), std::string::npos) << e;
}

TEST_F(ConfigTest, MaxWatchFrameFromFlagAndFile) {
  EXPECT_EQ(Load({})->max_watch_frame_mb, 64);
  EXPECT_EQ(Load({"-max-watch-frame-mb=8"})->max_watch_frame_mb, 8);
  std::string file = Write("frame.json", R"({"maxWatchFrameMb": 16})");
  EXPECT_EQ(Load({"-config=" + file})->max_watch_frame_mb, 16);
  EXPECT_NE(ConfigUsage().find("-max-watch-frame-mb"), std::string::npos);
}

TEST_F(ConfigTest, BadFilesAreNamedWithTheKey) {
  std::string e = LoadError({"-config=" + (dir_ / "missing.yaml").string()});
  EXPECT_NE(e.find("missing.yaml"), std::string::npos) << e;
  e = LoadError({"-config=" + Write("typo.yaml", "maxLookback: 1x\n")});  // maxLookBack, as Go
  EXPECT_NE(e.find("maxLookback"), std::string::npos) << e;
  e = LoadError({"-config=" + Write("bad.json", "{\"port\": \"eighty\"}")});
  EXPECT_NE(e.find("port"), std::string::npos) << e;
  e = LoadError({"-config=" + Write("broken.json", "{\"port\": ")});
  EXPECT_NE(e.find("broken.json"), std::string::npos) << e;
  e = LoadError({"-config=" + Write("rules.yaml", "exclusionRules: [1, 2]\n")});
  EXPECT_NE(e.find("exclusionRules"), std::string::npos) << e;
  e = LoadError({"-config=" +
                 Write("links.json", R"({"leftBarLinks": [{"text": "x", "urlTemplate": "{{"}]})")});
  EXPECT_NE(e.find("leftBarLinks[0]"), std::string::npos) << e;
  e = LoadError({"-config=" + Write("sloop.txt", "port: 1\n")});
  EXPECT_NE(e.find(".json, .yaml"), std::string::npos) << e;
}

TEST_F(ConfigTest, GoDurations) {
  EXPECT_EQ(*ParseGoDuration("1h30m"), 90min);
  EXPECT_EQ(*ParseGoDuration("1.5h"), 90min);
  EXPECT_EQ(*ParseGoDuration("300ms"), 300ms);
  EXPECT_EQ(*ParseGoDuration("336h"), 336h);
  EXPECT_EQ(*ParseGoDuration("0"), 0s);
  EXPECT_EQ(*ParseGoDuration("-5s"), -5s);
  EXPECT_FALSE(ParseGoDuration(""));
  EXPECT_FALSE(ParseGoDuration("5"));
  EXPECT_FALSE(ParseGoDuration("h"));
  EXPECT_FALSE(ParseGoDuration("5x"));
  EXPECT_FALSE(ParseGoDuration("99999999999h"));
  EXPECT_EQ(FormatGoDuration(90min), "1h30m0s");
  EXPECT_EQ(FormatGoDuration(0s), "0s");
}

TEST_F(ConfigTest, EffectiveConfigIsYaml) {
  auto c = Load({"-port=9999", "-context=prod"});
  ASSERT_TRUE(c);
  std::string yaml = ConfigToYaml(*c);
  EXPECT_NE(yaml.find("9999"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("prod"), std::string::npos) << yaml;
}

TEST_F(ConfigTest, DebugPageYamlRedactsAbsolutePaths) {
  auto c = Load({"-store-root=/var/lib/sloop/data", "-web-files-path=webfiles",
                 "-tls-cert-file=/etc/sloop/tls/tls.crt", "-tls-key-file=/etc/sloop/tls/tls.key",
                 "-admin-token-file=/etc/sloop/admin"});
  ASSERT_TRUE(c) << c.error().message;
  std::string yaml = ConfigToYaml(*c, true);
  EXPECT_EQ(yaml.find("/var/lib"), std::string::npos) << yaml;
  EXPECT_EQ(yaml.find("/etc/sloop"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("<redacted>/data"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("<redacted>/tls.crt"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("webfiles"), std::string::npos) << "relative paths stay: " << yaml;
  EXPECT_NE(ConfigToYaml(*c).find("/var/lib/sloop/data"), std::string::npos)
      << "the log keeps them";
}

TEST_F(ConfigTest, ServingAndSecurityFlags) {
  auto c = Load({"-http-query-workers=3", "-query-timeout=5s", "-http-max-connections-per-ip=9",
                 "-http-header-timeout=2s", "-auth-token-file=t", "-admin-token-file=a"});
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->http_query_workers, 3);
  EXPECT_EQ(c->query_timeout, 5s);
  EXPECT_EQ(c->http_max_connections_per_ip, 9);
  EXPECT_EQ(c->http_header_timeout, 2s);
  EXPECT_EQ(c->auth_token_file, "t");
  auto bad = Load({"-tls-cert-file=x.crt"});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("-tls-key-file"), std::string::npos) << bad.error().message;
  bad = Load({"-query-timeout=1ms"});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("-query-timeout"), std::string::npos);
  EXPECT_EQ(Load({})->http_response_budget_mb, 128);
  c = Load({"-http-response-budget-mb=32"});
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->http_response_budget_mb, 32);
  bad = Load({"-http-response-budget-mb=0"});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("-http-response-budget-mb"), std::string::npos);
}

// What Sloop's config files hold, read as Sloop (Go's encoding/json) reads them.
TEST_F(ConfigTest, SloopKeysMatchCaseInsensitivelyAndUnknownKeysWarn) {
  struct Case {
    const char* json;
    std::function<bool(const SloopConfig&)> check;
  } cases[] = {
      {R"({"maxLookback": 3600000000000})",
       [](const SloopConfig& c) { return c.max_look_back == 1h; }},
      {R"({"MAXDISKMB": 10})", [](const SloopConfig& c) { return c.max_disk_mb == 10; }},
      {R"({"displaycontext": "prod"})",
       [](const SloopConfig& c) { return c.display_context == "prod"; }},
      {R"({"privilegedAccess": false})", [](const SloopConfig& c) { return !c.privileged_access; }},
      {R"({"Threshold For GC": 0.5})", [](const SloopConfig& c) { return c.gc_threshold == 0.5; }},
      {R"({"defaultLookback": "14d"})",
       [](const SloopConfig& c) { return c.default_lookback == "14d"; }},
      {R"({"maxLookBack": "14d"})", [](const SloopConfig& c) { return c.max_look_back == 336h; }},
      {R"({"ResourceLinks": [{"Text": "Logs", "URLTemplate": "https://l/{{.Name}}", "Kinds": ["Pod"]}]})",
       [](const SloopConfig& c) {
         return c.resource_links.size() == 1 && c.resource_links[0].text == "Logs" &&
                c.resource_links[0].url_template == "https://l/{{.Name}}" &&
                c.resource_links[0].kinds == std::vector<std::string>{"Pod"};
       }},
      {R"({"userMetricsHeaders": [{"label": "team", "headers": ["X-Team", "X-Group"]}]})",
       [](const SloopConfig& c) {
         return c.user_metrics_headers.size() == 1 && c.user_metrics_headers[0].label == "team" &&
                c.user_metrics_headers[0].headers.size() == 2;
       }},
      {R"({"exclusionRules": null, "leftBarLinks": null})",
       [](const SloopConfig& c) { return c.exclusion_rules_json == "{}"; }},
  };
  int n = 0;
  for (const auto& tc : cases) {
    auto c = Load({"-config=" + Write("case" + std::to_string(n++) + ".json", tc.json)});
    ASSERT_TRUE(c) << tc.json << ": " << c.error().message;
    EXPECT_TRUE(tc.check(*c)) << tc.json;
    EXPECT_TRUE(c->warnings.empty()) << tc.json << ": " << c->warnings.front();
  }
  auto c = Load({"-config=" + Write("unknown.json", R"({"max-look-back": "1h", "port": 9090})")});
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->port, 9090);
  ASSERT_EQ(c->warnings.size(), 1u);
  EXPECT_NE(c->warnings[0].find("\"max-look-back\""), std::string::npos) << c->warnings[0];
}

// As Sloop's makeResourceLinks/makeLeftBarLinks: a link without text is left out, one without
// urlTemplate points at the page itself; both are accepted, with a warning.
TEST_F(ConfigTest, LinksWithoutUrlOrTextBehaveAsInSloopWithAWarning) {
  auto c = Load({"-config=" + Write("links.json", R"({
    "leftBarLinks": [{"text": "Home"}, {"urlTemplate": "https://x/"}]})")});
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->left_bar_links.size(), 1u);
  EXPECT_EQ(c->left_bar_links[0].text, "Home");
  EXPECT_EQ(c->left_bar_links[0].url_template, "");
  ASSERT_EQ(c->warnings.size(), 2u);
  EXPECT_NE(c->warnings[0].find("leftBarLinks[0]"), std::string::npos) << c->warnings[0];
  EXPECT_NE(c->warnings[1].find("leftBarLinks[1]"), std::string::npos) << c->warnings[1];
}

TEST_F(ConfigTest, UnsupportedLinkTemplatesAreRefusedAtStartUpNamingThem) {
  for (const char* tmpl : {"{{if .Name}}x{{end}}", "{{lower .Name}}", "{{.Pod}}", "{{$x := 1}}",
                           "{{.Name", "{{template \"t\"}}"}) {
    std::string json = std::string(R"({"resourceLinks": [{"text": "L", "urlTemplate": )") + "\"" +
                       [&] {
                         std::string e;
                         for (char ch : std::string(tmpl)) {
                           if (ch == '"') e += '\\';
                           e += ch;
                         }
                         return e;
                       }() +
                       "\"}]}";
    std::string e = LoadError({"-config=" + Write("tmpl.json", json)});
    EXPECT_NE(e.find("resourceLinks[0].urlTemplate"), std::string::npos) << tmpl << ": " << e;
  }
  // Left-bar links see the page's fields, not a resource's.
  std::string e = LoadError(
      {"-config=" +
       Write("lb.json", R"({"leftBarLinks": [{"text": "L", "urlTemplate": "{{.Name}}"}]})")});
  EXPECT_NE(e.find(".Name does not exist"), std::string::npos) << e;
  EXPECT_TRUE(Load(
      {"-config=" +
       Write(
           "lb2.json",
           R"({"leftBarLinks": [{"text": "L", "urlTemplate": "https://g/?c={{urlquery .CurrentContext}}"}]})")}));
}

TEST_F(ConfigTest, OneDurationSyntaxForFlagsAndFiles) {
  for (const char* d : {"14d", "1h30m", "90s", "1.5h", "2d12h"}) {
    auto flag = Load({std::string("-max-look-back=") + d});
    auto file = Load({"-config=" + Write("d.yaml", std::string("maxLookBack: ") + d + "\n")});
    ASSERT_TRUE(flag && file) << d;
    EXPECT_EQ(flag->max_look_back, file->max_look_back) << d;
  }
  EXPECT_FALSE(Load({"-max-look-back=14w"}));
}

}  // namespace
}  // namespace sloop

namespace sloop {
namespace {

// Every flag and config-file key of Sloop (pkg/sloop/server/internal/config), with a value of
// its type: each is accepted — applied, or accepted with a warning that it has no effect here —
// and none is refused or reported unknown.
TEST_F(ConfigTest, EverySloopFlagAndKeyIsAccepted) {
  struct Setting {
    const char* flag;
    const char* key;
    const char* value;
    bool ignored;  // Badger tuning and the like: accepted, listed in the start-up warning
  } table[] = {
      {"disable-kube-watch", "disableKubeWatch", "true", false},
      {"kube-watch-resync-interval", "kubeWatchResyncInterval", "30m", false},
      {"web-files-path", "webfilesPath", "./web", false},
      {"bind-address", "bindAddress", "127.0.0.1", false},
      {"port", "port", "8081", false},
      {"store-root", "storeRoot", "./data", false},
      {"max-look-back", "maxLookBack", "336h", false},
      {"max-disk-mb", "maxDiskMb", "1024", false},
      {"playback-file", "debugPlaybackFile", "", false},
      {"record-file", "debugRecordFile", "", false},
      {"deletion-batch-size", "deletionBatchSize", "1000", true},
      {"use-mock-badger", "mockBadger", "false", true},
      {"disable-store-manager", "disableStoreManager", "false", false},
      {"cleanup-frequency", "cleanupFrequency", "30m", false},
      {"keep-minor-node-updates", "keepMinorNodeUpdates", "true", false},
      {"default-lookback", "defaultLookback", "6h", false},
      {"default-kind", "defaultKind", "Pod", false},
      {"default-namespace", "defaultNamespace", "default", false},
      {"context", "context", "prod", false},
      {"display-context", "displayContext", "cluster", false},
      {"apiserver-host", "apiServerHost", "https://10.0.0.1:6443", false},
      {"watch-crds", "watchCrds", "false", false},
      {"crd-refresh-interval", "crdRefreshInterval", "5m", false},
      {"gc-threshold", "threshold for GC", "0.8", false},
      {"restore-database-file", "restoreDatabaseFile", "", false},
      {"badger-discard-ratio", "badgerDiscardRatio", "0.99", true},
      {"badger-vlog-gc-freq", "badgerVLogGCFreq", "1m", true},
      {"badger-max-table-size", "badgerMaxTableSize", "0", true},
      {"badger-level-one-size", "badgerLevelOneSize", "0", true},
      {"badger-level-size-multiplier", "badgerLevSizeMultiplier", "0", true},
      {"badger-keep-l0-in-memory", "badgerKeepL0InMemory", "true", true},
      {"badger-vlog-file-size", "badgerVLogFileSize", "0", true},
      {"badger-vlog-max-entries", "badgerVLogMaxEntries", "200000", true},
      {"badger-use-lsm-only-options", "badgerUseLSMOnlyOptions", "true", true},
      {"badger-enable-event-logging", "badgerEnableEventLogging", "false", true},
      {"badger-number-of-compactors", "badgerNumOfCompactors", "0", true},
      {"badger-number-of-level-zero-tables", "badgerNumLevelZeroTables", "0", true},
      {"badger-number-of-zero-tables-stall", "badgerNumLevelZeroTablesStall", "0", true},
      {"badger-sync-writes", "badgerSyncWrites", "true", true},
      {"badger-vlog-fileIO-mapping", "badgerVLogFileIOMapping", "false", true},
      {"badger-vlog-truncate", "badgerVLogTruncate", "true", true},
      {"badger-detail-log-enabled", "badgerDetailLogEnabled", "false", true},
      {"enable-delete-keys", "enableDeleteKeys", "false", true},
      {"enable-granular-metrics", "enableGranularMetrics", "true", false},
      {"enable-user-metrics", "enableUserMetrics", "true", false},
      {"allow-privileged-access", "PrivilegedAccess", "true", false},
  };
  int n = 0;
  for (const auto& s : table) {
    auto flag = Load({std::string("-") + s.flag + "=" + s.value});
    ASSERT_TRUE(flag) << "-" << s.flag << ": " << flag.error().message;
    auto dashed = Load({std::string("--") + s.flag + "=" + s.value});
    ASSERT_TRUE(dashed) << "--" << s.flag << ": " << dashed.error().message;
    std::string v = s.value;
    bool number = !v.empty() && v.find_first_not_of("0123456789.") == std::string::npos;
    std::string json_value = (v == "true" || v == "false" || number) ? v : "\"" + v + "\"";
    auto file = Load({"-config=" + Write("k" + std::to_string(n++) + ".json",
                                         std::string("{\"") + s.key + "\": " + json_value + "}")});
    ASSERT_TRUE(file) << s.key << ": " << file.error().message;
    EXPECT_TRUE(file->warnings.empty()) << s.key << ": " << file->warnings.front();
    EXPECT_EQ(!file->ignored.empty(), s.ignored) << s.key;
    EXPECT_EQ(!flag->ignored.empty(), s.ignored) << s.flag;
  }
  // glog's flags and -cpuprofile, which Sloop's deployments pass, are accepted too.
  EXPECT_TRUE(Load({"-v=2", "-logtostderr", "-alsologtostderr=true", "-stderrthreshold=INFO",
                    "-vmodule=x=1", "-log_dir=/tmp", "-cpuprofile=/tmp/p"}));
  // Sloop's file-only keys, and its ConfigFile key.
  auto file_only = Load({"-config=" + Write("fileonly.yaml",
                                            "ConfigFile: x.yaml\n"
                                            "leftBarLinks: []\nresourceLinks: []\n"
                                            "exclusionRules: {}\nuserMetricsHeaders: []\n")});
  ASSERT_TRUE(file_only) << file_only.error().message;
  EXPECT_TRUE(file_only->warnings.empty()) << file_only->warnings.front();
  // Sloop's test config: durations as integer nanoseconds.
  auto ns = Load(
      {"-config=" +
       Write("testconfig.json",
             R"({"maxLookBack": 1209600000000000, "kubeWatchResyncInterval": 1800000000000})")});
  ASSERT_TRUE(ns) << ns.error().message;
  EXPECT_EQ(ns->max_look_back, std::chrono::hours(336));
}

}  // namespace
}  // namespace sloop
