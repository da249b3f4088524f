#include "objstore/memory_bucket.h"

#include <fstream>
#include <iterator>
#include <string>

#include "objstore/manifest.h"

namespace sloop::objstore {

Result<void> MemoryBucket::Enter(Op op, const std::string& key) {
  ++requests_[static_cast<int>(op)];
  if (!available_ || fail_next_ > 0) {
    if (fail_next_ > 0) --fail_next_;
    ++failures_;
    return MakeError(ErrorCode::kUnavailable,
                     "memory bucket: " + key + ": injected failure (bucket unavailable)");
  }
  return {};
}

Result<void> MemoryBucket::PutFile(const std::string& key, const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return MakeError(ErrorCode::kIOError, "memory bucket: put " + key + ": cannot open " +
                                                     file.string());
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) {
    return MakeError(ErrorCode::kIOError, "memory bucket: put " + key + ": cannot read " +
                                              file.string());
  }
  return PutBytes(key, bytes);
}

Result<void> MemoryBucket::PutBytes(const std::string& key, std::string_view bytes) {
  std::lock_guard lock(mu_);
  if (auto r = Enter(Op::kPut, key); !r) return r;
  objects_[key] = std::string(bytes);
  put_order_.push_back(key);
  return {};
}

Result<ObjectInfo> MemoryBucket::Head(const std::string& key) {
  std::lock_guard lock(mu_);
  if (auto r = Enter(Op::kHead, key); !r) return std::unexpected(r.error());
  auto it = objects_.find(key);
  if (it == objects_.end()) return MakeError(ErrorCode::kNotFound, "memory bucket: no " + key);
  return ObjectInfo{key, it->second.size(), Hex64(Xxh3(it->second))};
}

Result<std::string> MemoryBucket::Get(const std::string& key, uint64_t offset,
                                      std::optional<uint64_t> length) {
  std::lock_guard lock(mu_);
  if (auto r = Enter(Op::kGet, key); !r) return std::unexpected(r.error());
  auto it = objects_.find(key);
  if (it == objects_.end()) return MakeError(ErrorCode::kNotFound, "memory bucket: no " + key);
  const std::string& v = it->second;
  if (offset > v.size()) offset = v.size();
  return v.substr(offset, length ? *length : std::string::npos);
}

Result<void> MemoryBucket::Delete(const std::string& key) {
  std::lock_guard lock(mu_);
  if (auto r = Enter(Op::kDelete, key); !r) return r;
  objects_.erase(key);
  return {};
}

Result<ListPage> MemoryBucket::List(const std::string& prefix, const std::string& delimiter,
                                    const std::string& token) {
  std::lock_guard lock(mu_);
  if (auto r = Enter(Op::kList, prefix); !r) return std::unexpected(r.error());
  ListPage page;
  // The token is the last key or common prefix the previous page gave.
  auto after = [&](const std::string& common) { return objects_.lower_bound(common + "\xff"); };
  auto it = token.empty() ? objects_.lower_bound(prefix)
            : (!delimiter.empty() && token.ends_with(delimiter)) ? after(token)
                                                                 : objects_.upper_bound(token);
  std::string last;
  size_t n = 0;
  while (it != objects_.end() && it->first.starts_with(prefix)) {
    if (n == page_size_) {
      page.next_token = last;
      break;
    }
    const std::string& key = it->first;
    const size_t at = delimiter.empty() ? std::string::npos : key.find(delimiter, prefix.size());
    if (at != std::string::npos) {
      last = key.substr(0, at + delimiter.size());
      page.common_prefixes.push_back(last);
      it = after(last);
    } else {
      last = key;
      page.objects.push_back(ObjectInfo{key, it->second.size(), Hex64(Xxh3(it->second))});
      ++it;
    }
    ++n;
  }
  return page;
}

void MemoryBucket::FailNext(int n) {
  std::lock_guard lock(mu_);
  fail_next_ = n;
}

void MemoryBucket::SetAvailable(bool available) {
  std::lock_guard lock(mu_);
  available_ = available;
}

uint64_t MemoryBucket::Requests(Op op) const {
  std::lock_guard lock(mu_);
  return requests_[static_cast<int>(op)];
}

uint64_t MemoryBucket::Failures() const {
  std::lock_guard lock(mu_);
  return failures_;
}

std::vector<std::string> MemoryBucket::PutOrder() const {
  std::lock_guard lock(mu_);
  return put_order_;
}

std::map<std::string, std::string> MemoryBucket::Objects() const {
  std::lock_guard lock(mu_);
  return objects_;
}

bool MemoryBucket::Contains(const std::string& key) const {
  std::lock_guard lock(mu_);
  return objects_.count(key) > 0;
}

void MemoryBucket::Set(const std::string& key, std::string bytes) {
  std::lock_guard lock(mu_);
  objects_[key] = std::move(bytes);
}

}  // namespace sloop::objstore
