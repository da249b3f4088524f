// The versioned JSON API, /api/v1/… (also served under /<ctx>/api/v1/… for reverse proxies that
// forward only the context prefix). Documented, with examples, in docs/api.md.
#include <algorithm>
#include <functional>
#include <unordered_map>
#include <vector>

#include <simdjson.h>

#include "http/json_diff.h"
#include "http/json_writer.h"
#include "http/link_template.h"
#include "http/routes_internal.h"

namespace sloop::http {

namespace {

constexpr int64_t kMaxLimit = 100'000;

void WritePayload(JsonWriter& w, std::string_view payload) {
  // Stored payloads are the API server's JSON; anything else is returned as a string.
  if (IsValidJson(payload)) {
    w.Raw(payload);
  } else {
    w.String(payload);
  }
}

void WriteTime(JsonWriter& w, std::string_view key, int64_t ns) {
  w.Key(key);
  if (ns) {
    w.String(FormatRfc3339(ns));
  } else {
    w.Null();
  }
}

void WriteRange(JsonWriter& w, const TimeRange& r) {
  WriteTime(w, "from", r.start_ns);
  WriteTime(w, "to", r.end_ns);
}

void WriteKey(JsonWriter& w, const ResourceKeyView& k) {
  w.Field("kind", k.kind)
      .Field("namespace", k.namespace_)
      .Field("name", k.name)
      .Field("uid", k.uid);
}

ResourceKey ResourceParams(const Params& p) {
  ResourceKey k;
  k.kind = p.Required("kind");
  k.name = p.Required("name");
  k.namespace_ = p.GetOr("namespace", "");
  k.uid = p.GetOr("uid", "");
  return k;
}

TimelineSort ApiSort(std::string_view s) {
  if (s.empty() || s == "start") return TimelineSort::kStart;
  if (s == "most_events") return TimelineSort::kMostEvents;
  if (s == "name") return TimelineSort::kName;
  throw ParamError("sort", "\"" + std::string(s.substr(0, 64)) +
                               "\" is not a sort order: use start, most_events or name");
}

Response Finish(std::string body) {
  body.push_back('\n');
  return JsonResponse(std::move(body));
}

// Whether a Pod's stored version at the end of its row names `node` in spec.nodeName. A pod never
// moves: once bound, every later version names the same node; one never bound names none.
bool PodRanOn(const HandlerContext& ctx, const Request& req, const TimelineRow& row,
              std::string_view node) {
  auto rec = ctx.store.PayloadAt(row.key, row.end_ns, req.cancel.get());
  if (!rec || !*rec) return false;
  const std::string& payload = (*rec)->payload;
  thread_local simdjson::dom::parser parser;
  std::string_view name;
  if (parser.parse(payload.data(), payload.size(), true)["spec"]["nodeName"].get(name) !=
      simdjson::SUCCESS) {
    return false;
  }
  return name == node;
}

Response Timeline(const HandlerContext& ctx, const Request& req) {
  Params p(req);
  TimelineQuery q;
  q.range = ApiWindow(p, ctx, true);
  // "_all" is Sloop's "every": its clients send it.
  q.namespace_ = p.GetOr("namespace", "");
  if (q.namespace_ == "_all") q.namespace_.clear();
  q.kind = p.GetOr("kind", "");
  if (q.kind == "_all") q.kind.clear();
  q.name_match = p.Get("name_match") ? *p.Get("name_match") : p.GetOr("namematch", "");
  q.name_exact = p.GetOr("name", "");
  q.sort = ApiSort(p.GetOr("sort", ""));
  q.limit = static_cast<size_t>(p.Int("limit", 1, kMaxLimit).value_or(5000));
  // node: the Pods that ran on a Node (their stored spec.nodeName), read from each pod's payload
  // after the index has chosen the rows, so `limit` applies to the pods kept.
  const std::string node(p.GetOr("node", ""));
  // heat=packed: each row's heat as flat [minute offset, key, count] triples (docs/api.md), a
  // third of the bytes of the objects and none of their parsing in the browser.
  const std::string heat_form(p.GetOr("heat", "objects"));
  if (heat_form != "objects" && heat_form != "packed") {
    throw ParamError("heat", "is objects (the default) or packed");
  }
  const bool packed = heat_form == "packed";
  const size_t limit = q.limit;
  if (!node.empty()) {
    if (!q.kind.empty() && q.kind != "Pod") {
      throw ParamError("node", "selects the Pods that ran on a node: use it with kind=Pod");
    }
    q.kind = "Pod";
    q.limit = kMaxLimit;
  }
  if (!q.namespace_.empty()) CheckNamespace(req, q.namespace_);
  // Rows the user may not read are left out by the query, before the limit and the counts.
  q.may_read = req.may_read_namespace;
  q.cancel = req.cancel.get();
  q.max_bytes = 4 * ctx.options.max_answer_bytes;
  auto result = ctx.store.Timeline(q);
  if (!result) return StoreErrorResponse(result.error(), "api-v1 query");
  std::vector<const TimelineRow*> rows;
  rows.reserve(result->rows.size());
  size_t matched = result->matched;
  bool truncated = result->truncated;
  if (node.empty()) {
    for (const TimelineRow& row : result->rows) rows.push_back(&row);
  } else {
    matched = 0;
    for (const TimelineRow& row : result->rows) {
      if (req.Cancelled()) break;  // already answered 503
      if (!PodRanOn(ctx, req, row, node)) continue;
      ++matched;
      if (rows.size() < limit) rows.push_back(&row);
    }
    truncated = truncated || matched > rows.size();
  }
  // The answer's size, near enough that a large one is written without being copied as it
  // grows (a 6 h window of a busy cluster is several MB). Rows past options.max_answer_bytes of
  // it are left out, as past the limit: rows with long lists of ticks (a resource changing every
  // few seconds for days) must not make one answer hundreds of MB.
  size_t estimate = 1024;
  for (size_t i = 0; i < rows.size(); ++i) {
    const TimelineRow* r = rows[i];
    const size_t row = 400 + r->key.kind.size() + r->key.namespace_.size() + r->key.name.size() +
                       12 * (r->changed_at.size() + r->nochange_at.size()) +
                       (packed ? 14 : 80) * r->heat.size() + 140 * r->owners.size();
    if (estimate + row > ctx.options.max_answer_bytes) {
      rows.resize(i);
      truncated = true;
      break;
    }
    estimate += row;
  }
  std::string body;
  body.reserve(estimate);
  JsonWriter w(&body);
  w.BeginObject();
  WriteRange(w, q.range);
  w.Field("matched", uint64_t(matched)).Field("truncated", truncated);
  // Packed heat: the minutes counted from the window's first minute, the (reason, type) pairs
  // numbered in the order met and listed after the rows.
  struct HeatKey {
    std::string_view reason;
    EventSeverity severity;
    bool operator==(const HeatKey&) const = default;
  };
  struct HeatKeyHash {
    size_t operator()(const HeatKey& k) const {
      return std::hash<std::string_view>()(k.reason) * 31 + static_cast<size_t>(k.severity);
    }
  };
  std::unordered_map<HeatKey, uint64_t, HeatKeyHash> heat_keys;
  std::vector<HeatKey> heat_key_order;
  const int64_t heat_from = q.range.start_ns / 60'000'000'000 * 60;
  if (packed) w.Field("heat_from", heat_from);
  w.Key("rows").BeginArray();
  for (const TimelineRow* row_ptr : rows) {
    const TimelineRow& row = *row_ptr;
    if (!req.MayRead(row.key.namespace_)) continue;
    w.BeginObject();
    WriteKey(w, row.key);
    if (row.api_group.empty()) {
      w.Field("api_version", row.api_version);
    } else {
      w.Field("api_version", std::string(row.api_group) + "/" + std::string(row.api_version));
    }
    WriteTime(w, "start", row.start_ns);
    WriteTime(w, "end", row.end_ns);
    WriteTime(w, "created", row.creation_ns);
    w.Field("deleted", row.deleted).Field("events", row.events).Field("warnings", row.warnings);
    w.Key("changed_at").BeginArray();
    for (uint32_t t : row.changed_at) w.Int(t);
    w.EndArray().Key("nochange_at").BeginArray();
    for (uint32_t t : row.nochange_at) w.Int(t);
    w.EndArray().Key("heat").BeginArray();
    for (const HeatCell& h : row.heat) {
      if (packed) {
        auto [it, added] = heat_keys.try_emplace(HeatKey{h.reason, h.severity}, heat_keys.size());
        if (added) heat_key_order.push_back(it->first);
        w.Int((h.minute_unix - heat_from) / 60).Uint(it->second).Uint(h.count);
        continue;
      }
      w.BeginObject().Field("minute", h.minute_unix).Field("reason", h.reason);
      w.Field("type", EventSeverityName(h.severity)).Field("count", h.count).EndObject();
    }
    w.EndArray().Key("owners").BeginArray();
    for (const auto& o : row.owners) {
      w.BeginObject().Field("kind", o.kind).Field("name", o.name).Field("uid", o.uid);
      w.Field("controller", o.controller).EndObject();
    }
    w.EndArray().EndObject();
  }
  w.EndArray();
  if (packed) {
    w.Key("heat_keys").BeginArray();
    for (const HeatKey& k : heat_key_order) {
      w.BeginObject().Field("reason", k.reason).Field("type", EventSeverityName(k.severity)).EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
  return Finish(std::move(body));
}

Response Resources(const HandlerContext& ctx, const Request& req) {
  Params p(req);
  std::string_view search = p.GetOr("search", "");
  std::string_view kind = p.GetOr("kind", "");
  if (kind == "_all") kind = {};  // Sloop's "every kind"
  size_t limit = static_cast<size_t>(p.Int("limit", 1, kMaxLimit).value_or(1000));
  // Every shard this store holds; shards older than those (a bucket's) from the window's start
  // (from or lookback; default: the default lookback) on.
  auto hits = ctx.store.SearchFrom(search, kind, limit, ApiWindow(p, ctx, false).start_ns,
                                   req.cancel.get());
  if (!hits) return StoreErrorResponse(hits.error(), "api-v1 search");
  std::string body;
  JsonWriter w(&body);
  w.BeginObject().Key("resources").BeginArray();
  for (const SearchHit& h : *hits) {
    if (!req.MayRead(h.key.namespace_)) continue;
    w.BeginObject();
    WriteKey(w, h.key.view());
    WriteTime(w, "first_seen", h.first_ns);
    WriteTime(w, "last_seen", h.last_ns);
    WriteTime(w, "created", h.creation_ns);
    w.Field("deleted", h.deleted).EndObject();
  }
  w.EndArray().EndObject();
  return Finish(std::move(body));
}

// The uid of a stored version. An Event's records hold none since 2026-12-07 (an Event is known by
// namespace and name: index/resource_key.h, LookupKey): the API gives the one its payload names.
// The view lives until the next call on this thread.
std::string_view RecordUid(const RecordView& r) {
  if (!r.uid.empty() || r.kind != kEventKind) return r.uid;
  thread_local simdjson::dom::parser parser;
  std::string_view uid;
  if (parser.parse(r.payload.data(), r.payload.size(), true)["metadata"]["uid"].get(uid) !=
      simdjson::SUCCESS) {
    return {};
  }
  return uid;
}

void WriteRecord(JsonWriter& w, const RecordView& r, bool with_payload) {
  w.BeginObject();
  WriteTime(w, "time", r.observed_ns);
  w.Field("watch_type", WatchTypeName(r.watch_type));
  w.Field("kind", r.kind).Field("namespace", r.namespace_).Field("name", r.name);
  w.Field("uid", RecordUid(r)).Field("resource_version", r.resource_version);
  w.Field("api_version", r.api_group.empty()
                             ? std::string(r.api_version)
                             : std::string(r.api_group) + "/" + std::string(r.api_version));
  w.Field("key", RecordKey(r));
  if (r.event) {
    const EventInfoView& e = *r.event;
    w.Key("event").BeginObject();
    w.Key("involved").BeginObject().Field("kind", e.involved_kind);
    w.Field("namespace", e.involved_namespace).Field("name", e.involved_name);
    w.Field("uid", e.involved_uid).EndObject();
    w.Field("reason", e.reason).Field("type", EventSeverityName(e.severity));
    w.Field("count", int64_t(e.count)).Field("message", e.message);
    WriteTime(w, "first_timestamp", e.first_timestamp_ns);
    WriteTime(w, "last_timestamp", e.last_timestamp_ns);
    w.EndObject();
  }
  if (with_payload) {
    w.Key("payload");
    WritePayload(w, r.payload);
  }
  w.EndObject();
}

// {"from", "to", <field>: [records], "truncated"} from a store query that calls back once per
// record; stops at `limit` records or options.max_answer_bytes of body (so that one request
// cannot hold gigabytes), and says so ("truncated").
Response RecordList(const HandlerContext& ctx, const Request& req, const TimeRange& range,
                    std::string_view field, size_t limit, bool payloads,
                    const std::function<Result<void>(const RecordFn&)>& query) {
  std::string body;
  JsonWriter w(&body);
  w.BeginObject();
  WriteRange(w, range);
  w.Key(field).BeginArray();
  size_t n = 0;
  bool truncated = false;
  auto r = query([&](const RecordView& rec) {
    if (n == limit || body.size() > ctx.options.max_answer_bytes) {
      truncated = true;
      return false;
    }
    if ((n & 255) == 255 && req.Cancelled()) return false;  // already answered 503: stop reading
    if (!req.MayRead(rec.namespace_)) return true;
    ++n;
    WriteRecord(w, rec, payloads);
    return true;
  });
  if (!r) return StoreErrorResponse(r.error(), "api-v1 query");
  w.EndArray().Field("truncated", truncated).EndObject();
  return Finish(std::move(body));
}

Response History(const HandlerContext& ctx, const Request& req) {
  Params p(req);
  ResourceKey key = ResourceParams(p);
  CheckNamespace(req, key.namespace_);
  TimeRange range = ApiWindow(p, ctx, false);
  if (!p.Get("from") && !p.Get("lookback")) range.start_ns = 0;  // default: all retained history
  bool include_previous = p.Bool("include_previous").value_or(false);
  bool payloads = p.Bool("payloads").value_or(true);
  size_t limit = static_cast<size_t>(p.Int("limit", 1, kMaxLimit).value_or(1000));
  return RecordList(ctx, req, range, "versions", limit, payloads, [&](const RecordFn& fn) {
    return ctx.store.History(key.view(), range, include_previous, fn, req.cancel.get());
  });
}

Response Payload(const HandlerContext& ctx, const Request& req) {
  Params p(req);
  ResourceKey key = ResourceParams(p);
  CheckNamespace(req, key.namespace_);
  int64_t at = p.Time("at").value_or(ctx.store.Now());
  auto rec = ctx.store.PayloadAt(key.view(), at, req.cancel.get());
  if (!rec) return StoreErrorResponse(rec.error(), "api-v1 query");
  if (!*rec) {
    return ErrorResponse(404, "",
                         "no stored version of " + key.kind + " " + key.namespace_ + "/" +
                             key.name + " at or before " + FormatRfc3339(at));
  }
  std::string body;
  JsonWriter w(&body);
  WriteRecord(w, (*rec)->view(), true);
  return Finish(std::move(body));
}

Response Diff(const HandlerContext& ctx, const Request& req) {
  Params p(req);
  ResourceKey key = ResourceParams(p);
  CheckNamespace(req, key.namespace_);
  int64_t from = ParseTime(p.Required("from"), "from");
  int64_t to = ParseTime(p.Required("to"), "to");
  auto a = ctx.store.PayloadAt(key.view(), from, req.cancel.get());
  if (!a) return StoreErrorResponse(a.error(), "api-v1 query");
  auto b = ctx.store.PayloadAt(key.view(), to, req.cancel.get());
  if (!b) return StoreErrorResponse(b.error(), "api-v1 query");
  for (auto [rec, name, t] : {std::tuple{&*a, "from", from}, std::tuple{&*b, "to", to}}) {
    if (!*rec) {
      return ErrorResponse(404, name,
                           "no stored version of " + key.kind + " " + key.namespace_ + "/" +
                               key.name + " at or before " + FormatRfc3339(t));
    }
  }
  std::string body;
  JsonWriter w(&body);
  w.BeginObject();
  for (auto [rec, name] : {std::pair{&**a, "from"}, std::pair{&**b, "to"}}) {
    w.Key(name).BeginObject();
    WriteTime(w, "time", rec->observed_ns);
    w.Field("resource_version", rec->resource_version).Field("uid", RecordUid(rec->view()));
    w.Field("watch_type", WatchTypeName(rec->watch_type)).EndObject();
  }
  w.Key("ops");
  size_t ops = 0;
  if (!WriteJsonDiff((*a)->payload, (*b)->payload, w, &ops)) {
    return ErrorResponse(500, "",
                         "a stored payload is not valid JSON; compare them with "
                         "/api/v1/payload instead");
  }
  w.EndObject();
  return Finish(std::move(body));
}

Response Events(const HandlerContext& ctx, const Request& req) {
  Params p(req);
  ResourceKey key = ResourceParams(p);
  CheckNamespace(req, key.namespace_);
  TimeRange range = ApiWindow(p, ctx, false);
  bool payloads = p.Bool("payloads").value_or(false);
  size_t limit = static_cast<size_t>(p.Int("limit", 1, kMaxLimit).value_or(1000));
  return RecordList(ctx, req, range, "events", limit, payloads, [&](const RecordFn& fn) {
    return ctx.store.Events(key.view(), range, fn, req.cancel.get());
  });
}

Response Names(std::string_view field, std::vector<std::string> names) {
  std::erase(names, std::string());  // cluster-scoped resources have no namespace
  std::sort(names.begin(), names.end());
  std::string body;
  JsonWriter w(&body);
  w.BeginObject().Key(field).BeginArray();
  for (const auto& n : names) w.String(n);
  w.EndArray().EndObject();
  return Finish(std::move(body));
}

Response Shards(const HandlerContext& ctx, const Request& req) {
  Params p(req);
  std::string body;
  JsonWriter w(&body);
  w.BeginObject().Key("shards").BeginArray();
  for (const ShardInfo& s : ctx.store.Shards()) {
    w.BeginObject().Field("id", s.id).Field("sealed", s.sealed);
    WriteTime(w, "window_start", s.window_start_ns);
    WriteTime(w, "window_end", s.window_end_ns);
    WriteTime(w, "first_record", s.min_ns);
    WriteTime(w, "last_record", s.max_ns);
    w.Field("records", s.records).Field("resources", s.resources);
    w.Field("segment_bytes", s.segment_bytes).Field("index_bytes", s.index_bytes);
    w.EndObject();
  }
  w.EndArray().EndObject();
  return Finish(std::move(body));
}

Response Stats(const HandlerContext& ctx, const Request& req) {
  Params p(req);
  StoreStats s = ctx.store.Stats();
  std::string body;
  JsonWriter w(&body);
  w.BeginObject();
  w.Field("shards", s.shards).Field("sealed_shards", s.sealed_shards);
  w.Field("disk_bytes", s.disk_bytes).Field("memory_bytes", s.memory_bytes);
  WriteTime(w, "oldest_record", s.oldest_ns);
  WriteTime(w, "newest_record", s.newest_ns);
  w.Field("records_appended", s.records_appended).Field("evictions", s.evictions);
  w.Field("evicted_bytes", s.evicted_bytes).Field("seals", s.seals);
  w.Field("seal_failures", s.seal_failures);
  w.Field("recovered_bytes_dropped", s.recovered_bytes_dropped);
  w.Field("recovered_corrupt_blocks", s.recovered_corrupt_blocks);
  w.Field("corrupt_blocks_skipped", s.corrupt_blocks_skipped);
  w.Field("damaged_files_set_aside", s.damaged_files_set_aside);
  w.Field("indexes_rebuilt", s.indexes_rebuilt);
  if (ctx.options.readiness) {
    // Kinds the recorder may not read (403): their role lacks get/list/watch on them.
    w.Key("forbidden_kinds").BeginArray();
    for (const auto& k : ctx.options.readiness().forbidden_kinds) w.String(k);
    w.EndArray();
  }
  w.EndObject();
  return Finish(std::move(body));
}

Response Config(const HandlerContext& ctx, const Request& req) {
  Params p(req);
  const HttpOptions& o = ctx.options;
  std::string body;
  JsonWriter w(&body);
  w.BeginObject();
  w.Field("context", o.context).Field("display_context", o.UrlContext());
  w.Field("url_prefix", ctx.prefix);
  // The clusters this sloop serves (a gateway's, else its one), each at /<name>/.
  w.Field("cluster", o.UrlContext()).Key("clusters").BeginArray();
  if (ctx.clusters == nullptr) {
    w.String(o.UrlContext());
  } else {
    for (const HandlerContext* c : ctx.clusters->List()) w.String(c->options.UrlContext());
  }
  w.EndArray();
  w.Key("defaults").BeginObject().Field("namespace", o.default_namespace);
  w.Field("kind", o.default_kind).Field("lookback", o.default_lookback).EndObject();
  w.Field("max_look_back_seconds", int64_t(o.max_look_back.count() / kNsPerSec));
  // Left-bar links are expanded here, over the page's fields, as Sloop's index page does.
  const LinkTemplate::Data page = {{"CurrentContext", o.UrlContext()},
                                   {"DefaultKind", o.default_kind},
                                   {"DefaultNamespace", o.default_namespace},
                                   {"DefaultLookback", o.default_lookback}};
  auto links = [&](std::string_view name, const std::vector<UiLink>& list, bool kinds) {
    w.Key(name).BeginArray();
    for (const UiLink& l : list) {
      w.BeginObject().Field("text", l.text).Field("url_template", l.url_template);
      if (!kinds) {
        auto t = LinkTemplate::Parse(l.url_template, LeftBarLinkFields());
        auto url = t ? t->Expand(page) : Result<std::string>(std::string());
        w.Field("url", url ? *url : std::string());
      }
      if (kinds) {
        w.Key("kinds").BeginArray();
        for (const auto& k : l.kinds) w.String(k);
        w.EndArray();
      }
      w.EndObject();
    }
    w.EndArray();
  };
  links("left_bar_links", o.left_bar_links, false);
  links("resource_links", o.resource_links, true);
  w.EndObject();
  return Finish(std::move(body));
}

// The resource links of one resource, expanded on the server (http/link_template.h):
// {"links":[{"text","url"}]}, those whose kinds match (an empty kinds list matches every kind).
Response Links(const HandlerContext& ctx, const Request& req) {
  Params p(req);
  std::string_view kind = p.Required("kind");
  std::string_view name = p.Required("name");
  std::string_view ns = p.GetOr("namespace", "");
  std::string_view uid = p.GetOr("uid", "");
  std::string body;
  JsonWriter w(&body);
  w.BeginObject().Key("links").BeginArray();
  for (const UiLink& l : ctx.options.resource_links) {
    if (!l.kinds.empty() && std::find(l.kinds.begin(), l.kinds.end(), kind) == l.kinds.end()) {
      continue;
    }
    w.BeginObject().Field("text", l.text);
    w.Field("url", ExpandLinkTemplate(l.url_template, kind, ns, name, uid)).EndObject();
  }
  w.EndArray().EndObject();
  return Finish(std::move(body));
}

}  // namespace

void AddApiV1Routes(Router& router, ContextPtr ctx) {
  auto add = [&](std::string_view name, ApiHandler fn) { AddApiV1Route(router, ctx, name, fn); };
  add("timeline", Timeline);
  add("resources", Resources);
  add("history", History);
  add("payload", Payload);
  add("diff", Diff);
  add("events", Events);
  add("namespaces", [](const HandlerContext& c, const Request& req) {
    Params p(req);
    auto names = c.store.Namespaces(ApiWindow(p, c, true));
    std::erase_if(names, [&](const std::string& ns) { return !req.MayRead(ns); });
    return Names("namespaces", std::move(names));
  });
  add("kinds", [](const HandlerContext& c, const Request& req) {
    Params p(req);
    return Names("kinds", c.store.Kinds(ApiWindow(p, c, true)));
  });
  add("shards", Shards);
  add("stats", Stats);
  add("config", Config);
  add("links", Links);
  AddSnapshotRoutes(router, ctx);
  AddChangesRoutes(router, ctx);
  AddGapsRoutes(router, ctx);
}

}  // namespace sloop::http
