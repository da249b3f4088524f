// RecordingLog: when this store was being recorded, and the intervals within that time when
// changes may have been missed, so that nobody reads an absence of data as an absence of change.
// Kept beside the shards in STORE/recording.log (docs/format/recording-log.md):
//   - a session is one process recording into the store: its start is appended when it begins,
//     its end when it ends cleanly (EndSession); meanwhile a heartbeat (its last-alive time,
//     overwritten in place in one of two checksummed slots) bounds where a killed session ended;
//   - intervals are what a reporter (ingest, through IntervalSink) says it may have missed: opened,
//     then closed or withdrawn. One left open by a session that ended is closed at that end.
// The gaps a reader is shown are the holes between sessions (scope "recorder": nothing ran) and
// the intervals. The file is bounded: it is rewritten from memory at open and whenever it passes
// compact_bytes, without what ended before the horizon (the oldest retained record) and with at
// most max_intervals intervals and max_sessions sessions, the oldest dropped first.
// A missing, foreign or damaged file is never a reason not to start: a damaged tail is cut back
// to its last whole record, a file with a bad header is set aside as recording.log.damaged, and
// each is said in a warning. Write failures (a full disk) are logged, and memory keeps the truth
// until the next rewrite succeeds. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"
#include "engine/interval_sink.h"

namespace sloop {

struct RecordingLogOptions {
  std::filesystem::path path;       // STORE/recording.log (kFileName)
  bool read_only = false;           // read what is there; write nothing, begin no session
  std::function<int64_t()> now_ns;  // default: the system clock
  std::chrono::milliseconds heartbeat_interval{30'000};  // 0: no thread (call Heartbeat())
  // What ended before this (ns; 0 = nothing) is dropped when the file is rewritten. Asked at open
  // and at each heartbeat; the sloop program passes the oldest retained record's time.
  std::function<int64_t()> horizon_ns;
  // The newest record stored (ns; 0: none), asked at open: a session killed after its last
  // heartbeat was alive at least until then, which narrows the hole after it.
  std::function<int64_t()> newest_record_ns;
  size_t compact_bytes = 256 << 10;  // rewrite the file once it grows past this
  size_t max_intervals = 5'000;
  size_t max_sessions = 10'000;
};

struct RecordingSession {
  enum class End { kOpen, kClean, kHeartbeat, kUnknown };
  uint64_t id = 0;
  int64_t start_ns = 0;
  int64_t end_ns = 0;  // 0 while open
  // How the end is known: written at a clean stop, the last heartbeat of a session that was
  // killed, or (no heartbeat readable) its last record.
  End end = End::kOpen;
};

struct RecordingInterval {
  uint64_t id = 0;
  std::string scope, kind, group, reason;
  int64_t start_ns = 0;
  int64_t end_ns = 0;  // 0 while open
};

struct RecordingState {
  std::vector<RecordingSession> sessions;    // by start
  std::vector<RecordingInterval> intervals;  // by start
  bool recording = false;  // this process has a session open (BeginSession without EndSession)
};

// A gap as served: a hole between sessions (scope "recorder", kind and group empty) or an
// interval. end_ns 0: still open.
struct RecordingGap {
  int64_t start_ns = 0;
  int64_t end_ns = 0;
  std::string scope, kind, group, reason;
};

// The gaps of state that overlap [from_ns, to_ns], clipped to it and to since_ns (time before the
// first recording is not a gap: nothing was recorded yet), sorted by start. A hole follows every
// session that ended, up to the next session's start, or still open when none began since and
// this process is not recording. kind_filter (non-empty) keeps the intervals of that kind
// (compared without regard to case) and those of no kind.
std::vector<RecordingGap> FindGaps(const RecordingState& state, int64_t since_ns, int64_t from_ns,
                                   int64_t to_ns, std::string_view kind_filter = {});

class RecordingLog : public IntervalSink {
 public:
  static constexpr const char* kFileName = "recording.log";

  // Reads the file (creating none when read-only). A session left open by an earlier process is
  // ended at its last heartbeat, and its open intervals with it. What is wrong with the file (a
  // damaged one; a writable one that cannot be written, which then lives in memory while each
  // rewrite tries again) is appended to *warnings, never an error: a store opens without its
  // log. (A missing file is found() false: the caller judges whether that is worth a word.)
  // kInvalidArgument only for options it cannot use (no path).
  static Result<std::unique_ptr<RecordingLog>> Open(RecordingLogOptions options,
                                                    std::vector<std::string>* warnings);
  ~RecordingLog() override;  // stops the heartbeat; does not end the session (as if killed)

  // Begins this process's session at now and starts the heartbeat. Not when read-only.
  Result<void> BeginSession();
  // Writes now as the session's last-alive time (the heartbeat thread calls it) and syncs what
  // was appended since the last one; trims and rewrites the file when it is due.
  Result<void> Heartbeat();
  // Ends the session at now (a clean stop), closing the intervals still open at now.
  Result<void> EndSession();

  uint64_t OpenInterval(const IntervalMark& mark) override;
  void CloseInterval(uint64_t id, int64_t end_ns, std::string_view reason) override;
  void CancelInterval(uint64_t id) override;

  RecordingState State() const;
  // Intervals opened since Open and not withdrawn, by scope, and ("recorder") the hole before
  // this process's session when the previous one had ended before it began.
  std::vector<std::pair<std::string, uint64_t>> GapCounts() const;
  const std::filesystem::path& path() const { return options_.path; }
  // Whether a readable log was there at Open (a store restored from a backup, imported from
  // Sloop or written by an older build has none: what came before is unknown, not a gap).
  bool found() const { return found_; }

  RecordingLog(const RecordingLog&) = delete;
  RecordingLog& operator=(const RecordingLog&) = delete;

 private:
  explicit RecordingLog(RecordingLogOptions options);
  Result<void> Load(std::vector<std::string>* warnings);
  Result<void> RewriteLocked();
  void AppendLocked(const std::string& body);
  void TrimLocked(int64_t horizon_ns);
  void WriteFailed(const Error& e);
  void CountLocked(const std::string& scope);
  void HeartbeatLoop();
  int64_t Now() const { return options_.now_ns(); }

  RecordingLogOptions options_;
  mutable std::mutex mu_;
  int fd_ = -1;                   // open for writing (not read-only)
  uint64_t end_ = 0;              // where the next record goes
  uint64_t rewritten_bytes_ = 0;  // the file's size after the last rewrite
  bool found_ = false;
  bool dirty_ = false;  // appended since the last sync
  bool write_failing_ = false;
  std::vector<RecordingSession> sessions_;
  std::vector<RecordingInterval> intervals_;
  uint64_t session_id_ = 0;  // this process's session, 0 when none
  uint64_t next_session_ = 1;
  uint64_t next_interval_ = 1;
  uint64_t beats_ = 0;
  std::vector<std::pair<std::string, uint64_t>> counts_;

  std::mutex beat_mu_;
  std::condition_variable beat_cv_;
  bool beat_stop_ = false;
  std::thread beat_thread_;
};

}  // namespace sloop
