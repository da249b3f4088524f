// Sloop's own routes, answered in Sloop's JSON shapes so that its UI, links and scripts keep
// working: /<ctx>/data?query=… and the /<ctx>/resource detail fragment.
#include <simdjson.h>

#include <algorithm>
#include <map>

#include "http/json_writer.h"
#include "http/routes_internal.h"

namespace sloop::http {

namespace {

constexpr std::string_view kIndent = " ";  // Sloop answers with json.MarshalIndent(…, "", " ")
constexpr int64_t kMaxHeatMapRows = 100'000;

std::string AllToEmpty(std::string_view v) { return v == "_all" ? "" : std::string(v); }

bool IsClusterScoped(std::string_view kind) {
  return kind == "Node" || kind == "Namespace" || kind == "PersistentVolume" ||
         kind == "StorageClass" || kind == "ClusterRole" || kind == "ClusterRoleBinding" ||
         kind == "CustomResourceDefinition" || kind == "PriorityClass";
}

TimelineSort ParseSort(std::string_view sort) {
  std::string s;
  for (char c : sort) {
    if (c != '_') s.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  if (s == "mostevents") return TimelineSort::kMostEvents;
  if (s == "name") return TimelineSort::kName;
  // starttime, start_time, and anything else: Sloop's UI falls back to start order for a value
  // it does not know, and its server passes the value through untouched (view_options.sort).
  return TimelineSort::kStart;
}

void WriteTicks(JsonWriter& w, std::string_view key, std::span<const uint32_t> ticks) {
  w.Key(key);
  if (ticks.empty()) {
    w.Null();
    return;
  }
  w.BeginArray();
  for (uint32_t t : ticks) w.Int(t);
  w.EndArray();
}

struct Overlay {
  std::string text;
  int64_t start = 0, duration = 60, end = 0;
};

// One overlay per minute with events: "reason:type:count" items sorted as strings (Sloop sorts
// its "reason:type" map keys), then moved inside the bar the way Sloop's adjustOverlays does: an
// overlay that starts before the bar (or ends after it) is cut at the bar's edge, collapsing to
// zero length when nothing is left. (Sloop compares the excess with 60 000, meant as ms but
// applied to seconds; the same threshold is kept so that the numbers agree.)
std::vector<Overlay> Overlays(const TimelineRow& row, int64_t bar_start, int64_t bar_end) {
  std::vector<Overlay> out;
  std::vector<std::string> items;
  for (size_t i = 0; i < row.heat.size();) {
    int64_t minute = row.heat[i].minute_unix;
    items.clear();
    for (; i < row.heat.size() && row.heat[i].minute_unix == minute; ++i) {
      const HeatCell& h = row.heat[i];
      items.push_back(std::string(h.reason) + ":" + std::string(EventSeverityName(h.severity)) +
                      ":" + std::to_string(h.count));
    }
    std::sort(items.begin(), items.end());
    Overlay o;
    for (const auto& item : items) {
      if (!o.text.empty()) o.text.push_back(' ');
      o.text += item;
    }
    o.start = minute;
    o.end = minute + 60;
    out.push_back(std::move(o));
  }
  constexpr int64_t kSloopLimit = 60 * 1000;
  for (Overlay& o : out) {
    int64_t early = bar_start - o.start;
    if (early > 0 && early < kSloopLimit) {
      o.start += early;
      o.duration -= early;
      if (o.duration <= 0) {
        o.duration = 0;
        o.start = o.end;
      }
    }
  }
  for (Overlay& o : out) {
    int64_t over = o.end - bar_end;
    if (over > 0 && over < kSloopLimit) {
      o.end -= over;
      o.duration -= over;
      if (o.duration <= 0) {
        o.duration = 0;
        o.end = o.start;
      }
    }
  }
  return out;
}

Response EventHeatMap(const HandlerContext& ctx, const Params& p) {
  TimelineQuery q;
  q.range = SloopWindow(p, ctx);
  q.namespace_ = AllToEmpty(p.GetOr("namespace", "_all"));
  q.kind = AllToEmpty(p.GetOr("kind", "_all"));
  q.name_match = p.GetOr("namematch", "");
  q.name_exact = p.GetOr("name", "");
  std::string_view sort = p.GetOr("sort", "");
  q.sort = ParseSort(sort);
  std::string_view uuid = p.GetOr("uuid", "");
  // Sloop returns every row. So do we, up to a bound that keeps one answer within memory; past
  // it the answer says so (truncated, total_rows) instead of dropping rows silently.
  q.limit = static_cast<size_t>(p.Int("limit", 1, kMaxHeatMapRows).value_or(kMaxHeatMapRows));
  if (!q.namespace_.empty()) CheckNamespace(p.request(), q.namespace_);
  // The uid and what the user may read are filtered by the query, before the limit and the
  // counts.
  q.uid = uuid;
  q.may_read = p.request().may_read_namespace;
  q.cancel = p.request().cancel.get();
  q.max_bytes = 4 * ctx.options.max_answer_bytes;
  auto result = ctx.store.Timeline(q);
  if (!result) return StoreErrorResponse(result.error(), "data query");

  // Rows past options.max_answer_bytes of indented JSON are left out, as past the limit (ticks
  // of resources that change every second add up over days); the answer says so.
  size_t estimate = 256, shown = result->rows.size();
  bool truncated = result->truncated;
  for (size_t i = 0; i < result->rows.size(); ++i) {
    const TimelineRow& r = result->rows[i];
    const size_t row = 300 + r.key.kind.size() + r.key.namespace_.size() + r.key.name.size() +
                       16 * (r.changed_at.size() + r.nochange_at.size()) + 140 * r.heat.size();
    if (estimate + row > ctx.options.max_answer_bytes) {
      shown = i;
      truncated = true;
      break;
    }
    estimate += row;
  }

  // Fields in the order Sloop's Go structs marshal them (TimelineRoot, TimelineRow, Overlay).
  std::string body;
  body.reserve(estimate);
  JsonWriter w(&body, kIndent);
  w.BeginObject();
  w.Key("view_options").BeginObject().Field("sort", sort).EndObject();
  w.Key("rows").BeginArray();
  for (size_t i = 0; i < shown; ++i) {
    const TimelineRow& row = result->rows[i];
    int64_t start = row.start_ns / kNsPerSec, end = row.end_ns / kNsPerSec;
    w.BeginObject();
    w.Field("text", row.key.name).Field("duration", end - start);
    w.Field("kind", row.key.kind).Field("namespace", row.key.namespace_);
    w.Key("overlays").BeginArray();
    for (const Overlay& o : Overlays(row, start, end)) {
      w.BeginObject().Field("text", o.text).Field("start_date", o.start);
      w.Field("duration", o.duration).Field("end_date", o.end).EndObject();
    }
    w.EndArray();
    WriteTicks(w, "changedat", row.changed_at);
    WriteTicks(w, "nochangeat", row.nochange_at);
    w.Field("start_date", start).Field("end_date", end);
    w.EndObject();
  }
  w.EndArray();
  if (truncated) {
    // Not in Sloop's shape (it never cuts); extra fields its UI ignores.
    w.Field("truncated", true).Field("total_rows", uint64_t(result->matched));
  }
  w.EndObject();
  return JsonResponse(std::move(body));
}

Response StringList(std::vector<std::string> items) {
  std::string body;
  JsonWriter w(&body, kIndent);
  w.BeginArray();
  for (const auto& s : items) w.String(s);
  w.EndArray();
  return JsonResponse(std::move(body));
}

// The resource a query is about: kind and name required; cluster-scoped kinds have no namespace.
ResourceKey ResourceFromParams(const Params& p) {
  ResourceKey k;
  k.kind = p.Required("kind");
  if (k.kind == "_all") throw ParamError("kind", "must name one kind, not _all");
  k.name = p.Required("name");
  k.namespace_ = IsClusterScoped(k.kind) ? "" : AllToEmpty(p.GetOr("namespace", ""));
  k.uid = p.GetOr("uuid", "");
  return k;
}

Response GetResPayload(const HandlerContext& ctx, const Params& p) {
  TimeRange range = SloopWindow(p, ctx);
  ResourceKey key = ResourceFromParams(p);
  CheckNamespace(p.request(), key.namespace_);
  struct Version {
    std::string key;
    int64_t time;
    std::string payload;
  };
  std::vector<Version> versions;
  size_t bytes = 0;
  auto r = ctx.store.History(
      key.view(), range, true,
      [&](const RecordView& rec) {
        if (!versions.empty() && versions.back().payload == rec.payload) return true;  // unchanged
        versions.push_back(Version{RecordKey(rec), rec.observed_ns, std::string(rec.payload)});
        bytes += rec.payload.size();
        return versions.size() < 100'000 && bytes < ctx.options.max_answer_bytes;
      },
      p.request().cancel.get());
  if (!r) return StoreErrorResponse(r.error(), "data query");
  std::stable_sort(versions.begin(), versions.end(),
                   [](const Version& a, const Version& b) { return a.time < b.time; });
  std::string body;
  JsonWriter w(&body, kIndent);
  w.BeginArray();
  const std::string* previous = nullptr;
  for (const Version& v : versions) {
    if (previous && *previous == v.payload) continue;
    previous = &v.payload;
    w.BeginObject().Field("payloadKey", v.key).Field("payloadTime", v.time);
    w.Field("payload", v.payload).EndObject();
  }
  w.EndArray();
  return JsonResponse(std::move(body));
}

Response GetEventData(const HandlerContext& ctx, const Params& p) {
  TimeRange range = SloopWindow(p, ctx);
  ResourceKey key = ResourceFromParams(p);
  CheckNamespace(p.request(), key.namespace_);
  std::string body;
  JsonWriter w(&body, kIndent);
  size_t n = 0;
  w.BeginArray();
  auto r = ctx.store.Events(
      key.view(), range,
      [&](const RecordView& rec) {
        if (rec.event && rec.event->involved_kind != key.kind) return true;
        w.BeginObject();
        w.Field("partitionId", PartitionId(rec.observed_ns));
        w.Field("namespace", rec.namespace_).Field("name", rec.name);
        // Go marshals the key's time.Time (UTC) as RFC 3339 with nanoseconds, trailing zeros cut.
        w.Field("watchTimestamp", FormatRfc3339(rec.observed_ns));
        w.Field("kind", rec.kind);
        if (rec.watch_type != WatchType::kAdded) {
          // Sloop's enum values: ADD is the zero value and omitted; UPDATE = 1, DELETE = 2.
          w.Field("watchType", static_cast<int>(rec.watch_type));
        }
        w.Field("payload", rec.payload);
        w.Field("eventKey", RecordKey(rec));
        w.EndObject();
        return ++n < 100'000 && body.size() < ctx.options.max_answer_bytes;
      },
      p.request().cancel.get());
  if (!r) return StoreErrorResponse(r.error(), "data query");
  w.EndArray();
  // Sloop answers an empty body, not [], when nothing matched; its UI expects that.
  if (n == 0) body.clear();
  return JsonResponse(std::move(body));
}

Response GetResSummaryData(const HandlerContext& ctx, const Params& p) {
  TimelineQuery q;
  q.range = SloopWindow(p, ctx);
  q.namespace_ = AllToEmpty(p.GetOr("namespace", "_all"));
  q.kind = AllToEmpty(p.GetOr("kind", "_all"));
  q.name_match = p.GetOr("namematch", "");
  q.name_exact = p.GetOr("name", "");
  q.limit = 100;
  q.uid = p.GetOr("uuid", "");  // before the limit: the row asked for is among those kept
  q.may_read = p.request().may_read_namespace;
  q.cancel = p.request().cancel.get();
  q.max_bytes = 4 * ctx.options.max_answer_bytes;
  auto result = ctx.store.Timeline(q);
  if (!result) return StoreErrorResponse(result.error(), "data query");
  const TimelineRow* row = result->rows.empty() ? nullptr : &result->rows.front();
  std::string body;
  if (!row) return JsonResponse(std::move(body));  // Sloop: an empty body when nothing matched
  auto ts = [](JsonWriter& w, std::string_view key, int64_t ns) {
    w.Key(key).BeginObject().Field("seconds", ns / kNsPerSec).Field("nanos", ns % kNsPerSec);
    w.EndObject();
  };
  JsonWriter w(&body, kIndent);
  w.BeginObject();
  w.Field("PartitionId", PartitionId(row->start_ns));
  w.Field("Kind", row->key.kind).Field("Namespace", row->key.namespace_);
  w.Field("Name", row->key.name).Field("Uid", row->key.uid);
  ts(w, "firstSeen", row->start_ns);
  ts(w, "lastSeen", row->end_ns);
  ts(w, "createTime", row->creation_ns ? row->creation_ns : row->start_ns);
  w.Field("deletedAtEnd", row->deleted);
  w.Key("relationships").BeginArray();
  for (const auto& o : row->owners) {
    w.BeginObject().Field("kind", o.kind).Field("name", o.name).Field("uid", o.uid);
    w.Field("controller", o.controller).EndObject();
  }
  w.EndArray();
  w.EndObject();
  return JsonResponse(std::move(body));
}

Response DataQuery(const HandlerContext& ctx, const Request& req) {
  Params p(req);
  std::string_view query = p.GetOr("query", "");
  if (query == "EventHeatMap") return EventHeatMap(ctx, p);
  if (query == "GetEventData") return GetEventData(ctx, p);
  if (query == "GetResPayload") return GetResPayload(ctx, p);
  if (query == "GetResSummaryData") return GetResSummaryData(ctx, p);
  if (query == "Namespaces") {
    auto ns = ctx.store.Namespaces(SloopWindow(p, ctx));
    std::erase(ns, std::string());
    std::erase_if(ns, [&](const std::string& n) { return !req.MayRead(n); });
    std::sort(ns.begin(), ns.end());
    ns.push_back("_all");
    return StringList(std::move(ns));
  }
  if (query == "Kinds") {
    auto kinds = ctx.store.Kinds(SloopWindow(p, ctx));
    std::erase(kinds, std::string("Event"));
    kinds.push_back("_all");
    std::sort(kinds.begin(), kinds.end());
    return StringList(std::move(kinds));
  }
  if (query == "Queries") {
    (void)SloopWindow(p, ctx);  // Sloop validates the window for every query
    return StringList({"EventHeatMap"});
  }
  if (query.empty()) {
    throw ParamError("query",
                     "is required: one of EventHeatMap, GetEventData, GetResPayload, "
                     "GetResSummaryData, Namespaces, Kinds, Queries");
  }
  throw ParamError("query", "\"" + std::string(query.substr(0, 64)) +
                                "\" is not a query: use EventHeatMap, GetEventData, "
                                "GetResPayload, GetResSummaryData, Namespaces, Kinds or Queries");
}

// Sloop's parameter cleaning for the resource fragment: keep [A-Za-z0-9-_.], drop "..".
std::string CleanParam(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') {
      out.push_back(c);
    }
  }
  for (size_t pos; (pos = out.find("..")) != std::string::npos;) out.erase(pos, 2);
  return out;
}

std::string EventSourceHost(std::string_view payload) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(payload.data(), payload.size(), true).get(doc)) return "";
  std::string_view host;
  if (doc["source"]["host"].get(host)) return "";
  return std::string(host);
}

Response ResourceFragment(const HandlerContext& ctx, const Request& req) {
  Params p(req);
  constexpr int64_t kWindow = 15 * 60 * kNsPerSec;
  int64_t click_ms = ParseInt(p.Required("click_time"), "click_time", 0, kMaxUnixSeconds * 1000);
  std::string name = CleanParam(p.GetOr("name", ""));
  std::string ns = CleanParam(p.GetOr("namespace", ""));
  std::string kind = CleanParam(p.GetOr("kind", ""));
  std::string uuid = CleanParam(p.GetOr("uuid", ""));
  if (name.empty()) throw ParamError("name", "is required");
  if (kind.empty()) throw ParamError("kind", "is required");
  int64_t click = click_ms * 1'000'000;
  TimeRange range{std::max<int64_t>(0, click - kWindow), click + kWindow};
  ResourceKey key(kind, IsClusterScoped(kind) ? "" : ns, name, "");
  CheckNamespace(req, key.namespace_);

  std::string h;
  auto esc = [&](std::string_view s) { AppendHtmlEscaped(&h, s); };
  h += "<div class=\"sloop-resource\" data-kind=\"";
  esc(kind);
  h += "\" data-namespace=\"";
  esc(ns);
  h += "\" data-name=\"";
  esc(name);
  h += "\" data-click-time=\"" + std::to_string(click_ms) + "\">\n<h4>";
  esc(name);
  h += "</h4>\n<p>Namespace: <b>";
  esc(ns);
  h += "</b> Kind: <b>";
  esc(kind);
  h += "</b></p>\n<p><a target=\"_blank\" href=\"resource?click_time=" + std::to_string(click_ms) +
       "&amp;name=";
  esc(name);
  h += "&amp;namespace=";
  esc(ns);
  h += "&amp;kind=";
  esc(kind);
  h += "\">Open In New Tab</a></p>\n<ul class=\"resource-links\">\n";
  for (const UiLink& link : ctx.options.resource_links) {
    if (!link.kinds.empty() &&
        std::find(link.kinds.begin(), link.kinds.end(), kind) == link.kinds.end()) {
      continue;
    }
    h += "<li><a target=\"_blank\" href=\"";
    esc(ExpandLinkTemplate(link.url_template, kind, ns, name, uuid));
    h += "\">";
    esc(link.text);
    h += "</a></li>\n";
  }
  h += "</ul>\n<p>Viewing range " + FormatRfc3339(click - click % kNsPerSec) + " +/- 15m0s</p>\n";

  // Payload versions (as GetResPayload: the one in force at the start, then each change).
  h += "<table class=\"payloads\">\n<thead><tr><th>Left</th><th>Right</th><th>Details</th>"
       "<th>Time</th></tr></thead>\n<tbody>\n";
  std::string previous;
  bool any = false;
  size_t shown = 0;
  auto r = ctx.store.History(
      key.view(), range, true,
      [&](const RecordView& rec) {
        if (any && rec.payload == previous) return true;
        any = true;
        previous.assign(rec.payload);
        std::string k = RecordKey(rec);
        h += "<tr><td><input type=\"radio\" name=\"left\" value=\"";
        esc(k);
        h += "\"></td><td><input type=\"radio\" name=\"right\" value=\"";
        esc(k);
        h += "\"></td><td><a target=\"_blank\" href=\"debug/view?k=";
        esc(k);
        h += "\">Details</a></td><td>" + FormatRfc3339(rec.observed_ns) + "</td></tr>\n";
        return ++shown < 1000;
      },
      req.cancel.get());
  if (!r) return StoreErrorResponse(r.error(), "data query");
  h += "</tbody>\n</table>\n";

  // Events about the resource.
  std::string rows;
  auto e = ctx.store.Events(
      key.view(), range,
      [&](const RecordView& rec) {
        if (!rec.event) return true;
        const EventInfoView& ev = *rec.event;
        rows += "<tr><td><a target=\"_blank\" href=\"debug/view?k=";
        AppendHtmlEscaped(&rows, RecordKey(rec));
        rows += "\">Details</a></td><td>";
        AppendHtmlEscaped(&rows, ev.message);
        rows += "</td><td>";
        AppendHtmlEscaped(&rows, ev.reason);
        rows += "</td><td>";
        AppendHtmlEscaped(&rows, EventSourceHost(rec.payload));
        rows += "</td><td>" + std::to_string(ev.count) + "</td><td>" +
                (ev.first_timestamp_ns ? FormatRfc3339(ev.first_timestamp_ns) : "") + "</td><td>" +
                (ev.last_timestamp_ns ? FormatRfc3339(ev.last_timestamp_ns) : "") + "</td></tr>\n";
        return rows.size() < (4 << 20);
      },
      req.cancel.get());
  if (!e) return StoreErrorResponse(e.error(), "data query");
  if (rows.empty()) {
    h += "<p class=\"no-events\">No events found for this period</p>\n";
  } else {
    h += "<table class=\"events\">\n<thead><tr><th>Details</th><th>Message</th><th>Reason</th>"
         "<th>Source</th><th>Count</th><th>First seen</th><th>Last seen</th></tr></thead>\n"
         "<tbody>\n" +
         rows + "</tbody>\n</table>\n";
  }
  h += "</div>\n";
  return HtmlResponse(std::move(h));
}

}  // namespace

void AddSloopRoutes(Router& router, ContextPtr ctx) {
  router.Exact(ctx->prefix + "/data", "query",
               [ctx](const Request& req) { return DataQuery(*ctx, req); });
  router.Exact(ctx->prefix + "/resource", "resource",
               [ctx](const Request& req) { return ResourceFragment(*ctx, req); });
}

}  // namespace sloop::http
