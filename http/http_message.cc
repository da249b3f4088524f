#include "http/http_message.h"

#include "http/json_writer.h"

namespace sloop::http {

std::optional<std::string_view> Request::Param(std::string_view name) const {
  for (const auto& [k, v] : query) {
    if (k == name) return std::string_view(v);
  }
  return std::nullopt;
}

std::string_view Request::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return {};
}

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Why a decoded value is unacceptable, or nullptr.
const char* CheckValue(std::string_view v) {
  if (v.size() > kMaxParamBytes) return "longer than 1024 bytes";
  for (unsigned char c : v) {
    if (c < 0x20 || c == 0x7f) return "contains a control character (such as %00)";
  }
  if (!IsValidUtf8(v)) return "is not valid UTF-8";
  return nullptr;
}

}  // namespace

bool PercentDecode(std::string_view in, bool plus_is_space, std::string* out) {
  out->clear();
  out->reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      int hi = HexValue(in[i + 1]), lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out->push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out->push_back(' ');
    } else {
      out->push_back(c);
    }
  }
  return true;
}

bool StripBasePath(std::string* path, std::string_view prefix) {
  if (prefix.empty() || !std::string_view(*path).starts_with(prefix)) return false;
  if (path->size() == prefix.size()) {
    *path = "/";
    return true;
  }
  if ((*path)[prefix.size()] != '/') return false;  // "/sloopy" is not under "/sloop"
  path->erase(0, prefix.size());
  return true;
}

std::string ForwardedPrefix(const Request& req) {
  std::string_view p = req.Header("x-forwarded-prefix");
  while (p.size() > 1 && p.back() == '/') p.remove_suffix(1);
  if (p.empty() || p == "/" || p.size() > 256 || p.front() != '/') return "";
  char prev = 0;
  for (char c : p) {
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '.' || c == '_' || c == '~' || c == '/';
    if (!plain || (c == '/' && prev == '/')) return "";
    prev = c;
  }
  return std::string(p);
}

std::string ExternalPrefix(const Request& req, std::string_view base_path) {
  std::string forwarded = ForwardedPrefix(req);
  return forwarded.empty() ? std::string(base_path) : forwarded;
}

bool ParseTarget(Request* req, std::string* why) {
  std::string_view target = req->target;
  size_t q = target.find('?');
  std::string_view raw_path = target.substr(0, q);
  req->query_string = q == std::string_view::npos ? "" : std::string(target.substr(q + 1));
  if (raw_path.empty() || raw_path.front() != '/') {
    *why = "the request target must be an absolute path";
    return false;
  }
  if (!PercentDecode(raw_path, false, &req->path)) {
    *why = "the path has a bad percent-escape";
    return false;
  }
  for (unsigned char c : req->path) {
    if (c < 0x20 || c == 0x7f) {
      *why = "the path contains a control character";
      return false;
    }
  }
  if (!IsValidUtf8(req->path)) {
    *why = "the path is not valid UTF-8";
    return false;
  }

  req->query.clear();
  req->bad_parameter.reset();
  std::string_view rest = req->query_string;
  std::string name, value;
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string_view raw_name = pair.substr(0, eq);
    std::string_view raw_value = eq == std::string_view::npos ? "" : pair.substr(eq + 1);
    if (!PercentDecode(raw_name, true, &name) || CheckValue(name) != nullptr) {
      // A name we cannot even decode: report it in its raw (bounded, printable) form.
      std::string shown;
      for (char c : raw_name.substr(0, 64)) {
        shown.push_back((c >= 0x20 && c < 0x7f) ? c : '?');
      }
      if (!req->bad_parameter)
        req->bad_parameter.emplace(shown, "the parameter name does not decode");
      continue;
    }
    if (!PercentDecode(raw_value, true, &value)) {
      if (!req->bad_parameter) req->bad_parameter.emplace(name, "has a bad percent-escape");
      continue;
    }
    if (const char* bad = CheckValue(value)) {
      if (!req->bad_parameter) req->bad_parameter.emplace(name, bad);
      continue;
    }
    req->query.emplace_back(name, value);
  }
  return true;
}

}  // namespace sloop::http
