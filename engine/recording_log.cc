#include "engine/recording_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <string_view>

#include "base/file_sync.h"
#include "base/log.h"
#include "base/strings.h"

namespace sloop {
namespace {

namespace fs = std::filesystem;

void Log(const std::string& line) { LogLine("recording-log", line); }

// ---- the format (docs/format/recording-log.md)
constexpr char kMagic[8] = {'S', 'L', 'O', 'O', 'P', 'R', 'L', 'G'};
constexpr uint32_t kVersion = 1;
constexpr size_t kHeaderBytes = 64;
constexpr size_t kSlotOffset[2] = {16, 40};
constexpr size_t kSlotBytes = 24;
constexpr size_t kFrameBytes = 12;     // u32 length, u64 xxh64 of the body
constexpr size_t kMaxBody = 64 << 10;  // no record is near this; a larger length is damage
constexpr size_t kMaxText = 4096;      // a reason longer than this is cut
// Far past what the bounds let the file grow to (docs/format/recording-log.md): not a log.
constexpr size_t kMaxFileBytes = 64 << 20;
static_assert(kSlotOffset[1] + kSlotBytes <= kHeaderBytes);

enum RecordType : uint8_t {
  kSessionStart = 1,
  kSessionEnd = 2,
  kIntervalOpen = 3,
  kIntervalClose = 4,
  kIntervalCancel = 5,
};

void PutU64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}
void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}
void PutText(std::string* out, std::string_view s) {
  s = s.substr(0, kMaxText);
  out->push_back(static_cast<char>(s.size() & 0xff));
  out->push_back(static_cast<char>(s.size() >> 8));
  out->append(s);
}

uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

// Reads a record body field by field; any overrun marks it bad.
struct BodyReader {
  std::string_view in;
  bool ok = true;
  uint8_t U8() {
    if (in.size() < 1) return ok = false, 0;
    uint8_t v = static_cast<unsigned char>(in[0]);
    in.remove_prefix(1);
    return v;
  }
  uint64_t U64() {
    if (in.size() < 8) return ok = false, 0;
    uint64_t v = GetU64(in.data());
    in.remove_prefix(8);
    return v;
  }
  int64_t I64() { return static_cast<int64_t>(U64()); }
  std::string Text() {
    if (in.size() < 2) return ok = false, std::string();
    size_t n = static_cast<unsigned char>(in[0]) | (static_cast<unsigned char>(in[1]) << 8);
    in.remove_prefix(2);
    if (in.size() < n) return ok = false, std::string();
    std::string s(in.substr(0, n));
    in.remove_prefix(n);
    return s;
  }
};

std::string Frame(const std::string& body) {
  std::string out;
  out.reserve(kFrameBytes + body.size());
  PutU32(&out, static_cast<uint32_t>(body.size()));
  PutU64(&out, XXH64(body.data(), body.size(), 0));
  out += body;
  return out;
}

std::string SessionStartBody(const RecordingSession& s) {
  std::string b(1, static_cast<char>(kSessionStart));
  PutU64(&b, s.id);
  PutU64(&b, static_cast<uint64_t>(s.start_ns));
  return b;
}
std::string SessionEndBody(const RecordingSession& s) {
  std::string b(1, static_cast<char>(kSessionEnd));
  PutU64(&b, s.id);
  PutU64(&b, static_cast<uint64_t>(s.end_ns));
  b.push_back(static_cast<char>(s.end));
  return b;
}
std::string OpenBody(const RecordingInterval& i) {
  std::string b(1, static_cast<char>(kIntervalOpen));
  PutU64(&b, i.id);
  PutU64(&b, static_cast<uint64_t>(i.start_ns));
  PutText(&b, i.scope);
  PutText(&b, i.kind);
  PutText(&b, i.group);
  PutText(&b, i.reason);
  return b;
}
std::string CloseBody(uint64_t id, int64_t end_ns, std::string_view reason) {
  std::string b(1, static_cast<char>(kIntervalClose));
  PutU64(&b, id);
  PutU64(&b, static_cast<uint64_t>(end_ns));
  PutText(&b, reason);
  return b;
}
std::string CancelBody(uint64_t id) {
  std::string b(1, static_cast<char>(kIntervalCancel));
  PutU64(&b, id);
  return b;
}

// A heartbeat slot: session id, last-alive time, xxh64 of those 16 bytes.
std::string Slot(uint64_t session, int64_t alive_ns) {
  std::string s;
  PutU64(&s, session);
  PutU64(&s, static_cast<uint64_t>(alive_ns));
  PutU64(&s, XXH64(s.data(), 16, 0));
  return s;
}

std::string Header(uint64_t session, int64_t alive_ns) {
  std::string h(kMagic, sizeof kMagic);
  PutU32(&h, kVersion);
  PutU32(&h, 0);
  h += Slot(session, alive_ns);
  h += Slot(session, alive_ns);
  h.resize(kHeaderBytes, '\0');
  return h;
}

Result<void> WriteAll(int fd, std::string_view data, uint64_t offset, const fs::path& path) {
  while (!data.empty()) {
    ssize_t n = ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return IOError("write", path.string(), n < 0 ? errno : ENOSPC);
    data.remove_prefix(static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
  }
  return {};
}

std::string FormatBytes(uint64_t n) { return std::to_string(n) + " bytes"; }

// Reads the log at path whole into *data; false when there is none (or it cannot be read, which
// is warned). A file past kMaxFileBytes is not read on: *too_large.
bool ReadLog(const fs::path& path, std::string* data, bool* too_large,
             std::vector<std::string>* warnings) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int e = errno;
    if (e != ENOENT) {
      warnings->push_back("cannot read " + path.string() + " (" + std::strerror(e) +
                          "): recording gaps before this start are unknown");
    }
    return false;
  }
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    data->append(buf, static_cast<size_t>(n));
    if (data->size() > kMaxFileBytes) {
      *too_large = true;
      break;
    }
  }
  ::close(fd);
  return true;
}

}  // namespace

RecordingLog::RecordingLog(RecordingLogOptions options) : options_(std::move(options)) {
  if (!options_.now_ns) {
    options_.now_ns = [] {
      return std::chrono::duration_cast<std::chrono::nanoseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
          .count();
    };
  }
}

Result<std::unique_ptr<RecordingLog>> RecordingLog::Open(RecordingLogOptions options,
                                                         std::vector<std::string>* warnings) {
  std::vector<std::string> ignored;
  if (warnings == nullptr) warnings = &ignored;
  if (options.path.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "the recording log needs a path");
  }
  std::unique_ptr<RecordingLog> log(new RecordingLog(std::move(options)));
  if (auto loaded = log->Load(warnings); !loaded) return std::unexpected(loaded.error());
  return log;
}

Result<void> RecordingLog::Load(std::vector<std::string>* warnings) {
  const fs::path& path = options_.path;
  std::string data;
  bool too_large = false;
  const bool exists = ReadLog(path, &data, &too_large, warnings);
  bool damaged = false;
  if (exists && (too_large || data.size() < kHeaderBytes ||
                 std::memcmp(data.data(), kMagic, 8) != 0 || GetU32(data.data() + 8) != kVersion)) {
    std::string why = too_large                    ? "larger than a recording log grows"
                      : data.size() < kHeaderBytes ? "shorter than its header"
                      : std::memcmp(data.data(), kMagic, 8) != 0 ? "not a recording log"
                                                                 : "an unknown version";
    if (options_.read_only) {
      warnings->push_back(path.string() + " is " + why +
                          " (left in place: read-only); recording gaps are unknown");
    } else {
      fs::path aside = path;
      aside += ".damaged";
      std::error_code ec;
      fs::rename(path, aside, ec);
      warnings->push_back(path.string() + " is " + why + "; set aside as " +
                          aside.filename().string() +
                          " and started anew: recording gaps before this start are unknown");
    }
    data.clear();
    damaged = true;
  }
  // The heartbeat: the valid slot with the later time.
  uint64_t beat_session = 0;
  int64_t beat_ns = 0;
  if (!data.empty()) {
    for (size_t off : kSlotOffset) {
      const char* p = data.data() + off;
      if (GetU64(p + 16) != XXH64(p, 16, 0)) continue;
      int64_t alive = static_cast<int64_t>(GetU64(p + 8));
      if (alive >= beat_ns) {
        beat_ns = alive;
        beat_session = GetU64(p);
      }
    }
  }
  // The records, up to the first that is not whole and intact.
  std::map<uint64_t, size_t> session_at, interval_at;
  int64_t last_time = 0;
  size_t off = data.empty() ? 0 : kHeaderBytes;
  while (off < data.size()) {
    if (data.size() - off < kFrameBytes) break;
    uint32_t len = GetU32(data.data() + off);
    if (len == 0 || len > kMaxBody || data.size() - off - kFrameBytes < len) break;
    std::string_view body(data.data() + off + kFrameBytes, len);
    if (GetU64(data.data() + off + 4) != XXH64(body.data(), body.size(), 0)) break;
    BodyReader r{body};
    uint8_t type = r.U8();
    bool known = true;
    switch (type) {
      case kSessionStart: {
        RecordingSession s;
        s.id = r.U64();
        s.start_ns = r.I64();
        if (!r.ok) break;
        session_at[s.id] = sessions_.size();
        sessions_.push_back(s);
        last_time = std::max(last_time, s.start_ns);
        next_session_ = std::max(next_session_, s.id + 1);
        break;
      }
      case kSessionEnd: {
        uint64_t id = r.U64();
        int64_t end = r.I64();
        uint8_t how = r.U8();
        if (!r.ok || how > static_cast<uint8_t>(RecordingSession::End::kUnknown)) break;
        if (auto it = session_at.find(id); it != session_at.end()) {
          sessions_[it->second].end_ns = end;
          sessions_[it->second].end = static_cast<RecordingSession::End>(how);
        }
        last_time = std::max(last_time, end);
        break;
      }
      case kIntervalOpen: {
        RecordingInterval i;
        i.id = r.U64();
        i.start_ns = r.I64();
        i.scope = r.Text();
        i.kind = r.Text();
        i.group = r.Text();
        i.reason = r.Text();
        if (!r.ok) break;
        interval_at[i.id] = intervals_.size();
        next_interval_ = std::max(next_interval_, i.id + 1);
        last_time = std::max(last_time, i.start_ns);
        intervals_.push_back(std::move(i));
        break;
      }
      case kIntervalClose: {
        uint64_t id = r.U64();
        int64_t end = r.I64();
        std::string reason = r.Text();
        if (!r.ok) break;
        if (auto it = interval_at.find(id); it != interval_at.end()) {
          RecordingInterval& i = intervals_[it->second];
          i.end_ns = std::max(end, i.start_ns);
          if (!reason.empty()) i.reason = std::move(reason);
        }
        last_time = std::max(last_time, end);
        break;
      }
      case kIntervalCancel: {
        uint64_t id = r.U64();
        if (!r.ok) break;
        if (auto it = interval_at.find(id); it != interval_at.end()) {
          intervals_[it->second].id = 0;  // removed below
        }
        break;
      }
      default:
        known = false;
    }
    if (!known || !r.ok) break;
    off += kFrameBytes + len;
  }
  if (off < data.size()) {
    warnings->push_back(path.string() + ": a damaged or torn tail of " +
                        FormatBytes(data.size() - off) + " at offset " + std::to_string(off) +
                        " was " + (options_.read_only ? "ignored" : "cut off") +
                        "; recording gaps it held are lost");
  }
  std::erase_if(intervals_, [](const RecordingInterval& i) { return i.id == 0; });
  // Sessions that did not end cleanly (at most one, unless the file was written by hand or
  // restored) end at their heartbeat, else at their last record.
  for (size_t k = 0; k < sessions_.size(); ++k) {
    RecordingSession& s = sessions_[k];
    if (s.end != RecordingSession::End::kOpen) continue;
    int64_t next_start = k + 1 < sessions_.size() ? sessions_[k + 1].start_ns : INT64_MAX;
    if (beat_session == s.id && beat_ns >= s.start_ns) {
      s.end_ns = beat_ns;
      s.end = RecordingSession::End::kHeartbeat;
    } else {
      s.end_ns = std::max(s.start_ns, k + 1 < sessions_.size() ? s.start_ns : last_time);
      s.end = RecordingSession::End::kUnknown;
    }
    if (k + 1 == sessions_.size() && options_.newest_record_ns) {
      s.end_ns = std::max(s.end_ns, std::min(options_.newest_record_ns(), Now()));
    }
    s.end_ns = std::min(s.end_ns, next_start);
  }
  // Intervals left open end with the session they were opened in: the latest one that began at
  // or before their start.
  for (RecordingInterval& i : intervals_) {
    if (i.end_ns != 0) continue;
    int64_t end = i.start_ns;
    for (const RecordingSession& s : sessions_) {
      if (s.start_ns <= i.start_ns) end = std::max(i.start_ns, s.end_ns);
    }
    i.end_ns = end;
  }
  auto by_start = [](const auto& a, const auto& b) { return a.start_ns < b.start_ns; };
  std::stable_sort(sessions_.begin(), sessions_.end(), by_start);
  std::stable_sort(intervals_.begin(), intervals_.end(), by_start);
  found_ = exists && !damaged;
  if (options_.read_only) return {};
  std::lock_guard lock(mu_);
  TrimLocked(options_.horizon_ns ? options_.horizon_ns() : 0);
  if (auto r = RewriteLocked(); !r) {
    // Kept in memory (and served) all the same; each later rewrite tries again.
    warnings->push_back(r.error().ToString() +
                        ": recording gaps are kept in memory only until "
                        "the file can be written");
    write_failing_ = true;
  }
  return {};
}

void RecordingLog::TrimLocked(int64_t horizon_ns) {
  // Closed intervals that ended before the horizon go; so do sessions, but for the newest of
  // those that ended before it, whose end is where the first hole after it begins.
  std::erase_if(intervals_,
                [&](const RecordingInterval& i) { return i.end_ns != 0 && i.end_ns < horizon_ns; });
  size_t before = 0;
  for (const RecordingSession& s : sessions_) {
    if (s.end_ns != 0 && s.end_ns < horizon_ns) ++before;
  }
  if (before > 1) {
    size_t dropped = 0;
    std::erase_if(sessions_, [&](const RecordingSession& s) {
      bool old = s.end_ns != 0 && s.end_ns < horizon_ns;
      return old && dropped++ < before - 1;
    });
  }
  if (intervals_.size() > options_.max_intervals) {
    // The oldest closed ones first; open ones are kept (there is one per watched type at most).
    size_t excess = intervals_.size() - options_.max_intervals;
    std::erase_if(intervals_, [&](const RecordingInterval& i) {
      return excess > 0 && i.end_ns != 0 && (--excess, true);
    });
  }
  if (sessions_.size() > options_.max_sessions) {
    sessions_.erase(
        sessions_.begin(),
        sessions_.begin() + static_cast<ptrdiff_t>(sessions_.size() - options_.max_sessions));
  }
}

Result<void> RecordingLog::RewriteLocked() {
  const fs::path& path = options_.path;
  fs::path tmp = path;
  tmp += ".tmp";
  int64_t alive = 0;
  for (const RecordingSession& s : sessions_) {
    if (s.id == session_id_) alive = std::max(s.start_ns, Now());
  }
  std::string out = Header(session_id_, alive);
  for (const RecordingSession& s : sessions_) {
    out += Frame(SessionStartBody(s));
    if (s.end != RecordingSession::End::kOpen) out += Frame(SessionEndBody(s));
  }
  for (const RecordingInterval& i : intervals_) {
    out += Frame(OpenBody(i));
    if (i.end_ns != 0) out += Frame(CloseBody(i.id, i.end_ns, {}));
  }
  int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return IOError("create", tmp.string(), errno);
  auto written = WriteAll(fd, out, 0, tmp);
  if (written && ::fdatasync(fd) != 0) written = IOError("fsync", tmp.string(), errno);
  if (!written) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return written;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return IOError("rename to " + path.string(), tmp.string(), e);
  }
  if (auto synced = SyncDir(path.parent_path()); !synced) Log(synced.error().ToString());
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  end_ = out.size();
  rewritten_bytes_ = out.size();
  dirty_ = false;
  write_failing_ = false;  // the file holds all that memory does again
  return {};
}

RecordingLog::~RecordingLog() {
  {
    std::lock_guard lock(beat_mu_);
    beat_stop_ = true;
  }
  beat_cv_.notify_all();
  if (beat_thread_.joinable()) beat_thread_.join();
  if (fd_ >= 0) ::close(fd_);
}

void RecordingLog::WriteFailed(const Error& e) {
  if (!write_failing_) {
    Log(e.ToString() + "; recording gaps are kept in memory and written when the disk allows");
  }
  write_failing_ = true;
}

void RecordingLog::AppendLocked(const std::string& body) {
  if (fd_ < 0) return;
  std::string frame = Frame(body);
  if (auto w = WriteAll(fd_, frame, end_, options_.path); !w) {
    // Cut back whatever part of the frame got there: the next record starts at end_.
    (void)::ftruncate(fd_, static_cast<off_t>(end_));
    WriteFailed(w.error());
    return;
  }
  end_ += frame.size();
  dirty_ = true;
  if (end_ > std::max<uint64_t>(options_.compact_bytes, 2 * rewritten_bytes_)) {
    TrimLocked(0);
    if (auto r = RewriteLocked(); !r) WriteFailed(r.error());
  }
}

void RecordingLog::CountLocked(const std::string& scope) {
  for (auto& [s, n] : counts_) {
    if (s == scope) {
      ++n;
      return;
    }
  }
  counts_.emplace_back(scope, 1);
}

Result<void> RecordingLog::BeginSession() {
  if (options_.read_only) {
    return MakeError(ErrorCode::kInvalidArgument, "the recording log is open read-only");
  }
  {
    std::lock_guard lock(mu_);
    if (session_id_ != 0) return {};
    RecordingSession s;
    s.id = next_session_++;
    s.start_ns = Now();
    // A clock set back below the last session must not make sessions overlap.
    if (!sessions_.empty()) s.start_ns = std::max(s.start_ns, sessions_.back().end_ns);
    // The hole this session closes (sloop_recording_gaps_total{scope="recorder"}).
    if (!sessions_.empty() && sessions_.back().end_ns < s.start_ns) CountLocked("recorder");
    session_id_ = s.id;
    sessions_.push_back(s);
    // The rewrite puts the new session's heartbeat in the header along with its start.
    if (auto r = RewriteLocked(); !r) {
      WriteFailed(r.error());
      AppendLocked(SessionStartBody(s));
    }
    if (fd_ >= 0 && ::fdatasync(fd_) == 0) dirty_ = false;
  }
  if (options_.heartbeat_interval.count() > 0) {
    beat_thread_ = std::thread([this] { HeartbeatLoop(); });
  }
  return {};
}

void RecordingLog::HeartbeatLoop() {
  std::unique_lock lock(beat_mu_);
  while (!beat_cv_.wait_for(lock, options_.heartbeat_interval, [&] { return beat_stop_; })) {
    lock.unlock();
    (void)Heartbeat();
    lock.lock();
  }
}

Result<void> RecordingLog::Heartbeat() {
  int64_t horizon = options_.horizon_ns ? options_.horizon_ns() : 0;
  std::lock_guard lock(mu_);
  if (session_id_ == 0) return {};
  if (write_failing_ || fd_ < 0 || beats_ % 120 == 119) {
    // Every hour of heartbeats: drop what retention dropped, and rewrite the file short. After a
    // failed write, at every beat: the file lacks what memory holds until a rewrite works.
    TrimLocked(horizon);
    if (auto r = RewriteLocked(); !r) {
      ++beats_;
      WriteFailed(r.error());
      return r;
    }
  }
  std::string slot = Slot(session_id_, Now());
  auto w = WriteAll(fd_, slot, kSlotOffset[beats_++ % 2], options_.path);
  if (!w) {
    WriteFailed(w.error());
    return w;
  }
  if (::fdatasync(fd_) != 0) {
    auto e = IOError("fsync", options_.path.string(), errno);
    WriteFailed(e.error());
    return e;
  }
  dirty_ = false;
  return {};
}

Result<void> RecordingLog::EndSession() {
  {
    std::lock_guard lock(beat_mu_);
    beat_stop_ = true;
  }
  beat_cv_.notify_all();
  if (beat_thread_.joinable()) beat_thread_.join();
  std::lock_guard lock(mu_);
  if (session_id_ == 0) return {};
  const int64_t now = Now();
  for (RecordingInterval& i : intervals_) {
    if (i.end_ns != 0) continue;
    i.end_ns = std::max(now, i.start_ns);
    AppendLocked(CloseBody(i.id, i.end_ns, {}));
  }
  for (RecordingSession& s : sessions_) {
    if (s.id != session_id_) continue;
    s.end_ns = std::max(now, s.start_ns);
    s.end = RecordingSession::End::kClean;
    AppendLocked(SessionEndBody(s));
  }
  session_id_ = 0;
  if (fd_ >= 0 && ::fdatasync(fd_) != 0) {
    return IOError("fsync", options_.path.string(), errno);
  }
  dirty_ = false;
  return {};
}

uint64_t RecordingLog::OpenInterval(const IntervalMark& mark) {
  std::lock_guard lock(mu_);
  RecordingInterval i;
  i.id = next_interval_++;
  i.scope = mark.scope;
  i.kind = mark.kind;
  i.group = mark.group;
  i.reason = mark.reason.substr(0, kMaxText);
  i.start_ns = mark.start_ns;
  AppendLocked(OpenBody(i));
  CountLocked(i.scope);
  // Kept by start: reporters open intervals that began a little earlier (the last good frame).
  auto at = std::upper_bound(intervals_.begin(), intervals_.end(), i.start_ns,
                             [](int64_t t, const RecordingInterval& x) { return t < x.start_ns; });
  uint64_t id = i.id;
  intervals_.insert(at, std::move(i));
  if (intervals_.size() > options_.max_intervals) TrimLocked(0);  // the file follows at a rewrite
  return id;
}

void RecordingLog::CloseInterval(uint64_t id, int64_t end_ns, std::string_view reason) {
  std::lock_guard lock(mu_);
  for (RecordingInterval& i : intervals_) {
    if (i.id != id || i.end_ns != 0) continue;
    i.end_ns = std::max(end_ns, i.start_ns);
    if (!reason.empty()) i.reason = std::string(reason.substr(0, kMaxText));
    AppendLocked(CloseBody(id, i.end_ns, reason));
    return;
  }
}

void RecordingLog::CancelInterval(uint64_t id) {
  std::lock_guard lock(mu_);
  auto it = std::find_if(intervals_.begin(), intervals_.end(),
                         [&](const RecordingInterval& i) { return i.id == id; });
  if (it == intervals_.end()) return;
  for (auto& [s, n] : counts_) {
    if (s == it->scope && n > 0) --n;
  }
  intervals_.erase(it);
  AppendLocked(CancelBody(id));
}

RecordingState RecordingLog::State() const {
  std::lock_guard lock(mu_);
  return RecordingState{sessions_, intervals_, session_id_ != 0};
}

std::vector<std::pair<std::string, uint64_t>> RecordingLog::GapCounts() const {
  std::lock_guard lock(mu_);
  return counts_;
}

std::vector<RecordingGap> FindGaps(const RecordingState& state, int64_t since_ns, int64_t from_ns,
                                   int64_t to_ns, std::string_view kind_filter) {
  std::vector<RecordingGap> out;
  from_ns = std::max(from_ns, since_ns);
  // Clips [start, end) (end 0: open) to the window; drops it when it lies outside.
  auto add = [&](RecordingGap g) {
    if (g.end_ns != 0 && g.end_ns <= g.start_ns) return;
    if (g.start_ns >= to_ns) return;
    if (g.end_ns != 0 && g.end_ns < from_ns) return;
    g.start_ns = std::max(g.start_ns, from_ns);
    if (g.end_ns != 0) g.end_ns = std::min(g.end_ns, to_ns);
    if (g.end_ns != 0 && g.end_ns <= g.start_ns) return;
    out.push_back(std::move(g));
  };
  const auto& sessions = state.sessions;
  for (size_t k = 0; k < sessions.size(); ++k) {
    const RecordingSession& s = sessions[k];
    if (s.end == RecordingSession::End::kOpen) continue;
    RecordingGap g;
    g.scope = "recorder";
    g.start_ns = s.end_ns;
    g.end_ns = k + 1 < sessions.size() ? sessions[k + 1].start_ns : 0;
    // After the last session that ended, nothing has run since, unless this process records
    // under a session that did not reach the log (its first write failed).
    if (g.end_ns == 0 && state.recording) continue;
    // An unclean stop is placed at its last heartbeat or a record stored after it: within a
    // heartbeat of the real stop, never after it.
    const bool clean = s.end == RecordingSession::End::kClean;
    if (g.end_ns != 0) {
      g.reason = clean ? "sloop was not running"
                       : "sloop was not running (it stopped without a clean shutdown, at its last "
                         "sign of life)";
    } else {
      g.reason = clean ? "sloop has not recorded since it stopped"
                       : "sloop has not recorded since it stopped without a clean shutdown (at "
                         "its last sign of life)";
    }
    add(std::move(g));
  }
  for (const RecordingInterval& i : state.intervals) {
    if (!kind_filter.empty() && !i.kind.empty() && !EqualsIgnoreCase(i.kind, kind_filter)) {
      continue;
    }
    add(RecordingGap{i.start_ns, i.end_ns, i.scope, i.kind, i.group, i.reason});
  }
  std::stable_sort(out.begin(), out.end(), [](const RecordingGap& a, const RecordingGap& b) {
    return a.start_ns < b.start_ns;
  });
  return out;
}

}  // namespace sloop
