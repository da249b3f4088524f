#include "http/http_server.h"

#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <optional>
#include <thread>
#include <vector>

#include "http/compression.h"
#include "http/http_message.h"
#include "http/http_metrics.h"
#include "http/router.h"

namespace sloop::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

struct Shared {
  Shared(HttpOptions o, const Router& r, HttpMetrics* m)
      : options(std::move(o)), router(r), metrics(m) {}
  const HttpOptions options;
  const Router& router;
  HttpMetrics* metrics;
  std::atomic<size_t> connections{0};
  std::atomic<size_t> inflight{0};
  std::atomic<bool> stopping{false};
  std::atomic<uint64_t> request_counter{0};
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

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, std::shared_ptr<Shared> shared)
      : stream_(std::move(socket)), shared_(std::move(shared)) {
    ++shared_->connections;
    if (shared_->metrics) shared_->metrics->ConnectionOpened();
    beast::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = ep.address().to_string() + ":" + std::to_string(ep.port());
  }

  ~Session() {
    --shared_->connections;
    if (shared_->metrics) shared_->metrics->ConnectionClosed();
  }

  void Run() {
    asio::dispatch(stream_.get_executor(),
                   beast::bind_front_handler(&Session::DoRead, shared_from_this()));
  }

 private:
  void DoRead() {
    if (shared_->stopping) return DoClose();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(shared_->options.header_limit_bytes));
    parser_->body_limit(shared_->options.body_limit_bytes);
    stream_.expires_after(shared_->options.read_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      beast::bind_front_handler(&Session::OnRead, shared_from_this()));
  }

  void Reject(const char* reason) {
    if (shared_->metrics) shared_->metrics->Rejected(reason);
  }

  void OnRead(beast::error_code ec, size_t) {
    if (ec == bhttp::error::end_of_stream) return DoClose();
    if (ec == beast::error::timeout) {
      // Covers slow and stalled clients alike: the whole request must arrive in read_timeout.
      // An idle keep-alive connection with nothing half-read is closed quietly.
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
    keep_alive_ = msg.keep_alive() && !shared_->stopping;
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
    Response res;
    if (!ParseTarget(&req, &why)) {
      res = ErrorResponse(400, "", why);
      if (shared_->metrics) shared_->metrics->Observe("invalid", 400, 0);
    } else {
      res = shared_->router.Handle(req);
    }
    Send(std::move(res));
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
    if (res.stream) {
      res.stream.reset();  // HEAD of a stream: headers only
    } else {
      body = std::move(res.body);
    }
    if (res.compressible && IsCompressibleType(res.content_type)) {
      msg->set(bhttp::field::vary, "Accept-Encoding");
      std::string packed;
      if (!encoding_.empty() && body.size() >= shared_->options.compress_min_bytes &&
          Compress(encoding_, body, &packed)) {
        msg->set(bhttp::field::content_encoding, encoding_);
        body = std::move(packed);
      }
    }
    if (head_) {
      msg->content_length(res.stream_length ? *res.stream_length : body.size());
    } else {
      msg->body() = std::move(body);
      msg->prepare_payload();
    }
    stream_.expires_after(shared_->options.write_timeout);
    bhttp::async_write(stream_, *msg,
                       [self = shared_from_this(), msg](beast::error_code ec, size_t) {
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
    stream_.expires_after(shared_->options.write_timeout);
    bhttp::async_write_header(
        stream_, *stream_sr_,
        beast::bind_front_handler(&Session::OnStreamWrite, shared_from_this()));
  }

  void OnStreamWrite(beast::error_code ec, size_t) {
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec) return EndStream(ec, true);
    if (stream_sr_->is_done()) return EndStream({}, stream_msg_->need_eof());
    chunk_.clear();
    std::string error;
    bool more;
    do {
      more = stream_body_->Next(&chunk_, &error);
    } while (more && chunk_.empty() && error.empty());
    if (!error.empty()) {
      // Too late for an error status: cut the connection so the client sees a short body.
      return EndStream(beast::error::timeout, true);
    }
    stream_msg_->body().data = chunk_.empty() ? nullptr : chunk_.data();
    stream_msg_->body().size = chunk_.size();
    stream_msg_->body().more = more;
    stream_.expires_after(shared_->options.write_timeout);
    bhttp::async_write(stream_, *stream_sr_,
                       beast::bind_front_handler(&Session::OnStreamWrite, shared_from_this()));
  }

  void EndStream(beast::error_code ec, bool close) {
    stream_sr_.reset();
    stream_msg_.reset();
    stream_body_.reset();
    chunk_ = std::string();
    OnWrite(ec, close);
  }

  void OnWrite(beast::error_code ec, bool close) {
    if (counted_) {
      --shared_->inflight;
      counted_ = false;
    }
    if (ec) return DoClose();
    if (close || !keep_alive_) return DoClose();
    DoRead();
  }

  void DoClose() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.close();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::shared_ptr<Shared> shared_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::string remote_;
  std::string request_id_;
  std::string_view encoding_;
  unsigned version_ = 11;
  bool keep_alive_ = false;
  bool head_ = false;
  bool counted_ = false;
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
    if (shared_->stopping || shared_->connections >= shared_->options.max_connections) {
      if (shared_->metrics) shared_->metrics->Rejected("too_many");
      beast::error_code ignored;
      socket.close(ignored);
    } else {
      std::make_shared<Session>(std::move(socket), shared_)->Run();
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

HttpServer::HttpServer(HttpOptions options, const Router& router)
    : impl_(std::make_unique<Impl>()) {
  if (options.threads < 1) options.threads = 1;
  impl_->shared = std::make_shared<Shared>(std::move(options), router, router.metrics());
}

HttpServer::~HttpServer() { Stop(); }

Result<void> HttpServer::Start() {
  if (impl_->started) return MakeError(ErrorCode::kInvalidArgument, "http: already started");
  int threads = impl_->shared->options.threads;
  impl_->ioc = std::make_unique<asio::io_context>(threads);
  impl_->listener = std::make_shared<Listener>(*impl_->ioc, impl_->shared);
  auto port = impl_->listener->Bind();
  if (!port) {
    impl_->listener.reset();
    impl_->ioc.reset();
    return std::unexpected(port.error());
  }
  impl_->port = *port;
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
  impl_->listener.reset();
  impl_->ioc.reset();  // destroys the handlers still queued, and with them their connections
}

uint16_t HttpServer::port() const { return impl_->port; }

}  // namespace sloop::http
