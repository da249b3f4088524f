// GET /api/v1/changes: what changed in a window, newest first: objects added, deleted and
// changed (with the fields that differ, noise left out), rollouts started and finished, and
// bursts of Warning Events. The first screen of an incident review. Documented in docs/api.md.
//
// Work: one timeline pass (the index only) finds the candidates; then the versions of those
// that need them are read in bulk (Store::Versions, each shard block once), in key order and in
// chunks, so that no more than a chunk's payloads are held.
#include <simdjson.h>

#include <algorithm>
#include <limits>
#include <map>
#include <set>

#include "http/json_diff.h"
#include "http/json_writer.h"
#include "http/routes_internal.h"

namespace sloop::http {

namespace {

constexpr int64_t kDefaultLimit = 2000;
constexpr size_t kChunk = 512;             // keys whose versions are read (and held) at once
constexpr size_t kMaxFields = 64;          // field paths listed per change
constexpr size_t kTimelineLimit = 200000;  // the timeline's own scan cap

enum class Kind { kAdded, kDeleted, kChanged, kRolloutStarted, kRolloutFinished, kWarnings };
constexpr std::string_view kNames[] = {"added",           "deleted",          "changed",
                                       "rollout_started", "rollout_finished", "warnings"};

struct Owner {
  std::string kind, name, uid;
};

struct Change {
  Kind change;
  int64_t at = 0;
  ResourceKey key;
  std::optional<Owner> owner;
  std::vector<std::string> fields;
  int64_t from_time = 0;  // 0: null
  int64_t to_time = 0;
  std::string detail;
  std::string reason;  // warnings
  uint64_t count = 0;  // warnings
};

bool IsDeletion(WatchType t) {
  return t == WatchType::kDeleted || t == WatchType::kDeletedInferred;
}

bool IsRolloutKind(std::string_view kind) {
  return kind == "Deployment" || kind == "StatefulSet" || kind == "DaemonSet";
}

// Differences that are not changes of the object: bookkeeping every write moves, and the type
// fields a list's items lack (a relisted object would otherwise "change" its kind and apiVersion).
bool IsNoise(std::string_view path) {
  if (path == "/kind" || path == "/apiVersion") return true;
  if (path == "/metadata/resourceVersion" || path == "/metadata/managedFields" ||
      path.starts_with("/metadata/managedFields/")) {
    return true;
  }
  constexpr std::string_view kConditions = "/status/conditions/";
  if (path.starts_with(kConditions)) {
    size_t slash = path.find('/', kConditions.size());
    if (slash != std::string_view::npos) {
      std::string_view leaf = path.substr(slash + 1);
      return leaf == "lastHeartbeatTime" || leaf == "lastProbeTime";
    }
  }
  return false;
}

// A JSON value for a sentence: strings without their quotes, long values cut.
std::string Plain(std::string_view json) {
  std::string s(json);
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  if (s.size() > 80) s = s.substr(0, 77) + "...";
  return s;
}

// The meaningful differences between two versions: fields, and a sentence naming the most
// telling (images first, then other values replaced).
struct Differences {
  std::vector<std::string> fields;
  std::string detail;
  bool valid = true;
};

Differences Compare(std::string_view from, std::string_view to, std::string_view prefix = "") {
  Differences d;
  std::vector<JsonDiffOp> ops;
  if (!JsonDiffOps(from, to, &ops)) {
    d.valid = false;
    return d;
  }
  std::erase_if(ops, [](const JsonDiffOp& op) { return IsNoise(op.path); });
  std::set<std::string> seen;
  for (const JsonDiffOp& op : ops) {
    std::string field = prefix.empty() || op.field.starts_with("[")
                            ? std::string(prefix) + op.field
                            : std::string(prefix) + "." + op.field;
    if (seen.insert(field).second && d.fields.size() < kMaxFields) d.fields.push_back(field);
  }
  std::vector<std::string> said;
  auto say = [&](const JsonDiffOp& op) {
    if (op.op == "replace") {
      said.push_back(op.field + " " + Plain(op.old) + " → " + Plain(op.value));
    } else if (op.op == "add") {
      said.push_back(op.field + " added");
    } else {
      said.push_back(op.field + " removed");
    }
  };
  for (const JsonDiffOp& op : ops) {
    if (op.field.ends_with(".image") && op.op == "replace" && said.size() < 2) {
      said.push_back("image " + Plain(op.old) + " → " + Plain(op.value));
    }
  }
  for (const JsonDiffOp& op : ops) {
    if (said.size() >= 2) break;
    if (!op.field.ends_with(".image")) say(op);
  }
  for (size_t i = 0; i < said.size(); ++i) d.detail += (i ? "; " : "") + said[i];
  if (d.fields.size() > said.size()) {
    d.detail += " (" + std::to_string(seen.size()) + " fields)";
  }
  return d;
}

// What a rollout needs of one version of a Deployment, StatefulSet or DaemonSet.
struct WorkloadVersion {
  bool ok = false;
  int64_t generation = 0;
  std::string template_json;  // spec.template, minified
  std::string revision;       // deployment.kubernetes.io/revision
  bool finished = false;
  std::string progress;  // "3/3 updated, 3 available"
};

WorkloadVersion ReadWorkload(simdjson::dom::parser& parser, std::string_view kind,
                             std::string_view payload) {
  WorkloadVersion v;
  simdjson::dom::element doc;
  if (parser.parse(payload.data(), payload.size(), true).get(doc)) return v;
  auto num = [&](std::string_view pointer, int64_t fallback) {
    int64_t n;
    return doc.at_pointer(pointer).get(n) ? fallback : n;
  };
  v.ok = true;
  v.generation = num("/metadata/generation", 0);
  simdjson::dom::element tmpl;
  if (!doc.at_pointer("/spec/template").get(tmpl)) v.template_json = simdjson::minify(tmpl);
  std::string_view revision;
  if (!doc.at_pointer("/metadata/annotations/deployment.kubernetes.io~1revision").get(revision)) {
    v.revision = revision;
  }
  int64_t observed = num("/status/observedGeneration", 0);
  if (kind == "DaemonSet") {
    int64_t desired = num("/status/desiredNumberScheduled", 0);
    int64_t updated = num("/status/updatedNumberScheduled", 0);
    int64_t available = num("/status/numberAvailable", 0);
    v.finished = observed >= v.generation && updated == desired && available == desired;
    v.progress = std::to_string(updated) + "/" + std::to_string(desired) + " updated, " +
                 std::to_string(available) + " available";
  } else {
    int64_t replicas = num("/spec/replicas", 1);
    int64_t updated = num("/status/updatedReplicas", 0);
    int64_t current = num("/status/replicas", 0);
    int64_t available = num("/status/availableReplicas", -1);
    if (available < 0) available = num("/status/readyReplicas", 0);
    v.finished = observed >= v.generation && updated == replicas && current == replicas &&
                 available == replicas;
    v.progress = std::to_string(updated) + "/" + std::to_string(replicas) + " updated, " +
                 std::to_string(available) + " available";
  }
  return v;
}

// What is read of one candidate's versions.
struct Track {
  bool has_base = false;
  std::string base;  // the version in effect at the window's start
  int64_t base_time = 0;
  std::string last;  // the newest version that changed something
  std::string last_rv;
  int64_t last_time = 0;
  int64_t first_time = 0;  // first record in the window
  WatchType end_type = WatchType::kAdded;
  int64_t end_time = 0;  // newest record in the window
  bool keep_payloads = false;
  // Rollouts.
  WorkloadVersion workload;  // the newest version read
  int64_t workload_time = 0;
  bool in_progress = false;
  int64_t started_at = 0;
  std::vector<Change> rollouts;
};

// The window: from/to or lookback (ApiWindow), or Sloop's start_time/end_time pair.
TimeRange Window(const Params& p, const HandlerContext& ctx) {
  auto start = p.Get("start_time"), end = p.Get("end_time");
  if (!start && !end) return ApiWindow(p, ctx, true);
  if (p.Get("from") || p.Get("to")) {
    throw ParamError(start ? "start_time" : "end_time",
                     "give either from/to or start_time/end_time, not both");
  }
  TimeRange r = ApiWindow(p, ctx, true);  // lookback and its checks
  if (end) r.end_ns = ParseTime(*end, "end_time");
  if (start) {
    if (p.Get("lookback")) throw ParamError("lookback", "give either start_time or lookback");
    r.start_ns = ParseTime(*start, "start_time");
  } else {
    int64_t lb =
        p.Duration("lookback").value_or(ParseDuration(ctx.options.default_lookback, "lookback"));
    r.start_ns = std::max<int64_t>(0, r.end_ns - lb);
  }
  if (r.start_ns > r.end_ns) throw ParamError("start_time", "is after end_time");
  int64_t max_lb = ctx.options.max_look_back.count();
  if (max_lb > 0 && r.end_ns - r.start_ns > max_lb) r.start_ns = r.end_ns - max_lb;
  return r;
}

class ChangesQuery {
 public:
  ChangesQuery(const HandlerContext& ctx, const Request& req, TimeRange range, std::string ns,
               std::string kind)
      : ctx_(ctx), req_(req), range_(range), ns_(std::move(ns)), kind_(std::move(kind)) {}

  Result<std::vector<Change>> Run();
  // The timeline behind the answer was cut at its scan cap: some changes may be missing.
  bool cut() const { return cut_; }

 private:
  Result<const TimelineResult*> Rows(std::string_view kind);
  Result<void> ResolveOwners();
  std::optional<Owner> TopOwner(const TimelineRow& row) const;
  Result<void> ReadVersions(const std::vector<const TimelineRow*>& rows, bool existed,
                            std::vector<Change>* out);
  void Finish(const TimelineRow& row, bool existed, Track& t, std::vector<Change>* out) const;
  Result<void> Warnings(std::vector<Change>* out);

  const HandlerContext& ctx_;
  const Request& req_;
  TimeRange range_;
  std::string ns_, kind_;
  std::vector<std::unique_ptr<TimelineResult>> results_;  // what rows and owners point into
  std::set<std::string> kinds_read_;
  // Every row read, by uid: for walking owner chains.
  std::map<std::string_view, const TimelineRow*> by_uid_;
  bool cut_ = false;
};

Result<const TimelineResult*> ChangesQuery::Rows(std::string_view kind) {
  TimelineQuery q;
  q.range = range_;
  q.namespace_ = ns_;
  q.kind = kind;
  q.limit = kTimelineLimit;
  q.cancel = req_.cancel.get();
  q.max_bytes = 4 * ctx_.options.max_answer_bytes;
  auto r = ctx_.store.Timeline(q);
  if (!r) return std::unexpected(r.error());
  results_.push_back(std::make_unique<TimelineResult>(std::move(*r)));
  kinds_read_.emplace(kind);
  for (const TimelineRow& row : results_.back()->rows) {
    if (!row.key.uid.empty()) by_uid_.emplace(row.key.uid, &row);
  }
  return results_.back().get();
}

// Reads the rows of owner kinds not read yet (a kind filter leaves out ReplicaSets and
// Deployments), a level at a time: Pod → ReplicaSet → Deployment, Job → CronJob.
Result<void> ChangesQuery::ResolveOwners() {
  if (kinds_read_.count("")) return {};
  for (int level = 0; level < 4; ++level) {
    std::set<std::string> wanted;
    for (const auto& [uid, row] : by_uid_) {
      for (const OwnerView& o : row->owners) {
        if (!kinds_read_.count(std::string(o.kind)) && !by_uid_.count(o.uid)) {
          wanted.emplace(o.kind);
        }
      }
    }
    if (wanted.empty()) return {};
    for (const std::string& k : wanted) {
      if (auto r = Rows(k); !r) return std::unexpected(r.error());
    }
  }
  return {};
}

std::optional<Owner> ChangesQuery::TopOwner(const TimelineRow& row) const {
  auto controller = [](std::span<const OwnerView> owners) -> const OwnerView* {
    for (const OwnerView& o : owners) {
      if (o.controller) return &o;
    }
    return owners.empty() ? nullptr : &owners.front();
  };
  const OwnerView* top = controller(row.owners);
  if (!top) return std::nullopt;
  for (int depth = 0; depth < 8; ++depth) {
    auto it = by_uid_.find(top->uid);
    if (it == by_uid_.end()) break;
    const OwnerView* up = controller(it->second->owners);
    if (!up) break;
    top = up;
  }
  return Owner{std::string(top->kind), std::string(top->name), std::string(top->uid)};
}

void ChangesQuery::Finish(const TimelineRow& row, bool existed, Track& t,
                          std::vector<Change>* out) const {
  auto make = [&](Kind kind, int64_t at) {
    Change c;
    c.change = kind;
    c.at = at;
    c.key = ResourceKey(row.key);
    c.owner = TopOwner(row);
    return c;
  };
  if (!existed) {
    Change c = make(Kind::kAdded, row.start_ns);
    c.to_time = t.first_time;
    c.detail = row.creation_ns >= range_.start_ns && row.creation_ns <= range_.end_ns
                   ? "created"
                   : "first recorded (created " +
                         (row.creation_ns ? FormatRfc3339(row.creation_ns) : "at an unknown time") +
                         ")";
    out->push_back(std::move(c));
  }
  if (row.deleted) {
    bool recorded = t.end_time && IsDeletion(t.end_type);
    Change c = make(Kind::kDeleted, recorded ? t.end_time : row.end_ns);
    c.from_time = t.last_time ? t.last_time : t.base_time;
    if (recorded) c.to_time = t.end_time;
    c.detail = recorded && t.end_type == WatchType::kDeletedInferred
                   ? "deletion inferred at relist (deleted while the watch was down)"
                   : "deleted";
    out->push_back(std::move(c));
  }
  for (Change& r : t.rollouts) {
    r.owner = TopOwner(row);
    out->push_back(std::move(r));
  }
  if (existed && !row.deleted && t.has_base && t.last_time) {
    Differences d = Compare(t.base, t.last);
    if (!d.valid || !d.fields.empty()) {
      Change c = make(Kind::kChanged, t.last_time);
      c.fields = std::move(d.fields);
      c.from_time = t.base_time;
      c.to_time = t.last_time;
      c.detail =
          d.valid ? d.detail : "a stored version is not JSON: compare them with /api/v1/diff";
      out->push_back(std::move(c));
    }
  }
}

Result<void> ChangesQuery::ReadVersions(const std::vector<const TimelineRow*>& rows, bool existed,
                                        std::vector<Change>* out) {
  simdjson::dom::parser parser;
  for (size_t first = 0; first < rows.size(); first += kChunk) {
    std::vector<const TimelineRow*> chunk(rows.begin() + first,
                                          rows.begin() + std::min(rows.size(), first + kChunk));
    std::vector<ResourceKey> keys;
    for (const TimelineRow* r : chunk) keys.emplace_back(r->key);
    std::vector<size_t> order(keys.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return keys[a] < keys[b]; });
    std::vector<ResourceKey> sorted;
    for (size_t i : order) sorted.push_back(keys[i]);
    std::vector<Track> tracks(sorted.size());
    for (size_t i = 0; i < sorted.size(); ++i) {
      tracks[i].keep_payloads = existed && !chunk[order[i]]->deleted;
    }
    auto read = ctx_.store.Versions(
        sorted, range_, existed, req_.cancel.get(),
        [&](size_t i, const RecordView& r, bool previous) {
          Track& t = tracks[i];
          const bool workload = existed && IsRolloutKind(r.kind);
          // With no version stored from the start (sloop was not recording yet, or retention
          // has deleted it), the first one in the window stands in for it.
          const bool stand_in = !previous && existed && !t.has_base && !IsDeletion(r.watch_type);
          if (stand_in) t.first_time = r.observed_ns;
          if (previous || stand_in) {
            t.has_base = true;
            t.base_time = r.observed_ns;
            t.last_rv = r.resource_version;
            if (t.keep_payloads) t.base = r.payload;
            if (workload) {
              t.workload = ReadWorkload(parser, r.kind, r.payload);
              t.workload_time = r.observed_ns;
              t.in_progress = t.workload.ok && !t.workload.finished;
            }
            return true;
          }
          if (!t.first_time) t.first_time = r.observed_ns;
          t.end_type = r.watch_type;
          t.end_time = r.observed_ns;
          bool changed = IsDeletion(r.watch_type) || r.resource_version != t.last_rv ||
                         (!t.has_base && !t.last_time);
          if (!changed) return true;
          t.last_rv = r.resource_version;
          if (!IsDeletion(r.watch_type)) {
            t.last_time = r.observed_ns;
            if (t.keep_payloads) t.last = r.payload;
          }
          if (workload && !IsDeletion(r.watch_type)) {
            WorkloadVersion v = ReadWorkload(parser, r.kind, r.payload);
            if (v.ok && t.workload.ok && v.generation > t.workload.generation &&
                v.template_json != t.workload.template_json) {
              Change c;
              c.change = Kind::kRolloutStarted;
              c.at = r.observed_ns;
              c.key = ResourceKey(r.kind, r.namespace_, r.name, r.uid);
              c.from_time = t.workload_time;
              c.to_time = r.observed_ns;
              Differences d = Compare(t.workload.template_json, v.template_json, "spec.template");
              c.fields = std::move(d.fields);
              std::string revision = !t.workload.revision.empty() && !v.revision.empty() &&
                                             t.workload.revision != v.revision
                                         ? "revision " + t.workload.revision + " → " + v.revision
                                         : "generation " + std::to_string(t.workload.generation) +
                                               " → " + std::to_string(v.generation);
              c.detail = d.detail.empty() ? revision : revision + ": " + d.detail;
              t.rollouts.push_back(std::move(c));
              t.in_progress = true;
              t.started_at = r.observed_ns;
            }
            // The revision annotation follows the generation: take it from the newest version.
            if (v.ok && t.in_progress && v.finished) {
              Change c;
              c.change = Kind::kRolloutFinished;
              c.at = r.observed_ns;
              c.key = ResourceKey(r.kind, r.namespace_, r.name, r.uid);
              c.from_time = t.workload_time;
              c.to_time = r.observed_ns;
              c.detail = (v.revision.empty() ? "generation " + std::to_string(v.generation)
                                             : "revision " + v.revision) +
                         ": " + v.progress;
              if (!t.started_at) c.detail += " (started before the window)";
              t.rollouts.push_back(std::move(c));
              t.in_progress = false;
              t.started_at = 0;
            }
            if (v.ok) {
              t.workload = std::move(v);
              t.workload_time = r.observed_ns;
            }
          }
          return true;
        });
    if (!read) return std::unexpected(read.error());
    for (size_t i = 0; i < sorted.size(); ++i) Finish(*chunk[order[i]], existed, tracks[i], out);
  }
  return {};
}

// One entry per (object, reason) of the Warning Events about it in the window: the counts of
// the timeline's heat cells; the first time and the message from the Event records.
Result<void> ChangesQuery::Warnings(std::vector<Change>* out) {
  struct Burst {
    const TimelineRow* row;
    std::string reason;
    uint64_t count = 0;
    int64_t first_minute_ns = 0;
  };
  std::map<std::tuple<std::string_view, std::string_view, std::string_view, std::string>, Burst>
      bursts;
  for (const auto& result : results_) {
    for (const TimelineRow& row : result->rows) {
      if (!kind_.empty() && row.key.kind != kind_) continue;
      if (!req_.MayRead(row.key.namespace_)) continue;
      for (const HeatCell& h : row.heat) {
        if (h.severity != EventSeverity::kWarning) continue;
        Burst& b = bursts[{row.key.kind, row.key.namespace_, row.key.name, std::string(h.reason)}];
        if (!b.row) {
          b.row = &row;
          b.reason = h.reason;
          b.first_minute_ns = h.minute_unix * kNsPerSec;
        }
        b.count += h.count;
        b.first_minute_ns = std::min(b.first_minute_ns, h.minute_unix * kNsPerSec);
      }
    }
  }
  if (bursts.empty()) return {};
  // The Warning Events recorded in the window: the first of each burst says when and what.
  struct Seen {
    int64_t at = 0;
    std::string message;
  };
  std::map<std::tuple<std::string, std::string, std::string, std::string>, Seen> seen;
  TimelineQuery q;
  q.range = range_;
  q.namespace_ = ns_;
  q.kind = "Event";
  q.limit = kTimelineLimit;
  // Only their keys are used: their records in the window are read below.
  q.which_only = true;
  q.cancel = req_.cancel.get();
  q.max_bytes = 4 * ctx_.options.max_answer_bytes;
  auto events = ctx_.store.Timeline(q);
  if (!events) return std::unexpected(events.error());
  std::vector<ResourceKey> keys;
  for (const TimelineRow& row : events->rows) keys.emplace_back(row.key);
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  auto read = ctx_.store.Versions(
      keys, range_, false, req_.cancel.get(), [&](size_t, const RecordView& r, bool) {
        if (!r.event || r.event->severity != EventSeverity::kWarning || IsDeletion(r.watch_type)) {
          return true;
        }
        const EventInfoView& e = *r.event;
        auto [it, fresh] =
            seen.try_emplace({std::string(e.involved_kind), std::string(e.involved_namespace),
                              std::string(e.involved_name), std::string(e.reason)});
        // The Event's first occurrence when it lies in the window, else when it was seen again.
        int64_t first =
            e.first_timestamp_ns >= range_.start_ns && e.first_timestamp_ns <= r.observed_ns
                ? e.first_timestamp_ns
                : r.observed_ns;
        if (fresh || first < it->second.at) {
          it->second.at = first;
          it->second.message = e.message;
        }
        return true;
      });
  if (!read) return std::unexpected(read.error());
  for (auto& [k, b] : bursts) {
    Change c;
    c.change = Kind::kWarnings;
    c.key = ResourceKey(b.row->key);
    c.owner = TopOwner(*b.row);
    c.reason = b.reason;
    c.count = b.count;
    c.at = std::max(b.first_minute_ns, range_.start_ns);
    c.detail = std::to_string(b.count) + "× " + b.reason;
    auto s = seen.find({std::string(b.row->key.kind), std::string(b.row->key.namespace_),
                        std::string(b.row->key.name), b.reason});
    if (s != seen.end()) {
      c.at = std::max(range_.start_ns, s->second.at);
      if (!s->second.message.empty()) c.detail += ": " + s->second.message;
    }
    out->push_back(std::move(c));
  }
  return {};
}

Result<std::vector<Change>> ChangesQuery::Run() {
  auto main = Rows(kind_);
  if (!main) return std::unexpected(main.error());
  cut_ = (*main)->truncated;
  if (auto r = ResolveOwners(); !r) return std::unexpected(r.error());
  std::vector<const TimelineRow*> existed, added;
  for (const TimelineRow& row : (*main)->rows) {
    if (!req_.MayRead(row.key.namespace_)) continue;
    if (row.key.kind == "Event") continue;
    // Only Events were seen about it: no versions, only heat (warnings).
    if (row.api_version.empty() && row.changed_at.empty() && row.nochange_at.empty()) continue;
    if (row.start_ns > range_.start_ns) {
      added.push_back(&row);
    } else if (!row.changed_at.empty() || row.deleted) {
      existed.push_back(&row);
    }
  }
  // In key order, a chunk's keys mostly share a kind (its shards' index scans narrow to it) and
  // are read in the order a sealed shard stores them.
  auto by_key = [](const TimelineRow* a, const TimelineRow* b) { return a->key < b->key; };
  std::sort(existed.begin(), existed.end(), by_key);
  std::sort(added.begin(), added.end(), by_key);
  std::vector<Change> out;
  if (auto r = ReadVersions(existed, true, &out); !r) return std::unexpected(r.error());
  if (auto r = ReadVersions(added, false, &out); !r) return std::unexpected(r.error());
  if (auto r = Warnings(&out); !r) return std::unexpected(r.error());
  std::sort(out.begin(), out.end(), [](const Change& a, const Change& b) {
    return std::tie(b.at, a.change, a.key) < std::tie(a.at, b.change, b.key);
  });
  return out;
}

Response Changes(const HandlerContext& ctx, const Request& req) {
  Params p(req);
  TimeRange range = Window(p, ctx);
  std::string ns(p.GetOr("namespace", ""));
  if (ns == "_all") ns.clear();
  std::string kind(p.GetOr("kind", ""));
  if (kind == "_all") kind.clear();
  size_t limit = static_cast<size_t>(p.Int("limit", 1, kMaxApiLimit).value_or(kDefaultLimit));
  if (!ns.empty()) CheckNamespace(req, ns);
  ChangesQuery query(ctx, req, range, ns, kind);
  auto changes = query.Run();
  if (!changes) return StoreErrorResponse(changes.error(), "api-v1 changes");

  std::string body;
  body.reserve(256 + std::min(changes->size(), limit) * 400);
  JsonWriter w(&body);
  w.BeginObject();
  w.Field("start", FormatRfc3339(range.start_ns)).Field("end", FormatRfc3339(range.end_ns));
  uint64_t counts[6] = {};
  for (const Change& c : *changes) ++counts[static_cast<int>(c.change)];
  auto time = [&](std::string_view key, int64_t ns_) {
    w.Key(key);
    if (ns_) {
      w.String(FormatRfc3339(ns_));
    } else {
      w.Null();
    }
  };
  w.Key("changes").BeginArray();
  for (size_t i = 0; i < changes->size() && i < limit; ++i) {
    const Change& c = (*changes)[i];
    w.BeginObject().Field("change", kNames[static_cast<int>(c.change)]);
    time("at", c.at);
    w.Field("kind", c.key.kind).Field("namespace", c.key.namespace_).Field("name", c.key.name);
    w.Field("uid", c.key.uid).Key("owner");
    if (c.owner) {
      w.BeginObject().Field("kind", c.owner->kind).Field("name", c.owner->name);
      w.Field("uid", c.owner->uid).EndObject();
    } else {
      w.Null();
    }
    w.Key("fields").BeginArray();
    for (const auto& f : c.fields) w.String(f);
    w.EndArray();
    time("from_time", c.from_time);
    time("to_time", c.to_time);
    w.Field("detail", c.detail);
    if (c.change == Kind::kWarnings) w.Field("reason", c.reason).Field("count", c.count);
    w.EndObject();
  }
  w.EndArray().Key("counts").BeginObject();
  for (int k = 0; k < 6; ++k) w.Field(kNames[k], counts[k]);
  w.EndObject();
  w.Field("matched", uint64_t(changes->size()));
  w.Field("truncated", changes->size() > limit || query.cut());
  w.EndObject();
  body.push_back('\n');
  return JsonResponse(std::move(body));
}

}  // namespace

void AddChangesRoutes(Router& router, ContextPtr ctx) {
  AddApiV1Route(router, ctx, "changes", Changes);
}

}  // namespace sloop::http
