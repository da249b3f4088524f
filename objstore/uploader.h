// Uploader: copies each sealed shard of a Store to an object store once it is sealed, oldest
// first (docs/format/object-store.md, "Upload"): its .seg, then its .idx (whole: an index read
// through a base is written whole for the upload), then the manifest, each verified; a shard
// counts as uploaded (UploadState) once its manifest is in place. While the bucket fails, shards
// wait locally and the same shard is tried again with exponential backoff, so the order is kept.
// With a bucket retention, whole shards of this cluster older than it are deleted, manifest
// first. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "base/status.h"
#include "engine/shard.h"
#include "engine/store.h"
#include "objstore/object_store.h"
#include "objstore/upload_state.h"

namespace sloop::objstore {

struct UploaderOptions {
  std::string prefix;   // keys are PREFIX/CLUSTER/shards/... (objstore/shard_keys.h)
  std::string cluster;  // ValidateClusterName
  // Bucket retention (-object-store-retention): shards whose end is older than now minus this
  // are deleted from the bucket, and not uploaded. 0: unlimited.
  std::chrono::nanoseconds retention{0};
  // After a failure the same shard is tried again after backoff_initial, doubling up to
  // backoff_max, starting over after a success.
  std::chrono::milliseconds backoff_initial{1000};
  std::chrono::milliseconds backoff_max{std::chrono::minutes(5)};
  // The thread looks for sealed shards this often even when no seal woke it.
  std::chrono::milliseconds poll_interval{std::chrono::seconds(30)};
  // Bucket retention runs this often (after the pending uploads).
  std::chrono::milliseconds retention_interval{std::chrono::minutes(10)};
  std::function<int64_t()> now_ns;  // ns since the epoch; default: the system clock
};

struct UploaderStats {
  uint64_t uploaded_shards = 0;  // by this process
  uint64_t uploaded_bytes = 0;   // .seg + .idx + manifest
  uint64_t pending_shards = 0;   // sealed, waiting to be uploaded
  double oldest_pending_age_seconds = 0;  // since the end of the oldest waiting shard
  uint64_t failures = 0;                  // failed attempts
  uint64_t consecutive_failures = 0;      // since the last success (0: working)
  std::string last_error;
  int64_t last_upload_ns = 0;           // when the last shard was uploaded (0: never)
  uint64_t unuploaded_shards_lost = 0;  // StoreStats::unuploaded_shards_lost
  uint64_t not_uploadable_shards = 0;   // damaged locally: given up (logged)
  uint64_t expired_shards_skipped = 0;  // older than the bucket retention: not uploaded
  uint64_t found_in_bucket = 0;         // complete in the bucket already: not uploaded again
  uint64_t bucket_shards_deleted = 0;   // by bucket retention
  uint64_t bucket_retention_failures = 0;
};

class Uploader {
 public:
  // kInvalidArgument for a bad cluster name. Store, bucket and state must outlive the uploader;
  // the state must be the one Attach()ed to the store's options.
  static Result<std::unique_ptr<Uploader>> Create(Store& store, ObjectStore& bucket,
                                                  UploadState& state, UploaderOptions options);
  ~Uploader();  // Stop()s

  // Starts the background thread (uploads, backoff, bucket retention). Idempotent.
  void Start();
  // Stops it after the request in flight; pending shards stay pending. Idempotent.
  void Stop();

  // Uploads every pending sealed shard now, oldest first, stopping at the first failure (its
  // error is returned; the shard stays pending). For shutdown (after Store::Close) and tests.
  Result<void> UploadPending();
  // Deletes the shards of this cluster older than the retention from the bucket (nothing when
  // it is unlimited); stops at the first failure and returns it.
  Result<void> ApplyRetention();

  UploaderStats Stats() const;

  Uploader(const Uploader&) = delete;
  Uploader& operator=(const Uploader&) = delete;

 private:
  Uploader(Store& store, ObjectStore& bucket, UploadState& state, UploaderOptions options);
  Result<void> UploadPendingLocked(bool background);  // with work_mu_
  Result<void> UploadShard(const std::shared_ptr<const SealedShard>& shard);
  void NoteFailure(uint64_t shard_id, const Error& e);
  void NoteSuccess();
  // The store's sealed shard of this id, null when retention took it.
  std::shared_ptr<const SealedShard> FindSealed(uint64_t id) const;
  bool InStore(uint64_t id) const;
  int64_t Now() const { return options_.now_ns(); }
  void Loop();

  Store& store_;
  ObjectStore& bucket_;
  UploadState& state_;
  const UploaderOptions options_;

  std::mutex work_mu_;  // one pass (uploads or retention) at a time

  mutable std::mutex stats_mu_;
  UploaderStats stats_;
  std::chrono::steady_clock::time_point streak_start_;

  std::mutex thread_mu_;
  std::condition_variable wake_cv_;
  bool wake_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace sloop::objstore
