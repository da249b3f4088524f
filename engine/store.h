// Store: the time-sharded history of a cluster. Ingest appends records (RecordSink); the HTTP
// layer queries them. Time is cut into shards (one hour by default); the active shard is sealed
// into a key-ordered segment and a memory-mapped sparse index when its window closes, at
// shutdown, or when it grows past its caps; whole sealed shards are deleted, the one whose newest
// record is oldest first, to honour max_disk_bytes (× gc_threshold, at every moment) and
// max_look_back. Shards are read in the time order of their records, whatever shard duration
// wrote them. One Store per directory (StoreLock). Thread-safe throughout.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "engine/record_sink.h"
#include "engine/shard.h"
#include "engine/store_lock.h"
#include "engine/timeline.h"
#include "index/object_meta.h"
#include "index/resource_key.h"
#include "segments/segment_writer.h"

namespace sloop {

struct StoreOptions {
  std::filesystem::path root;  // the store's directory; created when missing
  std::chrono::nanoseconds shard_duration = std::chrono::hours(1);
  // Retention keeps the whole store directory (sealed shards, unsealed ones with the room their
  // seal needs) at or under gc_threshold × max_disk_bytes at every moment: it deletes the shards
  // whose newest record is oldest when a block is written, after each seal and every second.
  uint64_t max_disk_bytes = 32768ull << 20;
  // The free bytes of the store's volume (null: statvfs of the shard directory). When they are
  // short of what the unsealed shards' seals still need, retention deletes the oldest shards as
  // if the store were over max_disk_bytes: on a volume smaller than the limit, or shared with
  // others that filled it, the newest history keeps being recorded and sealed.
  std::function<int64_t()> volume_free_bytes;
  double gc_threshold = 0.8;                                         // (0, 1]
  std::chrono::nanoseconds max_look_back = std::chrono::hours(336);  // from the newest record
  std::chrono::nanoseconds cleanup_interval = std::chrono::minutes(30);
  // The active shard is sealed early when its segment or its in-memory index passes these. The
  // segment cap is lowered to a sixth of the threshold's share of max_disk_bytes when that is
  // smaller (the active shard and the one being sealed, each with room for its seal, must fit).
  uint64_t active_segment_cap_bytes = 512ull << 20;
  uint64_t active_index_cap_bytes = 48ull << 20;
  // Memory for sorting records while sealing (larger shards are sorted in runs and merged).
  uint64_t seal_sort_budget_bytes = 32ull << 20;
  WriterOptions writer;
  // Sealed segments are written once and read many times: bigger blocks and a stronger level
  // than the active segment's buy compression at a cost paid once, off the append path.
  size_t sealed_block_bytes = 1024 * 1024;
  // Events are read by the object they are about, a few at a time: in sealed segments they get
  // blocks of their own of about this size (cut between one object's Events and the next's), so
  // that the Events of a pod cost the decompression of a small block. 0: as any other kind.
  size_t sealed_event_block_bytes = 512 * 1024;
  int sealed_zstd_level = 9;
  // A sealed segment starts with a zstd dictionary of this many bytes at most (an example
  // object of each kind, segments/dictionary.h), against which its blocks are compressed: the
  // first objects of each block then cost what later ones do. 0: none. A reader keeps it in
  // memory for each sealed shard.
  size_t sealed_dictionary_bytes = 32 * 1024;
  bool read_only = false;  // no appends, no sealing of old active files, no retention
  // Older sealed indexes are rewritten to read the keys they share with the next shard's
  // there (docs/format/index.md): about half their size. false: every index keeps all its keys.
  bool rebase_indexes = true;
  bool background = true;  // seal and clean up on a background thread (tests may turn it off)
  // Backpressure: while more than this many finished shards wait to be sealed (each holds its
  // index in memory), Append waits for the sealer. Live ingest rotates once an hour and never
  // waits; a replay faster than real time is slowed to the sealer's pace instead of growing
  // without bound. 0 disables the wait.
  size_t max_unsealed_shards = 1;
  // Time source for retention by age and for "now"; ns since the epoch.
  std::function<int64_t()> now_ns;
  // Time that only goes forward, through suspends too (CLOCK_BOOTTIME), against which steps of
  // now_ns are found: retention by age never counts from a newest record that a forward step of
  // the wall clock (a bad clock, a wrong NTP answer) put in the future, nor from one ahead of
  // now_ns (the clock set right again), so that a clock ahead by more than max_look_back does not
  // wipe the history. Set with now_ns left to the system clock; null: no steps are looked for
  // (tests that move now_ns by hand).
  std::function<int64_t()> boot_ns;
  // After a failed seal (a full disk) the shard is sealed again no sooner than this, the wait
  // doubling with each failure up to seal_retry_max and starting over after a success. Writing
  // out the active shard's records on the sync timer backs off the same way.
  std::chrono::milliseconds seal_retry_initial{5000};
  std::chrono::milliseconds seal_retry_max{300000};
  // The object-store tier (objstore/upload_state.h sets both; docs/format/object-store.md).
  // shard_uploaded: whether a sealed shard is safely in the bucket. When set, (1) retention by
  // size deletes every uploaded shard before any that is not, and those oldest-last (newest
  // first), counting each in StoreStats::unuploaded_shards_lost with a loud log line; retention
  // by age (max_look_back, the user's promise of how long history is kept) still deletes an
  // un-uploaded shard, counted and logged the same; (2) an un-uploaded shard's index is not
  // rewritten against a base (it stays readable alone for the upload). Called with the store's
  // shard list locked: it must be cheap and must not call into the Store.
  std::function<bool(const ShardInfo&)> shard_uploaded;
  // Called once a shard's seal is durable (its .seg and .idx in place), on the sealing thread;
  // it must be cheap (wake an uploader) and must not call into the Store.
  std::function<void(const ShardInfo&)> on_sealed;
};

// An owned copy of a record.
struct StoredRecord {
  struct Event {
    std::string involved_kind, involved_namespace, involved_name, involved_uid, reason, message;
    EventSeverity severity = EventSeverity::kUnknown;
    int32_t count = 0;
    int64_t first_timestamp_ns = 0;
    int64_t last_timestamp_ns = 0;
  };
  int64_t observed_ns = 0;
  WatchType watch_type = WatchType::kAdded;
  std::string api_group, api_version, kind, namespace_, name, uid, resource_version;
  std::string payload;
  std::optional<Event> event;

  static StoredRecord From(const RecordView& r);
  RecordView view() const;  // borrows from this object
  size_t bytes() const;     // approximate heap size
};

struct SearchHit {
  ResourceKey key;
  int64_t first_ns = 0;
  int64_t last_ns = 0;
  int64_t creation_ns = 0;
  bool deleted = false;
};

// A resource that existed at a moment (Store::ObjectsAt).
struct ObjectAt {
  ResourceKey key;
  std::string api_group, api_version;
  int64_t creation_ns = 0;
};

// fn(index into the keys asked for, record, previous): see Store::Versions. False stops.
using VersionFn = std::function<bool(size_t, const RecordView&, bool)>;

struct RetentionReport {
  uint64_t shards_deleted = 0;
  uint64_t bytes_freed = 0;
  bool over_limit = false;       // the unsealed shards alone are over the threshold
  uint64_t records_deleted = 0;  // records in the shards deleted
  bool size_limit_hit = false;   // the store was over its size threshold
};

struct StoreStats {
  uint64_t shards = 0;
  uint64_t sealed_shards = 0;
  uint64_t disk_bytes = 0;
  int64_t oldest_ns = 0;
  int64_t newest_ns = 0;
  uint64_t records_appended = 0;
  uint64_t evictions = 0;
  uint64_t evicted_bytes = 0;
  uint64_t seals = 0;
  uint64_t seal_failures = 0;
  uint64_t memory_bytes = 0;  // active index + write buffers
  uint64_t recovered_bytes_dropped = 0;
  uint64_t recovered_corrupt_blocks = 0;
  // Damaged blocks queries met in the shards held now and skipped (answering with the rest).
  uint64_t corrupt_blocks_skipped = 0;
  // Files found damaged at start-up and renamed *.damaged for a person to look at.
  uint64_t damaged_files_set_aside = 0;
  // Sealed shards whose index was missing or damaged and was rebuilt from their segment.
  uint64_t indexes_rebuilt = 0;
  // Sealed indexes rewritten against the next shard's (Store::RebaseIndexes) by this process.
  uint64_t indexes_rebased = 0;
  // Records in the shards held now.
  uint64_t records_held = 0;
  // Maintenance runs (Maintain(): seal what is due, then retention), for Sloop's GC metrics.
  uint64_t maintenance_runs = 0;
  uint64_t maintenance_failures = 0;
  bool maintenance_running = false;
  double last_maintenance_seconds = 0;            // how long the last run took
  uint64_t last_maintenance_deleted = 0;          // shards the last run deleted
  uint64_t last_maintenance_records_deleted = 0;  // records in them
  bool last_maintenance_over_limit = false;  // the last run found the store over its size limit
  // Sealed shards retention deleted before StoreOptions::shard_uploaded said they were uploaded.
  uint64_t unuploaded_shards_lost = 0;
};

class Store : public RecordSink {
 public:
  // Opens (or creates) the store at options.root, recovering from a crash: a half-finished seal
  // is discarded (its arrival-order file is still authoritative), a torn tail is cut back and an
  // interrupted restore is finished or rolled back (RecoverInterruptedRestore). Holds the
  // store's StoreLock until destroyed, read-only or not: kUnavailable, naming the holder's pid
  // and the lock file, when another Store or a restore has it.
  static Result<std::unique_ptr<Store>> Open(StoreOptions options);
  ~Store() override;  // Close()s

  Result<void> Append(const RecordView& record) override;
  // From PayloadAt; nothing when the newest record is of another API group or unreadable.
  std::optional<std::string> LastPayload(std::string_view api_group, std::string_view kind,
                                         std::string_view namespace_, std::string_view name,
                                         std::string_view uid, int64_t t_ns) const override;

  // Writes out the active shard's pending block (queries see it either way).
  Result<void> Flush();
  // Seals the active shard now (a new one starts with the next record).
  Result<void> SealActive();
  // Seals every shard whose window has closed and applies retention. Runs on the background
  // thread every cleanup_interval; callable directly.
  Result<RetentionReport> Maintain();
  // Stops the background thread and seals the active shard. Idempotent.
  Result<void> Close();

  // ---- queries: each works on a snapshot of the shards; none blocks ingest for long.
  Result<TimelineResult> Timeline(const TimelineQuery& q) const;
  // Every record of the resource in range, oldest first; with include_previous, the last record
  // before the range too. An empty uid means every uid of that kind/namespace/name.
  // These three read shard by shard, and fail with kAborted once cancel is raised (a query past
  // its deadline: with an object store, a window with no start reads every shard of the bucket).
  Result<void> History(const ResourceKeyView& key, const TimeRange& range, bool include_previous,
                       const RecordFn& fn, const std::atomic<bool>* cancel = nullptr) const;
  // The newest record of the resource at or before t.
  Result<std::optional<StoredRecord>> PayloadAt(const ResourceKeyView& key, int64_t t_ns,
                                                const std::atomic<bool>* cancel = nullptr) const;
  // Event records about the resource whose observation lies in range, oldest first.
  Result<void> Events(const ResourceKeyView& involved, const TimeRange& range, const RecordFn& fn,
                      const std::atomic<bool>* cancel = nullptr) const;
  std::vector<std::string> Namespaces(const TimeRange& range) const;
  std::vector<std::string> Kinds(const TimeRange& range) const;

  // ---- many resources at once (engine/store_bulk.cc)
  // The resources of `kind` (in namespace_, "" = all; a cluster-scoped kind ignores it) that the
  // newest shard starting at or before t_ns knows to have existed at t_ns: alive when the shard
  // began, or first recorded or created at or before t_ns. In key order; empty when no shard
  // starts that early. A deletion before t_ns shows in the version in effect (Versions()).
  Result<std::vector<ObjectAt>> ObjectsAt(std::string_view kind, std::string_view namespace_,
                                          int64_t t_ns, const std::atomic<bool>* cancel) const;
  // The versions of many resources, each block of a shard read once: for every key of `keys`
  // (sorted by ResourceKeyLess, distinct, uids given), with include_previous its newest record
  // at or before range.start_ns (the version in effect then; previous = true), then its records
  // in (start_ns, end_ns], oldest first. The records of different keys interleave; a key's
  // previous record comes before the others. kAborted once cancel is raised.
  Result<void> Versions(std::span<const ResourceKey> keys, const TimeRange& range,
                        bool include_previous, const std::atomic<bool>* cancel,
                        const VersionFn& fn) const;
  // RecordSink::LiveObjects: the resources of this API group and kind (in namespace_, "" = all)
  // that the newest shard holds as alive, read from its index alone (no block is decompressed):
  // those alive when it began (carried over from the shard before) or recorded in it, less those
  // whose last record in it is a deletion, each with the resourceVersion of its newest change. A
  // resource it does not carry over (an Event not updated for hours) is not known. In key order.
  std::vector<LiveObject> LiveObjects(std::string_view api_group, std::string_view kind,
                                      std::string_view namespace_) const override;
  // Resources whose name contains needle, over the whole retention (deleted ones included),
  // most recently seen first.
  std::vector<SearchHit> Search(std::string_view needle, std::string_view kind, size_t limit) const;
  // The same over this store's shards and, when from_ns is before the oldest of them, the older
  // shards kept elsewhere whose window ends after from_ns (SetOlderShards), as a gateway or a
  // recorder with a bucket searches. Errors are the other tier's (kUnavailable).
  Result<std::vector<SearchHit>> SearchFrom(std::string_view needle, std::string_view kind,
                                            size_t limit, int64_t from_ns,
                                            const std::atomic<bool>* cancel = nullptr) const;

  std::vector<ShardInfo> Shards() const;
  // How far this machine's wall clock is ahead of a clock trusted more (the API server's, which
  // the recorder reads at each connection; negative: behind). Over a minute ahead, retention by
  // age counts from now less that (NewestForAge), so that a clock already wrong when the store
  // opened, which nothing in the store can tell, does not delete the history as too old.
  void SetClockAhead(int64_t ahead_ns) { clock_ahead_ns_.store(ahead_ns); }
  StoreStats Stats() const;
  const StoreOptions& options() const { return options_; }
  int64_t Now() const { return options_.now_ns(); }

  // ---- backup: a consistent set of files (sealed shards + a flushed prefix of the active one).
  struct BackupFile {
    std::string name;                         // name inside the archive
    std::filesystem::path path;               // on disk
    uint64_t size = 0;                        // bytes to copy (a prefix for the active segment)
    std::shared_ptr<const Shard> keep_alive;  // the shard's readers
    // The file, opened when the snapshot was taken (closed with the last copy): its bytes are
    // the snapshot's even when retention deletes the file or a rebase replaces the index
    // meanwhile. Null: opened by path when read.
    std::shared_ptr<const int> fd;
  };
  // Every file is opened under the store's locks, so a backup needs two descriptors a shard
  // (sloop raises its soft limit to the hard one at start); kIOError naming the file otherwise.
  Result<std::vector<BackupFile>> SnapshotForBackup();

  // The snapshot of this store's shards in time order (oldest first).
  std::vector<std::shared_ptr<const Shard>> Snapshot() const;
  // Shards older than this store holds, kept elsewhere (the object-store tier,
  // objstore/remote_shards.h): fn(before_ns, local ids) gives those whose window ends at or
  // before before_ns (the start of the oldest shard here; none here: any) and whose id is not
  // among the local ones, oldest first. Queries over a time range (timeline, history, payload,
  // Events, kinds, namespaces, ObjectsAt, Versions) read them before the store's own; Search,
  // LiveObjects, Stats, Shards, retention and backups see only the store's own.
  // kUnavailable when it cannot say which there are (the bucket has never answered a listing):
  // a query that needs them fails then, rather than answer as if there were none.
  using OlderShardsFn = std::function<Result<std::vector<std::shared_ptr<const Shard>>>(
      int64_t before_ns, const std::vector<uint64_t>& local_ids)>;
  void SetOlderShards(OlderShardsFn fn);
  // For a query that reads nothing before from_ns: Snapshot(), after the older shards when
  // from_ns is before the oldest shard here (else they are not asked for).
  Result<std::vector<std::shared_ptr<const Shard>>> QuerySnapshot(int64_t from_ns) const;
  // The sealed shards in time order (oldest first), for the uploader. Holding one keeps its
  // index (and the bases it reads through) open; retention may still unlink its files, so a
  // reader that must outlive that opens them first (their descriptors keep the bytes).
  std::vector<std::shared_ptr<const SealedShard>> SealedShards() const;

  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

 private:
  // Stops early (with what it found) once cancel is raised.
  std::vector<SearchHit> SearchShards(const std::vector<std::shared_ptr<const Shard>>& shards,
                                      std::string_view needle, std::string_view kind, size_t limit,
                                      const std::atomic<bool>* cancel = nullptr) const;

  explicit Store(StoreOptions options);
  Result<void> Recover();
  Result<void> StartActive(int64_t t_ns);
  Result<void> RotateLocked(int64_t t_ns);
  Result<void> AppendLocked(const RecordView& record);
  void WaitForSealer();
  // Seals `shard` (null: nothing) now if it is still waiting to be sealed.
  void SealFirst(const ActiveShard* shard);
  // paced: not while backing off after a failed seal (then it returns at once, the shard still
  // waiting); Close() seals unpaced.
  Result<void> SealShard(const std::shared_ptr<ActiveShard>& shard, bool paced = true);
  // The sync timer: writes the active shard's records out once the oldest has waited
  // writer.sync_interval (see SegmentWriter::FlushAged).
  void FlushLoop();
  void KickFlusher();
  Result<RetentionReport> EnforceRetention();
  // The newest record's time as retention by age counts it (StoreOptions::boot_ns): no later
  // than the clock, less the wall clock's forward steps since the store opened, and no later
  // than the trusted clock's now (SetClockAhead).
  int64_t NewestForAge(int64_t newest);
  // The free bytes of the store's volume (StoreOptions::volume_free_bytes).
  int64_t VolumeFreeBytes() const;
  // Rewrites the indexes of shards no longer among the newest kWholeNewestIndexes against the
  // next shard's, oldest first, kRebasesPerPass at most and none while a shard waits to be
  // sealed, and reopens each with the shards that read through it (store_seal.cc); returns how
  // many. A failure only leaves an index whole (it is logged).
  size_t RebaseIndexes();
  // Rewrites sealed[c] against sealed[c + 1] if it may be; true when it was rewritten. sealed is
  // updated with the shards reopened.
  bool RebaseIndex(std::vector<std::shared_ptr<SealedShard>>& sealed, size_t c);
  Result<RetentionReport> MaintainOnce();  // Maintain() without its bookkeeping
  void BackgroundLoop();
  int64_t WindowStart(int64_t t_ns) const;
  uint64_t GcTargetBytes() const;  // gc_threshold × max_disk_bytes
  std::filesystem::path ShardDir() const { return options_.root / "shards"; }

  // Tests only (engine/seal_faults.h): a seal stops after this step (1..5) as if the process died
  // there; 0: never.
  friend void InjectSealFaultForTesting(Store& store, int step);
  std::atomic<int> seal_fault_after_step_{0};

  StoreLock lock_;  // first: released after everything else has closed
  StoreOptions options_;
  mutable std::mutex append_mu_;                       // serialises appends and rotation
  mutable std::mutex shards_mu_;                       // guards the lists below
  std::vector<std::shared_ptr<SealedShard>> sealed_;   // oldest first
  std::vector<std::shared_ptr<ActiveShard>> sealing_;  // finished, waiting to be sealed
  std::shared_ptr<ActiveShard> active_;
  OlderShardsFn older_shards_;  // with shards_mu_
  uint64_t next_shard_id_ = 1;
  uint64_t active_segment_cap_ = 0;         // options_.active_segment_cap_bytes, or less
  // The same cap for the volume the store is on: what it can hold (the store's files and its
  // free space) as if that were -max-disk-mb. Set by retention, which reads the free space; a
  // volume smaller than the limit must not let the active shard take the room its seal needs.
  std::atomic<uint64_t> volume_segment_cap_{UINT64_MAX};
  // Shards retention deleted that someone still holds (a backup's descriptors, a query, an
  // upload), with their bytes: the volume gets those back only when they are let go, so later
  // passes count them as free rather than delete more (a slow backup would otherwise make
  // retention delete a shard every second on a full volume). Guarded by shards_mu_.
  std::vector<std::pair<std::weak_ptr<const SealedShard>, uint64_t>> deleted_held_;
  // now_ns() - boot_ns() when the store was opened (retention by age, EnforceRetention), and
  // the clock step last logged.
  int64_t wall_minus_boot_at_open_ = 0;
  int64_t clock_step_logged_ = 0;
  std::atomic<int64_t> clock_ahead_ns_{0};  // SetClockAhead
  int64_t clock_ahead_logged_ = 0;
  uint64_t retention_checked_segment_ = 0;  // with append_mu_
  std::mutex seal_mu_;                      // one seal at a time
  std::mutex rebase_mu_;                    // one RebaseIndexes pass at a time
  std::set<uint64_t> rebase_failed_;        // with rebase_mu_: shards not rewritten again
  std::condition_variable sealed_cv_;       // with shards_mu_: a background seal finished or failed
  std::atomic<bool> abort_waits_{false};

  std::atomic<uint64_t> records_appended_{0};
  std::atomic<uint64_t> evictions_{0};
  std::atomic<uint64_t> evicted_bytes_{0};
  std::atomic<uint64_t> seals_{0};
  std::atomic<uint64_t> seal_failures_{0};
  std::atomic<uint64_t> maintenance_runs_{0};
  std::atomic<uint64_t> maintenance_failures_{0};
  std::atomic<bool> maintenance_running_{false};
  std::atomic<double> last_maintenance_seconds_{0};
  std::atomic<uint64_t> last_maintenance_deleted_{0};
  std::atomic<uint64_t> last_maintenance_records_deleted_{0};
  std::atomic<bool> last_maintenance_over_limit_{false};
  std::atomic<uint64_t> unuploaded_shards_lost_{0};
  uint64_t recovered_bytes_dropped_ = 0;
  uint64_t recovered_corrupt_blocks_ = 0;
  uint64_t damaged_files_ = 0;
  uint64_t indexes_rebuilt_ = 0;
  std::atomic<uint64_t> indexes_rebased_{0};

  std::mutex pace_mu_;  // seal retry pacing
  std::chrono::milliseconds seal_backoff_{0};
  std::chrono::steady_clock::time_point seal_retry_at_;
  std::atomic<bool> seal_backing_off_{false};

  std::mutex flush_mu_;  // the sync timer's wake-ups
  std::condition_variable flush_cv_;
  bool flush_kick_ = false;  // a record started a new pending block
  bool flush_stop_ = false;
  std::thread flusher_;

  std::mutex bg_mu_;
  std::condition_variable bg_cv_;
  bool stopping_ = false;
  bool closed_ = false;
  std::thread background_;
};

}  // namespace sloop
