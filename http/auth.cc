#include "http/auth.h"

#include <fstream>
#include <sstream>

#include "base/log.h"

namespace sloop::http {

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  // Every byte of a is looked at whatever b is; only the lengths leak.
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) {
    unsigned char bc = b.empty() ? 0 : static_cast<unsigned char>(b[i % b.size()]);
    diff |= static_cast<unsigned char>(static_cast<unsigned char>(a[i]) ^ bc);
  }
  return diff == 0;
}

std::string_view BearerToken(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size()) return {};
  for (size_t i = 0; i < kScheme.size(); ++i) {
    char c = authorization[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kScheme[i]) return {};
  }
  std::string_view t = authorization.substr(kScheme.size());
  while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
  return t;
}

Result<std::shared_ptr<TokenFileAuthenticator>> TokenFileAuthenticator::Open(
    std::filesystem::path path, std::string identity_prefix) {
  std::shared_ptr<TokenFileAuthenticator> a(
      new TokenFileAuthenticator(std::move(path), std::move(identity_prefix)));
  std::lock_guard lock(a->mu_);
  if (auto r = a->Load(); !r) return std::unexpected(r.error());
  a->checked_ = std::chrono::steady_clock::now();
  return a;
}

Result<void> TokenFileAuthenticator::Load() {
  std::error_code ec;
  auto mtime = std::filesystem::last_write_time(path_, ec);
  auto size = ec ? 0 : std::filesystem::file_size(path_, ec);
  std::ifstream in(path_);
  if (ec || !in) {
    return MakeError(ErrorCode::kIOError, "token file " + path_.string() +
                                              ": cannot be read (check the path and permissions)");
  }
  std::vector<std::string> tokens;
  std::string line;
  while (std::getline(in, line)) {
    size_t b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos || line[b] == '#') continue;
    size_t e = line.find_last_not_of(" \t\r");
    tokens.push_back(line.substr(b, e - b + 1));
  }
  if (in.bad()) {
    return MakeError(ErrorCode::kIOError, "token file " + path_.string() + ": read error");
  }
  if (tokens.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "token file " + path_.string() +
                         " holds no token: write one bearer token per line (e.g. from "
                         "`openssl rand -hex 32`)");
  }
  tokens_ = std::move(tokens);
  mtime_ = mtime;
  file_size_ = size;
  return {};
}

void TokenFileAuthenticator::MaybeReload() {
  auto now = std::chrono::steady_clock::now();
  if (now - checked_ < std::chrono::seconds(1)) return;
  checked_ = now;
  std::error_code ec;
  auto mtime = std::filesystem::last_write_time(path_, ec);
  auto size = ec ? 0 : std::filesystem::file_size(path_, ec);
  if (!ec && mtime == mtime_ && size == file_size_) return;
  if (auto r = Load(); !r) {
    LogLine("http", "warning: " + r.error().message + "; the " + std::to_string(tokens_.size()) +
                        " tokens read before stay in force");
    // Do not retry every second with the same broken file: remember what was seen.
    if (!ec) {
      mtime_ = mtime;
      file_size_ = size;
    }
    return;
  }
  LogLine("http", "token file " + path_.string() + " re-read: " + std::to_string(tokens_.size()) +
                      " tokens");
}

Result<std::optional<Identity>> TokenFileAuthenticator::Authenticate(std::string_view token) {
  std::lock_guard lock(mu_);
  MaybeReload();
  if (token.empty()) return std::optional<Identity>();
  // Compare against every token (no early exit), so that timing tells nothing about which.
  size_t match = 0;
  for (size_t i = 0; i < tokens_.size(); ++i) {
    if (ConstantTimeEquals(tokens_[i], token) && match == 0) match = i + 1;
  }
  if (match == 0) return std::optional<Identity>();
  return std::optional<Identity>(Identity{prefix_ + "-" + std::to_string(match), {}});
}

size_t TokenFileAuthenticator::size() const {
  std::lock_guard lock(mu_);
  return tokens_.size();
}

Result<std::optional<Identity>> AnyOfAuthenticator::Authenticate(std::string_view token) {
  std::optional<Error> error;
  for (const auto& a : list_) {
    auto r = a->Authenticate(token);
    if (!r) {
      error = r.error();
      continue;
    }
    if (*r) return r;
  }
  if (error) return std::unexpected(*error);
  return std::optional<Identity>();
}

bool AnyOfAuthenticator::MayBlock() const {
  for (const auto& a : list_) {
    if (a->MayBlock()) return true;
  }
  return false;
}

}  // namespace sloop::http
