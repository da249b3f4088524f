#include "http/http_server.h"

#include <sched.h>

#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>
#include <unordered_map>
#include <vector>

#include "engine/query_damage.h"
#include "http/auth.h"
#include "http/compression.h"
#include "http/http_message.h"
#include "http/http_metrics.h"
#include "http/path_router.h"
#include "base/log.h"

namespace sloop::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;

namespace {

// A query that skipped damaged blocks answered with the rest: say so (RFC 7234's Warning 199,
// and a count the UI reads).
void MarkPartial(Response* res, uint64_t damaged_blocks) {
  if (damaged_blocks == 0 || res->status >= 400) return;
  res->SetHeader("X-Sloop-Damaged-Blocks", std::to_string(damaged_blocks));
  res->SetHeader("Warning", "199 sloop \"" + std::to_string(damaged_blocks) +
                                " damaged stored block(s) skipped: this answer leaves out the "
                                "records they held\"");
}

using Clock = std::chrono::steady_clock;

// A duration as milliseconds with one decimal, for Server-Timing ("12.3").
std::string Millis(Clock::duration d) {
  const int64_t tenths = std::chrono::duration_cast<std::chrono::microseconds>(d).count() / 100;
  return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10);
}

std::string Seconds(std::chrono::milliseconds d) {
  auto ms = d.count();
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

// The query workers: a fixed set of threads and a bounded queue, served fairly between client
// addresses: each address has a queue of its own, and the workers take from them in turn, so
// that one client looping expensive queries delays another's by the queries already running, not
// by all that it queued. One address may hold at most half the queue. TrySubmit never blocks.
class WorkerPool {
 public:
  enum class Submitted { kQueued, kFull, kClientFull };

  WorkerPool(int threads, size_t queue_limit)
      : queue_limit_(queue_limit), client_limit_(std::max<size_t>(1, queue_limit / 2)) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Loop(); });
  }
  ~WorkerPool() { Stop(); }

  // kFull when the queue is full or the pool is stopping; kClientFull when client has half of it.
  Submitted TrySubmit(const std::string& client, std::function<void()> job) {
    {
      std::lock_guard lock(mu_);
      if (stopping_ || queued_ >= queue_limit_) return Submitted::kFull;
      auto [it, fresh] = by_client_.try_emplace(client);
      if (it->second.size() >= client_limit_) return Submitted::kClientFull;
      if (it->second.empty()) turns_.push_back(client);
      it->second.push_back(std::move(job));
      ++queued_;
    }
    cv_.notify_one();
    return Submitted::kQueued;
  }

  size_t queued() const {
    std::lock_guard lock(mu_);
    return queued_;
  }
  size_t running() const { return running_.load(); }
  size_t client_limit() const { return client_limit_; }

  // Drops the jobs still queued, waits for the running ones. Idempotent.
  void Stop() {
    std::unordered_map<std::string, std::deque<std::function<void()>>> dropped;
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      dropped.swap(by_client_);
      turns_.clear();
      queued_ = 0;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

 private:
  void Loop() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stopping_ || queued_ > 0; });
        if (queued_ == 0) return;
        // The client whose turn it is: its oldest query, and its turn goes to the back.
        std::string client = std::move(turns_.front());
        turns_.pop_front();
        auto it = by_client_.find(client);
        job = std::move(it->second.front());
        it->second.pop_front();
        if (it->second.empty()) {
          by_client_.erase(it);
        } else {
          turns_.push_back(std::move(client));
        }
        --queued_;
        ++running_;
      }
      job();
      job = nullptr;  // release what it holds before counting it done
      --running_;
    }
  }

  const size_t queue_limit_;
  const size_t client_limit_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::unordered_map<std::string, std::deque<std::function<void()>>> by_client_;
  std::deque<std::string> turns_;  // clients with queries queued, in the order they are served
  size_t queued_ = 0;
  std::atomic<size_t> running_{0};
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

// The TLS certificate and key, reloaded when either file changes (looked at, at most once a
// second, when a connection arrives). A pair that fails to load is logged and the previous one
// kept.
class TlsContexts {
 public:
  TlsContexts(std::string cert, std::string key) : cert_(std::move(cert)), key_(std::move(key)) {}

  Result<void> Load() {
    std::lock_guard lock(mu_);
    Stamp stamp = Look();
    auto ctx = Build();
    if (!ctx) return std::unexpected(ctx.error());
    ctx_ = std::move(*ctx);
    stamp_ = stamp;
    checked_ = Clock::now();
    return {};
  }

  std::shared_ptr<ssl::context> Current() {
    std::lock_guard lock(mu_);
    auto now = Clock::now();
    if (now - checked_ >= std::chrono::seconds(1)) {
      checked_ = now;
      Stamp stamp = Look();
      if (stamp != stamp_) {
        stamp_ = stamp;  // a broken pair is retried when the files change again
        auto ctx = Build();
        if (ctx) {
          ctx_ = std::move(*ctx);
          LogLine("http", "TLS certificate reloaded from " + cert_);
        } else {
          LogLine("http", "warning: " + ctx.error().message +
                              "; still serving the certificate loaded before");
        }
      }
    }
    return ctx_;
  }

 private:
  struct Stamp {
    std::filesystem::file_time_type cert_mtime{}, key_mtime{};
    uintmax_t cert_size = 0, key_size = 0;
    bool operator!=(const Stamp& o) const {
      return cert_mtime != o.cert_mtime || key_mtime != o.key_mtime || cert_size != o.cert_size ||
             key_size != o.key_size;
    }
  };

  Stamp Look() const {
    Stamp s;
    std::error_code ec;
    s.cert_mtime = std::filesystem::last_write_time(cert_, ec);
    s.cert_size = std::filesystem::file_size(cert_, ec);
    s.key_mtime = std::filesystem::last_write_time(key_, ec);
    s.key_size = std::filesystem::file_size(key_, ec);
    return s;
  }

  Result<std::shared_ptr<ssl::context>> Build() const {
    try {
      auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
      ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                       ssl::context::single_dh_use);
      ctx->use_certificate_chain_file(cert_);
      ctx->use_private_key_file(key_, ssl::context::pem);  // also checks it matches the cert
      return ctx;
    } catch (const boost::system::system_error& e) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "TLS: cannot load the certificate " + cert_ + " with the key " + key_ +
                           ": " + e.what() +
                           " (give a PEM certificate chain and its PEM private key)");
    }
  }

  const std::string cert_, key_;
  std::mutex mu_;
  std::shared_ptr<ssl::context> ctx_;
  Stamp stamp_;
  Clock::time_point checked_{};
};

enum class Admission { kNormal, kHealthOnly, kRejectTotal, kRejectPerIp };

// Connections that exceed the limits are still read, briefly, so that a health probe from a busy
// address gets its answer; anything else on them is answered 503. At most this many at once, and
// this many per address (so that one flooding address cannot take them all).
constexpr size_t kMaxHealthOnlyConnections = 16;
constexpr size_t kMaxHealthOnlyPerIp = 4;
constexpr std::chrono::milliseconds kHealthOnlyTimeout{2'000};
// How often a streamed answer whose next piece is not ready is looked at again.
constexpr std::chrono::milliseconds kStreamPoll{2};

struct Shared {
  Shared(HttpOptions o, const Router& r, HttpMetrics* m)
      : options(std::move(o)), router(r), metrics(m) {}
  const HttpOptions options;
  const Router& router;
  HttpMetrics* metrics;
  std::unique_ptr<WorkerPool> pool;
  std::unique_ptr<TlsContexts> tls;
  std::atomic<size_t> inflight{0};
  std::atomic<bool> stopping{false};
  // Bytes of answers built and not yet written to their clients (HeldBytes).
  std::atomic<size_t> held_bytes{0};
  std::atomic<uint64_t> request_counter{0};

  std::mutex conn_mu;
  size_t connections = 0;
  size_t health_only = 0;
  std::unordered_map<std::string, size_t> per_ip;
  std::unordered_map<std::string, size_t> health_only_per_ip;

  Admission Admit(const std::string& ip) {
    std::lock_guard lock(conn_mu);
    size_t& mine = per_ip[ip];
    const size_t max = options.max_connections;
    const size_t reserve = max / 8;
    Admission a = Admission::kNormal;
    if (connections >= max) {
      a = Admission::kRejectTotal;
    } else if (mine >= options.max_connections_per_ip ||
               (mine > 0 && connections + reserve >= max)) {
      a = Admission::kRejectPerIp;
    }
    if (a == Admission::kNormal) {
      ++mine;
      ++connections;
      return a;
    }
    if (mine == 0) per_ip.erase(ip);
    size_t& mine_health = health_only_per_ip[ip];
    if (health_only < kMaxHealthOnlyConnections && mine_health < kMaxHealthOnlyPerIp) {
      ++health_only;
      ++mine_health;
      return Admission::kHealthOnly;
    }
    if (mine_health == 0) health_only_per_ip.erase(ip);
    return a;
  }

  void Release(const std::string& ip, bool health_only_connection) {
    std::lock_guard lock(conn_mu);
    if (health_only_connection) {
      --health_only;
      auto it = health_only_per_ip.find(ip);
      if (it != health_only_per_ip.end() && --it->second == 0) health_only_per_ip.erase(it);
      return;
    }
    --connections;
    auto it = per_ip.find(ip);
    if (it != per_ip.end() && --it->second == 0) per_ip.erase(it);
  }

  bool AuthOn() const { return options.authenticator || options.admin_authenticator; }
  bool AuthMayBlock() const {
    return (options.authenticator && options.authenticator->MayBlock()) ||
           (options.admin_authenticator && options.admin_authenticator->MayBlock()) ||
           options.authorizer;
  }

  // Checks the request's token for a route of this access. Returns the refusal, or nothing when
  // the request may go on (with req->user and req->may_read_namespace set).
  std::optional<Response> Authorize(Request* req, Access access) const {
    if (access == Access::kPublic || !AuthOn()) return std::nullopt;
    std::string_view token = BearerToken(req->Header("authorization"));
    auto refuse = [&](int status, std::string_view message) {
      Response r = ErrorResponse(status, "", message);
      if (status == 401) r.SetHeader("WWW-Authenticate", "Bearer realm=\"sloop\"");
      if (status == 503) r.SetHeader("Retry-After", "5");
      if (metrics) metrics->Observe(router.LabelFor(req->path), status, 0);
      return std::optional<Response>(std::move(r));
    };
    if (access == Access::kAdmin) {
      if (!options.admin_authenticator) {
        return refuse(403,
                      "backups and debug pages are disabled while authentication is on: start "
                      "sloop with -admin-token-file and send one of its tokens");
      }
      if (token.empty()) {
        return refuse(401, "this route needs an admin token: send Authorization: Bearer <token>");
      }
      auto id = options.admin_authenticator->Authenticate(token);
      if (!id) return refuse(503, "cannot check the token now; try again");
      if (!*id) return refuse(403, "this route needs an admin token (from -admin-token-file)");
      req->user = (*id)->user;
      return std::nullopt;
    }
    if (!options.authenticator) return std::nullopt;  // only admin routes are protected
    if (token.empty()) {
      return refuse(401, "authentication is required: send Authorization: Bearer <token>");
    }
    auto id = options.authenticator->Authenticate(token);
    if (id && !*id && options.admin_authenticator) {
      id = options.admin_authenticator->Authenticate(token);  // admins may read too
      if (id && *id) {
        req->user = (*id)->user;
        return std::nullopt;
      }
    }
    if (!id) {
      LogLine("http", "warning: cannot check a bearer token: " + id.error().ToString());
      return refuse(503, "cannot check the token now; try again");
    }
    if (!*id) return refuse(401, "the bearer token is not valid");
    req->user = (*id)->user;
    if (options.authorizer) {
      auto authorizer = options.authorizer;
      Identity who = **id;
      // Decisions are cached by the authorizer; a namespace it cannot decide is left out.
      req->may_read_namespace = [authorizer, who](std::string_view ns) {
        auto r = authorizer->MayRead(who, ns);
        return r && *r;
      };
    }
    return std::nullopt;
  }
};

bool SaneRequestId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') {
      return false;
    }
  }
  return true;
}

// A share of Shared::held_bytes: an answer's body from when a query built it until it is written
// (or its connection is gone). Queries are refused while the total is at response_budget_bytes,
// so that slow or stalled readers of large answers cannot make the server hold unbounded memory.
class HeldBytes {
 public:
  HeldBytes(std::shared_ptr<Shared> shared, size_t bytes) : shared_(std::move(shared)) {
    Set(bytes);
  }
  ~HeldBytes() { Set(0); }
  void Set(size_t bytes) {
    if (bytes >= bytes_) {
      shared_->held_bytes += bytes - bytes_;
      if (shared_->metrics) shared_->metrics->HeldBytes(static_cast<double>(bytes - bytes_));
    } else {
      shared_->held_bytes -= bytes_ - bytes;
      if (shared_->metrics) shared_->metrics->HeldBytes(-static_cast<double>(bytes_ - bytes));
    }
    bytes_ = bytes;
  }
  HeldBytes(const HeldBytes&) = delete;
  HeldBytes& operator=(const HeldBytes&) = delete;

 private:
  std::shared_ptr<Shared> shared_;
  size_t bytes_ = 0;
};

// One connection: plain TCP, or TLS over it.
template <bool kTls>
class Session : public std::enable_shared_from_this<Session<kTls>> {
  using Stream = std::conditional_t<kTls, beast::ssl_stream<beast::tcp_stream>, beast::tcp_stream>;

 public:
  Session(tcp::socket&& socket, std::shared_ptr<Shared> shared, std::string ip, bool health_only,
          std::shared_ptr<ssl::context> tls)
      : tls_(std::move(tls)),
        stream_(MakeStream(std::move(socket), tls_.get())),
        deadline_timer_(stream_.get_executor()),
        stream_wait_(stream_.get_executor()),
        shared_(std::move(shared)),
        ip_(std::move(ip)),
        health_only_(health_only) {
    if (shared_->metrics) shared_->metrics->ConnectionOpened();
    beast::error_code ec;
    auto ep = Lowest().socket().remote_endpoint(ec);
    if (!ec) remote_ = ep.address().to_string() + ":" + std::to_string(ep.port());
  }

  ~Session() {
    shared_->Release(ip_, health_only_);
    if (shared_->metrics) shared_->metrics->ConnectionClosed();
  }

  void Run() {
    asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] { self->Start(); });
  }

 private:
  static Stream MakeStream(tcp::socket&& socket, ssl::context* ctx) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *ctx);
    } else {
      (void)ctx;
      return Stream(std::move(socket));
    }
  }

  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }

  // The time allowed for a request's line and headers.
  std::chrono::milliseconds HeaderDeadline() const {
    auto d = std::min(shared_->options.header_timeout, shared_->options.read_timeout);
    return health_only_ ? std::min(d, kHealthOnlyTimeout) : d;
  }

  void Start() {
    if constexpr (kTls) {
      Lowest().expires_after(HeaderDeadline());
      stream_.async_handshake(ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) {
                                  self->Reject("tls_handshake");
                                  beast::error_code ignored;
                                  self->Lowest().socket().close(ignored);
                                  return;
                                }
                                self->DoRead(true);
                              });
    } else {
      DoRead(true);
    }
  }

  // first: a new connection, whose request must start within the header deadline. Otherwise a
  // kept-alive connection may sit idle for idle_timeout before its next request starts.
  void DoRead(bool first) {
    if (shared_->stopping) return DoClose();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(shared_->options.header_limit_bytes));
    parser_->body_limit(shared_->options.body_limit_bytes);
    if (first || buffer_.size() > 0) return ReadHeader();
    Lowest().expires_after(shared_->options.idle_timeout);
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = this->shared_from_this()](beast::error_code ec, size_t n) {
                              if (ec) {
                                // Idle too long, or the client went away: close quietly.
                                if (ec != beast::error::timeout) self->DoClose();
                                return;
                              }
                              self->buffer_.commit(n);
                              self->ReadHeader();
                            });
  }

  void ReadHeader() {
    Lowest().expires_after(HeaderDeadline());
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    if (ec || parser_->is_done()) return OnRead(ec, 0);
    Lowest().expires_after(shared_->options.read_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      beast::bind_front_handler(&Session::OnRead, this->shared_from_this()));
  }

  void Reject(const char* reason) {
    if (shared_->metrics) shared_->metrics->Rejected(reason);
  }

  void OnRead(beast::error_code ec, size_t) {
    if (ec == bhttp::error::end_of_stream) return DoClose();
    if (ec == beast::error::timeout) {
      // Slow and stalled clients alike: the headers must arrive within the header deadline, the
      // body within read_timeout. A connection with nothing half-read is closed quietly.
      if (parser_ && (parser_->got_some() || buffer_.size() > 0)) Reject("timeout");
      return;  // the stream is already closed
    }
    if (ec == bhttp::error::header_limit) {
      Reject("header_too_large");
      return SendClosing(431, "the request line and headers exceed the limit of " +
                                  std::to_string(shared_->options.header_limit_bytes) + " bytes");
    }
    if (ec == bhttp::error::body_limit) {
      Reject("body_too_large");
      return SendClosing(413, "the request body exceeds the limit of " +
                                  std::to_string(shared_->options.body_limit_bytes) + " bytes");
    }
    if (ec) {
      if (ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category() &&
          (parser_->got_some() || buffer_.size() > 0)) {
        Reject("bad_request");
        return SendClosing(400, "malformed HTTP request: " + ec.message());
      }
      return DoClose();  // connection reset and the like
    }

    auto& msg = parser_->get();
    Request req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    req.headers.reserve(16);
    for (const auto& field : msg) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      req.headers.emplace_back(std::move(name), std::string(field.value()));
    }
    req.body = std::move(msg.body());
    req.remote = remote_;
    version_ = msg.version();
    keep_alive_ = msg.keep_alive() && !shared_->stopping && !health_only_;
    head_ = msg.method() == bhttp::verb::head;
    encoding_ = ChooseEncoding(req.Header("accept-encoding"));
    std::string_view given_id = req.Header("x-request-id");
    request_id_ = SaneRequestId(given_id)
                      ? std::string(given_id)
                      : std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(
                                           std::chrono::system_clock::now().time_since_epoch())
                                           .count()) +
                            "-" + std::to_string(++shared_->request_counter);
    ++shared_->inflight;
    counted_ = true;

    std::string why;
    if (!ParseTarget(&req, &why)) {
      if (shared_->metrics) shared_->metrics->Observe("invalid", 400, 0);
      return Send(ErrorResponse(400, "", why));
    }
    // A proxy on a sub-path may keep its prefix: a path that routes nowhere as it is is tried
    // without it (as-is first, so that a context named like the prefix still works).
    if (shared_->router.LabelFor(req.path) == "notfound") {
      if (!StripBasePath(&req.path, shared_->options.base_path)) {
        StripBasePath(&req.path, ForwardedPrefix(req));
      }
    }
    label_ = std::string(shared_->router.LabelFor(req.path));
    const RouteClass cls = shared_->router.ClassFor(req.path);
    if (health_only_ && cls.access != Access::kPublic) {
      return SendBusy("too many connections from " + ip_ +
                          ": close idle connections or open fewer at once, then retry",
                      "5");
    }
    const bool on_worker =
        cls.lane == Lane::kWorker || (cls.access != Access::kPublic && shared_->AuthMayBlock());
    if (!on_worker) {
      if (auto refused = shared_->Authorize(&req, cls.access)) return Send(std::move(*refused));
      return Send(shared_->router.Handle(req));
    }
    Dispatch(std::move(req), cls.access);
  }

  // Runs the request on the query workers, under the query deadline.
  void Dispatch(Request req, Access access) {
    const auto timeout = shared_->options.query_timeout;
    auto cancel = std::make_shared<std::atomic<bool>>(false);
    req.cancel = cancel;
    req.deadline = Clock::now() + timeout;
    auto job_req = std::make_shared<Request>(std::move(req));
    const uint64_t generation = ++generation_;
    pending_ = true;
    auto self = this->shared_from_this();
    auto shared = shared_;
    const auto submitted = Clock::now();
    const std::string_view encoding = encoding_;  // a static string (ChooseEncoding)
    const WorkerPool::Submitted queued = shared_->pool->TrySubmit(ip_, [self, shared, job_req,
                                                                        cancel, generation, access,
                                                                        submitted, encoding] {
      if (cancel->load()) return;  // answered 503 while it waited
      const auto started = Clock::now();
      auto res = std::make_shared<Response>();
      const size_t held = shared->held_bytes.load();
      if (auto refused = shared->Authorize(job_req.get(), access)) {
        *res = std::move(*refused);
      } else if (held >= shared->options.response_budget_bytes) {
        // Answers already built wait for slow clients: one more could take memory past the
        // budget. Refused before any of it is built; the clients reading drain the total.
        *res = ErrorResponse(
            503, "",
            "the server holds " + std::to_string(held >> 20) +
                " MiB of answers that their clients have not read yet (the most "
                "-http-response-budget-mb allows): try again shortly, or ask for less (a shorter "
                "lookback, a lower limit)");
        res->SetHeader("Retry-After", "2");
        if (shared->metrics) shared->metrics->Rejected("response_budget");
      } else {
        const uint64_t damaged_before = DamagedBlocksSkippedOnThisThread();
        *res = shared->router.Handle(*job_req);
        MarkPartial(res.get(), DamagedBlocksSkippedOnThisThread() - damaged_before);
      }
      const auto answered = Clock::now();
      // Compressed here, on the query worker: gzip of a 100 MB answer takes a second, which on
      // an I/O thread would hold up every probe and answer that thread serves.
      std::string compress_timing;
      if (!encoding.empty() && !res->stream && res->compressible &&
          IsCompressibleType(res->content_type) &&
          res->body.size() >= shared->options.compress_min_bytes) {
        std::string packed;
        if (Compress(encoding, res->body, &packed)) {
          res->body = std::move(packed);
          res->content_encoding = encoding;
          compress_timing = ", compress;dur=" + Millis(Clock::now() - answered);
        }
      }
      // Where the time went, for the browser's developer tools (Server-Timing): waiting for a
      // query worker, then the query and its JSON, then compressing it.
      res->SetHeader("Server-Timing", "wait;dur=" + Millis(started - submitted) + ", query;dur=" +
                                          Millis(answered - started) + compress_timing);
      auto charge = std::make_shared<HeldBytes>(shared, res->body.size());
      asio::post(self->stream_.get_executor(),
                 [self, res, charge, generation] { self->OnHandled(generation, std::move(*res)); });
    });
    if (queued == WorkerPool::Submitted::kClientFull) {
      pending_ = false;
      Reject("client_queue_full");
      return SendBusy(std::to_string(shared_->pool->client_limit()) + " queries from " + ip_ +
                          " are already waiting (half of -http-query-queue, the most one client "
                          "address may hold): wait for their answers, then retry",
                      "2");
    }
    if (queued != WorkerPool::Submitted::kQueued) {
      pending_ = false;
      Reject("queue_full");
      return SendBusy("the server is busy: " + std::to_string(shared_->pool->running()) +
                          " queries are running and " + std::to_string(shared_->pool->queued()) +
                          " waiting (the most -http-query-queue allows); try again shortly",
                      "2");
    }
    deadline_timer_.expires_after(timeout);
    deadline_timer_.async_wait([self, generation, cancel](beast::error_code ec) {
      if (!ec) self->OnDeadline(generation, cancel);
    });
  }

  void OnHandled(uint64_t generation, Response res) {
    if (generation != generation_ || !pending_) return;  // already answered 503
    pending_ = false;
    deadline_timer_.cancel();
    Send(std::move(res));
  }

  void OnDeadline(uint64_t generation, const std::shared_ptr<std::atomic<bool>>& cancel) {
    if (generation != generation_ || !pending_) return;
    pending_ = false;
    cancel->store(true);
    const std::string limit = Seconds(shared_->options.query_timeout);
    LogLine("http", "warning: " + label_ + " from " + remote_ + " not answered within " + limit +
                        ": answered 503 (request id " + request_id_ + ")");
    keep_alive_ = false;  // the handler may still be running: do not hold the connection
    SendBusy("the query did not finish within -query-timeout=" + limit +
                 ": narrow it (a shorter lookback, one namespace or kind) or try again later",
             "5");
  }

  void SendBusy(std::string message, const char* retry_after) {
    Response r = ErrorResponse(503, "", message);
    r.SetHeader("Retry-After", retry_after);
    if (shared_->metrics) shared_->metrics->Observe(label_.empty() ? "invalid" : label_, 503, 0);
    Send(std::move(r));
  }

  template <typename Message>
  void SetCommonHeaders(Message& msg, const Response& res) {
    msg.version(version_);
    msg.result(static_cast<unsigned>(res.status));
    msg.set(bhttp::field::server, "sloop");
    msg.set(bhttp::field::content_type, res.content_type);
    msg.set("X-Request-Id", request_id_);
    for (const auto& [k, v] : res.headers) msg.insert(k, v);
    msg.keep_alive(keep_alive_);
  }

  void Send(Response res) {
    if (res.stream && !head_) return SendStream(std::move(res));
    auto msg = std::make_shared<bhttp::response<bhttp::string_body>>();
    SetCommonHeaders(*msg, res);
    std::string body;
    const bool streamed = res.stream != nullptr;
    if (streamed) {
      res.stream.reset();  // HEAD of a stream: headers only
    } else {
      body = std::move(res.body);
    }
    if (res.compressible && IsCompressibleType(res.content_type)) {
      msg->set(bhttp::field::vary, "Accept-Encoding");
      std::string packed;
      const auto started = Clock::now();
      if (!res.content_encoding.empty()) {
        msg->set(bhttp::field::content_encoding, res.content_encoding);
      } else if (!encoding_.empty() && body.size() >= shared_->options.compress_min_bytes &&
                 Compress(encoding_, body, &packed)) {
        msg->insert("Server-Timing", "compress;dur=" + Millis(Clock::now() - started));
        msg->set(bhttp::field::content_encoding, encoding_);
        body = std::move(packed);
      }
    }
    if (head_) {
      // A stream of unknown length gets no Content-Length (its GET is sent in chunks).
      if (!streamed || res.stream_length) {
        msg->content_length(res.stream_length ? *res.stream_length : body.size());
      }
    } else {
      msg->body() = std::move(body);
      msg->prepare_payload();
      held_.emplace(shared_, msg->body().size());  // until OnWrite
    }
    Lowest().expires_after(shared_->options.write_timeout);
    bhttp::async_write(stream_, *msg,
                       [self = this->shared_from_this(), msg](beast::error_code ec, size_t) {
                         self->OnWrite(ec, msg->need_eof());
                       });
  }

  // An error answer to a request that could not be read; the connection closes after it.
  void SendClosing(int status, std::string message) {
    keep_alive_ = false;
    if (version_ == 0) version_ = 11;
    request_id_ = std::to_string(++shared_->request_counter);
    Response res = ErrorResponse(status, "", message);
    if (shared_->metrics) shared_->metrics->Observe("invalid", status, 0);
    Send(std::move(res));
  }

  void SendStream(Response res) {
    stream_msg_ = std::make_shared<bhttp::response<bhttp::buffer_body>>();
    SetCommonHeaders(*stream_msg_, res);
    if (res.stream_length) {
      stream_msg_->content_length(*res.stream_length);
    } else {
      stream_msg_->chunked(true);
    }
    stream_msg_->body().data = nullptr;
    stream_msg_->body().more = true;
    stream_body_ = std::move(res.stream);
    stream_sr_ = std::make_shared<bhttp::response_serializer<bhttp::buffer_body>>(*stream_msg_);
    Lowest().expires_after(shared_->options.write_timeout);
    bhttp::async_write_header(
        stream_, *stream_sr_,
        beast::bind_front_handler(&Session::OnStreamWrite, this->shared_from_this()));
  }

  void OnStreamWrite(beast::error_code ec, size_t) {
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec) return EndStream(ec, true);
    if (stream_sr_->is_done()) return EndStream({}, stream_msg_->need_eof());
    if (!stream_body_->Ready()) {
      // The next piece is still being read (from disk, on the stream's own thread): look again
      // shortly rather than wait on this I/O thread. A stream that stays silent for the write
      // timeout is cut like a stalled client.
      const auto waited = Clock::now() - stream_waiting_since_;
      if (stream_waiting_since_ == Clock::time_point{}) {
        stream_waiting_since_ = Clock::now();
      } else if (waited > shared_->options.write_timeout) {
        LogLine("http", "error: " + label_ + " to " + remote_ + " cut short: no data for " +
                            Seconds(shared_->options.write_timeout));
        return EndStream(beast::error::timeout, true);
      }
      stream_wait_.expires_after(kStreamPoll);
      stream_wait_.async_wait([self = this->shared_from_this()](beast::error_code wait_ec) {
        if (wait_ec) return self->EndStream(wait_ec, true);
        self->OnStreamWrite({}, 0);
      });
      return;
    }
    stream_waiting_since_ = {};
    chunk_.clear();
    std::string error;
    bool more;
    do {
      more = stream_body_->Next(&chunk_, &error);
    } while (more && chunk_.empty() && error.empty());
    if (!error.empty()) {
      // Too late for an error status: cut the connection so the client sees a short body.
      LogLine("http", "error: " + label_ + " to " + remote_ + " cut short: " + error);
      return EndStream(beast::error::timeout, true);
    }
    stream_msg_->body().data = chunk_.empty() ? nullptr : chunk_.data();
    stream_msg_->body().size = chunk_.size();
    stream_msg_->body().more = more;
    Lowest().expires_after(shared_->options.write_timeout);
    bhttp::async_write(
        stream_, *stream_sr_,
        beast::bind_front_handler(&Session::OnStreamWrite, this->shared_from_this()));
  }

  void EndStream(beast::error_code ec, bool close) {
    stream_sr_.reset();
    stream_msg_.reset();
    stream_body_.reset();
    chunk_ = std::string();
    OnWrite(ec, close);
  }

  void OnWrite(beast::error_code ec, bool close) {
    held_.reset();
    if (counted_) {
      --shared_->inflight;
      counted_ = false;
    }
    if (ec) return DoClose();
    if (close || !keep_alive_) return DoClose();
    DoRead(false);
  }

  void DoClose() {
    if constexpr (kTls) {
      Lowest().expires_after(std::chrono::seconds(1));
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {
        beast::error_code ignored;
        self->Lowest().socket().close(ignored);
      });
    } else {
      beast::error_code ec;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
      stream_.close();
    }
  }

  std::shared_ptr<ssl::context> tls_;  // kept alive while the connection uses it
  Stream stream_;
  asio::steady_timer deadline_timer_;
  asio::steady_timer stream_wait_;            // a stream's next piece is not ready yet
  Clock::time_point stream_waiting_since_{};  // since when (zero: not waiting)
  beast::flat_buffer buffer_;
  std::shared_ptr<Shared> shared_;
  const std::string ip_;
  const bool health_only_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::string remote_;
  std::string request_id_;
  std::string label_;
  std::string_view encoding_;
  unsigned version_ = 11;
  bool keep_alive_ = false;
  bool head_ = false;
  bool counted_ = false;
  std::optional<HeldBytes> held_;  // the answer being written
  // The request on the query workers: its generation, and whether it is still unanswered.
  uint64_t generation_ = 0;
  bool pending_ = false;
  // The response being streamed.
  std::shared_ptr<bhttp::response<bhttp::buffer_body>> stream_msg_;
  std::shared_ptr<bhttp::response_serializer<bhttp::buffer_body>> stream_sr_;
  std::unique_ptr<BodyStream> stream_body_;
  std::string chunk_;
};

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(asio::io_context& ioc, std::shared_ptr<Shared> shared)
      : ioc_(ioc),
        acceptor_(asio::make_strand(ioc)),
        retry_(acceptor_.get_executor()),
        shared_(std::move(shared)) {}

  Result<uint16_t> Bind() {
    try {
      auto address = shared_->options.bind_address.empty()
                         ? asio::ip::address(asio::ip::address_v4::any())
                         : asio::ip::make_address(shared_->options.bind_address);
      tcp::endpoint ep(address, shared_->options.port);
      acceptor_.open(ep.protocol());
      acceptor_.set_option(asio::socket_base::reuse_address(true));
      acceptor_.bind(ep);
      acceptor_.listen(asio::socket_base::max_listen_connections);
      return acceptor_.local_endpoint().port();
    } catch (const boost::system::system_error& e) {
      return MakeError(ErrorCode::kIOError,
                       "http: cannot listen on " +
                           (shared_->options.bind_address.empty() ? std::string("*")
                                                                  : shared_->options.bind_address) +
                           ":" + std::to_string(shared_->options.port) + ": " + e.what() +
                           " (is another process using the port? choose another with -port)");
    }
  }

  void Accept() {
    acceptor_.async_accept(asio::make_strand(ioc_),
                           beast::bind_front_handler(&Listener::OnAccept, shared_from_this()));
  }

  void Close() {
    asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
      beast::error_code ec;
      self->acceptor_.close(ec);
      self->retry_.cancel();
    });
  }

 private:
  void OnAccept(beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec) {
      // Out of descriptors and the like: back off briefly rather than spin.
      retry_.expires_after(std::chrono::milliseconds(50));
      retry_.async_wait([self = shared_from_this()](beast::error_code e) {
        if (!e) self->Accept();
      });
      return;
    }
    beast::error_code ep_ec;
    auto ep = socket.remote_endpoint(ep_ec);
    std::string ip = ep_ec ? std::string("?") : ep.address().to_string();
    Admission a = shared_->stopping ? Admission::kRejectTotal : shared_->Admit(ip);
    if (a == Admission::kRejectTotal || a == Admission::kRejectPerIp) {
      if (shared_->metrics) {
        shared_->metrics->Rejected(a == Admission::kRejectTotal ? "too_many" : "too_many_per_ip");
      }
      beast::error_code ignored;
      socket.close(ignored);
    } else {
      if (a == Admission::kHealthOnly && shared_->metrics) {
        shared_->metrics->Rejected("health_only");
      }
      bool health_only = a == Admission::kHealthOnly;
      if (shared_->tls) {
        std::make_shared<Session<true>>(std::move(socket), shared_, std::move(ip), health_only,
                                        shared_->tls->Current())
            ->Run();
      } else {
        std::make_shared<Session<false>>(std::move(socket), shared_, std::move(ip), health_only,
                                         nullptr)
            ->Run();
      }
    }
    Accept();
  }

  asio::io_context& ioc_;
  tcp::acceptor acceptor_;
  asio::steady_timer retry_;
  std::shared_ptr<Shared> shared_;
};

}  // namespace

struct HttpServer::Impl {
  std::shared_ptr<Shared> shared;
  std::unique_ptr<asio::io_context> ioc;
  std::shared_ptr<Listener> listener;
  std::vector<std::thread> threads;
  uint16_t port = 0;
  bool started = false;
  bool stopped = false;
};

int UsableCpus(const std::string& cgroup_root) {
  // The CPUs this process may run on (a cpuset narrows them)...
  int cpus = static_cast<int>(std::thread::hardware_concurrency());
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0) {
    cpus = CPU_COUNT(&set);
  }
  // ...and the time its cgroup may use of them: a container limited to 2 CPUs on a node of 64
  // (cgroup v2 cpu.max "200000 100000"; v1 cpu.cfs_quota_us and cpu.cfs_period_us).
  auto read = [&](const std::string& name) {
    std::ifstream in(cgroup_root + "/" + name);
    std::string text;
    std::getline(in, text);
    return text;
  };
  long long quota = -1, period = 0;
  if (std::string max = read("cpu.max"); !max.empty()) {
    std::istringstream fields(max);
    std::string q;
    fields >> q >> period;
    if (q != "max") quota = std::atoll(q.c_str());
  } else if (std::string q = read("cpu/cpu.cfs_quota_us"); !q.empty()) {
    quota = std::atoll(q.c_str());
    period = std::atoll(read("cpu/cpu.cfs_period_us").c_str());
  }
  if (quota > 0 && period > 0) {
    cpus = std::min<long long>(std::max(cpus, 1), (quota + period - 1) / period);
  }
  return std::max(cpus, 1);
}

HttpServer::HttpServer(HttpOptions options, const Router& router)
    : impl_(std::make_unique<Impl>()) {
  if (options.threads < 1) options.threads = 1;
  if (options.query_workers < 1) {
    // As many as the CPUs the container may use: each query may hold tens of MB of answer, and
    // a pod's memory limit is sized for its CPU limit, not for the node's cores.
    options.query_workers = std::max(2, UsableCpus("/sys/fs/cgroup"));
  }
  if (options.query_queue < 1) options.query_queue = 1;
  if (options.max_connections_per_ip < 1) options.max_connections_per_ip = 1;
  impl_->shared = std::make_shared<Shared>(std::move(options), router, router.metrics());
}

HttpServer::~HttpServer() { Stop(); }

Result<void> HttpServer::Start() {
  if (impl_->started) return MakeError(ErrorCode::kInvalidArgument, "http: already started");
  Shared& shared = *impl_->shared;
  const HttpOptions& o = shared.options;
  if (o.tls_cert_file.empty() != o.tls_key_file.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "http: TLS needs both -tls-cert-file and -tls-key-file");
  }
  if (!o.tls_cert_file.empty()) {
    auto tls = std::make_unique<TlsContexts>(o.tls_cert_file, o.tls_key_file);
    if (auto loaded = tls->Load(); !loaded) return std::unexpected(loaded.error());
    shared.tls = std::move(tls);
  }
  int threads = o.threads;
  impl_->ioc = std::make_unique<asio::io_context>(threads);
  impl_->listener = std::make_shared<Listener>(*impl_->ioc, impl_->shared);
  auto port = impl_->listener->Bind();
  if (!port) {
    impl_->listener.reset();
    impl_->ioc.reset();
    return std::unexpected(port.error());
  }
  impl_->port = *port;
  shared.pool = std::make_unique<WorkerPool>(o.query_workers, o.query_queue);
  impl_->listener->Accept();
  impl_->started = true;
  for (int i = 0; i < threads; ++i) {
    impl_->threads.emplace_back([ioc = impl_->ioc.get()] { ioc->run(); });
  }
  return {};
}

void HttpServer::Stop() {
  if (!impl_->started || impl_->stopped) return;
  impl_->stopped = true;
  impl_->shared->stopping = true;
  impl_->listener->Close();
  auto deadline = std::chrono::steady_clock::now() + impl_->shared->options.shutdown_grace;
  while (impl_->shared->inflight > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  impl_->ioc->stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
  // Queries still running finish (their answers go nowhere); queued ones are dropped.
  impl_->shared->pool->Stop();
  impl_->listener.reset();
  impl_->ioc.reset();  // destroys the handlers still queued, and with them their connections
}

uint16_t HttpServer::port() const { return impl_->port; }

bool HttpServer::tls() const { return impl_->shared->tls != nullptr; }

HttpServer::QueryLoad HttpServer::query_load() const {
  const auto& pool = impl_->shared->pool;
  if (!pool) return {};
  return {pool->running(), pool->queued()};
}

}  // namespace sloop::http
