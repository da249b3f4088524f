// MemoryBucket: an ObjectStore held in memory, for tests of the object-store tier. Thread-safe.
// It can fail on purpose (the next N calls, or every call while unavailable), counts the
// requests of each operation and remembers the order of the keys put.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "objstore/object_store.h"

namespace sloop::objstore {

class MemoryBucket : public ObjectStore {
 public:
  enum class Op { kPut, kHead, kGet, kDelete, kList };

  // page_size: the most keys one List answers (pages beyond go through next_token).
  explicit MemoryBucket(size_t page_size = 1000) : page_size_(page_size) {}

  Result<void> PutFile(const std::string& key, const std::filesystem::path& file) override;
  Result<void> PutBytes(const std::string& key, std::string_view bytes) override;
  Result<ObjectInfo> Head(const std::string& key) override;
  Result<std::string> Get(const std::string& key, uint64_t offset = 0,
                          std::optional<uint64_t> length = std::nullopt) override;
  Result<void> Delete(const std::string& key) override;
  Result<ListPage> List(const std::string& prefix, const std::string& delimiter = "",
                        const std::string& token = "") override;

  // ---- faults: a failing call changes nothing and answers kUnavailable naming the key.
  // The next n calls (of any operation) fail.
  void FailNext(int n);
  // Every call fails until set back to true.
  void SetAvailable(bool available);

  // ---- what happened
  uint64_t Requests(Op op) const;  // calls of op, failed ones included
  uint64_t Failures() const;       // calls that failed on purpose
  std::vector<std::string> PutOrder() const;  // keys in the order their puts succeeded
  std::map<std::string, std::string> Objects() const;
  bool Contains(const std::string& key) const;
  // Sets an object's bytes directly (no request counted): to damage or plant objects.
  void Set(const std::string& key, std::string bytes);

 private:
  Result<void> Enter(Op op, const std::string& key);  // with mu_ held: counts, maybe fails

  const size_t page_size_;
  mutable std::mutex mu_;
  std::map<std::string, std::string> objects_;
  std::vector<std::string> put_order_;
  uint64_t requests_[5] = {};
  uint64_t failures_ = 0;
  int fail_next_ = 0;
  bool available_ = true;
};

}  // namespace sloop::objstore
