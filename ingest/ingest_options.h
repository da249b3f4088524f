// IngestOptions: everything the recorder's Kubernetes client is told by flags and config.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace sloop {
class ExclusionRules;
class IntervalSink;
}  // namespace sloop

namespace sloop::ingest {

struct IngestOptions {
  // Empty: $KUBECONFIG (colon-separated, merged as kubectl does) or ~/.kube/config, else the
  // in-cluster service account.
  std::string kubeconfig_path;
  std::string context;  // empty: the kubeconfig's current-context
  // Sloop's -allow-privileged-access: false reads no kubeconfig (apiserver_host, else in-cluster).
  bool privileged_access = true;
  std::string apiserver_host;  // overrides the server URL ("https://host:port" or "host:port")
  // Kinds by kind name ("Pod"), plural ("pods") or plural.group ("deployments.apps"). Empty
  // include = Sloop's default set plus every CRD. Secrets are never recorded.
  std::vector<std::string> include_kinds, exclude_kinds;
  bool watch_crds = true;
  // Record one namespace only (a Role in that namespace is then enough): its namespaced kinds are
  // listed and watched under /namespaces/NS/, cluster-scoped kinds (Nodes, Namespaces, ...) and
  // CustomResourceDefinitions are not read. Empty: every namespace.
  std::string watch_namespace;
  std::chrono::nanoseconds crd_refresh_interval = std::chrono::minutes(5);
  bool watch_leases = false;
  bool keep_minor_node_updates = false;
  // Sloop's -enable-granular-metrics: metric_ingress_event_kubewatchcount, one series per Event's
  // involved object and reason (high cardinality).
  bool enable_granular_metrics = false;
  // Every resync_interval each kind is relisted and reconciled (Sloop's
  // kube-watch-resync-interval); zero disables it.
  std::chrono::nanoseconds resync_interval = std::chrono::minutes(30);
  // A watch frame that could not be read (malformed, over -max-watch-frame-mb, an object without
  // a name) lost a change: the kind is relisted this soon (unless its resync comes sooner), so
  // that the list records what the change left, not 30 minutes later or, with no resync, never.
  std::chrono::nanoseconds relist_after_lost_change = std::chrono::minutes(5);
  std::string record_file;  // capture written as events arrive ("*.zst": zstd-compressed)
  const ExclusionRules* rules = nullptr;
  // Where the time a watch may have missed changes is reported (engine/interval_sink.h), null for
  // nowhere: a watch cut and relisted (410 Gone, an unreadable stream, a failed list) from its
  // last good frame to the end of the relist, a watch down and not yet resumed (withdrawn when it
  // resumes from its resourceVersion without loss), a cluster not reachable at start-up.
  IntervalSink* gaps = nullptr;
  // Told, each time the recorder connects, how far this machine's wall clock is ahead of the API
  // server's (its Date header; negative: behind; within a second or so when both are right).
  // Records are stamped with this machine's clock: sloop's store uses it so that a clock far
  // ahead does not make retention by age delete the history (Store::SetClockAhead).
  std::function<void(int64_t ahead_ns)> clock_ahead;

  // ---- tuning; the defaults suit a real cluster, tests shorten them.
  int list_page_size = 500;
  // The largest watch frame (one event: a line) and list page body read into memory. A longer
  // watch line is dropped, logged and counted (its bytes skipped, never buffered) and the watch
  // goes on; a larger list page is asked for again with a smaller limit. Kubernetes objects are at
  // most ~1.5 MiB (etcd's request limit), so the default leaves room for any real one.
  size_t max_frame_bytes = size_t{64} << 20;
  // Watches ask the server to end after a random time in [watch_timeout, 2 × watch_timeout].
  std::chrono::seconds watch_timeout = std::chrono::minutes(5);
  // A watch that has sent nothing (no event, no bookmark) for this long is presumed stalled and
  // reopened from its last resourceVersion.
  std::chrono::seconds stall_timeout = std::chrono::seconds(150);
  std::chrono::milliseconds backoff_initial = std::chrono::milliseconds(500);
  std::chrono::milliseconds backoff_max = std::chrono::seconds(30);
  std::chrono::seconds request_timeout = std::chrono::seconds(60);  // discovery, list pages
  // A kind whose list or watch the server refuses (403: the role lacks it) is tried again only
  // this often (jittered), while the other kinds are recorded: never a retry storm.
  std::chrono::milliseconds forbidden_retry = std::chrono::minutes(5);
  // Where the in-cluster service-account token, CA and namespace are read from.
  std::string service_account_dir = "/var/run/secrets/kubernetes.io/serviceaccount";
};

}  // namespace sloop::ingest
