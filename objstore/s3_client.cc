#include "objstore/s3_client.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <random>
#include <thread>
#include <utility>

#include "objstore/s3_xml.h"

namespace sloop::objstore {

// What one request is: the method, the object (or the bucket, or the service), the query, the
// extra headers and the body (bytes in memory, or a region of a file read with pread).
struct S3Client::Request {
  std::string method = "GET";
  enum class Target { kObject, kBucket, kService } target = Target::kObject;
  std::string key;
  std::vector<std::pair<std::string, std::string>> query;  // unencoded; sorted when sent
  std::vector<std::string> headers;                        // "Name: value"
  std::string_view body;
  int fd = -1;  // when >= 0 the body is [offset, offset + length) of this file
  uint64_t offset = 0, length = 0;
  std::string what;  // "PUT key": for messages
  // Error statuses that are answers here, returned as a Response (404 to a DELETE, ...).
  std::vector<long> answers;
  int retries = -1;  // -1: S3Options::retries (0 for a request that is not idempotent)
  std::chrono::milliseconds timeout{0};  // 0: S3Options::request_timeout
  // A ranged GET: [range_first, range_end) of the object; a server that ignores the range and
  // answers 200 with the whole object is read only that far, keeping only that part.
  bool ranged = false;
  uint64_t range_first = 0, range_end = UINT64_MAX;
};

struct S3Client::Response {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names in lower case; the last response's only

  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

namespace {

constexpr auto kBackoffInitial = std::chrono::milliseconds(200);
constexpr auto kBackoffMax = std::chrono::seconds(5);
constexpr uint64_t kMaxParts = 10000;  // S3's limit on parts in one upload
constexpr uint64_t kMaxSinglePut = 5ULL << 30;  // S3 refuses a single PUT above 5 GiB
// The most an answer other than an object's bytes may hold (errors, listings, upload ids): a
// broken or hostile server cannot make the recorder hold more.
constexpr uint64_t kMaxAnswerBytes = 16ULL << 20;
constexpr size_t kPoolMax = 8;

bool Unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// SigV4's URI encoding: every byte but the unreserved ones as %XX (upper-case hex); '/' kept when
// keep_slash (a key's path segments), else encoded (a query value).
std::string UriEncode(std::string_view s, bool keep_slash) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (Unreserved(c) || (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string Hex(const unsigned char* p, size_t n) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    out += hex[p[i] >> 4];
    out += hex[p[i] & 15];
  }
  return out;
}

class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr); }
  ~Sha256() { EVP_MD_CTX_free(ctx_); }
  void Update(const void* p, size_t n) { EVP_DigestUpdate(ctx_, p, n); }
  std::string HexDigest() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(ctx_, md, &n);
    return Hex(md, n);
  }
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

 private:
  EVP_MD_CTX* ctx_;
};

// The SHA-256 of [offset, offset + length) of fd, read with pread (a second read of what is
// about to be sent, from the page cache: the price of a signed payload, see the doc).
Result<std::string> HashFileRange(int fd, uint64_t offset, uint64_t length,
                                  const std::string& path) {
  Sha256 h;
  std::vector<char> buf(1 << 20);
  while (length > 0) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(length, buf.size()));
    const ssize_t n = ::pread(fd, buf.data(), want, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return IOError("read", path, errno);
    }
    if (n == 0) {
      return MakeError(ErrorCode::kIOError, "read " + path + ": the file ended " +
                                                std::to_string(length) + " bytes early");
    }
    h.Update(buf.data(), static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
    length -= static_cast<uint64_t>(n);
  }
  return h.HexDigest();
}

std::string HashBytes(std::string_view b) {
  Sha256 h;
  h.Update(b.data(), b.size());
  return h.HexDigest();
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Unquote(std::string s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') return s.substr(1, s.size() - 2);
  return s;
}

// ---- curl callbacks

struct Transfer {
  const S3Client::Request* req;
  S3Client::Response* resp;
  const std::atomic<bool>* cancelled = nullptr;
  uint64_t sent = 0;  // of the body
  int read_errno = 0;
  bool read_short = false;
  long status = 0;          // of the last status line
  uint64_t received = 0;    // body bytes of this answer
  bool range_done = false;  // a 200 to a ranged GET was read as far as the range
  bool too_big = false;     // an answer beyond kMaxAnswerBytes
};

size_t OnWrite(char* p, size_t size, size_t n, void* ud) {
  auto* t = static_cast<Transfer*>(ud);
  const size_t len = size * n;
  const S3Client::Request& r = *t->req;
  const uint64_t at = t->received;
  t->received += len;
  if (r.ranged && t->status == 200) {
    // The whole object although a range was asked: keep the range's bytes, stop after them.
    const uint64_t from = std::max(at, r.range_first), to = std::min(t->received, r.range_end);
    if (from < to) t->resp->body.append(p + (from - at), to - from);
    if (t->received >= r.range_end) {
      t->range_done = true;
      return 0;  // ends the transfer (CURLE_WRITE_ERROR), taken as success
    }
    return len;
  }
  const bool object_bytes = r.method == "GET" && t->status >= 200 && t->status < 300 &&
                            r.target == S3Client::Request::Target::kObject;
  if (!object_bytes && t->received > kMaxAnswerBytes) {
    t->too_big = true;
    return 0;
  }
  t->resp->body.append(p, len);
  return len;
}

int OnProgress(void* ud, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(ud);
  return t->cancelled->load() ? 1 : 0;  // non-zero aborts (CURLE_ABORTED_BY_CALLBACK)
}

// curl failures that no retry mends: the configuration is wrong (TLS trust, the URL).
bool ConfigurationFailure(CURLcode rc) {
  switch (rc) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return true;
    default:
      return false;
  }
}

size_t OnHeader(char* p, size_t size, size_t n, void* ud) {
  auto* t = static_cast<Transfer*>(ud);
  std::string_view line(p, size * n);
  // A new status line (after a 100 Continue, say): only the last response's headers count.
  if (line.starts_with("HTTP/")) {
    t->resp->headers.clear();
    t->received = 0;
    t->resp->body.clear();
    const size_t sp = line.find(' ');
    t->status = sp == std::string_view::npos ? 0 : std::atol(std::string(line.substr(sp + 1, 3)).c_str());
    return size * n;
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return size * n;
  std::string_view v = line.substr(colon + 1);
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' '))
    v.remove_suffix(1);
  t->resp->headers[Lower(std::string(line.substr(0, colon)))] = std::string(v);
  return size * n;
}

size_t OnRead(char* buf, size_t size, size_t n, void* ud) {
  auto* t = static_cast<Transfer*>(ud);
  const S3Client::Request& r = *t->req;
  const uint64_t total = r.fd >= 0 ? r.length : r.body.size();
  const size_t want = static_cast<size_t>(std::min<uint64_t>(size * n, total - t->sent));
  if (want == 0) return 0;
  if (r.fd < 0) {
    std::memcpy(buf, r.body.data() + t->sent, want);
    t->sent += want;
    return want;
  }
  for (;;) {
    const ssize_t got = ::pread(r.fd, buf, want, static_cast<off_t>(r.offset + t->sent));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      t->read_errno = errno;
      return CURL_READFUNC_ABORT;
    }
    if (got == 0) {  // the file shrank since its size was taken
      t->read_short = true;
      return CURL_READFUNC_ABORT;
    }
    t->sent += static_cast<uint64_t>(got);
    return static_cast<size_t>(got);
  }
}

bool RetryableStatus(long status, const std::string& code) {
  return status >= 500 || status == 429 || code == "SlowDown" || code == "RequestTimeout" ||
         code == "InternalError" || code == "ServiceUnavailable";
}

void SleepBackoff(int attempt, const std::atomic<bool>& cancelled) {
  auto d = kBackoffInitial * (1 << std::min(attempt, 10));
  if (d > kBackoffMax) d = std::chrono::duration_cast<std::chrono::milliseconds>(kBackoffMax);
  // Jitter (50-100 %), so that many clients that failed together do not retry together.
  thread_local std::mt19937 rng{std::random_device{}()};
  std::uniform_int_distribution<int> pct(50, 100);
  const auto until = std::chrono::steady_clock::now() + d * pct(rng) / 100;
  while (!cancelled && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace

// ---- creation

Result<std::unique_ptr<S3Client>> S3Client::Create(const S3Options& in) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  S3Options o = in;
  auto invalid = [](std::string m) {
    return MakeError(ErrorCode::kInvalidArgument, "object store: " + std::move(m));
  };
  if (auto v = ValidateBucketName(o.bucket); !v) return invalid(v.error().message);
  if (o.region.empty()) o.region = "us-east-1";
  for (char c : o.region) {
    // The region goes into CURLOPT_AWS_SIGV4, whose fields ':' separates, and into a host name.
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) {
      return invalid("region \"" + o.region + "\": only letters, digits, '-' and '_' are allowed");
    }
  }
  if (o.access_key.empty() || o.secret_key.empty()) {
    return invalid("no S3 credentials (ResolveCredentials fills them from the environment)");
  }
  if (o.addressing != "auto" && o.addressing != "path" && o.addressing != "virtual") {
    return invalid("addressing \"" + o.addressing + "\": must be path, virtual or auto");
  }
  if (o.part_size == 0) return invalid("the multipart part size must be above 0");
  if (o.retries < 0) return invalid("retries must not be negative");
  const bool aws = o.endpoint.empty();
  if (aws) o.endpoint = "https://s3." + o.region + ".amazonaws.com";
  while (o.endpoint.ends_with('/')) o.endpoint.pop_back();
  const std::string q = "endpoint \"" + o.endpoint + "\"";
  const size_t sep = o.endpoint.find("://");
  if (sep == std::string::npos) return invalid(q + ": must start with http:// or https://");
  std::string scheme = Lower(o.endpoint.substr(0, sep));
  if (scheme != "http" && scheme != "https") {
    return invalid(q + ": the scheme must be http or https");
  }
  std::string authority = o.endpoint.substr(sep + 3);
  if (authority.empty()) return invalid(q + ": no host");
  if (authority.find_first_of("/?#@ ") != std::string::npos) {
    return invalid(q + ": only scheme://host[:port] (no path, query or user)");
  }
  if (const size_t colon = authority.rfind(':');
      colon != std::string::npos && authority.back() != ']') {
    const std::string port = authority.substr(colon + 1);
    if (port.empty() || port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string::npos || std::stoi(port) == 0 ||
        std::stoi(port) > 65535) {
      return invalid(q + ": bad port \"" + port + "\"");
    }
  }
  if (!o.ca_file.empty() && ::access(o.ca_file.c_str(), R_OK) != 0) {
    return invalid("CA file " + o.ca_file + ": " + std::strerror(errno));
  }
  std::unique_ptr<S3Client> c(new S3Client(o));
  c->scheme_ = scheme;
  c->authority_ = authority;
  // Virtual-host style for AWS, where path style is deprecated; but a bucket name with a dot
  // would not match the *.s3 wildcard certificate, so such a name keeps path style.
  c->virtual_host_ = o.addressing == "virtual" ||
                     (o.addressing == "auto" && aws && o.bucket.find('.') == std::string::npos);
  c->sigv4_ = "aws:amz:" + o.region + ":s3";
  return c;
}

S3Client::S3Client(S3Options o) : options_(std::move(o)) {}

S3Client::~S3Client() {
  for (void* h : pool_) curl_easy_cleanup(static_cast<CURL*>(h));
}

void S3Client::Cancel() { cancelled_ = true; }
void S3Client::Resume() { cancelled_ = false; }

void* S3Client::AcquireHandle() {
  {
    std::lock_guard lock(pool_mu_);
    if (!pool_.empty()) {
      void* h = pool_.back();
      pool_.pop_back();
      return h;
    }
  }
  return curl_easy_init();
}

void S3Client::ReleaseHandle(void* h) {
  std::lock_guard lock(pool_mu_);
  if (pool_.size() < kPoolMax) {
    pool_.push_back(h);
  } else {
    curl_easy_cleanup(static_cast<CURL*>(h));
  }
}

S3Client::Stats S3Client::stats() const {
  return Stats{requests_.load(), request_errors_.load(), retries_.load(), bytes_uploaded_.load(),
               bytes_downloaded_.load()};
}

std::string S3Client::BucketUrl() const {
  if (virtual_host_) return scheme_ + "://" + options_.bucket + "." + authority_;
  return scheme_ + "://" + authority_ + "/" + options_.bucket;
}

std::string S3Client::Url(const Request& r) const {
  std::string url;
  if (r.target == Request::Target::kService) {
    url = scheme_ + "://" + authority_ + "/";
  } else {
    url = BucketUrl() + "/";
    if (r.target == Request::Target::kObject) url += UriEncode(r.key, true);
  }
  if (!r.query.empty()) {
    // curl signs the query as written: SigV4 wants it sorted by name, encoded, each with '='.
    std::vector<std::pair<std::string, std::string>> q;
    for (const auto& [k, v] : r.query) q.emplace_back(UriEncode(k, false), UriEncode(v, false));
    std::sort(q.begin(), q.end());
    char sep = '?';
    for (const auto& [k, v] : q) {
      url += sep + k + "=" + v;
      sep = '&';
    }
  }
  return url;
}

// ---- one request

Result<S3Client::Response> S3Client::SendOnce(const Request& r, void* handle) {
  CURL* c = static_cast<CURL*>(handle);
  curl_easy_reset(c);
  Response resp;
  Transfer t{&r, &resp, &cancelled_};
  const std::string url = Url(r);
  const uint64_t body_size = r.fd >= 0 ? r.length : r.body.size();

  // The payload hash is sent and signed (curl takes it from this header into the canonical
  // request); without it RGW answers SignatureDoesNotMatch.
  std::string payload_hash;
  if (r.fd >= 0) {
    auto h = HashFileRange(r.fd, r.offset, r.length, r.what);
    if (!h) return std::unexpected(h.error());
    payload_hash = *h;
  } else {
    payload_hash = HashBytes(r.body);
  }
  curl_slist* headers = nullptr;
  auto add = [&](const std::string& h) { headers = curl_slist_append(headers, h.c_str()); };
  add("x-amz-content-sha256: " + payload_hash);
  if (!options_.session_token.empty()) add("x-amz-security-token: " + options_.session_token);
  for (const auto& h : r.headers) add(h);
  // Not "Expect:" to turn off curl's 100-continue for bodies above 1 MiB: curl 7.88 signs that
  // empty header but does not send it, and the signature no longer matches.
  if (r.method == "POST") add("Content-Type: application/xml");
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> free_headers(headers,
                                                                           &curl_slist_free_all);

  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_AWS_SIGV4, sigv4_.c_str());
  curl_easy_setopt(c, CURLOPT_USERNAME, options_.access_key.c_str());
  curl_easy_setopt(c, CURLOPT_PASSWORD, options_.secret_key.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options_.connect_timeout.count() * 1000));
  const auto timeout = r.timeout.count() > 0
                           ? r.timeout
                           : std::chrono::duration_cast<std::chrono::milliseconds>(
                                 options_.request_timeout);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  // A transfer that stalls (under 1 KiB/s for 60 s) fails long before a big part's total time.
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, OnProgress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
  if (!options_.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, options_.ca_file.c_str());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, OnWrite);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  if (r.method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (r.method == "PUT") {
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, OnRead);
    curl_easy_setopt(c, CURLOPT_READDATA, &t);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(body_size));
  } else if (r.method == "POST") {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, OnRead);
    curl_easy_setopt(c, CURLOPT_READDATA, &t);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body_size));
  } else if (r.method != "GET") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r.method.c_str());
  }
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);

  if (cancelled_) return MakeError(ErrorCode::kUnavailable, "s3: " + r.what + ": cancelled");
  ++requests_;
  const CURLcode rc = curl_easy_perform(c);
  bytes_uploaded_ += t.sent;
  bytes_downloaded_ += resp.body.size();
  if (t.read_errno != 0) {
    return IOError("read", r.what, t.read_errno);
  }
  if (t.read_short) {
    return MakeError(ErrorCode::kIOError, r.what + ": the file shrank while it was being sent");
  }
  if (t.too_big) {
    return MakeError(ErrorCode::kCorruption, "s3: " + r.what + " (" + BucketUrl() +
                                                 "): the answer is larger than " +
                                                 std::to_string(kMaxAnswerBytes >> 20) + " MiB");
  }
  if (rc == CURLE_ABORTED_BY_CALLBACK) {
    return MakeError(ErrorCode::kUnavailable, "s3: " + r.what + ": cancelled");
  }
  if (rc == CURLE_WRITE_ERROR && t.range_done) {
    resp.status = 200;
    return resp;
  }
  if (rc != CURLE_OK) {
    return MakeError(ConfigurationFailure(rc) ? ErrorCode::kInvalidArgument : ErrorCode::kUnavailable,
                     "s3: " + r.what + " (" + BucketUrl() + "): " +
                         (errbuf[0] ? std::string(errbuf) : std::string(curl_easy_strerror(rc))));
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
  return resp;
}

// The Error for an HTTP error answer: the server's code and message, the status, what was
// asked, and what the user can do about the usual ones.
static Error HttpError(const S3Client::Request& r, const S3Client::Response& resp,
                       const std::string& bucket_url, const std::string& region) {
  std::string code, message;
  if (auto e = ParseS3Error(resp.body)) {
    code = e->code;
    message = e->message;
  }
  std::string text = "s3: " + r.what + " (" + bucket_url + "): HTTP " + std::to_string(resp.status);
  if (!code.empty()) text += " " + code;
  if (!message.empty()) text += ": " + message;
  ErrorCode ec = ErrorCode::kInvalidArgument;
  if (resp.status == 404) {
    ec = ErrorCode::kNotFound;
  } else if (RetryableStatus(resp.status, code)) {
    ec = ErrorCode::kUnavailable;
  } else if (resp.status == 403 || code == "SignatureDoesNotMatch" ||
             code == "InvalidAccessKeyId" || code == "AccessDenied") {
    text +=
        " (permission denied: check the credentials (access key, secret key, session token) "
        "and that they may use this bucket)";
  } else if (resp.status == 301 || code == "AuthorizationHeaderMalformed" ||
             code == "PermanentRedirect") {
    text += " (check the region: it is " + region;
    if (std::string other = resp.Header("x-amz-bucket-region"); !other.empty()) {
      text += ", the bucket is in " + other;
    }
    text += ")";
  } else if (resp.status == 409 && code == "BucketAlreadyExists") {
    ec = ErrorCode::kAlreadyExists;
  }
  return Error{ec, std::move(text)};
}

Result<S3Client::Response> S3Client::Send(const Request& r) {
  void* h = AcquireHandle();
  if (h == nullptr) return MakeError(ErrorCode::kIOError, "s3: cannot create a curl handle");
  Result<Response> out;
  for (int attempt = 0;; ++attempt) {
    auto resp = SendOnce(r, h);
    bool retryable;
    if (!resp) {
      out = std::unexpected(resp.error());
      retryable = resp.error().code == ErrorCode::kUnavailable;
    } else if ((resp->status >= 200 && resp->status < 300) ||
               std::find(r.answers.begin(), r.answers.end(), resp->status) != r.answers.end()) {
      out = std::move(resp);
      break;
    } else {
      Error e = HttpError(r, *resp, BucketUrl(), options_.region);
      retryable = e.code == ErrorCode::kUnavailable;
      out = std::unexpected(std::move(e));
      if (resp->status == 404) break;  // an answer, not a failure of the request
    }
    ++request_errors_;
    const int retries = r.retries >= 0 ? r.retries : options_.retries;
    if (!retryable || attempt >= retries || cancelled_) break;
    ++retries_;
    SleepBackoff(attempt, cancelled_);
  }
  ReleaseHandle(h);
  if (!out && out.error().code == ErrorCode::kUnavailable && options_.retries > 0) {
    out.error().message += " (after " + std::to_string(options_.retries + 1) + " attempts)";
  }
  return out;
}

// ---- objects

Result<void> S3Client::PutBytes(const std::string& key, std::string_view bytes) {
  Request r;
  r.method = "PUT";
  r.key = key;
  r.body = bytes;
  r.what = "PUT " + key;
  // The server checks the body against the signed SHA-256 (and its length against
  // Content-Length), so a success is the object with these bytes.
  auto resp = Send(r);
  if (!resp) return std::unexpected(resp.error());
  return {};
}

Result<void> S3Client::PutFile(const std::string& key, const std::filesystem::path& file) {
  // Opened once, read through this descriptor only (pread): the uploader passes
  // /proc/self/fd/N of a file that retention may unlink meanwhile.
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return IOError("open (to put " + key + ")", file.string(), errno);
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st;
  if (::fstat(fd, &st) != 0) return IOError("stat", file.string(), errno);
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size > std::min(options_.multipart_threshold, kMaxSinglePut)) {
    return PutMultipart(key, fd, size, file);
  }
  Request r;
  r.method = "PUT";
  r.key = key;
  r.fd = fd;
  r.offset = 0;
  r.length = size;
  r.what = "PUT " + key;
  auto resp = Send(r);
  if (!resp) return std::unexpected(resp.error());
  return {};
}

Result<void> S3Client::PutMultipart(const std::string& key, int fd, uint64_t size,
                                    const std::filesystem::path& file) {
  uint64_t part = options_.part_size;
  if ((size + part - 1) / part > kMaxParts) part = (size + kMaxParts - 1) / kMaxParts;
  Request init;
  init.method = "POST";
  init.key = key;
  init.query = {{"uploads", ""}};
  init.what = "CreateMultipartUpload " + key;
  // Not idempotent: an attempt whose answer was lost would leave an upload no one aborts. The
  // uploader tries the whole file again instead.
  init.retries = 0;
  auto ir = Send(init);
  if (!ir) return std::unexpected(ir.error());
  auto upload_id = ParseInitiateMultipartUpload(ir->body);
  if (!upload_id) {
    return MakeError(upload_id.error().code, "s3: " + init.what + ": " + upload_id.error().message);
  }
  // On any failure the upload is aborted, so the parts do not linger (and cost) in the bucket.
  auto abort = [&](Error e) -> Result<void> {
    Request a;
    a.method = "DELETE";
    a.key = key;
    a.query = {{"uploadId", *upload_id}};
    a.what = "AbortMultipartUpload " + key;
    if (auto ar = Send(a); !ar && ar.error().code != ErrorCode::kNotFound) {
      e.message += "; aborting the upload failed too: " + ar.error().message;
    }
    return std::unexpected(std::move(e));
  };
  std::vector<std::string> etags;
  for (uint64_t off = 0, n = 1; off < size; off += part, ++n) {
    Request p;
    p.method = "PUT";
    p.key = key;
    p.query = {{"partNumber", std::to_string(n)}, {"uploadId", *upload_id}};
    p.fd = fd;
    p.offset = off;
    p.length = std::min(part, size - off);
    p.what = "UploadPart " + std::to_string(n) + " of " + key + " (" + file.string() + ")";
    auto pr = Send(p);
    if (!pr) return abort(pr.error());
    std::string etag = pr->Header("etag");
    if (etag.empty()) {
      return abort(Error{ErrorCode::kCorruption, "s3: " + p.what + ": the answer has no ETag"});
    }
    etags.push_back(std::move(etag));
  }
  const std::string xml = CompleteMultipartXml(etags);
  Request done;
  done.method = "POST";
  done.key = key;
  done.query = {{"uploadId", *upload_id}};
  done.body = xml;
  done.what = "CompleteMultipartUpload " + key;
  auto dr = Send(done);
  // A retried Complete whose first attempt did complete finds the upload gone (NoSuchUpload):
  // the size check below says whether the object is there.
  const bool gone = !dr && dr.error().code == ErrorCode::kNotFound;
  if (!dr && !gone) return abort(dr.error());
  // S3 may answer 200 and still fail: the error is then in the body; success is only a
  // CompleteMultipartUploadResult.
  if (dr) {
    if (auto e = ParseS3Error(dr->body)) {
      return abort(Error{
          RetryableStatus(500, e->code) ? ErrorCode::kUnavailable : ErrorCode::kInvalidArgument,
          "s3: " + done.what + ": " + e->code + ": " + e->message});
    }
    if (dr->body.find("<CompleteMultipartUploadResult") == std::string::npos) {
      return abort(Error{ErrorCode::kUnavailable,
                         "s3: " + done.what + ": the answer is not a CompleteMultipartUploadResult"});
    }
  }
  auto head = Head(key);
  if (!head) return abort(gone ? dr.error() : head.error());
  if (head->size != size) {
    return MakeError(ErrorCode::kCorruption, "s3: " + done.what + ": the object has " +
                                                 std::to_string(head->size) + " bytes, the file " +
                                                 std::to_string(size));
  }
  return {};
}

Result<ObjectInfo> S3Client::Head(const std::string& key) {
  Request r;
  r.method = "HEAD";
  r.key = key;
  r.what = "HEAD " + key;
  auto resp = Send(r);
  if (!resp) return std::unexpected(resp.error());
  ObjectInfo info;
  info.key = key;
  const std::string len = resp->Header("content-length");
  try {
    info.size = std::stoull(len);
  } catch (...) {
    return MakeError(ErrorCode::kCorruption,
                     "s3: HEAD " + key + ": no Content-Length in the answer");
  }
  info.etag = Unquote(resp->Header("etag"));
  return info;
}

Result<std::string> S3Client::Get(const std::string& key, uint64_t offset,
                                  std::optional<uint64_t> length) {
  if (length && *length == 0) {
    // No range can say "nothing"; the object must still exist.
    auto h = Head(key);
    if (!h) return std::unexpected(h.error());
    return std::string();
  }
  Request r;
  r.key = key;
  r.what = "GET " + key;
  const bool ranged = offset > 0 || length.has_value();
  if (ranged) {
    std::string range = "Range: bytes=" + std::to_string(offset) + "-";
    if (length) range += std::to_string(offset + *length - 1);
    r.headers.push_back(range);
    r.what += " bytes " + range.substr(13);
    r.ranged = true;
    r.range_first = offset;
    r.range_end = length ? offset + *length : UINT64_MAX;
  }
  // A range that starts at or after the end (416): nothing, as reading past a file's end.
  if (ranged) r.answers = {416};
  auto resp = Send(r);
  if (!resp) return std::unexpected(resp.error());
  if (resp->status == 416) return std::string();
  if (ranged && resp->status == 200) {
    // The server ignored the range: only the range's bytes were kept (OnWrite).
    return std::move(resp->body);
  }
  if (ranged && length && resp->body.size() > *length) {
    return MakeError(ErrorCode::kCorruption, "s3: " + r.what + ": the server sent " +
                                                 std::to_string(resp->body.size()) + " bytes");
  }
  return std::move(resp->body);
}

Result<void> S3Client::Delete(const std::string& key) {
  Request r;
  r.method = "DELETE";
  r.key = key;
  r.what = "DELETE " + key;
  r.answers = {404};  // S3 answers 204 anyway; other servers may not
  auto resp = Send(r);
  if (!resp) return std::unexpected(resp.error());
  return {};
}

Result<ListPage> S3Client::List(const std::string& prefix, const std::string& delimiter,
                                const std::string& token) {
  Request r;
  r.target = Request::Target::kBucket;
  // max-keys is S3's default; sent because some servers (RGW) bound only a value given to their
  // own limit (rgw_max_listing_results).
  r.query = {{"list-type", "2"}, {"max-keys", "1000"}, {"prefix", prefix}};
  if (!delimiter.empty()) r.query.emplace_back("delimiter", delimiter);
  if (!token.empty()) r.query.emplace_back("continuation-token", token);
  r.what = "LIST " + prefix;
  auto resp = Send(r);
  if (!resp) return std::unexpected(resp.error());
  auto page = ParseListBucketResult(resp->body);
  if (!page) {
    return MakeError(page.error().code, "s3: " + r.what + ": " + page.error().message);
  }
  return page;
}

// ---- the bucket

Result<void> S3Client::CreateBucket() {
  Request r;
  r.method = "PUT";
  r.target = Request::Target::kBucket;
  r.what = "CreateBucket " + options_.bucket;
  // us-east-1 is the default location and the one S3 refuses to be named.
  std::string body;
  if (options_.region != "us-east-1") {
    body =
        "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<LocationConstraint>" +
        XmlEscape(options_.region) + "</LocationConstraint></CreateBucketConfiguration>";
  }
  r.body = body;
  r.answers = {409};
  auto resp = Send(r);
  if (!resp) return std::unexpected(resp.error());
  if (resp->status != 409) return {};
  auto e = ParseS3Error(resp->body);
  if (e && e->code == "BucketAlreadyOwnedByYou") return {};
  // Some servers answer BucketAlreadyExists for a bucket of our own too: it is ours when we may
  // HEAD it.
  if (e && e->code == "BucketAlreadyExists" && CheckBucket()) return {};
  return std::unexpected(HttpError(r, *resp, BucketUrl(), options_.region));
}

Result<void> S3Client::CheckBucket() {
  Request r;
  r.method = "HEAD";
  r.target = Request::Target::kBucket;
  r.what = "HEAD bucket " + options_.bucket;
  // A start-up probe: two short attempts, so that a server that hangs delays nothing long.
  r.retries = 1;
  r.timeout = std::chrono::seconds(5);
  auto resp = Send(r);
  if (resp) return {};
  Error e = resp.error();
  if (e.code == ErrorCode::kNotFound) {
    e.message = "s3: no bucket " + options_.bucket + " at " + BucketUrl() +
                " (HTTP 404): create it, or check the bucket name, endpoint and region";
  } else if (e.code == ErrorCode::kUnavailable && e.message.find("HTTP") == std::string::npos) {
    std::string_view inner = e.message;
    if (inner.starts_with("s3: ")) inner.remove_prefix(4);
    e.message =
        "s3: cannot reach the object store at " + options_.endpoint + ": " + std::string(inner);
  }
  return std::unexpected(std::move(e));
}

Result<std::vector<std::string>> S3Client::ListBuckets() {
  Request r;
  r.target = Request::Target::kService;
  r.what = "ListBuckets";
  auto resp = Send(r);
  if (!resp) return std::unexpected(resp.error());
  auto names = ParseListAllMyBuckets(resp->body);
  if (!names) return MakeError(names.error().code, "s3: ListBuckets: " + names.error().message);
  return names;
}

}  // namespace sloop::objstore
