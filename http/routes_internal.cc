#include "http/routes_internal.h"

#include <simdjson.h>

#include <algorithm>
#include <cctype>

#include "http/link_template.h"

namespace sloop::http {

// ---- time windows

int64_t EndOfTime(const Store& store) {
  int64_t now = store.Now();
  int64_t end = 0;
  for (const ShardInfo& s : store.Shards()) {
    if (s.records) end = std::max(end, std::max(s.window_end_ns, s.max_ns));
  }
  if (end == 0 || end > now) return now;
  return end;
}

TimeRange SloopWindow(const Params& p, const HandlerContext& ctx) {
  constexpr int64_t kMinute = 60 * kNsPerSec;
  auto lookback = p.Duration("lookback");
  auto start_time = p.Get("start_time");
  auto end_time = p.Get("end_time");
  const int64_t eot = EndOfTime(ctx.store);
  TimeRange r;
  if (lookback && start_time) {
    throw ParamError("start_time",
                     "give either lookback (with an optional end_time) or start_time and "
                     "end_time, not both");
  }
  if (start_time) {
    if (!end_time) throw ParamError("end_time", "is required with start_time");
    r.start_ns = ParseTime(*start_time, "start_time");
    r.end_ns = ParseTime(*end_time, "end_time");
    if (r.start_ns > r.end_ns) {
      throw ParamError("start_time", "is after end_time");
    }
  } else {
    int64_t lb = lookback ? *lookback : ParseDuration(ctx.options.default_lookback, "lookback");
    r.end_ns = end_time ? ParseTime(*end_time, "end_time") : eot;
    r.start_ns = std::max<int64_t>(0, r.end_ns - lb);
  }
  if (r.end_ns > eot) {
    int64_t shift = r.end_ns - eot;
    r.end_ns = eot;
    r.start_ns = std::max<int64_t>(0, r.start_ns - shift);
  }
  if (r.end_ns - r.start_ns < kMinute) r.start_ns = std::max<int64_t>(0, r.end_ns - kMinute);
  int64_t max_lb = ctx.options.max_look_back.count();
  if (max_lb > 0 && r.end_ns - r.start_ns > max_lb) r.start_ns = r.end_ns - max_lb;
  return r;
}

TimeRange ApiWindow(const Params& p, const HandlerContext& ctx, bool narrow) {
  auto from = p.Time("from");
  auto to = p.Time("to");
  auto lookback = p.Duration("lookback");
  if (from && lookback) {
    throw ParamError("lookback", "give either from (and to) or lookback (and to), not both");
  }
  TimeRange r;
  r.end_ns = to ? *to : ctx.store.Now();
  if (from) {
    r.start_ns = *from;
  } else {
    int64_t lb = lookback ? *lookback : ParseDuration(ctx.options.default_lookback, "lookback");
    r.start_ns = std::max<int64_t>(0, r.end_ns - lb);
  }
  if (r.start_ns > r.end_ns) throw ParamError("from", "is after to");
  int64_t max_lb = ctx.options.max_look_back.count();
  if (narrow && max_lb > 0 && r.end_ns - r.start_ns > max_lb) r.start_ns = r.end_ns - max_lb;
  return r;
}

// ---- record keys

std::string PartitionId(int64_t ns) {
  int64_t hour = (ns / kNsPerSec) / 3600 * 3600;
  char buf[24];
  std::snprintf(buf, sizeof(buf), "%012lld", static_cast<long long>(hour));
  return buf;
}

std::string RecordKey(const RecordView& r) {
  std::string k = "/watch/" + PartitionId(r.observed_ns) + "/";
  k.append(r.kind).append("/").append(r.namespace_).append("/").append(r.name).append("/");
  k.append(std::to_string(r.observed_ns));
  return k;
}

bool ParseRecordKey(std::string_view key, ParsedRecordKey* out) {
  // "/watch/<partition>/<kind>/<namespace>/<name>/<ns>"
  std::vector<std::string_view> parts;
  size_t pos = 0;
  if (key.empty() || key[0] != '/') return false;
  key.remove_prefix(1);
  while (pos <= key.size()) {
    size_t slash = key.find('/', pos);
    if (slash == std::string_view::npos) slash = key.size();
    parts.push_back(key.substr(pos, slash - pos));
    pos = slash + 1;
    if (parts.size() > 6) return false;
  }
  if (parts.size() != 6 || parts[0] != "watch" || parts[2].empty() || parts[4].empty()) {
    return false;
  }
  try {
    out->observed_ns = ParseInt(parts[5], "k", 0, kMaxUnixSeconds * kNsPerSec);
  } catch (const ParamError&) {
    return false;
  }
  out->kind = parts[2];
  out->namespace_ = parts[3];
  out->name = parts[4];
  return true;
}

// ---- JSON helpers

bool IsValidJson(std::string_view text) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element doc;
  return parser.parse(text.data(), text.size(), true).get(doc) == simdjson::SUCCESS;
}

std::string PrettyJson(std::string_view text) {
  if (!IsValidJson(text)) return std::string(text);
  std::string out;
  out.reserve(text.size() * 2);
  int depth = 0;
  bool in_string = false, escaped = false;
  auto newline = [&] {
    out.push_back('\n');
    out.append(static_cast<size_t>(depth) * 2, ' ');
  };
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      out.push_back(c);
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        out.push_back(c);
        break;
      case '{':
      case '[': {
        // Empty containers stay on one line.
        size_t j = i + 1;
        while (j < text.size() && std::isspace(static_cast<unsigned char>(text[j]))) ++j;
        if (j < text.size() && (text[j] == '}' || text[j] == ']')) {
          out.push_back(c);
          out.push_back(text[j]);
          i = j;
          break;
        }
        out.push_back(c);
        ++depth;
        newline();
        break;
      }
      case '}':
      case ']':
        --depth;
        newline();
        out.push_back(c);
        break;
      case ',':
        out.push_back(c);
        newline();
        break;
      case ':':
        out.append(": ");
        break;
      case ' ':
      case '\n':
      case '\r':
      case '\t':
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string ExpandLinkTemplate(std::string_view tmpl, std::string_view kind,
                               std::string_view namespace_, std::string_view name,
                               std::string_view uid) {
  // Templates were checked when the configuration was loaded; one that fails here (a run-time
  // error such as an index out of range for this name) yields no link rather than a wrong one.
  auto t = LinkTemplate::Parse(tmpl, ResourceLinkFields());
  if (!t) return "";
  auto out = t->Expand({{"Kind", std::string(kind)},
                        {"Namespace", std::string(namespace_)},
                        {"Name", std::string(name)},
                        {"Uuid", std::string(uid)}});
  return out ? *out : "";
}

void ClusterTable::Add(const HandlerContext* ctx) {
  std::lock_guard lock(mu_);
  list_.push_back(ctx);
}

const HandlerContext* ClusterTable::Find(std::string_view name) const {
  std::lock_guard lock(mu_);
  for (const HandlerContext* c : list_) {
    if (c->options.UrlContext() == name) return c;
  }
  return nullptr;
}

std::vector<const HandlerContext*> ClusterTable::List() const {
  std::lock_guard lock(mu_);
  return list_;
}

std::string ClusterTable::Names() const {
  std::string out;
  for (const HandlerContext* c : List()) out += (out.empty() ? "" : ", ") + c->options.UrlContext();
  return out;
}

const HandlerContext& ContextFor(const HandlerContext& ctx, const Request& req,
                                 bool by_parameter) {
  auto name = Params(req).Get("cluster");
  if (!name || name->empty() || *name == ctx.options.UrlContext()) return ctx;
  if (by_parameter && ctx.clusters != nullptr) {
    if (const HandlerContext* c = ctx.clusters->Find(*name)) return *c;
    throw ParamError("cluster", "no cluster \"" + std::string(*name) +
                                    "\" here; the clusters are " + ctx.clusters->Names());
  }
  if (ctx.clusters == nullptr) {
    throw ParamError("cluster", "this sloop serves one cluster, \"" +
                                    ctx.options.UrlContext() + "\"");
  }
  throw ParamError("cluster", "this URL is cluster \"" + ctx.options.UrlContext() +
                                  "\"'s: ask /" + std::string(*name) +
                                  "/api/v1/… or /api/v1/…?cluster=" + std::string(*name));
}

void AddApiV1Route(Router& router, const ContextPtr& ctx, std::string_view name, ApiHandler fn,
                   RouteClass cls) {
  std::string label = "api_" + std::string(name);
  if (ctx->is_default) {
    router.Exact("/api/v1/" + std::string(name), label,
                 [ctx, fn](const Request& req) { return fn(ContextFor(*ctx, req, true), req); },
                 cls);
  }
  router.Exact(ctx->prefix + "/api/v1/" + std::string(name), label,
               [ctx, fn](const Request& req) { return fn(ContextFor(*ctx, req, false), req); },
               cls);
}

}  // namespace sloop::http
