// A raw TCP client for the HTTP server tests: byte control over what is sent and when.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <string_view>

namespace sloop::http {

// A raw TCP client for byte-exact requests.
class RawClient {
 public:
  // source: the local address to connect from ("" = any); another loopback address such as
  // "127.0.0.2" makes the client a different client address for the server's per-address limits.
  explicit RawClient(uint16_t port, const char* source = "") {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    if (*source) {
      sockaddr_in local{};
      local.sin_family = AF_INET;
      inet_pton(AF_INET, source, &local.sin_addr);
      bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof(local));
    }
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  }
  ~RawClient() { close(fd_); }
  bool connected() const { return connected_; }

  bool Send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Reads until the peer closes or timeout passes; returns what arrived.
  std::string ReadAll(std::chrono::milliseconds timeout, bool* closed = nullptr) {
    std::string out;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    if (closed) *closed = false;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                      deadline - std::chrono::steady_clock::now())
                                      .count());
      if (poll(&p, 1, std::max(left, 1)) <= 0) break;
      char buf[65536];
      ssize_t n = recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) {
        if (closed) *closed = true;
        break;
      }
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }

  // Reads one response with a Content-Length body.
  std::string ReadResponse(std::chrono::milliseconds timeout) {
    std::string out;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      size_t hdr_end = out.find("\r\n\r\n");
      if (hdr_end != std::string::npos) {
        size_t cl = out.find("Content-Length: ");
        size_t len = cl == std::string::npos ? 0 : std::stoul(out.substr(cl + 16));
        if (out.size() >= hdr_end + 4 + len) return out;
      }
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      char buf[65536];
      ssize_t n = recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }

 private:
  int fd_;
  bool connected_ = false;
};

// A one-shot GET with Connection: close over a raw client; returns the whole answer ("" when the
// connection was refused or closed without one).
inline std::string RawGet(uint16_t port, const std::string& target, const char* source = "",
                          const std::string& extra_headers = "",
                          std::chrono::milliseconds timeout = std::chrono::milliseconds(10'000)) {
  RawClient c(port, source);
  if (!c.connected()) return "";
  if (!c.Send("GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + extra_headers +
              "\r\n")) {
    return "";
  }
  return c.ReadAll(timeout);
}

}  // namespace sloop::http
