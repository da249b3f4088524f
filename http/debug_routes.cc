// Debug pages (HTML): the menu, the running configuration, the shards, one shard's index entries,
// and one stored record by its key. Everything shown is HTML-escaped (Sloop's pages were not).
#include <algorithm>

#include "http/json_writer.h"
#include "http/routes_internal.h"

namespace sloop::http {

namespace {

std::string Page(std::string_view title, const std::string& prefix, std::string_view content) {
  std::string h = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>";
  AppendHtmlEscaped(&h, title);
  h += "</title><base href=\"";
  AppendHtmlEscaped(&h, prefix);
  h += "/\"><style>body{font-family:sans-serif;margin:1em}table{border-collapse:collapse}"
       "td,th{border:1px solid #ccc;padding:2px 6px;font-size:90%}pre{background:#f4f4f4;"
       "padding:8px;overflow:auto}</style></head><body>\n<p><a href=\"debug/\">Debug menu</a> · "
       "<a href=\"./\">Timeline</a></p>\n<h2>";
  AppendHtmlEscaped(&h, title);
  h += "</h2>\n";
  h += content;
  h += "\n</body></html>\n";
  return h;
}

std::string Esc(std::string_view s) { return HtmlEscape(s); }

std::string Time(int64_t ns) { return ns ? FormatRfc3339(ns) : "-"; }

Response Menu(const HandlerContext& ctx, const Request&) {
  std::string c =
      "<ul>\n<li><a href=\"debug/config/\">Configuration</a></li>\n"
      "<li><a href=\"debug/shards/\">Shards</a> (each links to its index entries)</li>\n"
      "<li><a href=\"api/v1/stats\">Store statistics (JSON)</a></li>\n"
      "<li><a href=\"../metrics\">Metrics</a></li>\n</ul>\n"
      "<form action=\"debug/view\" method=\"get\">Record by key: <input name=\"k\" size=\"80\" "
      "placeholder=\"/watch/001700000000/Pod/default/web-1/1700000123000000000\"> "
      "<input type=\"submit\" value=\"View\"></form>\n";
  return HtmlResponse(Page("Sloop debug", ctx.prefix, c));
}

Response Config(const HandlerContext& ctx, const Request& req) {
  Params p(req);
  std::string c =
      "<pre>" + Esc(ctx.options.config_yaml.empty() ? "(not provided)" : ctx.options.config_yaml) +
      "</pre>";
  return HtmlResponse(Page("Configuration", ctx.prefix, c));
}

Response ShardList(const HandlerContext& ctx, const Request& req) {
  Params p(req);
  std::string c =
      "<table><tr><th>id</th><th>state</th><th>window start</th><th>window end</th>"
      "<th>first record</th><th>last record</th><th>records</th><th>resources</th>"
      "<th>segment bytes</th><th>index bytes</th></tr>\n";
  for (const ShardInfo& s : ctx.store.Shards()) {
    c += "<tr><td><a href=\"debug/shard?id=" + std::to_string(s.id) + "\">" + std::to_string(s.id) +
         "</a></td><td>" + (s.sealed ? "sealed" : "active") + "</td><td>" +
         Time(s.window_start_ns) + "</td><td>" + Time(s.window_end_ns) + "</td><td>" +
         Time(s.min_ns) + "</td><td>" + Time(s.max_ns) + "</td><td>" + std::to_string(s.records) +
         "</td><td>" + std::to_string(s.resources) + "</td><td>" + std::to_string(s.segment_bytes) +
         "</td><td>" + std::to_string(s.index_bytes) + "</td></tr>\n";
  }
  c += "</table>\n";
  return HtmlResponse(Page("Shards", ctx.prefix, c));
}

Response ShardIndex(const HandlerContext& ctx, const Request& req) {
  Params p(req);
  uint64_t id = static_cast<uint64_t>(ParseInt(p.Required("id"), "id", 0, INT64_MAX));
  int64_t limit = p.Int("limit", 1, 100'000).value_or(1000);
  std::string kind(p.GetOr("kind", "")), ns(p.GetOr("namespace", ""));
  std::string name(p.GetOr("name", ""));
  std::shared_ptr<const Shard> shard;
  for (const auto& s : ctx.store.Snapshot()) {
    if (s->info().id == id) shard = s;
  }
  if (!shard) return ErrorResponse(404, "id", "no shard " + std::to_string(id));
  ShardInfo info = shard->info();
  std::string c = "<p>" + std::string(info.sealed ? "Sealed" : "Active") + " shard, window " +
                  Time(info.window_start_ns) + " to " + Time(info.window_end_ns) + ", " +
                  std::to_string(info.resources) + " resources, " + std::to_string(info.records) +
                  " records.</p>\n<form action=\"debug/shard\" method=\"get\">"
                  "<input type=\"hidden\" name=\"id\" value=\"" +
                  std::to_string(id) + "\">kind <input name=\"kind\" value=\"" + Esc(kind) +
                  "\"> namespace <input name=\"namespace\" value=\"" + Esc(ns) +
                  "\"> name <input name=\"name\" value=\"" + Esc(name) +
                  "\"> <input type=\"submit\" value=\"Filter\"></form>\n"
                  "<table><tr><th>kind</th><th>namespace</th><th>name</th><th>uid</th>"
                  "<th>api version</th><th>created</th><th>first</th><th>last</th>"
                  "<th>records</th><th>changes</th><th>no-change</th><th>flags</th>"
                  "<th>event minutes</th></tr>\n";
  EntryFilter filter;
  filter.kind = kind;
  filter.namespace_ = ns;
  filter.name = name;
  int64_t n = 0;
  bool more = false;
  shard->ForEachEntry(filter, true, [&](const EntryView& e) {
    if (n == limit) {
      more = true;
      return false;
    }
    ++n;
    std::string key = "/watch/" + PartitionId(e.last_ns) + "/" + std::string(e.key.kind) + "/" +
                      std::string(e.key.namespace_) + "/" + std::string(e.key.name) + "/" +
                      std::to_string(e.last_ns);
    c += "<tr><td>" + Esc(e.key.kind) + "</td><td>" + Esc(e.key.namespace_) + "</td><td>" +
         "<a href=\"debug/view?k=" + Esc(key) + "\">" + Esc(e.key.name) + "</a></td><td>" +
         Esc(e.key.uid) + "</td><td>" + Esc(e.api_group) + (e.api_group.empty() ? "" : "/") +
         Esc(e.api_version) + "</td><td>" + Time(e.creation_ns) + "</td><td>" + Time(e.first_ns) +
         "</td><td>" + Time(e.last_ns) + "</td><td>" + std::to_string(e.record_count) +
         "</td><td>" + std::to_string(e.change_count) + "</td><td>" +
         std::to_string(e.nochange_count) + "</td><td>" + std::to_string(e.flags) + "</td><td>" +
         std::to_string(e.heat.size()) + "</td></tr>\n";
    return true;
  });
  c += "</table>\n";
  if (more) c += "<p>Only the first " + std::to_string(limit) + " entries are shown (limit=).</p>";
  return HtmlResponse(Page("Shard " + std::to_string(id), ctx.prefix, c));
}

Response ViewRecord(const HandlerContext& ctx, const Request& req) {
  Params p(req);
  std::string_view k = p.Required("k");
  ParsedRecordKey key;
  if (!ParseRecordKey(k, &key)) {
    throw ParamError("k",
                     "is not a record key: expected "
                     "/watch/<partition>/<kind>/<namespace>/<name>/<unix ns>");
  }
  std::optional<StoredRecord> found;
  ResourceKeyView rk{key.kind, key.namespace_, key.name, ""};
  auto visit = [&](const RecordView& r) {
    if (r.observed_ns == key.observed_ns) {
      found = StoredRecord::From(r);
      return false;
    }
    return true;
  };
  auto r = ctx.store.History(rk, {key.observed_ns, key.observed_ns}, false, visit);
  if (!r) return StoreErrorResponse(r.error(), "debug query");
  if (!found) return ErrorResponse(404, "k", "no stored record has this key");
  const StoredRecord& s = *found;
  std::string c = "<table>";
  auto row = [&](std::string_view name, std::string_view value) {
    c += "<tr><th>" + Esc(name) + "</th><td>" + Esc(value) + "</td></tr>\n";
  };
  row("key", k);
  row("observed", FormatRfc3339(s.observed_ns));
  row("watch type", WatchTypeName(s.watch_type));
  row("api version", s.api_group.empty() ? s.api_version : s.api_group + "/" + s.api_version);
  row("kind", s.kind);
  row("namespace", s.namespace_);
  row("name", s.name);
  row("uid", s.uid);
  row("resource version", s.resource_version);
  if (s.event) {
    row("involved object", s.event->involved_kind + " " + s.event->involved_namespace + "/" +
                               s.event->involved_name + " (" + s.event->involved_uid + ")");
    row("reason", s.event->reason);
    row("type", EventSeverityName(s.event->severity));
    row("count", std::to_string(s.event->count));
    row("message", s.event->message);
  }
  c += "</table>\n<h3>Payload</h3>\n<pre>" + Esc(PrettyJson(s.payload)) + "</pre>\n";
  return HtmlResponse(Page("Record", ctx.prefix, c));
}

}  // namespace

void AddDebugRoutes(Router& router, ContextPtr ctx) {
  const std::string d = ctx->prefix + "/debug";
  auto add = [&](const std::string& path, Response (*fn)(const HandlerContext&, const Request&)) {
    router.Exact(path, "debug", [ctx, fn](const Request& req) { return fn(*ctx, req); },
                 {Lane::kWorker, Access::kAdmin});
  };
  add(d, Menu);
  add(d + "/", Menu);
  add(d + "/config", Config);
  add(d + "/config/", Config);
  add(d + "/shards", ShardList);
  add(d + "/shards/", ShardList);
  add(d + "/tables/", ShardList);  // Sloop's LSM table page: the closest thing here
  add(d + "/shard", ShardIndex);
  add(d + "/view", ViewRecord);
}

}  // namespace sloop::http
