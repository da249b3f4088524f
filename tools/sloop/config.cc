#include "tools/sloop/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>

#include "base/json_text.h"
#include "http/go_duration.h"
#include "http/link_template.h"

namespace sloop {
namespace {

using Duration = SloopConfig::Duration;

enum class Kind { kBool, kInt, kInt64, kDouble, kString, kDuration, kList, kIgnored };

struct Setting {
  const char* flag;      // without the leading dash
  const char* file_key;  // JSON/YAML key ("" = flag only)
  Kind kind;
  void* target;
  const char* help;
};

std::vector<Setting> Settings(SloopConfig& c) {
  return {
      {"config", "", Kind::kString, &c.config_file,
       "config file (JSON or YAML); also SLOOP_CONFIG"},
      {"disable-kube-watch", "disableKubeWatch", Kind::kBool, &c.disable_kube_watch,
       "do not watch a cluster: serve stored, restored or played-back data"},
      {"kube-watch-resync-interval", "kubeWatchResyncInterval", Kind::kDuration,
       &c.kube_watch_resync_interval, "relist every kind this often to catch missed changes"},
      {"web-files-path", "webfilesPath", Kind::kString, &c.web_files_path,
       "serve the UI from this directory instead of the copy built into the binary"},
      {"bind-address", "bindAddress", Kind::kString, &c.bind_address,
       "HTTP bind address (all if empty)"},
      {"port", "port", Kind::kInt, &c.port, "HTTP port"},
      {"store-root", "storeRoot", Kind::kString, &c.store_root,
       "store directory; the data lives in STORE-ROOT/CONTEXT"},
      {"max-look-back", "maxLookBack", Kind::kDuration, &c.max_look_back, "history kept"},
      {"max-disk-mb", "maxDiskMb", Kind::kInt64, &c.max_disk_mb, "disk budget in MiB"},
      {"playback-file", "debugPlaybackFile", Kind::kString, &c.playback_file,
       "ingest a capture file instead of watching"},
      {"record-file", "debugRecordFile", Kind::kString, &c.record_file,
       "write the watch stream to a capture file"},
      {"disable-store-manager", "disableStoreManager", Kind::kBool, &c.disable_store_manager,
       "never delete old data (no retention)"},
      {"cleanup-frequency", "cleanupFrequency", Kind::kDuration, &c.cleanup_frequency,
       "retention check interval"},
      {"keep-minor-node-updates", "keepMinorNodeUpdates", Kind::kBool, &c.keep_minor_node_updates,
       "store Node updates that only move heartbeat times"},
      {"default-lookback", "defaultLookback", Kind::kString, &c.default_lookback,
       "UI default look-back"},
      {"default-kind", "defaultKind", Kind::kString, &c.default_kind, "UI default kind"},
      {"default-namespace", "defaultNamespace", Kind::kString, &c.default_namespace,
       "UI default namespace"},
      {"context", "context", Kind::kString, &c.context,
       "kubeconfig context (default: current-context)"},
      {"display-context", "displayContext", Kind::kString, &c.display_context,
       "context name shown in the UI and used as the URL prefix"},
      {"apiserver-host", "apiServerHost", Kind::kString, &c.apiserver_host,
       "API server URL override"},
      {"watch-crds", "watchCrds", Kind::kBool, &c.watch_crds,
       "watch custom resources and their definitions (a CRD found deleted ends its objects)"},
      {"watch-namespace", "watchNamespace", Kind::kString, &c.watch_namespace,
       "record this namespace only: its namespaced kinds, read under /namespaces/NS/ so a Role "
       "in it is enough (cluster-scoped kinds and CRD discovery are left out); empty: all"},
      {"crd-refresh-interval", "crdRefreshInterval", Kind::kDuration, &c.crd_refresh_interval,
       "how often to rediscover resource kinds"},
      {"gc-threshold", "threshold for GC", Kind::kDouble, &c.gc_threshold,
       "retention keeps the whole store directory at or under this fraction of max-disk-mb at "
       "every moment (the active shard included)"},
      {"restore-database-file", "restoreDatabaseFile", Kind::kString, &c.restore_database_file,
       "restore a backup archive at start-up (the store must not be open elsewhere)"},
      {"restore-allow-empty", "restoreAllowEmpty", Kind::kBool, &c.restore_allow_empty,
       "let -restore-database-file restore a backup with no shards over a store that has some "
       "(emptying it)"},
      {"import-sloop-backup", "importSloopBackup", Kind::kString, &c.import_sloop_backup,
       "import a backup of the original Sloop's store (Badger backup, raw or zstd) into an empty "
       "store, print a summary and exit (docs/format/sloop-import.md)"},
      {"enable-granular-metrics", "enableGranularMetrics", Kind::kBool, &c.enable_granular_metrics,
       "per-Event metrics (high cardinality)"},
      {"enable-user-metrics", "enableUserMetrics", Kind::kBool, &c.enable_user_metrics,
       "count HTTP requests per user"},
      {"allow-privileged-access", "PrivilegedAccess", Kind::kBool, &c.privileged_access,
       "read kubeconfig (false: in-cluster or -apiserver-host only)"},
      {"shard-duration", "shardDuration", Kind::kDuration, &c.shard_duration,
       "time window of one shard"},
      {"block-size-kb", "blockSizeKb", Kind::kInt64, &c.block_size_kb,
       "uncompressed bytes per segment block"},
      {"sync-policy", "syncPolicy", Kind::kString, &c.sync_policy,
       "fsync: every-block | interval | never"},
      {"sync-interval", "syncInterval", Kind::kDuration, &c.sync_interval,
       "longest a record waits in memory before it is written (a short block if need be); "
       "also the fsync interval with -sync-policy=interval"},
      {"memory-budget-mb", "memoryBudgetMb", Kind::kInt64, &c.memory_budget_mb,
       "memory for the indexes of the active shard and of the one being sealed (3/8 each) "
       "and for sorting a seal (1/4)"},
      {"include-kinds", "includeKinds", Kind::kList, &c.include_kinds,
       "record only these kinds (comma-separated)"},
      {"exclude-kinds", "excludeKinds", Kind::kList, &c.exclude_kinds,
       "never record these kinds (comma-separated)"},
      {"watch-leases", "watchLeases", Kind::kBool, &c.watch_leases,
       "record Leases (heartbeat noise)"},
      {"http-threads", "httpThreads", Kind::kInt, &c.http_threads,
       "HTTP I/O threads (reading, writing, health and static files)"},
      {"http-query-workers", "httpQueryWorkers", Kind::kInt, &c.http_query_workers,
       "threads that run queries (0 = max(2, the CPUs the container may use)); probes never wait "
       "behind them"},
      {"http-query-queue", "httpQueryQueue", Kind::kInt, &c.http_query_queue,
       "queries that may wait for a worker; more are answered 503 at once"},
      {"http-response-budget-mb", "httpResponseBudgetMb", Kind::kInt64, &c.http_response_budget_mb,
       "answers built and not yet read by their clients; while they add up to this, queries "
       "are answered 503"},
      {"query-timeout", "queryTimeout", Kind::kDuration, &c.query_timeout,
       "a query not answered within this (waiting included) is answered 503"},
      {"http-max-connections", "httpMaxConnections", Kind::kInt, &c.http_max_connections,
       "open connections in all"},
      {"http-max-connections-per-ip", "httpMaxConnectionsPerIp", Kind::kInt,
       &c.http_max_connections_per_ip, "open connections from one client address"},
      {"http-header-timeout", "httpHeaderTimeout", Kind::kDuration, &c.http_header_timeout,
       "a request's line and headers must arrive within this (slow clients are cut)"},
      {"http-idle-timeout", "httpIdleTimeout", Kind::kDuration, &c.http_idle_timeout,
       "a kept-alive connection with no request for this long is closed"},
      {"tls-cert-file", "tlsCertFile", Kind::kString, &c.tls_cert_file,
       "serve HTTPS with this PEM certificate chain (with -tls-key-file; reloaded on change)"},
      {"tls-key-file", "tlsKeyFile", Kind::kString, &c.tls_key_file,
       "the PEM private key of -tls-cert-file"},
      {"auth-token-file", "authTokenFile", Kind::kString, &c.auth_token_file,
       "require a bearer token from this file (one per line; re-read on change)"},
      {"admin-token-file", "adminTokenFile", Kind::kString, &c.admin_token_file,
       "bearer tokens for backups and debug pages (closed to others when authentication is on)"},
      {"auth-kubernetes", "authKubernetes", Kind::kBool, &c.auth_kubernetes,
       "check bearer tokens with the cluster (TokenReview) and show each user only the "
       "namespaces it may list (SubjectAccessReview)"},
      {"auth-cache-ttl", "authCacheTtl", Kind::kDuration, &c.auth_cache_ttl,
       "how long -auth-kubernetes decisions are cached"},
      {"max-watch-frame-mb", "maxWatchFrameMb", Kind::kInt64, &c.max_watch_frame_mb,
       "largest watch event or list page read, in MiB; larger ones are dropped, logged and "
       "counted (list pages are asked for again in smaller pieces)"},
      {"simulator-if-no-kubeconfig", "simulatorIfNoKubeconfig", Kind::kBool,
       &c.simulator_if_no_kubeconfig,
       "with no cluster configured (no kubeconfig, not in a pod), start the built-in cluster "
       "simulator and watch it (`make run` sets it; never in a pod)"},
      {"base-path", "basePath", Kind::kString, &c.base_path,
       "the path prefix the UI is reached under behind a proxy (e.g. /sloop): requests with it "
       "or without it (a proxy that strips it) are both served, and redirects carry it; "
       "X-Forwarded-Prefix, when a proxy sends one, is used instead"},
      {"print-rbac", "", Kind::kBool, &c.print_rbac,
       "print the Kubernetes RBAC rules (get/list/watch per kind) this configuration needs, as "
       "ClusterRole rules in YAML, and exit"},
      {"object-store", "objectStore", Kind::kString, &c.object_store,
       "upload every sealed shard to this S3 bucket and prefix: s3://BUCKET/PREFIX (see "
       "docs/format/object-store.md)"},
      {"object-store-endpoint", "objectStoreEndpoint", Kind::kString, &c.object_store_endpoint,
       "URL of an S3-compatible server (http://minio:9000, https://rgw.example); empty: AWS S3 "
       "of the region"},
      {"object-store-region", "objectStoreRegion", Kind::kString, &c.object_store_region,
       "the bucket's region for request signing (empty: AWS_REGION, AWS_DEFAULT_REGION, "
       "else us-east-1)"},
      {"object-store-access-key-id", "objectStoreAccessKeyId", Kind::kString,
       &c.object_store_access_key_id,
       "access key id (empty: AWS_ACCESS_KEY_ID, then the credentials file)"},
      {"object-store-secret-access-key", "objectStoreSecretAccessKey", Kind::kString,
       &c.object_store_secret_access_key,
       "secret access key (never printed; a flag shows in the process list: prefer "
       "AWS_SECRET_ACCESS_KEY or the credentials file)"},
      {"object-store-credentials-file", "objectStoreCredentialsFile", Kind::kString,
       &c.object_store_credentials_file,
       "AWS credentials file (empty: AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials)"},
      {"object-store-profile", "objectStoreProfile", Kind::kString, &c.object_store_profile,
       "profile of the credentials file (empty: AWS_PROFILE, else default)"},
      {"object-store-addressing", "objectStoreAddressing", Kind::kString,
       &c.object_store_addressing,
       "auto, path (https://HOST/BUCKET/KEY) or virtual (https://BUCKET.HOST/KEY); auto is path "
       "with -object-store-endpoint, virtual for AWS"},
      {"object-store-ca-file", "objectStoreCaFile", Kind::kString, &c.object_store_ca_file,
       "PEM CA bundle to verify the object store's TLS certificate with"},
      {"object-store-retention", "objectStoreRetention", Kind::kDuration, &c.object_store_retention,
       "delete this cluster's whole shards older than this from the bucket (0: keep forever)"},
      {"object-store-part-size-mb", "objectStorePartSizeMb", Kind::kInt64,
       &c.object_store_part_size_mb,
       "multipart upload part size in MiB (5 to 5120); files larger than four parts go multipart"},
      {"object-store-create-bucket", "objectStoreCreateBucket", Kind::kBool,
       &c.object_store_create_bucket, "create the bucket at start-up when it does not exist"},
      {"cache-mb", "cacheMb", Kind::kInt64, &c.cache_mb,
       "MiB of local disk (STORE/object-cache) for pieces of shards read back from the object "
       "store; least recently used out (16 to 1048576)"},
      {"cluster", "cluster", Kind::kString, &c.cluster,
       "this cluster's name in the object store (letters, digits, '.', '_', '-'; empty: the "
       "context's name); with -gateway, the cluster / opens (empty: the first by name)"},
      {"gateway", "gateway", Kind::kBool, &c.gateway,
       "serve every cluster in -object-store's bucket, read-only, each at /CLUSTER/ and by the "
       "API's cluster parameter: no watch, no uploads"},
      {"gateway-refresh", "gatewayRefresh", Kind::kDuration, &c.gateway_refresh,
       "how often a gateway lists the bucket for clusters that started uploading since"},
      // Accepted for drop-in compatibility with Sloop configs; they tune Sloop's LSM store.
      {"deletion-batch-size", "deletionBatchSize", Kind::kIgnored, nullptr, ""},
      {"use-mock-badger", "mockBadger", Kind::kIgnored, nullptr, ""},
      {"enable-delete-keys", "enableDeleteKeys", Kind::kIgnored, nullptr, ""},
      {"cpuprofile", "", Kind::kIgnored, nullptr, ""},
      {"badger-discard-ratio", "badgerDiscardRatio", Kind::kIgnored, nullptr, ""},
      {"badger-vlog-gc-freq", "badgerVLogGCFreq", Kind::kIgnored, nullptr, ""},
      {"badger-max-table-size", "badgerMaxTableSize", Kind::kIgnored, nullptr, ""},
      {"badger-level-one-size", "badgerLevelOneSize", Kind::kIgnored, nullptr, ""},
      {"badger-level-size-multiplier", "badgerLevSizeMultiplier", Kind::kIgnored, nullptr, ""},
      {"badger-keep-l0-in-memory", "badgerKeepL0InMemory", Kind::kIgnored, nullptr, ""},
      {"badger-vlog-file-size", "badgerVLogFileSize", Kind::kIgnored, nullptr, ""},
      {"badger-vlog-max-entries", "badgerVLogMaxEntries", Kind::kIgnored, nullptr, ""},
      {"badger-use-lsm-only-options", "badgerUseLSMOnlyOptions", Kind::kIgnored, nullptr, ""},
      {"badger-enable-event-logging", "badgerEnableEventLogging", Kind::kIgnored, nullptr, ""},
      {"badger-number-of-compactors", "badgerNumOfCompactors", Kind::kIgnored, nullptr, ""},
      {"badger-number-of-level-zero-tables", "badgerNumLevelZeroTables", Kind::kIgnored, nullptr,
       ""},
      {"badger-number-of-zero-tables-stall", "badgerNumLevelZeroTablesStall", Kind::kIgnored,
       nullptr, ""},
      {"badger-sync-writes", "badgerSyncWrites", Kind::kIgnored, nullptr, ""},
      {"badger-vlog-fileIO-mapping", "badgerVLogFileIOMapping", Kind::kIgnored, nullptr, ""},
      {"badger-vlog-truncate", "badgerVLogTruncate", Kind::kIgnored, nullptr, ""},
      {"badger-detail-log-enabled", "badgerDetailLogEnabled", Kind::kIgnored, nullptr, ""},
      // glog's flags, which Sloop's deployments pass.
      {"v", "", Kind::kIgnored, nullptr, ""},
      {"logtostderr", "", Kind::kIgnored, nullptr, ""},
      {"alsologtostderr", "", Kind::kIgnored, nullptr, ""},
      {"stderrthreshold", "", Kind::kIgnored, nullptr, ""},
      {"vmodule", "", Kind::kIgnored, nullptr, ""},
      {"log_dir", "", Kind::kIgnored, nullptr, ""},
      {"log_backtrace_at", "", Kind::kIgnored, nullptr, ""},
  };
}

std::unexpected<Error> Bad(const std::string& where, const std::string& what) {
  return MakeError(ErrorCode::kInvalidArgument, where + ": " + what);
}

// Sets one setting from text (a flag value, or a scalar from the file).
Result<void> Assign(const Setting& s, std::string_view value, const std::string& where,
                    bool from_file) {
  switch (s.kind) {
    case Kind::kBool: {
      std::string v(value);
      std::transform(v.begin(), v.end(), v.begin(), ::tolower);
      if (v == "true" || v == "1" || v == "t" || v == "yes")
        *static_cast<bool*>(s.target) = true;
      else if (v == "false" || v == "0" || v == "f" || v == "no")
        *static_cast<bool*>(s.target) = false;
      else
        return Bad(where, "'" + std::string(value) + "' is not a boolean (use true or false)");
      return {};
    }
    case Kind::kInt:
    case Kind::kInt64: {
      int64_t n = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || p != value.data() + value.size()) {
        return Bad(where, "'" + std::string(value) + "' is not a whole number");
      }
      if (n < 0) return Bad(where, "must not be negative, got " + std::string(value));
      if (s.kind == Kind::kInt) {
        if (n > 1 << 30) return Bad(where, std::string(value) + " is too large");
        *static_cast<int*>(s.target) = static_cast<int>(n);
      } else {
        *static_cast<int64_t*>(s.target) = n;
      }
      return {};
    }
    case Kind::kDouble: {
      std::string v(value);
      char* end = nullptr;
      double d = std::strtod(v.c_str(), &end);
      if (v.empty() || *end || !std::isfinite(d)) return Bad(where, "'" + v + "' is not a number");
      *static_cast<double*>(s.target) = d;
      return {};
    }
    case Kind::kString:
      *static_cast<std::string*>(s.target) = std::string(value);
      return {};
    case Kind::kDuration: {
      // In a file, a bare integer is nanoseconds (Go's JSON form of a duration).
      if (from_file && !value.empty() &&
          std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        int64_t n = 0;
        auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
        if (ec != std::errc()) return Bad(where, "'" + std::string(value) + "' is out of range");
        *static_cast<Duration*>(s.target) = Duration(n);
        return {};
      }
      auto d = ParseGoDuration(value);
      if (!d) return Bad(where, d.error().message);
      *static_cast<Duration*>(s.target) = *d;
      return {};
    }
    case Kind::kList: {
      auto* list = static_cast<std::vector<std::string>*>(s.target);
      list->clear();
      std::string item;
      std::stringstream ss{std::string(value)};
      while (std::getline(ss, item, ',')) {
        item.erase(0, item.find_first_not_of(" \t"));
        item.erase(item.find_last_not_of(" \t") + 1);
        if (!item.empty()) list->push_back(item);
      }
      return {};
    }
    case Kind::kIgnored:
      return {};
  }
  return {};
}

// Go's encoding/json matches an object key to a field exactly, or else case-insensitively.
bool KeyMatches(std::string_view key, std::string_view name) {
  if (key.size() != name.size()) return false;
  for (size_t i = 0; i < key.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(key[i])) !=
        std::tolower(static_cast<unsigned char>(name[i]))) {
      return false;
    }
  }
  return true;
}

// The value of `name` in a map node, matched as Go matches keys.
std::optional<YAML::Node> Member(const YAML::Node& map, std::string_view name) {
  std::optional<YAML::Node> folded;
  for (const auto& kv : map) {
    std::string key = kv.first.as<std::string>();
    if (key == name) return kv.second;
    if (!folded && KeyMatches(key, name)) folded.emplace(kv.second);
  }
  return folded;
}

Result<std::vector<LinkTemplate>> ParseLinks(const YAML::Node& node, const std::string& where,
                                             bool resource, std::vector<std::string>& warnings) {
  std::vector<LinkTemplate> out;
  if (node.IsNull()) return out;
  if (!node.IsSequence()) return Bad(where, "must be a list of {text, urlTemplate}");
  for (size_t i = 0; i < node.size(); ++i) {
    const YAML::Node& n = node[i];
    std::string at = where + "[" + std::to_string(i) + "]";
    if (!n.IsMap()) return Bad(at, "must be an object with text and urlTemplate");
    LinkTemplate l;
    for (const auto& kv : n) {
      std::string key = kv.first.as<std::string>();
      if (!KeyMatches(key, "text") && !KeyMatches(key, "urlTemplate") &&
          !(resource && KeyMatches(key, "kinds"))) {
        warnings.push_back(at + ": unknown key \"" + key + "\" ignored (a link has text, " +
                           "urlTemplate" + (resource ? " and kinds)" : ")"));
      }
    }
    if (auto t = Member(n, "text"); t && t->IsScalar()) l.text = t->Scalar();
    if (auto u = Member(n, "urlTemplate"); u && u->IsScalar()) l.url_template = u->Scalar();
    // Sloop accepts both: a link without urlTemplate points at the page itself, and one without
    // text is left out. The same here, said at start-up.
    if (l.url_template.empty()) {
      warnings.push_back(at + ": no urlTemplate: the link \"" + l.text +
                         "\" points at the page itself (as in Sloop)");
    }
    if (l.text.empty()) {
      warnings.push_back(at + ": no text: the link is not shown (as in Sloop)");
    }
    auto parsed = sloop::http::LinkTemplate::Parse(
        l.url_template,
        resource ? sloop::http::ResourceLinkFields() : sloop::http::LeftBarLinkFields());
    if (!parsed) {
      return Bad(at + ".urlTemplate",
                 "\"" + l.url_template +
                     "\" is not a link template this build runs: " + parsed.error().message +
                     " (supported: {{.Field}}, pipelines, and ToUpper, ToLower, urlquery, printf, "
                     "print, index, len, html, js)");
    }
    if (auto k = Member(n, "kinds"); k && resource && !k->IsNull()) {
      if (!k->IsSequence()) return Bad(at + ".kinds", "must be a list of kind names");
      for (const auto& kind : *k) l.kinds.push_back(kind.as<std::string>());
    }
    if (!l.text.empty()) out.push_back(std::move(l));
  }
  return out;
}

Result<std::vector<UserMetricsHeader>> ParseUserMetricsHeaders(const YAML::Node& node,
                                                               const std::string& where) {
  std::vector<UserMetricsHeader> out;
  if (node.IsNull()) return out;
  if (!node.IsSequence()) return Bad(where, "must be a list of {label, headers}");
  for (size_t i = 0; i < node.size(); ++i) {
    const YAML::Node& n = node[i];
    std::string at = where + "[" + std::to_string(i) + "]";
    if (!n.IsMap()) return Bad(at, "must be an object with label and headers");
    UserMetricsHeader h;
    if (auto l = Member(n, "label"); l && l->IsScalar()) h.label = l->Scalar();
    // It becomes a Prometheus label name.
    bool valid = !h.label.empty() && !std::isdigit(static_cast<unsigned char>(h.label[0])) &&
                 !h.label.starts_with("__") &&
                 std::all_of(h.label.begin(), h.label.end(),
                             [](unsigned char ch) { return std::isalnum(ch) || ch == '_'; });
    if (!valid) {
      return Bad(at + ".label", "\"" + h.label +
                                    "\" is not a metric label name (letters, digits and _, not "
                                    "starting with a digit or __)");
    }
    if (auto hs = Member(n, "headers"); hs && !hs->IsNull()) {
      if (!hs->IsSequence()) return Bad(at + ".headers", "must be a list of header names");
      for (const auto& x : *hs) h.headers.push_back(x.as<std::string>());
    }
    out.push_back(std::move(h));
  }
  return out;
}

// YAML (and JSON, which yaml-cpp reads too) node → JSON text, for the exclusion rules.
void ToJson(const YAML::Node& n, std::string& out) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      out += '{';
      bool first = true;
      for (const auto& kv : n) {
        if (!first) out += ',';
        first = false;
        YAML::Node key = kv.first;
        ToJson(YAML::Node(key.as<std::string>()), out);
        out += ':';
        ToJson(kv.second, out);
      }
      out += '}';
      return;
    }
    case YAML::NodeType::Sequence: {
      out += '[';
      for (size_t i = 0; i < n.size(); ++i) {
        if (i) out += ',';
        ToJson(n[i], out);
      }
      out += ']';
      return;
    }
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      out += "null";
      return;
    case YAML::NodeType::Scalar: {
      const std::string& s = n.Scalar();
      bool quoted = n.Tag() == "!";  // yaml-cpp marks quoted scalars with the "!" tag
      if (!quoted) {
        if (s == "true" || s == "false" || s == "null") {
          out += s;
          return;
        }
        char* end = nullptr;
        std::strtod(s.c_str(), &end);
        if (!s.empty() && *end == '\0' && s.find_first_of("xX") == std::string::npos) {
          out += s;
          return;
        }
      }
      AppendJsonString(&out, s);
      return;
    }
  }
}

Result<void> LoadFile(const std::string& path, SloopConfig& c, std::vector<Setting>& settings) {
  bool yaml = path.find(".yaml") != std::string::npos || path.find(".yml") != std::string::npos;
  bool json = path.find(".json") != std::string::npos;
  if (!yaml && !json) {
    return Bad("config file " + path, "the name must end in .json, .yaml or .yml");
  }
  std::ifstream in(path);
  if (!in) return Bad("config file " + path, "cannot be read (does it exist?)");
  YAML::Node root;
  try {
    root = YAML::Load(in);
  } catch (const YAML::Exception& e) {
    return Bad("config file " + path, std::string("is not valid ") + (yaml ? "YAML" : "JSON") +
                                          " (line " + std::to_string(e.mark.line + 1) +
                                          "): " + e.msg);
  }
  if (root.IsNull()) return {};
  if (!root.IsMap()) return Bad("config file " + path, "must hold an object of settings");
  for (const auto& kv : root) {
    std::string key = kv.first.as<std::string>();
    std::string where = path + ": " + key;
    const YAML::Node& value = kv.second;
    if (KeyMatches(key, "leftBarLinks") || KeyMatches(key, "resourceLinks")) {
      bool resource = KeyMatches(key, "resourceLinks");
      auto links = ParseLinks(value, where, resource, c.warnings);
      if (!links) return std::unexpected(links.error());
      (resource ? c.resource_links : c.left_bar_links) = std::move(*links);
      continue;
    }
    if (KeyMatches(key, "exclusionRules")) {
      if (value.IsNull()) continue;
      if (!value.IsMap())
        return Bad(where, "must be an object from kind (or _all) to a list of rules");
      c.exclusion_rules_json.clear();
      ToJson(value, c.exclusion_rules_json);
      continue;
    }
    if (KeyMatches(key, "userMetricsHeaders")) {
      auto headers = ParseUserMetricsHeaders(value, where);
      if (!headers) return std::unexpected(headers.error());
      c.user_metrics_headers = std::move(*headers);
      continue;
    }
    // Sloop's struct has the config file's own path under this key; a file naming a file is
    // meaningless, and Sloop ignores it too.
    if (KeyMatches(key, "ConfigFile")) continue;
    // As Go's encoding/json: an exact match first, else one that differs only in case.
    auto s = std::find_if(settings.begin(), settings.end(),
                          [&](const Setting& st) { return *st.file_key && key == st.file_key; });
    if (s == settings.end()) {
      s = std::find_if(settings.begin(), settings.end(), [&](const Setting& st) {
        return *st.file_key && KeyMatches(key, st.file_key);
      });
    }
    if (s == settings.end()) {
      // Sloop ignores unknown keys silently; a typo then costs a user hours. Say it, and go on
      // as Sloop does.
      c.warnings.push_back(path + ": unknown key \"" + key +
                           "\" ignored (file keys are camelCase, e.g. maxLookBack; see sloop "
                           "-help)");
      continue;
    }
    if (s->kind == Kind::kIgnored) {
      c.ignored.push_back(key);
      continue;
    }
    if (value.IsNull()) continue;  // Go leaves a field alone on null
    if (s->kind == Kind::kList && value.IsSequence()) {
      auto* list = static_cast<std::vector<std::string>*>(s->target);
      list->clear();
      for (const auto& item : value) list->push_back(item.as<std::string>());
      continue;
    }
    if (!value.IsScalar()) return Bad(where, "must be a single value");
    if (auto r = Assign(*s, value.Scalar(), where, true); !r) return r;
  }
  return {};
}

// "/sloop/" → "/sloop", "/" → "". The path must be a plain URL path: it is put into redirects.
Result<void> NormaliseBasePath(std::string* path) {
  std::string& p = *path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  if (p == "/") p.clear();
  if (p.empty()) return {};
  auto bad = [&](const std::string& why) {
    return Bad("-base-path", "'" + p + "' " + why + " (give a URL path such as /sloop)");
  };
  if (p[0] != '/') return bad("must start with '/'");
  for (char ch : p) {
    if (!std::isalnum(static_cast<unsigned char>(ch)) &&
        std::string_view("-._~/").find(ch) == std::string_view::npos) {
      return bad("may hold only letters, digits, '-', '.', '_', '~' and '/'");
    }
  }
  for (size_t pos = 1; pos <= p.size();) {
    size_t slash = std::min(p.find('/', pos), p.size());
    std::string_view seg(p.data() + pos, slash - pos);
    if (seg.empty() || seg == "." || seg == "..") return bad("has an empty, '.' or '..' segment");
    pos = slash + 1;
  }
  return {};
}

Result<void> Validate(const SloopConfig& c) {
  if (c.max_look_back <= Duration::zero()) return Bad("-max-look-back", "must be greater than 0");
  if (c.port < 0 || c.port > 65535)
    return Bad("-port", std::to_string(c.port) + " is not a TCP port");
  if (c.max_disk_mb <= 0) return Bad("-max-disk-mb", "must be greater than 0");
  const std::string& ns = c.watch_namespace;
  if (!ns.empty() && (ns.size() > 63 || !std::isalnum(static_cast<unsigned char>(ns.front())) ||
                      !std::isalnum(static_cast<unsigned char>(ns.back())) ||
                      !std::all_of(ns.begin(), ns.end(), [](char ch) {
                        return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-';
                      }))) {
    return Bad("-watch-namespace", "'" + ns +
                                       "' is not a namespace name (lower-case letters, "
                                       "digits and '-', at most 63, as in 'kube-system')");
  }
  if (c.gc_threshold <= 0 || c.gc_threshold > 1) return Bad("-gc-threshold", "must be in (0, 1]");
  if (c.shard_duration < std::chrono::minutes(1) || c.shard_duration > std::chrono::hours(24)) {
    return Bad("-shard-duration", "must be between 1m and 24h");
  }
  if (c.cleanup_frequency < std::chrono::seconds(1))
    return Bad("-cleanup-frequency", "must be at least 1s");
  if (c.block_size_kb < 4 || c.block_size_kb > 16384)
    return Bad("-block-size-kb", "must be between 4 and 16384");
  if (c.memory_budget_mb < 16) return Bad("-memory-budget-mb", "must be at least 16");
  if (c.max_watch_frame_mb < 1 || c.max_watch_frame_mb > 4096)
    return Bad("-max-watch-frame-mb", "must be between 1 and 4096");
  if (c.sync_policy != "every-block" && c.sync_policy != "interval" && c.sync_policy != "never") {
    return Bad("-sync-policy",
               "'" + c.sync_policy + "' is not one of every-block, interval, never");
  }
  if (c.http_threads < 1 || c.http_threads > 64)
    return Bad("-http-threads", "must be between 1 and 64");
  if (c.http_query_workers < 0 || c.http_query_workers > 256)
    return Bad("-http-query-workers", "must be between 0 (automatic) and 256");
  if (c.http_query_queue < 1 || c.http_query_queue > 100000)
    return Bad("-http-query-queue", "must be between 1 and 100000");
  if (c.http_response_budget_mb < 1 || c.http_response_budget_mb > 1'048'576)
    return Bad("-http-response-budget-mb", "must be between 1 and 1048576");
  if (c.query_timeout < std::chrono::milliseconds(100))
    return Bad("-query-timeout", "must be at least 100ms");
  if (c.http_max_connections < 8 || c.http_max_connections > 1000000)
    return Bad("-http-max-connections", "must be between 8 and 1000000");
  if (c.http_max_connections_per_ip < 1)
    return Bad("-http-max-connections-per-ip", "must be at least 1");
  if (c.http_header_timeout < std::chrono::milliseconds(100))
    return Bad("-http-header-timeout", "must be at least 100ms");
  if (c.http_idle_timeout < std::chrono::milliseconds(100))
    return Bad("-http-idle-timeout", "must be at least 100ms");
  if (c.tls_cert_file.empty() != c.tls_key_file.empty()) {
    return Bad(c.tls_cert_file.empty() ? "-tls-cert-file" : "-tls-key-file",
               "TLS needs both -tls-cert-file and -tls-key-file");
  }
  if (c.auth_kubernetes && !c.auth_token_file.empty()) {
    // Both could be chained; one source of user identities keeps the model simple to audit.
    return Bad("-auth-kubernetes", "give either -auth-kubernetes or -auth-token-file, not both");
  }
  if (c.auth_cache_ttl < std::chrono::seconds(1))
    return Bad("-auth-cache-ttl", "must be at least 1s");
  auto lookback = ParseGoDuration(c.default_lookback);
  if (!lookback || *lookback <= Duration::zero()) {
    return Bad("-default-lookback",
               "'" + c.default_lookback + "' is not a positive duration like 1h");
  }
  if (c.crd_refresh_interval < std::chrono::seconds(1))
    return Bad("-crd-refresh-interval", "must be at least 1s");
  if (!c.object_store.empty() && !c.object_store.starts_with("s3://")) {
    return Bad("-object-store",
               "'" + c.object_store + "' is not an s3://BUCKET/PREFIX URL (any S3-compatible "
               "server: give its address with -object-store-endpoint)");
  }
  if (c.object_store_addressing != "auto" && c.object_store_addressing != "path" &&
      c.object_store_addressing != "virtual") {
    return Bad("-object-store-addressing",
               "'" + c.object_store_addressing + "' is not one of auto, path, virtual");
  }
  if (c.object_store_retention < Duration::zero())
    return Bad("-object-store-retention", "must be 0 (unlimited) or positive");
  if (c.object_store_retention > Duration::zero() &&
      c.object_store_retention < std::chrono::hours(1)) {
    return Bad("-object-store-retention", "must be 0 (unlimited) or at least 1h");
  }
  if (c.cache_mb < 16 || c.cache_mb > 1048576)
    return Bad("-cache-mb", "must be between 16 and 1048576 (MiB of local disk)");
  if (c.object_store_part_size_mb < 5 || c.object_store_part_size_mb > 5120)
    return Bad("-object-store-part-size-mb", "must be between 5 and 5120 (S3's limits)");
  if (c.gateway_refresh < std::chrono::seconds(1))
    return Bad("-gateway-refresh", "must be at least 1s");
  if (c.gateway) {
    if (c.object_store.empty()) {
      return Bad("-gateway", "serves the clusters of an object store: give -object-store="
                             "s3://BUCKET/PREFIX (the recorders' -object-store)");
    }
    if (!c.playback_file.empty() || !c.restore_database_file.empty() ||
        !c.import_sloop_backup.empty()) {
      return Bad("-gateway",
                 "only reads the bucket: give -playback-file, -restore-database-file and "
                 "-import-sloop-backup to a recorder, not to the gateway");
    }
    if (c.auth_kubernetes) {
      return Bad("-gateway", "-auth-kubernetes is for a recorder (it asks the cluster it "
                             "watches); protect a gateway with -auth-token-file");
    }
  }
  if (c.object_store.empty()) {
    for (const auto* set : {&c.object_store_endpoint, &c.object_store_access_key_id,
                            &c.object_store_secret_access_key, &c.object_store_ca_file}) {
      if (!set->empty()) {
        return Bad("-object-store",
                   "object-store settings were given without -object-store=s3://BUCKET/PREFIX");
      }
    }
  }
  return {};
}

}  // namespace

Result<std::chrono::nanoseconds> ParseGoDuration(std::string_view text) {
  auto ns = ParseGoDurationNs(text);
  if (!ns) return std::unexpected(ns.error());
  return Duration(*ns);
}

std::string FormatGoDuration(std::chrono::nanoseconds d) { return FormatGoDurationNs(d.count()); }

Result<SloopConfig> LoadConfig(int argc, const char* const* argv, const char* env_config,
                               bool* help) {
  SloopConfig c;
  auto settings = Settings(c);
  *help = false;
  // Flags as name/value pairs first, so that -config is known before the file is read.
  struct FlagValue {
    const Setting* setting;
    std::string name, value;
  };
  std::vector<FlagValue> flags;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-h" || arg == "-help" || arg == "--help") {
      *help = true;
      return c;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      return Bad("argument '" + std::string(arg) + "'",
                 "unexpected (flags look like -name=value; see -help)");
    }
    arg.remove_prefix(arg[1] == '-' ? 2 : 1);
    std::string name(arg.substr(0, arg.find('=')));
    auto s = std::find_if(settings.begin(), settings.end(),
                          [&](const Setting& st) { return name == st.flag; });
    if (s == settings.end()) {
      return Bad("flag -" + name, "unknown flag (see sloop -help for the list)");
    }
    std::string value;
    if (arg.find('=') != std::string_view::npos) {
      value = std::string(arg.substr(arg.find('=') + 1));
    } else if (s->kind == Kind::kBool) {
      value = "true";
    } else if (s->kind == Kind::kIgnored &&
               (name == "logtostderr" || name == "alsologtostderr" ||
                name.starts_with("badger-keep") || name.starts_with("badger-use") ||
                name.starts_with("badger-enable") || name.starts_with("badger-sync") ||
                name.starts_with("badger-vlog-truncate") ||
                name.starts_with("badger-vlog-fileIO") || name.starts_with("badger-detail") ||
                name == "use-mock-badger" || name == "enable-delete-keys")) {
      value = "true";  // a boolean flag of Sloop's, given bare
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return Bad("flag -" + name, "needs a value");
    }
    flags.push_back({&*s, name, value});
  }
  std::string file = env_config ? env_config : "";
  for (const auto& f : flags) {
    if (f.name == "config") file = f.value;
  }
  if (!file.empty()) {
    c.config_file = file;
    if (auto r = LoadFile(file, c, settings); !r) return std::unexpected(r.error());
  }
  for (const auto& f : flags) {
    if (f.setting->kind == Kind::kIgnored) {
      if (f.name.starts_with("badger-") || f.name == "deletion-batch-size" ||
          f.name == "enable-delete-keys" || f.name == "use-mock-badger") {
        c.ignored.push_back("-" + f.name);
      }
      continue;
    }
    if (auto r = Assign(*f.setting, f.value, "flag -" + f.name, false); !r)
      return std::unexpected(r.error());
  }
  if (auto r = NormaliseBasePath(&c.base_path); !r) return std::unexpected(r.error());
  if (auto r = Validate(c); !r) return std::unexpected(r.error());
  return c;
}

// A setting's value as -help shows it.
std::string ValueText(const Setting& s) {
  std::ostringstream v;
  switch (s.kind) {
    case Kind::kBool:
      v << (*static_cast<bool*>(s.target) ? "true" : "false");
      break;
    case Kind::kInt:
      v << *static_cast<int*>(s.target);
      break;
    case Kind::kInt64:
      v << *static_cast<int64_t*>(s.target);
      break;
    case Kind::kDouble:
      v << *static_cast<double*>(s.target);
      break;
    case Kind::kString: {
      const auto& str = *static_cast<std::string*>(s.target);
      v << (str.empty() ? "\"\"" : str);
      break;
    }
    case Kind::kDuration:
      v << FormatGoDuration(*static_cast<Duration*>(s.target));
      break;
    case Kind::kList: {
      const auto& list = *static_cast<std::vector<std::string>*>(s.target);
      if (list.empty()) v << "none";
      for (size_t i = 0; i < list.size(); ++i) v << (i ? "," : "") << list[i];
      break;
    }
    case Kind::kIgnored:
      break;
  }
  return v.str();
}

std::string ConfigUsage() {
  SloopConfig c;
  std::ostringstream out;
  out << "usage: sloop [flags]\n\nRecords the history of a Kubernetes cluster and serves it on "
         "http://localhost:8080.\nFlags take -name=value or -name value; a config file (-config, "
         "or "
         "SLOOP_CONFIG) uses the\ncamelCase keys shown in brackets. Flags override the file.\n\n";
  for (const auto& s : Settings(c)) {
    if (s.kind == Kind::kIgnored) continue;
    out << "  -" << s.flag;
    if (*s.file_key) out << " [" << s.file_key << "]";
    out << "\n      " << s.help;
    if (std::string_view(s.flag) != "config") out << " (default " << ValueText(s) << ")";
    out << "\n";
  }
  out << "\nSloop's -badger-* flags and keys are accepted and have no effect: this store needs no "
         "tuning.\nFile-only keys: leftBarLinks, resourceLinks, exclusionRules, "
         "userMetricsHeaders.\n";
  return out.str();
}

std::string ConfigToYaml(const SloopConfig& in, bool redact_paths) {
  SloopConfig c = in;
  if (!c.object_store_secret_access_key.empty()) c.object_store_secret_access_key = "<redacted>";
  if (redact_paths) {
    for (std::string* p :
         {&c.config_file, &c.web_files_path, &c.store_root, &c.playback_file, &c.record_file,
          &c.restore_database_file, &c.import_sloop_backup, &c.tls_cert_file, &c.tls_key_file,
          &c.auth_token_file, &c.admin_token_file, &c.object_store_credentials_file,
          &c.object_store_ca_file}) {
      if (p->empty() || (*p)[0] != '/') continue;
      std::string last = p->substr(p->find_last_of('/') + 1);
      *p = "<redacted>/" + last;
    }
  }
  YAML::Emitter out;
  out.SetDoublePrecision(6);
  out << YAML::BeginMap;
  for (const auto& s : Settings(c)) {
    if (s.kind == Kind::kIgnored || !*s.file_key) continue;
    out << YAML::Key << s.file_key << YAML::Value;
    switch (s.kind) {
      case Kind::kBool:
        out << *static_cast<bool*>(s.target);
        break;
      case Kind::kInt:
        out << *static_cast<int*>(s.target);
        break;
      case Kind::kInt64:
        out << *static_cast<int64_t*>(s.target);
        break;
      case Kind::kDouble:
        out << *static_cast<double*>(s.target);
        break;
      case Kind::kString:
        out << *static_cast<std::string*>(s.target);
        break;
      case Kind::kDuration:
        out << FormatGoDuration(*static_cast<Duration*>(s.target));
        break;
      case Kind::kList:
        out << YAML::Flow << *static_cast<std::vector<std::string>*>(s.target);
        break;
      case Kind::kIgnored:
        break;
    }
  }
  out << YAML::Key << "exclusionRules" << YAML::Value << c.exclusion_rules_json;
  out << YAML::EndMap;
  return out.c_str();
}

}  // namespace sloop
