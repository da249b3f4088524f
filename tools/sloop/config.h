// The sloop binary's configuration: Sloop's flags and config file (JSON or YAML), with its
// defaults, plus this project's own settings. Precedence: defaults < file < flags.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/status.h"

namespace sloop {

struct LinkTemplate {
  std::string text;
  std::string url_template;
  std::vector<std::string> kinds;  // resourceLinks only; empty = every kind
};

// userMetricsHeaders: the label a user-metrics series gets, read from the first of these request
// headers that is present (Sloop's default: username from X-Username, user_agent from User-Agent).
struct UserMetricsHeader {
  std::string label;
  std::vector<std::string> headers;
};

struct SloopConfig {
  using Duration = std::chrono::nanoseconds;

  // ---- Sloop's settings
  std::string config_file;
  bool disable_kube_watch = false;
  Duration kube_watch_resync_interval = std::chrono::minutes(30);
  std::string web_files_path;
  std::string bind_address;
  int port = 8080;
  std::string store_root = "./data";
  Duration max_look_back = std::chrono::hours(336);
  int64_t max_disk_mb = 32768;
  std::string playback_file;
  std::string record_file;
  bool disable_store_manager = false;
  Duration cleanup_frequency = std::chrono::minutes(30);
  bool keep_minor_node_updates = false;
  std::string default_lookback = "1h";
  std::string default_kind = "_all";
  std::string default_namespace = "default";
  std::string context;
  std::string display_context;
  std::string apiserver_host;
  bool watch_crds = true;
  std::string watch_namespace;  // record this namespace only (a Role suffices); "" = all
  Duration crd_refresh_interval = std::chrono::minutes(5);
  double gc_threshold = 0.8;
  std::string restore_database_file;
  bool restore_allow_empty = false;
  bool enable_granular_metrics = false;
  bool enable_user_metrics = false;
  bool privileged_access = true;
  std::vector<LinkTemplate> left_bar_links;
  std::vector<LinkTemplate> resource_links;
  std::string exclusion_rules_json = "{}";              // the exclusionRules object, as JSON text
  std::vector<UserMetricsHeader> user_metrics_headers;  // empty = Sloop's defaults

  // ---- this project's settings
  std::string import_sloop_backup;  // import this Sloop backup, then exit
  Duration shard_duration = std::chrono::hours(1);
  int64_t block_size_kb = 128;
  std::string sync_policy = "interval";  // every-block | interval | never
  Duration sync_interval = std::chrono::seconds(1);
  int64_t memory_budget_mb = 128;  // active shard index + write buffers + sort runs
  std::vector<std::string> include_kinds;
  std::vector<std::string> exclude_kinds;
  bool watch_leases = false;
  int64_t max_watch_frame_mb = 64;  // a watch line or list page larger than this is dropped
  int http_threads = 2;
  // Serving stays up (http/http_options.h says what each does).
  int http_query_workers = 0;  // 0 = max(2, cores)
  int http_query_queue = 64;
  int64_t http_response_budget_mb = 128;  // answers built and not yet read by their clients
  Duration query_timeout = std::chrono::seconds(30);
  int http_max_connections = 1024;
  int http_max_connections_per_ip = 64;
  Duration http_header_timeout = std::chrono::seconds(10);
  Duration http_idle_timeout = std::chrono::seconds(60);
  // Who may read (docs/security.md).
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string auth_token_file;
  std::string admin_token_file;
  bool auth_kubernetes = false;
  Duration auth_cache_ttl = std::chrono::seconds(60);
  bool simulator_if_no_kubeconfig = false;  // start the built-in cluster simulator (make run)
  // Behind a proxy on a sub-path: "/sloop" (normalised: a leading '/', no trailing one; "" = none).
  std::string base_path;
  bool print_rbac = false;  // print the RBAC rules for this configuration and exit
  // The object-store tier (docs/format/object-store.md): sealed shards uploaded to S3.
  std::string object_store;  // s3://BUCKET/PREFIX; "" = off
  std::string object_store_endpoint;  // any S3-compatible server; "" = AWS for the region
  std::string object_store_region;    // "" = AWS_REGION, AWS_DEFAULT_REGION, else us-east-1
  std::string object_store_access_key_id;      // "" = AWS_ACCESS_KEY_ID, then the file
  std::string object_store_secret_access_key;  // never printed; prefer env or the file
  std::string object_store_credentials_file;   // "" = AWS_SHARED_CREDENTIALS_FILE, ~/.aws/credentials
  std::string object_store_profile;            // "" = AWS_PROFILE, else "default"
  std::string object_store_addressing = "auto";  // auto | path | virtual
  std::string object_store_ca_file;
  Duration object_store_retention{0};  // bucket retention; 0 = unlimited
  int64_t object_store_part_size_mb = 16;
  bool object_store_create_bucket = false;
  int64_t cache_mb = 512;  // local cache of what queries read from the bucket
  std::string cluster;  // this cluster's name in the bucket; "" = the context's
  bool gateway = false;  // serve every cluster in the bucket, read-only (sloop -gateway)
  Duration gateway_refresh = std::chrono::minutes(1);  // listing for clusters found later

  // Settings given that have no effect here (badger-*, ...), for one warning at start-up.
  std::vector<std::string> ignored;
  // What the loader accepted but a user should hear about (an unknown file key, a link without
  // urlTemplate or text), one line each, for the start-up log.
  std::vector<std::string> warnings;
};

// Parses argv (and SLOOP_CONFIG from env) into a config. Errors name the flag, or the file and
// key, and say what is accepted. `help` is set when -help was asked for.
Result<SloopConfig> LoadConfig(int argc, const char* const* argv, const char* env_config,
                               bool* help);

std::string ConfigUsage();

// The effective configuration, as YAML, for the debug page and the start-up log. With
// redact_paths (the debug page), absolute file and directory paths are shown as
// "<redacted>/<last component>": the page tells a reader what is configured, not where the
// files live.
std::string ConfigToYaml(const SloopConfig& c, bool redact_paths = false);

// Durations in flags and files: the one syntax of http/go_duration.h ("1h30m", "90s", "14d").
// A bare integer in a config file is nanoseconds (as Go decodes a JSON duration).
Result<std::chrono::nanoseconds> ParseGoDuration(std::string_view text);
std::string FormatGoDuration(std::chrono::nanoseconds d);

}  // namespace sloop
