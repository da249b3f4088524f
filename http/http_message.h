// The request and response a handler sees: plain structs, so that handlers and their tests never
// include Boost.Beast (which only http_server.cc compiles).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sloop::http {

struct Request {
  std::string method;  // "GET", "HEAD", ...
  std::string target;  // as received: path and query string, still percent-encoded
  std::string path;    // percent-decoded path, without the query string
  std::string query_string;
  // Query parameters, percent-decoded, in order. Filled by ParseTarget(); a parameter that does
  // not decode (bad escape, NUL, control character, invalid UTF-8, overlong) is kept out of this
  // list and recorded in bad_parameter so that handlers answer 400 naming it.
  std::vector<std::pair<std::string, std::string>> query;
  std::optional<std::pair<std::string, std::string>> bad_parameter;  // {name, why}
  std::vector<std::pair<std::string, std::string>> headers;          // names lower-cased
  std::string body;
  std::string remote;  // peer address, for logs
  std::string user;    // the authenticated user ("" when authentication is off), for logs

  // Set by the server for requests run on the query workers: the time by which the answer must
  // be sent, and a flag raised once it has passed (the client has then already been answered
  // 503, and whatever the handler returns is dropped). Long handlers may check Cancelled() and
  // give up early. Requests answered on the I/O threads have no deadline.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  std::shared_ptr<const std::atomic<bool>> cancel;
  bool Cancelled() const {
    return (cancel && cancel->load(std::memory_order_relaxed)) ||
           (deadline != std::chrono::steady_clock::time_point::max() &&
            std::chrono::steady_clock::now() >= deadline);
  }

  // Set when authorization limits what this user may read: whether objects of a namespace
  // ("" = cluster-scoped objects) may be shown. Null means everything may be. Handlers that list
  // namespaced records leave out those it refuses.
  std::function<bool(std::string_view namespace_)> may_read_namespace;
  bool MayRead(std::string_view namespace_) const {
    return !may_read_namespace || may_read_namespace(namespace_);
  }

  // The first value of a query parameter.
  std::optional<std::string_view> Param(std::string_view name) const;
  // A header value ("" when absent); name must be lower-case.
  std::string_view Header(std::string_view name) const;
};

// A body produced piece by piece (backups). Next() appends the next piece to *out and returns
// true while more may follow, false at the end (after appending the last piece, possibly none).
// An error (the client sees a truncated body: the connection is closed) is reported as a string.
// Next() runs on an I/O thread, so it must not wait: a stream whose pieces come from elsewhere
// (a thread reading files) says through Ready() whether Next() would have to, and the server
// looks again shortly instead of calling it.
class BodyStream {
 public:
  virtual ~BodyStream() = default;
  virtual bool Next(std::string* out, std::string* error) = 0;
  virtual bool Ready() { return true; }
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
  std::unique_ptr<BodyStream> stream;                        // when set, body is ignored
  std::optional<uint64_t> stream_length;  // Content-Length of the stream when known, else chunked
  bool compressible = true;               // may be gzip/zstd-encoded when the client asks
  // The body is already encoded thus (a query's answer, compressed on the query worker so that
  // the I/O threads, which answer the probes, never spend a second on gzip); empty: as is.
  std::string_view content_encoding;

  void SetHeader(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
  }
};

// Splits req->target into path, query_string and decoded query parameters. Returns false (with
// *why) when the path itself does not decode; parameter errors go to req->bad_parameter.
bool ParseTarget(Request* req, std::string* why);

// Behind a proxy on a sub-path. Removes prefix ("/sloop") from the front of *path when the proxy
// kept it ("/sloop" → "/", "/sloop/x" → "/x"); returns false and leaves *path alone otherwise (a
// proxy that strips the prefix, or a direct request). An empty prefix removes nothing.
bool StripBasePath(std::string* path, std::string_view prefix);

// The X-Forwarded-Prefix header when it is a plain absolute URL path (letters, digits, '-', '.',
// '_', '~' and single '/', at most 256 bytes), without its trailing '/'; "" when absent or not
// plain (a value such as "//elsewhere" must never reach a Location header).
std::string ForwardedPrefix(const Request& req);

// The prefix under which the client reached the server, for redirects: ForwardedPrefix(req), else
// base_path (-base-path, already normalised), else "".
std::string ExternalPrefix(const Request& req, std::string_view base_path);

// Percent-decoding ("+" means space only in query strings). False on a bad escape.
bool PercentDecode(std::string_view in, bool plus_is_space, std::string* out);

// Limits applied to every decoded parameter value.
inline constexpr size_t kMaxParamBytes = 1024;

}  // namespace sloop::http
