// sloop: watches a Kubernetes cluster, records the history of every resource and Event in its
// own store, and serves it over HTTP (the UI on :8080, Sloop's routes and /api/v1).
//
// Start-up: configuration (flags > file > defaults) → exclusion rules → cluster configuration
// (kubeconfig or in-cluster; with none, the built-in simulator) → optional restore of a backup →
// the store at <store-root>/<context> → the HTTP server → playback and/or the watches. SIGINT or
// SIGTERM stops the watches, then the server, then seals the active shard and exits 0.
#include <prometheus/registry.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/log.h"
#include "engine/backup.h"
#include "engine/malloc_tuning.h"
#include "engine/recording_log.h"
#include "engine/store.h"
#include "http/auth.h"
#include "http/http_server.h"
#include "http/routes.h"
#include "ingest/exclusion_rules.h"
#include "ingest/ingester.h"
#include "ingest/kube_auth.h"
#include "ingest/rbac.h"
#include "ingest/sloop_import.h"
#include "objstore/remote_shards.h"
#include "objstore/s3_client.h"
#include "objstore/shard_keys.h"
#include "objstore/upload_state.h"
#include "objstore/uploader.h"
#include "objstore/uploader_metrics.h"
#include "tools/sloop/config.h"
#include "tools/sloop/object_store_setup.h"
#include "tools/sloop/simulator.h"

namespace {

namespace fs = std::filesystem;
using sloop::SloopConfig;

void Log(const std::string& line) { sloop::LogLine("sloop", line); }

// How long a stop waits for the last sealed shards to reach the object store.
constexpr int kShutdownUploadSeconds = 15;

int Fail(const std::string& what) {
  Log("error: " + what);
  return 1;
}

sloop::StoreOptions MakeStoreOptions(const SloopConfig& c, const fs::path& dir, bool read_only) {
  sloop::StoreOptions o;
  o.root = dir;
  o.shard_duration = c.shard_duration;
  o.max_disk_bytes = static_cast<uint64_t>(c.max_disk_mb) << 20;
  o.gc_threshold = c.gc_threshold;
  o.max_look_back = c.max_look_back;
  o.cleanup_interval = c.cleanup_frequency;
  // The memory budget covers the indexes of two shards (the active one, and the one before while
  // it is sealed: Append waits rather than let a third build up) and the sort runs of a seal.
  uint64_t budget = static_cast<uint64_t>(c.memory_budget_mb) << 20;
  o.active_index_cap_bytes = budget / 8 * 3;
  o.seal_sort_budget_bytes = budget / 4;
  o.writer.target_block_bytes = static_cast<size_t>(c.block_size_kb) * 1024;
  if (c.sync_policy == "every-block") {
    o.writer.sync = sloop::SyncPolicy::kEveryBlock;
  } else if (c.sync_policy == "never") {
    o.writer.sync = sloop::SyncPolicy::kNever;
  } else {
    o.writer.sync = sloop::SyncPolicy::kInterval;
  }
  o.writer.sync_interval = std::chrono::duration_cast<std::chrono::milliseconds>(c.sync_interval);
  o.read_only = read_only;
  // -disable-store-manager: no background sealing of closed windows and no retention.
  o.background = !c.disable_store_manager;
  return o;
}

sloop::http::HttpOptions MakeHttpOptions(const SloopConfig& c, const std::string& context) {
  sloop::http::HttpOptions h;
  h.bind_address = c.bind_address;
  h.port = static_cast<uint16_t>(c.port);
  h.threads = c.http_threads;
  h.context = context;
  h.display_context = c.display_context;
  h.web_files_path = c.web_files_path;
  h.default_namespace = c.default_namespace;
  h.default_kind = c.default_kind;
  h.default_lookback = c.default_lookback;
  h.max_look_back = c.max_look_back;
  for (const auto& l : c.left_bar_links)
    h.left_bar_links.push_back({l.text, l.url_template, l.kinds});
  for (const auto& l : c.resource_links)
    h.resource_links.push_back({l.text, l.url_template, l.kinds});
  h.enable_user_metrics = c.enable_user_metrics;
  for (const auto& u : c.user_metrics_headers)
    h.user_metrics_headers.emplace_back(u.label, u.headers);
  h.query_workers = c.http_query_workers;
  h.query_queue = static_cast<size_t>(c.http_query_queue);
  h.response_budget_bytes = static_cast<size_t>(c.http_response_budget_mb) << 20;
  h.query_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(c.query_timeout);
  h.max_connections = static_cast<size_t>(c.http_max_connections);
  h.max_connections_per_ip = static_cast<size_t>(c.http_max_connections_per_ip);
  h.header_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(c.http_header_timeout);
  h.idle_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(c.http_idle_timeout);
  h.tls_cert_file = c.tls_cert_file;
  h.tls_key_file = c.tls_key_file;
  h.config_yaml = sloop::ConfigToYaml(c, /*redact_paths=*/true);
  h.base_path = c.base_path;
  return h;
}

// The token files of -auth-token-file and -admin-token-file.
sloop::Result<void> SetUpTokenFiles(const SloopConfig& c, sloop::http::HttpOptions* h) {
  if (!c.auth_token_file.empty()) {
    auto a = sloop::http::TokenFileAuthenticator::Open(c.auth_token_file, "token");
    if (!a) return std::unexpected(a.error());
    h->authenticator = *a;
  }
  if (!c.admin_token_file.empty()) {
    auto a = sloop::http::TokenFileAuthenticator::Open(c.admin_token_file, "admin");
    if (!a) return std::unexpected(a.error());
    h->admin_authenticator = *a;
  }
  return {};
}

bool IsLoopback(const std::string& address) {
  return address == "localhost" || address == "::1" || address.starts_with("127.");
}

// Says at start-up what is left unprotected (docs/security.md).
void WarnAboutExposure(const SloopConfig& c, const sloop::http::HttpOptions& h) {
  const bool auth = h.authenticator != nullptr;
  if (!IsLoopback(c.bind_address)) {
    std::string where = c.bind_address.empty() ? "every interface" : c.bind_address;
    if (c.tls_cert_file.empty()) {
      Log("warning: serving plain HTTP on " + where +
          ": the recorded cluster state (and any bearer token) crosses the network in clear; "
          "give -tls-cert-file and -tls-key-file, or -bind-address=127.0.0.1 behind a proxy");
    }
    if (!auth) {
      Log("warning: no authentication on " + where +
          ": anyone who can reach the port reads the recorded state of the whole cluster; give "
          "-auth-token-file or -auth-kubernetes (see docs/security.md)");
    }
  }
  if (!h.admin_authenticator && !auth) {
    Log("warning: backups (/api/v1/backup, /" + h.UrlContext() +
        "/data/backup) and the /debug pages are open to anyone who can reach the port; give "
        "-admin-token-file to protect them");
  } else if (!h.admin_authenticator) {
    Log("backups and /debug pages are disabled: give -admin-token-file to allow them");
  }
}

sloop::ingest::IngestOptions MakeIngestOptions(const SloopConfig& c,
                                               const sloop::ExclusionRules& rules) {
  sloop::ingest::IngestOptions o;
  o.context = c.context;
  o.apiserver_host = c.apiserver_host;
  o.include_kinds = c.include_kinds;
  o.exclude_kinds = c.exclude_kinds;
  o.watch_namespace = c.watch_namespace;
  o.watch_crds = c.watch_crds && c.watch_namespace.empty();  // CRDs are cluster-scoped
  o.crd_refresh_interval = c.crd_refresh_interval;
  o.watch_leases = c.watch_leases;
  o.keep_minor_node_updates = c.keep_minor_node_updates;
  o.enable_granular_metrics = c.enable_granular_metrics;
  o.resync_interval = c.kube_watch_resync_interval;
  o.record_file = c.record_file;
  o.privileged_access = c.privileged_access;
  o.rules = &rules;
  o.max_frame_bytes = static_cast<size_t>(c.max_watch_frame_mb) << 20;
  return o;
}

// A directory name for a context: kube context names may hold '/' and ':' (EKS ARNs).
std::string ContextDirName(const std::string& context) {
  std::string out;
  for (char ch : context) {
    bool ok = std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' || ch == '.';
    out += ok ? ch : '_';
  }
  if (out.empty() || out == "." || out == "..") out = "cluster";
  return out;
}

// sloop -gateway: every cluster under -object-store's prefix, read-only. Each cluster is an empty
// local store (STORE-ROOT/gateway/CLUSTER, never written) answering from the bucket through one
// shared object cache (-cache-mb), served at /CLUSTER/ by one router.
int RunGateway(const SloopConfig& c, const sigset_t& stop_signals) {
  auto setup = sloop::MakeObjectStoreSetup(c, "gateway", sloop::objstore::ProcessEnv());
  if (!setup) return Fail(setup.error().message);
  auto client = sloop::objstore::S3Client::Create(setup->s3);
  if (!client) return Fail("-object-store: " + client.error().message);
  std::unique_ptr<sloop::objstore::S3Client> bucket = std::move(*client);
  const std::string prefix = setup->uploader.prefix;
  const std::string where = "s3://" + setup->s3.bucket + "/" +
                            sloop::objstore::NormalizePrefix(prefix) + " at " +
                            (c.object_store_endpoint.empty() ? std::string("AWS")
                                                             : c.object_store_endpoint);
  if (auto checked = bucket->CheckBucket(); !checked) {
    return Fail("-object-store: " + checked.error().message +
                (checked.error().code == sloop::ErrorCode::kNotFound
                     ? " (the gateway reads the bucket the recorders upload to: give their "
                       "-object-store)"
                     : ""));
  }
  auto listed = sloop::objstore::ListClusters(*bucket, prefix);
  if (!listed) return Fail("-gateway: listing the clusters in " + where + ": " +
                           listed.error().message);
  // These would shadow the gateway's own routes.
  auto servable = [&](const std::string& name) {
    if (name != "api" && name != "healthz" && name != "readyz" && name != "metrics") return true;
    Log("warning: the cluster \"" + name + "\" in " + where +
        " is not served: its name is one of the gateway's own routes (/" + name +
        "); record it under another -cluster");
    return false;
  };
  std::vector<std::string> names;
  for (auto& name : *listed) {
    if (servable(name)) names.push_back(std::move(name));
  }
  if (names.empty()) {
    return Fail("-gateway: no cluster has uploaded shards to " + where +
                " yet: start a recorder with the same -object-store (and -cluster=NAME), then "
                "start the gateway; it then finds the clusters that start uploading later");
  }
  if (!c.cluster.empty()) {
    auto it = std::find(names.begin(), names.end(), c.cluster);
    if (it == names.end()) {
      std::string list;
      for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
      return Fail("-cluster: no cluster \"" + c.cluster + "\" in " + where + " (there are: " +
                  list + ")");
    }
    std::rotate(names.begin(), it, it + 1);  // the one / opens
  }

  const fs::path root = fs::path(c.store_root) / "gateway";
  auto cache = sloop::objstore::ObjectCache::Open(
      root / "object-cache", static_cast<uint64_t>(c.cache_mb) << 20, bucket.get());
  if (!cache) return Fail("-cache-mb: " + cache.error().message);
  std::shared_ptr<sloop::objstore::ObjectCache> shared_cache = std::move(*cache);

  // One empty, read-only store a cluster, answering from its shards in the bucket; at most 64 of
  // the bucket's shards open at once over all clusters (memory does not grow with their number).
  auto open_limit = std::make_shared<sloop::objstore::OpenShardLimit>(64);
  std::vector<std::unique_ptr<sloop::Store>> stores;  // by the main thread, then the finder's
  auto open_cluster = [&](const std::string& name) -> sloop::Result<sloop::Store*> {
    auto store = sloop::Store::Open(MakeStoreOptions(c, root / name, /*read_only=*/true));
    if (!store) return std::unexpected(store.error());
    sloop::objstore::RemoteShardsOptions ro;
    ro.prefix = prefix;
    ro.cluster = name;
    ro.display = "s3://" + setup->s3.bucket;
    ro.open_limit = open_limit;
    auto remote = std::make_shared<sloop::objstore::RemoteShards>(bucket.get(), shared_cache.get(),
                                                                  std::move(ro));
    if (auto r = remote->Refresh(); !r) {
      Log("warning: cluster " + name + ": listing its shards: " + r.error().message +
          " (tried again at its first query)");
    }
    Log("cluster " + name + ": " + std::to_string(remote->known()) + " shards in the bucket");
    (*store)->SetOlderShards([remote](int64_t before_ns, const std::vector<uint64_t>& local) {
      return remote->ShardsBefore(before_ns, local);
    });
    stores.push_back(std::move(*store));
    return stores.back().get();
  };
  std::vector<sloop::http::ClusterStore> served;
  for (const std::string& name : names) {
    auto store = open_cluster(name);
    if (!store) return Fail(store.error().message);
    served.push_back({name, *store, nullptr});
  }

  prometheus::Registry registry;
  auto http_options = MakeHttpOptions(c, names.front());
  auto cache_metrics = std::make_shared<sloop::objstore::ObjectCacheMetrics>(registry, *shared_cache);
  http_options.refresh_metrics = [cache_metrics] { cache_metrics->Refresh(); };
  if (auto tokens = SetUpTokenFiles(c, &http_options); !tokens) {
    return Fail(tokens.error().message);
  }
  WarnAboutExposure(c, http_options);
  auto router = sloop::http::MakeGatewayRouter(http_options, served, registry);
  sloop::http::HttpServer server(http_options, *router);
  if (auto started = server.Start(); !started) {
    return Fail(started.error().message + " (choose another -port, or stop what holds it)");
  }
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  Log("gateway: serving " + std::to_string(names.size()) +
      (names.size() == 1 ? " cluster" : " clusters") + " from " + where + " (" + list + ") on " +
      (server.tls() ? "https://" : "http://") +
      (c.bind_address.empty() ? std::string("localhost") : c.bind_address) + ":" +
      std::to_string(server.port()) + "/" + names.front() + "; cache " +
      shared_cache->dir().string() + ", " + std::to_string(c.cache_mb) +
      " MiB; read-only: nothing is recorded or uploaded; clusters that start uploading later are "
      "looked for every " + sloop::FormatGoDuration(c.gateway_refresh));

  // ---- clusters that start uploading later: listed every -gateway-refresh, served once found
  std::mutex finder_mu;
  std::condition_variable finder_cv;
  bool finder_stop = false;
  std::thread finder([&] {
    std::set<std::string> known((*listed).begin(), (*listed).end());
    bool failing = false;
    std::unique_lock lock(finder_mu);
    while (!finder_cv.wait_for(lock, c.gateway_refresh, [&] { return finder_stop; })) {
      lock.unlock();
      auto now = sloop::objstore::ListClusters(*bucket, prefix);
      if (!now) {
        if (!failing) {
          Log("warning: gateway: listing the clusters in " + where + ": " +
              now.error().message + " (the clusters served go on; tried again every " +
              sloop::FormatGoDuration(c.gateway_refresh) + ")");
        }
        failing = true;
      } else {
        if (failing) Log("gateway: the bucket answers a listing again");
        failing = false;
        for (const std::string& name : *now) {
          if (known.contains(name)) continue;
          if (!servable(name)) {
            known.insert(name);  // said once
            continue;
          }
          auto store = open_cluster(name);
          if (!store) {
            Log("warning: gateway: cluster " + name + " is not served yet: " +
                store.error().message + " (tried again at the next listing)");
            continue;
          }
          known.insert(name);
          router->AddCluster({name, *store, nullptr});
          Log("gateway: now serving cluster " + name + " at /" + name + "/");
        }
      }
      lock.lock();
    }
  });

  int sig = 0;
  sigwait(&stop_signals, &sig);
  Log(std::string("received ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") + ": stopping");
  bucket->Cancel();  // a query or listing waiting on a bucket that hangs must not hold up the stop
  {
    std::lock_guard lock(finder_mu);
    finder_stop = true;
  }
  finder_cv.notify_all();
  finder.join();
  server.Stop();
  for (auto& s : stores) {
    if (auto closed = s->Close(); !closed) Log("warning: " + closed.error().message);
  }
  Log("stopped cleanly");
  return 0;
}

int Run(int argc, char** argv) {
  bool help = false;
  auto config = sloop::LoadConfig(argc, argv, std::getenv("SLOOP_CONFIG"), &help);
  if (help) {
    std::cout << sloop::ConfigUsage();
    return 0;
  }
  if (!config) {
    std::cerr << "sloop: " << config.error().message << "\n";
    return 2;
  }
  SloopConfig& c = *config;
  if (c.print_rbac) {
    sloop::ingest::IngestOptions kinds;
    kinds.include_kinds = c.include_kinds;
    kinds.exclude_kinds = c.exclude_kinds;
    kinds.watch_namespace = c.watch_namespace;
    kinds.watch_crds = c.watch_crds && c.watch_namespace.empty();
    kinds.watch_leases = c.watch_leases;
    auto rules = sloop::ingest::MakeRbacRules(kinds);
    for (const auto& name : rules.unresolved) {
      std::cerr << "sloop: -print-rbac: includeKinds names '" << name
                << "', which is no built-in kind: grant its API group by hand (the chart's "
                   "clusterRole.apiGroups, see docs/deploy.md)\n";
    }
    std::cout << rules.yaml;
    return 0;
  }
  if (!c.ignored.empty()) {
    std::string list;
    for (const auto& name : c.ignored) list += (list.empty() ? "" : ", ") + name;
    Log("warning: these settings tune Sloop's BadgerDB store and have no effect here (the "
        "engine's memory is bounded by -memory-budget-mb): " +
        list);
  }
  for (const auto& w : c.warnings) Log("warning: " + w);
  auto rules = sloop::ExclusionRules::FromConfig(c.exclusion_rules_json);
  if (!rules) {
    std::cerr << "sloop: " << (c.config_file.empty() ? "" : c.config_file + ": ")
              << rules.error().message << "\n";
    return 2;
  }

  // Block the stop signals in every thread; the main thread waits for them with sigwait.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  Log("configuration:\n" + sloop::ConfigToYaml(c));
  if (c.gateway) return RunGateway(c, stop_signals);

  // ---- the cluster: kubeconfig, in-cluster, or the simulator
  const bool watch = !c.disable_kube_watch;
  std::optional<sloop::SimulatorProcess> simulator;
  auto ingest_options = MakeIngestOptions(c, *rules);
  std::string context = c.context;
  // In a pod (KUBERNETES_SERVICE_HOST set) the cluster is the pod's own, whatever fails later: an
  // unreadable service-account token is logged and retried, never a reason to watch a simulator.
  const char* service_host = std::getenv("KUBERNETES_SERVICE_HOST");
  const bool in_pod = service_host != nullptr && *service_host != '\0';
  if (!c.import_sloop_backup.empty()) {
    if (!c.restore_database_file.empty() || !c.playback_file.empty()) {
      std::cerr << "sloop: -import-sloop-backup imports and exits: give it without "
                   "-restore-database-file and -playback-file (run those afterwards)\n";
      return 2;
    }
    // The store a later plain start with the same flags opens: the same context as it resolves.
    if (context.empty() && watch) {
      if (in_pod || sloop::ingest::ClusterConfigured(ingest_options)) {
        auto cc = sloop::ingest::LoadClusterConfig(ingest_options);
        if (!cc) return Fail(cc.error().message + " (give -context to import without a cluster)");
        context = cc->context;
      } else if (c.simulator_if_no_kubeconfig) {
        context = sloop::SimulatorProcess::kContext;
      }
    }
    if (context.empty()) context = "cluster";
    const fs::path dir = fs::path(c.store_root) / ContextDirName(context);
    Log("importing the Sloop backup " + c.import_sloop_backup + " into " + dir.string() +
        " (context " + context + ")");
    auto options = MakeStoreOptions(c, dir, /*read_only=*/false);
    auto report = sloop::ingest::ImportSloopBackup(c.import_sloop_backup, options);
    if (!report) return Fail(report.error().message);
    std::cout << sloop::ingest::FormatSloopImportReport(*report) << std::flush;
    return 0;
  }
  if (watch && c.simulator_if_no_kubeconfig && !in_pod &&
      !sloop::ingest::ClusterConfigured(ingest_options)) {
    fs::path sim_dir = fs::path(c.store_root) / ".kubesim";
    Log("no kubeconfig found (KUBECONFIG unset, no ~/.kube/config, not in a cluster): starting "
        "the built-in cluster simulator and watching it; point KUBECONFIG at a cluster to record "
        "that instead");
    auto sim = sloop::SimulatorProcess::Start(sim_dir, "default");
    if (!sim) return Fail(sim.error().message);
    simulator.emplace(std::move(*sim));
    Log("cluster simulator (kubesim) serving " + simulator->url() + "; kubeconfig " +
        simulator->kubeconfig().string());
    ingest_options.kubeconfig_path = simulator->kubeconfig().string();
    if (context.empty()) context = sloop::SimulatorProcess::kContext;
    ingest_options.context = context;
  }
  std::optional<sloop::ingest::ClusterConfig> cluster;
  if (watch) {
    auto cc = sloop::ingest::LoadClusterConfig(ingest_options);
    if (!cc) {
      if (!in_pod && !c.simulator_if_no_kubeconfig &&
          !sloop::ingest::ClusterConfigured(ingest_options)) {
        return Fail(cc.error().message +
                    " (or pass -simulator-if-no-kubeconfig=true, as `make run` does, to record "
                    "the built-in cluster simulator; or -disable-kube-watch to serve the store "
                    "without watching)");
      }
      return Fail(cc.error().message);
    }
    cluster.emplace(std::move(*cc));
    if (context.empty()) context = cluster->context;
  }
  if (context.empty()) context = "cluster";  // -disable-kube-watch with no -context

  // ---- the store
  fs::path store_dir = fs::path(c.store_root) / ContextDirName(context);
  if (!c.restore_database_file.empty()) {
    Log("restoring backup " + c.restore_database_file + " into " + store_dir.string());
    sloop::RestoreOptions restore;
    restore.allow_empty = c.restore_allow_empty;
    auto report = sloop::RestoreBackupArchive(c.restore_database_file, store_dir, restore);
    if (!report) return Fail(report.error().message);
    Log("restored " + std::to_string(report->shards) + " shards (" + std::to_string(report->files) +
        " files, " + std::to_string(report->bytes >> 20) + " MB)");
  }
  const bool read_only = !watch && c.playback_file.empty();
  auto store_options = MakeStoreOptions(c, store_dir, read_only);

  // ---- the object store (docs/format/object-store.md): which shards are in the bucket is known
  // before the store opens, so that its retention deletes uploaded shards first.
  std::optional<sloop::ObjectStoreSetup> object_store;
  std::unique_ptr<sloop::objstore::S3Client> bucket;
  std::unique_ptr<sloop::objstore::UploadState> upload_state;
  if (!c.object_store.empty()) {
    auto setup = sloop::MakeObjectStoreSetup(c, ContextDirName(context),
                                             sloop::objstore::ProcessEnv());
    if (!setup) return Fail(setup.error().message);
    object_store.emplace(std::move(*setup));
    auto client = sloop::objstore::S3Client::Create(object_store->s3);
    if (!client) return Fail("-object-store: " + client.error().message);
    bucket = std::move(*client);
    if (auto checked = bucket->CheckBucket(); !checked) {
      const auto code = checked.error().code;
      if (code == sloop::ErrorCode::kNotFound && c.object_store_create_bucket && !read_only) {
        if (auto made = bucket->CreateBucket(); !made) {
          return Fail("-object-store-create-bucket: " + made.error().message);
        }
        Log("created the bucket " + object_store->s3.bucket);
      } else if (code == sloop::ErrorCode::kNotFound) {
        return Fail("-object-store: the bucket " + object_store->s3.bucket +
                    " does not exist: create it, or pass -object-store-create-bucket=true (" +
                    checked.error().message + ")");
      } else if (code == sloop::ErrorCode::kUnavailable) {
        // Recording never waits for the bucket: shards wait on the volume until it answers.
        Log("warning: the object store is unreachable now (" + checked.error().message +
            "): recording anyway; sealed shards wait here and are uploaded, oldest first, when "
            "it answers");
      } else {
        return Fail("-object-store: " + checked.error().message);
      }
    }
    if (!read_only) {
      auto state = sloop::objstore::UploadState::Load(store_dir);
      if (!state) return Fail(state.error().message);
      upload_state = std::move(*state);
      sloop::objstore::UploadState::Attach(upload_state.get(), &store_options);
    }
  }

  auto store = sloop::Store::Open(std::move(store_options));
  if (!store) return Fail(store.error().message);
  {
    auto stats = (*store)->Stats();
    Log("store " + store_dir.string() + ": " + std::to_string(stats.shards) + " shards, " +
        std::to_string(stats.disk_bytes >> 20) + " MB" + (read_only ? " (read-only)" : ""));
  }

  // ---- answering from the bucket for the times the store no longer holds: the cluster's shards
  // older than its oldest, read lazily into a bounded cache (objstore/remote_shards.h).
  std::shared_ptr<sloop::objstore::ObjectCache> shared_cache;
  if (object_store) {
    auto cache = sloop::objstore::ObjectCache::Open(
        store_dir / "object-cache", static_cast<uint64_t>(c.cache_mb) << 20, bucket.get());
    if (!cache) return Fail("-cache-mb: " + cache.error().message);
    shared_cache = std::move(*cache);
    sloop::objstore::RemoteShardsOptions ro;
    ro.prefix = object_store->uploader.prefix;
    ro.cluster = object_store->uploader.cluster;
    ro.display = "s3://" + object_store->s3.bucket;
    auto remote = std::make_shared<sloop::objstore::RemoteShards>(bucket.get(), shared_cache.get(),
                                                                  std::move(ro));
    (*store)->SetOlderShards([remote, shared_cache](int64_t before_ns,
                                                    const std::vector<uint64_t>& local) {
      return remote->ShardsBefore(before_ns, local);
    });
    Log("object store: answering for times before the oldest local shard from " +
        object_store->url + " (cache " + shared_cache->dir().string() + ", " +
        std::to_string(c.cache_mb) + " MiB)" +
        (read_only ? "; read-only: nothing is recorded or uploaded" : ""));
  }

  // ---- when the store was recorded (recording.log beside the shards): this process records a
  // session when it watches the cluster; otherwise the log is only read. Never a reason not to
  // start: without it, gaps are unknown.
  std::shared_ptr<sloop::RecordingLog> recording_log;
  {
    sloop::RecordingLogOptions o;
    o.path = store_dir / sloop::RecordingLog::kFileName;
    o.read_only = !watch || read_only;
    sloop::Store* s = store->get();
    o.horizon_ns = [s] { return s->Stats().oldest_ns; };
    o.newest_record_ns = [s] { return s->Stats().newest_ns; };
    std::vector<std::string> warnings;
    auto opened = sloop::RecordingLog::Open(o, &warnings);
    for (const auto& w : warnings) Log("warning: " + w);
    if (!opened) {
      Log("warning: recording gaps will not be recorded: " + opened.error().message);
    } else {
      recording_log = std::move(*opened);
      if (!recording_log->found() && (*store)->Stats().records_held > 0) {
        Log("note: " + o.path.string() +
            " is missing (a restored or imported store, or one older than it): the times this "
            "store was not recorded before now are unknown");
      }
      if (watch) {
        if (auto begun = recording_log->BeginSession(); !begun) {
          Log("warning: " + begun.error().message);
        }
        ingest_options.gaps = recording_log.get();
      }
    }
  }
  // What the API server's clock says of this one (ingest checks it at each connection).
  ingest_options.clock_ahead = [s = store->get()](int64_t ahead_ns) { s->SetClockAhead(ahead_ns); };

  // ---- HTTP
  prometheus::Registry registry;
  auto http_options = MakeHttpOptions(c, context);
  http_options.recording_log = recording_log;
  std::shared_ptr<sloop::objstore::ObjectCacheMetrics> cache_metrics;
  if (shared_cache) {
    cache_metrics = std::make_shared<sloop::objstore::ObjectCacheMetrics>(registry, *shared_cache);
    http_options.refresh_metrics = [m = cache_metrics, keep = shared_cache] { m->Refresh(); };
  }

  // ---- uploads: a thread of their own, sealed shards oldest first; the store never waits for it
  std::unique_ptr<sloop::objstore::Uploader> uploader;
  std::shared_ptr<sloop::objstore::UploaderMetrics> uploader_metrics;
  // Leaving early (a port taken, watches that cannot start): the uploader's requests are
  // cancelled before its destructor waits for its thread.
  struct CancelOnExit {
    sloop::objstore::S3Client* client;
    ~CancelOnExit() {
      if (client != nullptr) client->Cancel();
    }
  } cancel_on_exit{bucket.get()};
  if (object_store && !read_only) {
    auto made = sloop::objstore::Uploader::Create(**store, *bucket, *upload_state,
                                                  object_store->uploader);
    if (!made) return Fail(made.error().message);
    uploader = std::move(*made);
    sloop::objstore::S3Client* client = bucket.get();
    uploader_metrics = std::make_shared<sloop::objstore::UploaderMetrics>(
        registry, *uploader, [client] {
          auto s = client->stats();
          return sloop::objstore::BucketTraffic{s.requests, s.request_errors, s.retries,
                                                s.bytes_uploaded, s.bytes_downloaded};
        });
    http_options.refresh_metrics = [m = uploader_metrics, also = http_options.refresh_metrics] {
      m->Refresh();
      if (also) also();
    };
    auto st = uploader->Stats();
    Log("object store: uploading sealed shards to " + object_store->url + " (" +
        std::to_string(upload_state->size()) + " uploaded before, " +
        std::to_string(st.pending_shards) + " waiting; bucket retention " +
        (c.object_store_retention.count() == 0 ? std::string("unlimited")
                                               : sloop::FormatGoDuration(c.object_store_retention)) +
        ")");
    uploader->Start();
  }
  // /healthz and /readyz ask the ingester, once it runs, what it is waiting for.
  std::atomic<sloop::ingest::Ingester*> live_ingester{nullptr};
  if (watch) {
    http_options.readiness = [&live_ingester] {
      sloop::ingest::Ingester* ing = live_ingester.load();
      if (ing == nullptr) return sloop::http::Readiness{false, "the watches to start", {}};
      auto r = ing->Readiness();
      return sloop::http::Readiness{r.ready, r.waiting_for, r.forbidden};
    };
  }
  if (auto tokens = SetUpTokenFiles(c, &http_options); !tokens) {
    return Fail(tokens.error().message);
  }
  if (c.auth_kubernetes) {
    // Users' tokens are reviewed by the cluster the recorder watches (or would watch).
    auto auth_cluster = cluster ? sloop::Result<sloop::ingest::ClusterConfig>(*cluster)
                                : sloop::ingest::LoadClusterConfig(ingest_options);
    if (!auth_cluster) {
      return Fail("-auth-kubernetes needs the cluster's address and credentials: " +
                  auth_cluster.error().message);
    }
    auto kube = std::make_shared<sloop::ingest::KubeAuth>(*auth_cluster, c.auth_cache_ttl);
    http_options.authenticator = kube;
    http_options.authorizer = kube;
    Log("authentication: bearer tokens are checked with TokenReview at " + auth_cluster->server +
        ", namespaces with SubjectAccessReview (list pods), decisions cached " +
        sloop::FormatGoDuration(c.auth_cache_ttl));
  }
  WarnAboutExposure(c, http_options);
  auto router = sloop::http::MakeSloopRouter(http_options, **store, registry);
  sloop::http::HttpServer server(http_options, *router);
  if (auto started = server.Start(); !started) {
    return Fail(started.error().message + " (choose another -port, or stop what holds it)");
  }
  Log(std::string("serving ") + (server.tls() ? "https://" : "http://") +
      (c.bind_address.empty() ? std::string("localhost") : c.bind_address) + ":" +
      std::to_string(server.port()) + "/" + http_options.UrlContext());

  // ---- ingest
  std::atomic<bool> stopping{false};
  std::thread playback;
  if (!c.playback_file.empty()) {
    playback = std::thread([&] {
      Log("playing back " + c.playback_file);
      auto stats =
          sloop::ingest::Playback(c.playback_file, ingest_options, **store, &registry, &stopping);
      if (!stats) Log("error: " + stats.error().message);
    });
  }
  std::unique_ptr<sloop::ingest::Ingester> ingester;
  if (watch) {
    auto started = sloop::ingest::Ingester::Start(ingest_options, **store, registry);
    if (!started) {
      stopping = true;
      if (playback.joinable()) playback.join();
      server.Stop();
      return Fail(started.error().message);
    }
    ingester = std::move(*started);
    live_ingester.store(ingester.get());
  }

  int sig = 0;
  sigwait(&stop_signals, &sig);
  Log(std::string("received ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") +
      ": stopping the watches, then the server, then sealing the store");
  stopping = true;
  if (ingester) ingester->Stop();
  if (playback.joinable()) playback.join();
  server.Stop();
  if (simulator) simulator->Stop();
  if (recording_log) {
    if (auto ended = recording_log->EndSession(); !ended) Log("warning: " + ended.error().message);
  }
  if (uploader) {
    // A request to a server that hangs must not hold up sealing: cancel, then wait.
    bucket->Cancel();
    uploader->Stop();
    bucket->Resume();
  }
  if (auto closed = (*store)->Close(); !closed) return Fail(closed.error().message);
  live_ingester.store(nullptr);
  ingester.reset();
  if (uploader) {
    // The shard sealed just now goes up too, if the bucket answers soon; what is left waits
    // for the next start (the upload state is on the volume). A pod's grace period is 30 s.
    auto* up = uploader.get();
    auto pending = std::async(std::launch::async, [up] { return up->UploadPending(); });
    if (pending.wait_for(std::chrono::seconds(kShutdownUploadSeconds)) ==
        std::future_status::timeout) {
      Log("object store: " + std::to_string(up->Stats().pending_shards) +
          " sealed shards still waiting after " + std::to_string(kShutdownUploadSeconds) +
          " s; they are uploaded at the next start. Stopped (the store is closed)");
      std::fflush(nullptr);
      _exit(0);  // the upload thread holds the store: leave without running destructors
    }
    if (auto r = pending.get(); !r) {
      Log("object store: " + std::to_string(up->Stats().pending_shards) +
          " sealed shards wait for the next start: " + r.error().message);
    } else {
      Log("object store: every sealed shard is uploaded");
    }
    uploader.reset();
  }
  Log("stopped cleanly");
  return 0;
}

}  // namespace

namespace {

// A backup holds two files a shard open for its length (Store::SnapshotForBackup), and every
// shard maps its index: a store of a few hundred shards needs more than the soft limit many
// systems start processes with (1024). The hard limit is the administrator's; up to 65536 of it.
void RaiseOpenFileLimit() {
  struct rlimit lim {};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return;
  const rlim_t want = std::min<rlim_t>(lim.rlim_max, 65536);
  if (lim.rlim_cur >= want) return;
  lim.rlim_cur = want;
  (void)setrlimit(RLIMIT_NOFILE, &lim);
}

}  // namespace

int main(int argc, char** argv) {
  sloop::TuneAllocator();
  RaiseOpenFileLimit();
  return Run(argc, argv);
}
