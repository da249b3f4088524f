#include "api_server.h"

#include <httplib.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <optional>
#include <thread>

#include "api_resources.h"
#include "certs.h"
#include "json_writer.h"
#include "selectors.h"

namespace kubesim {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kJson = "application/json";
// Watch streams and other incremental bodies: with a parameter so that cpp-httplib does not
// gzip them (it would buffer frames); clients parse the media type and ignore it.
constexpr std::string_view kJsonStream = "application/json;charset=utf-8";
constexpr std::string_view kAggregatedType =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(sep, start);
    if (end == std::string_view::npos) end = s.size();
    out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::string status_json(int code, std::string_view reason, std::string_view message,
                        const std::string& details_name = "", std::string_view details_group = "",
                        std::string_view details_kind = "", bool with_details = false,
                        const std::string& continue_token = "") {
  std::string out;
  JsonWriter w(out);
  w.begin_object().kv("kind", "Status").kv("apiVersion", "v1").key("metadata").begin_object();
  if (!continue_token.empty()) w.kv("continue", continue_token);
  w.end_object().kv("status", "Failure").kv("message", message).kv("reason", reason);
  if (with_details) {
    w.key("details").begin_object();
    if (!details_name.empty()) w.kv("name", details_name);
    if (!details_group.empty()) w.kv("group", details_group);
    if (!details_kind.empty()) w.kv("kind", details_kind);
    w.end_object();
  }
  w.kv("code", code).end_object();
  return out;
}

void send_status(httplib::Response& res, int code, std::string_view reason,
                 std::string_view message) {
  res.status = code;
  res.set_content(status_json(code, reason, message), std::string(kJson));
}

// "pods" or "deployments.apps": how the API server names a resource in messages.
std::string qualified(const ResourceType& rt) {
  std::string s(rt.resource);
  if (!rt.group.empty()) {
    s += '.';
    s += rt.group;
  }
  return s;
}

// --- base64 for continue tokens

std::optional<std::string> unbase64(std::string_view in) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    const int v = val(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

std::string encode_continue(uint64_t rv, std::string_view key) {
  std::string s;
  JsonWriter w(s);
  w.begin_object().kv("v", "meta.k8s.io/v1").key("rv").num(static_cast<int64_t>(rv));
  w.kv("start", std::string(key) + '\x01').end_object();
  return base64(s);
}

struct ContinueToken {
  uint64_t rv = 0;
  std::string key;
};

std::optional<ContinueToken> decode_continue(std::string_view token) {
  auto raw = unbase64(token);
  if (!raw) return std::nullopt;
  const size_t rvpos = raw->find("\"rv\":");
  const size_t startpos = raw->find("\"start\":\"");
  if (rvpos == std::string::npos || startpos == std::string::npos) return std::nullopt;
  ContinueToken t;
  t.rv = std::strtoull(raw->c_str() + rvpos + 5, nullptr, 10);
  const size_t begin = startpos + 9;
  const size_t end = raw->find('"', begin);
  if (end == std::string::npos || t.rv == 0) return std::nullopt;
  t.key = raw->substr(begin, end - begin);
  // The key was written with a trailing \u0001 (JSON-escaped): "start after this key".
  const std::string_view marker = "\\u0001";
  if (t.key.size() >= marker.size() &&
      t.key.compare(t.key.size() - marker.size(), marker.size(), marker) == 0) {
    t.key.resize(t.key.size() - marker.size());
  }
  return t;
}

bool parse_u64(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 19) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = v;
  return true;
}

// The object as a list item: built-in kinds drop kind/apiVersion, custom resources keep them.
std::string_view item_json(const ObjectVersion& v, std::string* scratch) {
  if (resource_type(v.kind).custom) return v.json;
  constexpr std::string_view kMetaKey = "\"metadata\":";
  if (v.meta_begin < kMetaKey.size()) return v.json;
  scratch->assign("{");
  scratch->append(std::string_view(v.json).substr(v.meta_begin - kMetaKey.size()));
  return *scratch;
}

enum class IncludeObject { None, Metadata, Object };

struct TableFormat {
  std::string api_version = "meta.k8s.io/v1";
  IncludeObject include = IncludeObject::Metadata;
};

void write_column_definitions(JsonWriter& w, const ResourceType& rt) {
  w.key("columnDefinitions").begin_array();
  for (const auto& c : rt.columns) {
    w.begin_object()
        .kv("name", c.name)
        .kv("type", c.type)
        .kv("format", c.format)
        .kv("description", c.description)
        .kv("priority", c.priority)
        .end_object();
  }
  w.end_array();
}

void write_row(JsonWriter& w, const ObjectVersion& v, const ResourceType& rt, SimTime now,
               const TableFormat& tf) {
  w.begin_object().key("cells").begin_array();
  size_t next = 0;
  for (const auto& c : rt.columns) {
    if (c.format == "name") {
      w.str(v.name);
      continue;
    }
    if (next >= v.cells.size()) {
      w.str("");
      continue;
    }
    const Cell& cell = v.cells[next++];
    switch (cell.type) {
      case Cell::Type::Text:
        w.str(cell.text);
        break;
      case Cell::Type::Int:
        w.num(cell.num);
        break;
      case Cell::Type::Age:
        w.str(cell.when == 0 ? "<unknown>" : format_age(now - cell.when));
        break;
      case Cell::Type::Restarts: {
        std::string s = std::to_string(cell.num);
        if (cell.when != 0) s += " (" + format_age(now - cell.when) + " ago)";
        w.str(s);
        break;
      }
    }
  }
  w.end_array();
  if (tf.include == IncludeObject::Metadata) {
    w.key("object")
        .begin_object()
        .kv("kind", "PartialObjectMetadata")
        .kv("apiVersion", "meta.k8s.io/v1")
        .key("metadata")
        .raw(v.metadata_json())
        .end_object();
  } else if (tf.include == IncludeObject::Object) {
    w.key("object").raw(v.json);
  }
  w.end_object();
}

// A parsed resource request.
struct Target {
  const ResourceType* rt = nullptr;
  std::string ns;    // from the path
  std::string name;  // one object
  std::string subresource;
};

}  // namespace

struct ApiServer::Impl {
  ObjectStore& store;
  std::function<SimTime()> now;
  ServerOptions opt;
  std::unique_ptr<httplib::Server> server;
  std::atomic<uint64_t> counter{0};
  std::atomic<bool> stopping{false};
  std::atomic<bool> faults{true};
  std::atomic<uint64_t> forbidden{0};
  std::mutex rbac_mu;  // guards opt.rbac, which set_rbac replaces while requests are served

  void refuse(httplib::Response& res, const std::string& msg, const Target* t);

  Impl(ObjectStore& s, std::function<SimTime()> n, ServerOptions o)
      : store(s), now(std::move(n)), opt(std::move(o)) {}

  void handle(const httplib::Request& req, httplib::Response& res, std::atomic<uint64_t>& total);
  bool authenticate(const httplib::Request& req, httplib::Response& res, bool public_path,
                    std::string_view verb, const Target* t);
  void serve_resource(const httplib::Request& req, httplib::Response& res, const Target& t);
  void serve_list(const httplib::Request& req, httplib::Response& res, const Target& t,
                  const LabelSelector& ls, const FieldSelector& fs, const TableFormat* table);
  void serve_watch(const httplib::Request& req, httplib::Response& res, const Target& t,
                   LabelSelector ls, FieldSelector fs, std::optional<TableFormat> table);
};

namespace {

std::optional<TableFormat> table_format(const httplib::Request& req) {
  const std::string accept = req.get_header_value("Accept");
  if (accept.find("as=Table") == std::string::npos) return std::nullopt;
  TableFormat tf;
  if (accept.find("v=v1;") == std::string::npos && accept.find("v=v1,") == std::string::npos &&
      accept.find("v=v1beta1") != std::string::npos) {
    tf.api_version = "meta.k8s.io/v1beta1";
  }
  const std::string inc = req.get_param_value("includeObject");
  if (inc == "None") tf.include = IncludeObject::None;
  if (inc == "Object") tf.include = IncludeObject::Object;
  return tf;
}

bool wants_aggregated(const httplib::Request& req) {
  return req.get_header_value("Accept").find("as=APIGroupDiscoveryList") != std::string::npos;
}

bool accepts_json(const httplib::Request& req) {
  if (!req.has_header("Accept")) return true;
  const std::string a = req.get_header_value("Accept");
  return a.empty() || a.find("json") != std::string::npos || a.find("*/*") != std::string::npos;
}

}  // namespace

void ApiServer::Impl::refuse(httplib::Response& res, const std::string& msg, const Target* t) {
  forbidden.fetch_add(1);
  std::fprintf(stderr, "kubesim: 403 %s\n", msg.c_str());
  res.status = 403;
  res.set_content(
      status_json(403, "Forbidden", msg, t && !t->name.empty() ? t->name : "",
                  t && t->rt ? t->rt->group : "", t && t->rt ? t->rt->resource : "", t && t->rt),
      std::string(kJson));
}

bool ApiServer::Impl::authenticate(const httplib::Request& req, httplib::Response& res,
                                   bool public_path, std::string_view verb, const Target* t) {
  if (opt.token.empty() && opt.forbidden_token.empty() && opt.user_tokens.empty()) return true;
  const std::string auth = req.get_header_value("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  std::string token;
  if (auth.starts_with(kBearer)) token = auth.substr(kBearer.size());
  if (token.empty()) {
    if (public_path) return true;  // system:anonymous may read /version, as on a real server
    send_status(res, 401, "Unauthorized", "Unauthorized");
    return false;
  }
  if (!opt.token.empty() && token == opt.token) return true;
  if (!opt.forbidden_token.empty() && token == opt.forbidden_token) {
    if (public_path) return true;
    std::string msg;
    if (t != nullptr && t->rt != nullptr) {
      msg = qualified(*t->rt) + " is forbidden: User \"kubesim-viewer\" cannot " +
            std::string(verb) + " resource \"" + std::string(t->rt->resource) +
            "\" in API group \"" + std::string(t->rt->group) + "\"";
      msg += t->ns.empty() ? " at the cluster scope" : " in the namespace \"" + t->ns + "\"";
    } else {
      msg = "forbidden: User \"kubesim-viewer\" cannot get path \"" + req.path + "\"";
    }
    refuse(res, msg, t);
    return false;
  }
  if (auto u = opt.user_tokens.find(token); u != opt.user_tokens.end()) {
    // Discovery, /version and unknown paths are open to every authenticated user (Kubernetes'
    // system:discovery and system:public-info-viewer roles); resources go through RBAC.
    std::shared_ptr<const Rbac> rbac;
    {
      std::lock_guard lock(rbac_mu);
      rbac = opt.rbac;
    }
    if (!rbac || public_path || t == nullptr || t->rt == nullptr) return true;
    AccessRequest ar;
    ar.user = u->second;
    constexpr std::string_view kSa = "system:serviceaccount:";
    if (ar.user.starts_with(kSa)) {
      const std::string rest = ar.user.substr(kSa.size());
      ar.groups = Rbac::service_account_groups(rest.substr(0, rest.find(':')));
    } else {
      ar.groups = {"system:authenticated"};
    }
    ar.verb = std::string(verb);
    ar.api_group = std::string(t->rt->group);
    ar.resource = std::string(t->rt->resource);
    if (!t->subresource.empty()) ar.resource += "/" + t->subresource;
    ar.name = t->name;
    ar.namespace_ = t->ns;
    if (rbac->allowed(ar)) return true;
    refuse(res, Rbac::forbidden_message(ar), t);
    return false;
  }
  send_status(res, 401, "Unauthorized", "Unauthorized");
  return false;
}

void ApiServer::Impl::handle(const httplib::Request& req, httplib::Response& res,
                             std::atomic<uint64_t>& total) {
  total.fetch_add(1);
  const std::string& path = req.path;
  const bool is_version = path == "/version" || path == "/version/";

  // Parse the path first: 403 messages name the resource.
  Target t;
  bool resource_path = false;
  std::vector<std::string_view> segs = split(path, '/');
  if (!segs.empty() && segs.front().empty()) segs.erase(segs.begin());
  if (!segs.empty() && segs.back().empty()) segs.pop_back();
  std::string_view group, version;
  size_t rest = 0;
  if (segs.size() >= 2 && segs[0] == "api") {
    version = segs[1];
    rest = 2;
  } else if (segs.size() >= 3 && segs[0] == "apis") {
    group = segs[1];
    version = segs[2];
    rest = 3;
  }
  bool bad_path = false;
  if (rest > 0 && segs.size() > rest) {
    resource_path = true;
    std::vector<std::string_view> r(segs.begin() + static_cast<long>(rest), segs.end());
    std::string_view resource;
    if (r.size() >= 3 && r[0] == "namespaces") {
      t.ns = std::string(r[1]);
      resource = r[2];
      if (r.size() >= 4) t.name = std::string(r[3]);
      if (r.size() >= 5) t.subresource = std::string(r[4]);
      if (r.size() >= 6) bad_path = true;
    } else {
      resource = r[0];
      if (r.size() >= 2) t.name = std::string(r[1]);
      if (r.size() >= 3) t.subresource = std::string(r[2]);
      if (r.size() >= 4) bad_path = true;
    }
    t.rt = find_resource(group, version, resource);
  }

  std::string_view verb = "get";
  if (resource_path && t.name.empty()) {
    const std::string w = req.get_param_value("watch");
    verb = (w == "1" || w == "true") ? "watch" : "list";
  }
  if (opt.log_requests) {
    std::string q;
    for (const auto& [k, v] : req.params) q += (q.empty() ? "?" : "&") + k + "=" + v;
    std::fprintf(stderr, "kubesim: %s %s%s [%s]\n", req.method.c_str(), path.c_str(), q.c_str(),
                 req.get_header_value("Accept").c_str());
  }
  if (path == "/debug/kubesim/counters") {  // for tests: how many 403s were served
    res.set_content("{\"requests\":" + std::to_string(total.load()) +
                        ",\"forbidden\":" + std::to_string(forbidden.load()) + "}",
                    std::string(kJson));
    return;
  }
  if (!authenticate(req, res, is_version, verb, resource_path ? &t : nullptr)) return;

  if (!is_version && faults.load()) {
    const uint64_t n = counter.fetch_add(1) + 1;
    if (opt.throttle_every > 0 && n % static_cast<uint64_t>(opt.throttle_every) == 0) {
      res.status = 429;
      res.set_header("Retry-After", "1");
      res.set_content("Too many requests, please try again later.\n", "text/plain");
      return;
    }
    if (opt.error_every > 0 && n % static_cast<uint64_t>(opt.error_every) == 0) {
      send_status(res, 500, "InternalError",
                  "Internal error occurred: kubesim injected a server error");
      return;
    }
  }
  if (!accepts_json(req)) {
    send_status(res, 406, "NotAcceptable",
                "only the following media types are accepted: application/json");
    return;
  }

  if (is_version) {
    res.set_content(render_version(opt.minor), std::string(kJson));
    return;
  }
  if (path == "/healthz" || path == "/livez" || path == "/readyz") {
    res.set_content("ok", "text/plain");
    return;
  }
  if (segs.size() == 1 && (segs[0] == "api" || segs[0] == "apis")) {
    const bool core = segs[0] == "api";
    if (!opt.legacy_discovery && wants_aggregated(req)) {
      res.set_content(render_aggregated(core), std::string(kAggregatedType));
    } else {
      res.set_content(core ? render_core_versions() : render_group_list(), std::string(kJson));
    }
    return;
  }
  if (rest > 0 && segs.size() == rest) {
    bool served = group.empty() && version == "v1";
    for (auto [g, v] : served_group_versions()) served = served || (g == group && v == version);
    if (served) {
      res.set_content(render_resource_list(group, version), std::string(kJson));
      return;
    }
  }
  if (resource_path && !bad_path && t.rt != nullptr) {
    serve_resource(req, res, t);
    return;
  }
  // Namespace objects: /api/v1/namespaces/NAME was parsed as a namespaced path without a type.
  if (resource_path && group.empty() && segs.size() == 4 && segs[2] == "namespaces") {
    Target nt;
    nt.rt = &resource_type(Kind::Namespace);
    nt.name = std::string(segs[3]);
    serve_resource(req, res, nt);
    return;
  }
  res.status = 404;
  res.set_content(status_json(404, "NotFound", "the server could not find the requested resource",
                              "", "", "", true),
                  std::string(kJson));
}

void ApiServer::Impl::serve_resource(const httplib::Request& req, httplib::Response& res,
                                     const Target& t) {
  const ResourceType& rt = *t.rt;
  if (!t.ns.empty() && !rt.namespaced) {
    res.status = 404;
    res.set_content(status_json(404, "NotFound", "the server could not find the requested resource",
                                "", "", "", true),
                    std::string(kJson));
    return;
  }
  const auto table = table_format(req);
  if (!t.name.empty()) {
    if (!t.subresource.empty() && t.subresource != "status") {
      res.status = 404;
      res.set_content(
          status_json(404, "NotFound", "the server could not find the requested resource", "", "",
                      "", true),
          std::string(kJson));
      return;
    }
    ObjectPtr obj = store.get(rt.kind, rt.namespaced ? t.ns : "", t.name);
    if (!obj) {
      res.status = 404;
      res.set_content(status_json(404, "NotFound", qualified(rt) + " \"" + t.name + "\" not found",
                                  t.name, rt.group, rt.resource, true),
                      std::string(kJson));
      return;
    }
    if (table) {
      std::string out;
      JsonWriter w(out);
      w.begin_object().kv("kind", "Table").kv("apiVersion", table->api_version);
      w.key("metadata").begin_object().kv("resourceVersion", std::to_string(obj->rv)).end_object();
      write_column_definitions(w, rt);
      w.key("rows").begin_array();
      write_row(w, *obj, rt, now(), *table);
      w.end_array().end_object();
      res.set_content(out, std::string(kJson));
    } else {
      res.set_content(obj->json, std::string(kJson));
    }
    return;
  }

  std::string error;
  auto ls = LabelSelector::parse(req.get_param_value("labelSelector"), &error);
  if (!ls) {
    send_status(res, 400, "BadRequest", error);
    return;
  }
  auto fs = FieldSelector::parse(req.get_param_value("fieldSelector"), rt.kind, &error);
  if (!fs) {
    send_status(res, 400, "BadRequest", error);
    return;
  }
  const std::string w = req.get_param_value("watch");
  const bool watch = w == "1" || w == "true";
  if (req.has_param("sendInitialEvents")) {
    res.status = 422;
    const std::string msg =
        watch ? "sendInitialEvents: Forbidden: sendInitialEvents is forbidden for watch unless "
                "the WatchList feature gate is enabled"
              : "sendInitialEvents is forbidden for list";
    res.set_content(status_json(422, "Invalid", msg, "", "", "", false), std::string(kJson));
    return;
  }
  if (watch) {
    serve_watch(req, res, t, std::move(*ls), std::move(*fs), table);
  } else {
    serve_list(req, res, t, *ls, *fs, table ? &*table : nullptr);
  }
}

void ApiServer::Impl::serve_list(const httplib::Request& req, httplib::Response& res,
                                 const Target& t, const LabelSelector& ls, const FieldSelector& fs,
                                 const TableFormat* table) {
  const ResourceType& rt = *t.rt;
  uint64_t limit = 0;
  if (req.has_param("limit") && !parse_u64(req.get_param_value("limit"), &limit)) {
    send_status(res, 400, "BadRequest", "limit: Invalid value: must be a non-negative integer");
    return;
  }
  std::string after_key;
  uint64_t snapshot_rv = 0;
  const std::string cont = req.get_param_value("continue");
  if (!cont.empty()) {
    auto tok = decode_continue(cont);
    if (!tok) {
      send_status(res, 400, "BadRequest",
                  "continue key is not valid: incorrect encoded start resourceVersion (version "
                  "meta.k8s.io/v1)");
      return;
    }
    if (tok->rv < store.oldest_resource_version()) {
      const std::string fresh = encode_continue(store.resource_version(), tok->key);
      res.status = 410;
      res.set_content(
          status_json(410, "Expired",
                      "The provided continue parameter is too old to display a consistent list "
                      "result. You can start a new list without the continue parameter, or use "
                      "the continue token in this response to retrieve the remainder of the "
                      "results. Continuing with the provided token results in an inconsistent "
                      "list - objects that were created, modified, or deleted between the time "
                      "the first chunk was returned and now may show up in the list.",
                      "", "", "", false, fresh),
          std::string(kJson));
      return;
    }
    after_key = tok->key;
    snapshot_rv = tok->rv;
  }
  std::string ns = rt.namespaced ? t.ns : "";
  if (ns.empty() && rt.namespaced) ns = fs.pinned_namespace();
  auto filter = [&](const ObjectVersion& v) {
    return (ls.empty() || ls.matches(v.labels)) && (fs.empty() || fs.matches(v));
  };
  ObjectStore::Page page = store.list(rt.kind, ns, filter, after_key, static_cast<size_t>(limit));
  if (snapshot_rv == 0) snapshot_rv = page.rv;

  std::string out;
  out.reserve(page.items.size() * 3000 + 256);
  JsonWriter w(out);
  w.begin_object();
  if (table != nullptr) {
    w.kv("kind", "Table").kv("apiVersion", table->api_version);
  } else {
    w.kv("kind", rt.list_kind()).kv("apiVersion", rt.api_version());
  }
  w.key("metadata").begin_object().kv("resourceVersion", std::to_string(snapshot_rv));
  if (!page.last_key.empty()) {
    w.kv("continue", encode_continue(snapshot_rv, page.last_key));
    w.key("remainingItemCount").num(static_cast<int64_t>(page.remaining));
  }
  w.end_object();
  if (table != nullptr) {
    write_column_definitions(w, rt);
    w.key("rows").begin_array();
    const SimTime n = now();
    for (const auto& obj : page.items) write_row(w, *obj, rt, n, *table);
    w.end_array();
  } else {
    w.key("items").begin_array();
    std::string scratch;
    for (const auto& obj : page.items) w.raw(item_json(*obj, &scratch));
    w.end_array();
  }
  w.end_object();
  res.set_content(std::move(out), std::string(kJson));
}

namespace {

struct WatchState {
  Kind kind;
  std::string ns;
  LabelSelector ls;
  FieldSelector fs;
  std::optional<TableFormat> table;
  bool bookmarks = false;
  uint64_t start_rv = 0;
  bool initial = false;  // synthetic ADDED for the current state first
  Clock::time_point deadline;
};

}  // namespace

void ApiServer::Impl::serve_watch(const httplib::Request& req, httplib::Response& res,
                                  const Target& t, LabelSelector ls, FieldSelector fs,
                                  std::optional<TableFormat> table) {
  const ResourceType& rt = *t.rt;
  auto st = std::make_shared<WatchState>();
  st->kind = rt.kind;
  st->ns = rt.namespaced ? t.ns : "";
  if (st->ns.empty() && rt.namespaced) st->ns = fs.pinned_namespace();
  st->ls = std::move(ls);
  st->fs = std::move(fs);
  st->table = std::move(table);
  const std::string bm = req.get_param_value("allowWatchBookmarks");
  st->bookmarks = bm == "true" || bm == "1";
  const std::string rv = req.get_param_value("resourceVersion");
  if (rv.empty() || rv == "0") {
    st->initial = true;
  } else if (!parse_u64(rv, &st->start_rv)) {
    send_status(res, 400, "BadRequest",
                "resourceVersion: Invalid value: \"" + rv + "\": must be an integer");
    return;
  }
  std::chrono::milliseconds timeout = opt.watch_timeout;
  if (req.has_param("timeoutSeconds")) {
    uint64_t secs = 0;
    if (!parse_u64(req.get_param_value("timeoutSeconds"), &secs)) {
      send_status(res, 400, "BadRequest", "timeoutSeconds: Invalid value: must be an integer");
      return;
    }
    if (secs > 0) timeout = std::chrono::seconds(secs);
  }
  const auto started = Clock::now();
  st->deadline = started + timeout;
  if (!st->initial && st->start_rv > store.resource_version()) {
    // A resourceVersion from the future (a client of a cluster restored from an older etcd, or
    // of another cluster behind the same address): the API server waits about 3 s for its
    // cache to reach it, then fails the watch with 504, cause ResourceVersionTooLarge.
    const auto give_up = started + std::chrono::seconds(3);
    while (store.resource_version() < st->start_rv && Clock::now() < give_up && !stopping.load() &&
           !store.is_shut_down()) {
      store.wait_for(store.resource_version(), std::chrono::milliseconds(200));
    }
    if (st->start_rv > store.resource_version()) {
      std::string body;
      JsonWriter w(body);
      w.begin_object().kv("kind", "Status").kv("apiVersion", "v1");
      w.key("metadata").begin_object().end_object();
      w.kv("status", "Failure")
          .kv("message", "Too large resource version: " + std::to_string(st->start_rv) +
                             ", current: " + std::to_string(store.resource_version()))
          .kv("reason", "Timeout");
      w.key("details").begin_object().key("causes").begin_array().begin_object();
      w.kv("reason", "ResourceVersionTooLarge").kv("message", "Too large resource version");
      w.end_object().end_array().kv("retryAfterSeconds", 1).end_object();
      w.kv("code", 504).end_object();
      res.status = 504;
      res.set_content(body, std::string(kJson));
      return;
    }
  }

  res.status = 200;
  res.set_chunked_content_provider(
      std::string(kJsonStream), [this, st, started](size_t, httplib::DataSink& sink) -> bool {
        const ResourceType& rt = resource_type(st->kind);
        bool first_table = true;
        std::string frame;
        auto matches = [&](const ObjectVersion& v) {
          if (v.kind != st->kind) return false;
          if (!st->ns.empty() && v.ns != st->ns) return false;
          if (!st->ls.empty() && !st->ls.matches(v.labels)) return false;
          if (!st->fs.empty() && !st->fs.matches(v)) return false;
          return true;
        };
        auto write_object_frame = [&](std::string_view type, const ObjectVersion& v) {
          frame.clear();
          JsonWriter w(frame);
          w.begin_object().kv("type", type).key("object");
          if (st->table) {
            w.begin_object().kv("kind", "Table").kv("apiVersion", st->table->api_version);
            w.key("metadata").begin_object().kv("resourceVersion", std::to_string(v.rv));
            w.end_object();
            if (first_table) write_column_definitions(w, rt);
            first_table = false;
            w.key("rows").begin_array();
            write_row(w, v, rt, now(), *st->table);
            w.end_array().end_object();
          } else {
            w.raw(v.json);
          }
          w.end_object();
          frame += '\n';
          return sink.write(frame.data(), frame.size());
        };
        auto write_bookmark = [&](uint64_t rv) {
          frame.clear();
          JsonWriter w(frame);
          w.begin_object().kv("type", "BOOKMARK").key("object").begin_object();
          w.kv("kind", rt.kind_name).kv("apiVersion", rt.api_version());
          w.key("metadata").begin_object().kv("resourceVersion", std::to_string(rv));
          w.end_object().end_object().end_object();
          frame += '\n';
          return sink.write(frame.data(), frame.size());
        };
        auto write_expired = [&](uint64_t rv) {
          frame = "{\"type\":\"ERROR\",\"object\":";
          frame += status_json(410, "Expired",
                               "too old resource version: " + std::to_string(rv) + " (" +
                                   std::to_string(store.oldest_resource_version() + 1) + ")");
          frame += "}\n";
          sink.write(frame.data(), frame.size());
          sink.done();
          return true;
        };

        uint64_t pos = st->start_rv;
        if (st->initial) {
          ObjectStore::Page page = store.list(st->kind, st->ns, matches, "", 0);
          for (const auto& obj : page.items) {
            if (!write_object_frame("ADDED", *obj)) return false;
          }
          pos = page.rv;
        }
        auto next_bookmark = Clock::now() + opt.bookmark_interval;
        const bool deadline_bookmark = st->deadline - started > std::chrono::seconds(4);
        bool sent_deadline_bookmark = false;
        std::vector<WatchEvent> events;
        while (true) {
          const auto now_real = Clock::now();
          if (stopping.load() || store.is_shut_down()) break;
          if (now_real >= st->deadline) break;
          const bool faulty = faults.load();
          if (faulty && opt.drop_watches_every.count() > 0 &&
              now_real - started >= opt.drop_watches_every) {
            return false;  // cut the connection without the terminating chunk
          }
          if (faulty && opt.stall_watches_after.count() > 0 &&
              now_real - started >= opt.stall_watches_after) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            continue;  // headers and maybe frames were sent; now silence until the deadline
          }
          events.clear();
          if (store.events_after(pos, 512, &events) == ObjectStore::Read::Expired) {
            return write_expired(pos);
          }
          for (const auto& e : events) {
            pos = e.rv;
            if (!matches(*e.object)) continue;
            if (!write_object_frame(event_type_name(e.type), *e.object)) return false;
          }
          if (!events.empty()) continue;
          if (st->bookmarks) {
            bool due = now_real >= next_bookmark;
            if (deadline_bookmark && !sent_deadline_bookmark &&
                now_real >= st->deadline - std::chrono::seconds(2)) {
              due = true;
              sent_deadline_bookmark = true;
            }
            if (due) {
              if (!write_bookmark(pos)) return false;
              next_bookmark = now_real + opt.bookmark_interval;
            }
          }
          if (!sink.is_writable()) return false;
          auto wait = std::chrono::milliseconds(200);
          auto until = std::min(st->deadline, next_bookmark);
          if (until > now_real) {
            wait = std::min(wait, std::chrono::duration_cast<std::chrono::milliseconds>(
                                      until - now_real + std::chrono::milliseconds(1)));
          }
          store.wait_for(pos, wait);
        }
        sink.done();
        return true;
      });
}

ApiServer::ApiServer(ObjectStore& store, std::function<SimTime()> now, ServerOptions options)
    : impl_(std::make_unique<Impl>(store, std::move(now), std::move(options))) {}

ApiServer::~ApiServer() { stop(); }

bool ApiServer::bind(std::string* error) {
  Impl& im = *impl_;
  if (im.opt.tls) {
    im.server = std::make_unique<httplib::SSLServer>(
        im.opt.cert_file.c_str(), im.opt.key_file.c_str(),
        im.opt.client_ca_file.empty() ? nullptr : im.opt.client_ca_file.c_str());
  } else {
    im.server = std::make_unique<httplib::Server>();
  }
  if (!im.server->is_valid()) {
    *error = "cannot set up the TLS server (certificate " + im.opt.cert_file + ", key " +
             im.opt.key_file + ")";
    return false;
  }
  auto& svr = *im.server;
  // Watches hold a worker each: give the pool room for many.
  svr.new_task_queue = [] { return new httplib::ThreadPool(96); };
  svr.set_keep_alive_timeout(1);
  svr.set_read_timeout(5);
  svr.set_tcp_nodelay(true);
  svr.Get(".*", [this](const httplib::Request& req, httplib::Response& res) {
    impl_->handle(req, res, requests_);
  });
  svr.set_post_routing_handler(
      [offset = im.opt.clock_offset](const httplib::Request&, httplib::Response& res) {
        const std::time_t t = std::chrono::system_clock::to_time_t(
            std::chrono::system_clock::now() +
            std::chrono::duration_cast<std::chrono::system_clock::duration>(offset));
        std::tm tm{};
        gmtime_r(&t, &tm);
        char date[64];
        std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        res.set_header("Date", date);
      });
  auto other = [this](const httplib::Request& req, httplib::Response& res) {
    requests_.fetch_add(1);
    res.status = 405;
    res.set_content(status_json(405, "MethodNotAllowed",
                                "kubesim serves reads only: " + req.method + " is not supported"),
                    std::string(kJson));
  };
  svr.Post(".*", other);
  svr.Put(".*", other);
  svr.Patch(".*", other);
  svr.Delete(".*", other);
  if (im.opt.port == 0) {
    port_ = svr.bind_to_any_port(im.opt.bind);
  } else {
    port_ = svr.bind_to_port(im.opt.bind, im.opt.port) ? im.opt.port : -1;
  }
  if (port_ <= 0) {
    *error = "cannot listen on " + im.opt.bind + ":" + std::to_string(im.opt.port) +
             " (address in use or not available)";
    port_ = 0;
    return false;
  }
  return true;
}

std::string ApiServer::url() const {
  std::string host = impl_->opt.bind;
  if (host == "0.0.0.0" || host.empty()) host = "127.0.0.1";
  if (host == "::") host = "::1";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return std::string(impl_->opt.tls ? "https" : "http") + "://" + host + ":" +
         std::to_string(port_);
}

void ApiServer::run() {
  if (impl_->server) impl_->server->listen_after_bind();
}

void ApiServer::set_faults_enabled(bool enabled) { impl_->faults.store(enabled); }

void ApiServer::set_rbac(std::shared_ptr<const Rbac> rbac) {
  std::lock_guard lock(impl_->rbac_mu);
  impl_->opt.rbac = std::move(rbac);
}

uint64_t ApiServer::forbidden_responses() const { return impl_->forbidden.load(); }

void ApiServer::stop() {
  if (!impl_ || !impl_->server) return;
  impl_->stopping.store(true);
  impl_->server->stop();
}

std::string render_kubeconfig(const std::string& server_url, const std::string& ca_pem,
                              const std::string& token, const std::string& client_cert_pem,
                              const std::string& client_key_pem) {
  std::string y;
  y += "apiVersion: v1\nkind: Config\nclusters:\n- name: kubesim\n  cluster:\n";
  y += "    server: " + server_url + "\n";
  if (!ca_pem.empty()) y += "    certificate-authority-data: " + base64(ca_pem) + "\n";
  y += "contexts:\n- name: kubesim\n  context:\n    cluster: kubesim\n    user: kubesim\n";
  y += "current-context: kubesim\npreferences: {}\nusers:\n- name: kubesim\n  user:";
  std::string user;
  if (!token.empty()) user += "\n    token: " + token;
  if (!client_cert_pem.empty()) {
    user += "\n    client-certificate-data: " + base64(client_cert_pem);
    user += "\n    client-key-data: " + base64(client_key_pem);
  }
  y += user.empty() ? " {}\n" : user + "\n";
  return y;
}

}  // namespace kubesim
