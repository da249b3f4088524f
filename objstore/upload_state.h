// UploadState: which sealed shards of a store are safely in the object store, kept in the store's
// directory (STORE/upload-state, docs/format/object-store.md "Upload state") so that a restart
// uploads nothing twice, and told to the Store (StoreOptions::shard_uploaded) so that retention
// deletes uploaded shards first and rebasing waits for the upload. Thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "base/status.h"
#include "engine/shard.h"

namespace sloop {
struct StoreOptions;
}

namespace sloop::objstore {

class UploadState {
 public:
  static constexpr const char* kFileName = "upload-state";

  // Reads STORE/upload-state (none yet: empty). A damaged file is renamed upload-state.damaged
  // and logged, and the state starts empty: the uploader then finds the shards already in the
  // bucket by their manifests, and uploads nothing twice. kIOError when it cannot be read.
  static Result<std::unique_ptr<UploadState>> Load(const std::filesystem::path& store_root);

  // Sets options->shard_uploaded to Uploaded() (or GaveUp()) and options->on_sealed to wake the
  // uploader. The state must outlive the Store.
  static void Attach(UploadState* state, StoreOptions* options);

  // The shard's id is recorded with its segment's size (a restored store reusing an id with
  // other contents does not pass for uploaded).
  bool Uploaded(const ShardInfo& info) const;
  // Recorded durably (temp file, fsync, rename, fsync of the directory) before it returns.
  Result<void> MarkUploaded(const ShardInfo& info);
  // Forgets the shards not in keep (the store deleted them), and writes the file if that changed
  // anything.
  Result<void> Retain(const std::set<uint64_t>& keep);
  size_t size() const;

  // Shards the uploader will not upload (damaged, or older than the bucket's retention): for
  // this process only; retention treats them as uploaded (nothing is gained by keeping them).
  void GiveUp(uint64_t id);
  bool GaveUp(uint64_t id) const;

  // Called by the Store's on_sealed hook; calls the listener (the uploader's wake-up), which must
  // be cheap. After SetSealedListener returns, the listener it replaced is not running.
  void NoteSealed();
  void SetSealedListener(std::function<void()> listener);

 private:
  explicit UploadState(std::filesystem::path root) : root_(std::move(root)) {}
  std::string TextLocked() const;
  Result<void> Save(const std::string& text) const;  // with save_mu_

  const std::filesystem::path root_;
  std::mutex save_mu_;  // one writer of the file at a time
  mutable std::mutex mu_;
  std::map<uint64_t, uint64_t> uploaded_;  // shard id → segment bytes
  std::set<uint64_t> gave_up_;
  std::mutex listener_mu_;
  std::function<void()> listener_;
};

}  // namespace sloop::objstore
