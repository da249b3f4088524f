// GET /api/v1/snapshot: the objects of one kind as they were at a moment, as a table like
// `kubectl get -o wide` (the columns of http/object_columns.h). Documented in docs/api.md.
#include <algorithm>
#include <limits>

#include "http/json_writer.h"
#include "http/object_columns.h"
#include "http/routes_internal.h"

namespace sloop::http {

namespace {

constexpr int64_t kDefaultLimit = 5000;

struct Version {
  bool found = false;
  bool deleted_before = false;  // its version in effect is a deletion before the moment asked
  int64_t time = 0;
  std::string resource_version;
  std::string api_version;
  std::vector<std::string> cells;
};

Response Snapshot(const HandlerContext& ctx, const Request& req) {
  Params p(req);
  std::string kind(p.Required("kind"));
  if (kind == "_all") throw ParamError("kind", "must name one kind, not _all");
  std::string ns(p.GetOr("namespace", ""));
  if (ns == "_all") ns.clear();
  std::optional<int64_t> asked = p.Time("at");
  size_t limit = static_cast<size_t>(p.Int("limit", 1, kMaxApiLimit).value_or(kDefaultLimit));
  if (!ns.empty()) CheckNamespace(req, ns);
  int64_t at = ctx.store.Now();
  if (!asked) {
    // Now, or the newest record when that is later (a clock behind the recorded one's).
    for (const ShardInfo& s : ctx.store.Shards()) at = std::max(at, s.max_ns);
  } else {
    at = *asked;
  }
  const std::atomic<bool>* cancel = req.cancel.get();

  auto objects = ctx.store.ObjectsAt(kind, ns, at, cancel);
  if (!objects) return StoreErrorResponse(objects.error(), "api-v1 snapshot");
  std::erase_if(*objects, [&](const ObjectAt& o) { return !req.MayRead(o.key.namespace_); });
  std::vector<ResourceKey> keys;
  keys.reserve(objects->size());
  for (const ObjectAt& o : *objects) keys.push_back(o.key);

  // The version in effect at `at` of each; the cells are computed as the versions are read, so
  // that no payload is held longer than its parse.
  ObjectColumns columns;
  std::vector<Version> versions(keys.size());
  auto take = [&](size_t i, const RecordView& r) {
    Version& v = versions[i];
    v.found = true;
    v.time = r.observed_ns;
    v.deleted_before =
        (r.watch_type == WatchType::kDeleted || r.watch_type == WatchType::kDeletedInferred) &&
        r.observed_ns < at;
    v.resource_version = r.resource_version;
    v.api_version = ApiVersion(r.api_group, r.api_version);
    v.cells = columns.Cells(kind, r.name, r.payload, at, (*objects)[i].creation_ns);
  };
  auto read = ctx.store.Versions(keys, TimeRange{at, at}, true, cancel,
                                 [&](size_t i, const RecordView& r, bool) {
                                   take(i, r);
                                   return true;
                                 });
  if (!read) return StoreErrorResponse(read.error(), "api-v1 snapshot");
  // Created before `at` but first recorded after it (sloop was not watching yet), or recorded
  // only in shards retention has deleted: the first version stored after `at`, if any.
  std::vector<ResourceKey> later;
  std::vector<size_t> later_index;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (!versions[i].found) {
      later.push_back(keys[i]);
      later_index.push_back(i);
    }
  }
  if (!later.empty()) {
    read = ctx.store.Versions(later, TimeRange{at, std::numeric_limits<int64_t>::max()}, false,
                              cancel, [&](size_t i, const RecordView& r, bool) {
                                if (!versions[later_index[i]].found) take(later_index[i], r);
                                return true;
                              });
    if (!read) return StoreErrorResponse(read.error(), "api-v1 snapshot");
  }

  std::string body;
  body.reserve(512 + std::min(keys.size(), limit) * 400);
  JsonWriter w(&body);
  w.BeginObject();
  w.Field("at", FormatRfc3339(at)).Field("kind", kind).Key("namespace");
  if (ns.empty()) {
    w.Null();
  } else {
    w.String(ns);
  }
  w.Key("columns").BeginArray();
  for (std::string_view c : ObjectColumns::Columns(kind)) w.String(c);
  w.EndArray().Key("rows").BeginArray();
  size_t matched = 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    const Version& v = versions[i];
    if (v.deleted_before) continue;
    if (++matched > limit) continue;
    const ObjectAt& o = (*objects)[i];
    w.BeginObject();
    w.Field("kind", o.key.kind).Field("namespace", o.key.namespace_).Field("name", o.key.name);
    w.Field("uid", o.key.uid);
    w.Field("api_version", v.found ? v.api_version : ApiVersion(o.api_group, o.api_version));
    w.Key("version_time");
    if (v.found) {
      w.String(FormatRfc3339(v.time));
    } else {
      w.Null();
    }
    w.Key("resource_version");
    if (v.found) {
      w.String(v.resource_version);
    } else {
      w.Null();
    }
    w.Key("cells").BeginArray();
    if (v.found) {
      for (const auto& c : v.cells) w.String(c);
    } else {
      for (const auto& c : columns.Cells(kind, o.key.name, "", at, o.creation_ns)) w.String(c);
    }
    w.EndArray().EndObject();
  }
  w.EndArray();
  w.Field("matched", uint64_t(matched)).Field("truncated", matched > limit);
  w.EndObject();
  body.push_back('\n');
  return JsonResponse(std::move(body));
}

}  // namespace

void AddSnapshotRoutes(Router& router, ContextPtr ctx) {
  AddApiV1Route(router, ctx, "snapshot", Snapshot);
}

}  // namespace sloop::http
