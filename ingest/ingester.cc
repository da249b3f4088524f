#include "ingest/ingester.h"

#include <curl/curl.h>
#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <random>

#include "base/time_text.h"
#include "engine/interval_sink.h"
#include "ingest/capture.h"
#include "ingest/crd_deletions.h"
#include "ingest/discovery.h"
#include "ingest/ingest_metrics.h"
#include "ingest/log.h"
#include "ingest/raw_json.h"
#include "ingest/type_recorder.h"
#include "ingest/watch_frame.h"

namespace sloop::ingest {

using Clock = std::chrono::steady_clock;

// How often the API server's clock is read again after the connection (CheckClock).
constexpr std::chrono::minutes kClockCheckInterval{10};

namespace {

// Unreadable frames in a row (no good one between) after which a watch stream is taken for
// something that is not a watch stream at all (a proxy's page, binary garbage) and relisted.
constexpr int kUnreadableFramesInRow = 32;
// Tries of a list page whose JSON is broken before the rest of that page is given up.
constexpr int kBrokenPageTries = 3;
// Bad list items logged one by one per list; the rest are counted and summed up.
constexpr uint64_t kBadItemsLogged = 5;
// A rate-limited log line of a stream repeats at most this often.
constexpr auto kLogEvery = std::chrono::seconds(10);
// How much of a list page over the cap is kept: enough for its metadata (continue token,
// resourceVersion), which the API server writes before the items.
constexpr size_t kPagePrefixBytes = 64 << 10;
// A watch reopened from its resourceVersion and accepted (200) that has not been told 410 Gone
// within this long is taken to have resumed without loss.
constexpr auto kResumedAfter = std::chrono::seconds(2);

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Seconds(Clock::duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", std::chrono::duration<double>(d).count());
  return buf;
}

std::string MiB(size_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return buf;
}

// At most `max` bytes of `s`, for log lines that quote what the server sent.
std::string Clip(std::string_view s, size_t max = 200) {
  if (s.size() <= max) return std::string(s);
  return std::string(s.substr(0, max)) + "…";
}

// "namespace/name" (or "name") of an object from its raw text; empty when unreadable.
std::string RawIdentity(std::string_view object) {
  std::string_view name = RawMetadataField(object, "name");
  if (name.empty()) return {};
  std::string_view ns = RawMetadataField(object, "namespace");
  return Clip(ns.empty() ? std::string(name) : std::string(ns) + "/" + std::string(name));
}

// The same from the start of an object cut short (a page over the cap): metadata's first
// members (name, namespace) are read even when the rest of it is missing.
std::string CutIdentity(std::string_view text) {
  size_t m = text.find("\"metadata\"");
  if (m == std::string_view::npos) return {};
  size_t open = text.find('{', m);
  if (open == std::string_view::npos) return {};
  std::string_view name, ns;
  (void)ForEachMember(text.substr(open), [&](std::string_view k, std::string_view v) {
    if (k == "name") name = StringValue(v);
    if (k == "namespace") ns = StringValue(v);
    return name.empty() || ns.empty();
  });
  if (name.empty()) return {};
  return Clip(ns.empty() ? std::string(name) : std::string(ns) + "/" + std::string(name));
}

std::string Escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
        c == '~') {
      out += c;
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", static_cast<unsigned char>(c));
      out += buf;
    }
  }
  return out;
}

}  // namespace

struct Stream {
  enum class Phase { kWaiting, kListing, kWatching };
  enum class Abort { kNone, kRelist, kMalformed, kWatchError, kPageTooLarge, kStop };

  std::unique_ptr<TypeRecorder> rec;
  Phase phase = Phase::kWaiting;
  bool need_list = true;
  std::string rv;
  std::string continue_token;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  // A watch's partial line, or a list page's body: never more than options.max_frame_bytes.
  std::string buf;
  size_t buf_peak = 0;
  bool discarding = false;  // skipping the rest of a watch line over the cap
  size_t discarded = 0;     // bytes of that line so far
  long status = 0;
  std::string retry_after;
  Clock::time_point next_attempt{};
  Clock::time_point started{};
  Clock::time_point last_data{};
  Clock::time_point resync_due{};
  Clock::time_point list_started{};
  int failures = 0;
  // Relists because the watch stream was unreadable, since the last watch that read a good
  // frame: their backoff is not reset by a list that succeeds, so a server that keeps sending
  // garbage is not relisted in a loop.
  int unreadable_relists = 0;
  Abort abort = Abort::kNone;
  uint64_t frames = 0;
  int bad_frames_in_row = 0;
  uint64_t relists = 0;
  uint64_t reconnects = 0;
  // The list in progress: its pages, its items, whether it was read whole.
  uint64_t list_items = 0;
  uint64_t list_page = 0;
  uint64_t list_bad_items = 0;
  bool list_incomplete = false;
  int page_tries = 0;
  int page_limit = 0;  // limit of the next page: lowered when a page is over the cap
  uint64_t records_before_list = 0;
  uint64_t skipped_items = 0;
  uint64_t skipped_frames = 0;
  std::string error_message;
  bool forbidden = false;         // the last list or watch answered 403
  bool forbidden_logged = false;  // said once with what to add to the role; not again
  std::string last_error;  // why the last request of this stream failed ("" after a good one)
  // Recording gaps (IngestOptions::gaps). complete_ns: the wall time up to which this type's
  // history is known whole (the last good frame, a watch's clean end, a list's end). gap_id: the
  // interval open for it (0: none); pending while the watch may still resume from its
  // resourceVersion without loss, certain once a relist is forced, with what it turned out to be.
  int64_t complete_ns = 0;
  uint64_t gap_id = 0;
  bool gap_pending = false;
  std::string gap_reason;
  Clock::time_point last_bad_log{};
  uint64_t bad_logs_suppressed = 0;
  Ingester::Impl* impl = nullptr;
};

struct Ingester::Impl {
  IngestOptions options;
  std::unique_ptr<CrdDeletionTap> crd_tap;  // in front of the sink given to Start
  RecordSink* sink = nullptr;               // crd_tap
  // Kinds of deleted CRDs whose objects' deletion the store refused, and when to try again.
  std::vector<ResourceType> crd_kinds_to_retry;
  Clock::time_point crd_retry_at{};
  ApiClient* client = nullptr;
  Ingester* owner = nullptr;
  std::unique_ptr<IngestMetrics> metrics;
  std::unique_ptr<CaptureWriter> capture;
  ParseScratch scratch;
  CURLM* multi = nullptr;
  std::vector<std::unique_ptr<Stream>> streams;
  std::atomic<bool> stop{false};
  std::mutex stop_mu;
  std::condition_variable stop_cv;
  std::mt19937_64 rng{std::random_device{}()};
  Clock::time_point next_discovery{};
  Clock::time_point next_clock_check{};  // the API server's clock read again (CheckClock)
  mutable std::mutex status_mu;
  std::vector<KindStatus> status;
  IngestReadiness readiness;  // guarded by status_mu
  uint64_t store_errors = 0;
  int64_t started_ns = 0;  // when Start was called: the cluster is recorded from then on

  // ---- recording gaps (IngestOptions::gaps)

  IntervalMark Mark(const Stream& s, std::string reason) const {
    const ResourceType& t = s.rec->type();
    return IntervalMark{"watch", t.kind, t.group, std::move(reason), s.complete_ns};
  }

  // The watch is down; it may yet resume from its resourceVersion without loss.
  void GapSuspected(Stream& s, const std::string& why) {
    if (options.gaps == nullptr || s.gap_id != 0) return;
    s.gap_id = options.gaps->OpenInterval(Mark(s, "the " + s.rec->type().kind + " watch is down (" +
                                                      Clip(why, 160) +
                                                      "); reconnecting from its resourceVersion"));
    s.gap_pending = true;
  }

  // Changes were lost: a relist is forced, or a list failed. The first reason given stands.
  void GapCertain(Stream& s, const std::string& reason) {
    if (options.gaps == nullptr) return;
    if (s.gap_id == 0) {
      s.gap_id = options.gaps->OpenInterval(Mark(s, reason));
    } else if (!s.gap_pending) {
      return;
    }
    s.gap_pending = false;
    s.gap_reason = reason;
  }

  // The watch delivers again from its resourceVersion: what was feared did not happen.
  void WatchResumed(Stream& s) {
    if (s.gap_id == 0 || !s.gap_pending) return;
    options.gaps->CancelInterval(s.gap_id);
    s.gap_id = 0;
    s.gap_pending = false;
  }

  // A list ended (or the type is dropped): the gap, if any, ends here.
  void GapEnded(Stream& s, int64_t end_ns) {
    if (s.gap_id == 0) return;
    options.gaps->CloseInterval(s.gap_id, end_ns, s.gap_reason);
    s.gap_id = 0;
    s.gap_pending = false;
    s.gap_reason.clear();
  }

  // The wall time of a steady-clock instant in the recent past.
  static int64_t WallNs(Clock::time_point t) {
    return NowNs() - std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t).count();
  }

  ~Impl() {
    if (multi) curl_multi_cleanup(multi);
  }

  void SetWaiting(std::string what) {
    std::lock_guard lock(status_mu);
    if (readiness.ready) return;
    readiness.waiting_for = std::move(what);
  }

  // Sleeps for d or until Stop(). False when stopping.
  bool SleepFor(Clock::duration d) {
    std::unique_lock lock(stop_mu);
    return !stop_cv.wait_for(lock, d, [&] { return stop.load(); });
  }

  // Starts watching a type. Returns how many of its objects the sink holds as alive: they are
  // what its first list is reconciled against (TypeRecorder::SeedFromSink), so that what was
  // deleted while sloop was not running is inferred deleted rather than left alive for good.
  size_t AddStream(const ResourceType& type) {
    auto s = std::make_unique<Stream>();
    s->impl = this;
    KindMetrics* km = &metrics->For(type.kind, type.group);
    s->rec = std::make_unique<TypeRecorder>(type, *sink, options, km, scratch);
    const size_t seeded = s->rec->SeedFromSink(options.watch_namespace);
    metrics->Watching(type, true);
    s->next_attempt = Clock::now();
    s->page_limit = std::max(1, options.list_page_size);
    s->complete_ns = NowNs();
    streams.push_back(std::move(s));
    return seeded;
  }

  Clock::duration Jittered(int exponent) {
    auto base = options.backoff_initial * (1LL << std::clamp(exponent, 0, 16));
    auto capped = std::min<std::chrono::milliseconds>(
        std::chrono::duration_cast<std::chrono::milliseconds>(base), options.backoff_max);
    std::uniform_real_distribution<double> jitter(0.5, 1.0);
    return std::chrono::duration_cast<Clock::duration>(capped * jitter(rng));
  }

  Clock::duration Backoff(Stream& s) { return Jittered(s.failures++); }

  void Retry(Stream& s, Clock::duration delay) {
    s.phase = Stream::Phase::kWaiting;
    s.next_attempt = Clock::now() + delay;
  }

  void RetryAfterOrBackoff(Stream& s) {
    long secs = 0;
    if (!s.retry_after.empty()) secs = std::strtol(s.retry_after.c_str(), nullptr, 10);
    if (secs > 0) {
      Retry(s, std::chrono::seconds(std::min(secs, 120L)));
    } else {
      Retry(s, Backoff(s));
    }
  }

  void Finish(Stream& s) {
    if (s.easy) {
      curl_multi_remove_handle(multi, s.easy);
      curl_easy_cleanup(s.easy);
      s.easy = nullptr;
    }
    if (s.headers) {
      curl_slist_free_all(s.headers);
      s.headers = nullptr;
    }
  }

  // A log line about something a hostile or broken server can repeat without end: at most one
  // per stream every kLogEvery, with the count of those left out.
  void LogLimited(Stream& s, const std::string& line) {
    auto now = Clock::now();
    if (s.last_bad_log != Clock::time_point{} && now - s.last_bad_log < kLogEvery) {
      ++s.bad_logs_suppressed;
      return;
    }
    std::string more;
    if (s.bad_logs_suppressed > 0) {
      more = " (" + std::to_string(s.bad_logs_suppressed) + " more like it not logged)";
    }
    Log(line + more);
    s.last_bad_log = now;
    s.bad_logs_suppressed = 0;
  }

  static void NotePeak(Stream& s) { s.buf_peak = std::max(s.buf_peak, s.buf.size()); }

  // Gives a large buffer's memory back once it is empty: one huge frame must not pin it.
  static void ReleaseBuffer(Stream& s) {
    s.buf.clear();
    if (s.buf.capacity() > (size_t{1} << 20)) std::string().swap(s.buf);
  }

  static size_t OnHeader(char* data, size_t size, size_t n, void* user) {
    auto* s = static_cast<Stream*>(user);
    std::string_view line(data, size * n);
    if (line.starts_with("HTTP/")) {
      s->retry_after.clear();
    } else if (line.size() > 12 && strncasecmp(line.data(), "retry-after:", 12) == 0) {
      std::string_view v = line.substr(12);
      while (!v.empty() && (v.front() == ' ')) v.remove_prefix(1);
      while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' ')) {
        v.remove_suffix(1);
      }
      s->retry_after = v;
    } else if (line == "\r\n" || line == "\n") {
      curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &s->status);
      s->last_data = Clock::now();
    }
    return size * n;
  }

  static size_t OnData(char* data, size_t size, size_t n, void* user) {
    auto* s = static_cast<Stream*>(user);
    Impl& impl = *s->impl;
    const size_t bytes = size * n;
    const size_t cap = std::max<size_t>(impl.options.max_frame_bytes, 1);
    s->last_data = Clock::now();
    if (s->status == 0) curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &s->status);
    if (s->status != 200) {
      if (s->buf.size() > (64 << 10)) return bytes;  // enough of an error
      s->buf.append(data, bytes);
      NotePeak(*s);
      return bytes;
    }
    if (s->phase == Stream::Phase::kListing) {
      if (s->buf.size() + bytes > cap) {
        // Keep the page's start (its metadata) and stop the transfer.
        size_t keep = s->buf.size() < kPagePrefixBytes
                          ? std::min(bytes, kPagePrefixBytes - s->buf.size())
                          : 0;
        if (s->buf.size() + keep <= cap) s->buf.append(data, keep);
        NotePeak(*s);
        s->abort = Stream::Abort::kPageTooLarge;
        return 0;
      }
      s->buf.append(data, bytes);
      NotePeak(*s);
      return bytes;
    }
    // A watch: newline-delimited frames. A frame wholly inside this chunk is read in place; only
    // a frame's beginning waits in s->buf, and never more than `cap` bytes of it.
    std::string_view in(data, bytes);
    while (!in.empty()) {
      size_t nl = in.find('\n');
      if (s->discarding) {
        if (nl == std::string_view::npos) {
          s->discarded += in.size();
          return bytes;
        }
        s->discarded += nl;
        in.remove_prefix(nl + 1);
        s->discarding = false;
        impl.FrameTooLarge(*s, s->discarded, true);
        continue;
      }
      if (nl == std::string_view::npos) {
        if (s->buf.size() + in.size() > cap) {
          s->discarding = true;
          s->discarded = s->buf.size() + in.size();
          ReleaseBuffer(*s);
        } else {
          s->buf.append(in);
          NotePeak(*s);
        }
        return bytes;
      }
      if (s->buf.size() + nl > cap) {
        impl.FrameTooLarge(*s, s->buf.size() + nl, true);
        ReleaseBuffer(*s);
        in.remove_prefix(nl + 1);
        continue;
      }
      std::string_view frame;
      if (s->buf.empty()) {
        frame = in.substr(0, nl);
      } else {
        s->buf.append(in.substr(0, nl));
        NotePeak(*s);
        frame = s->buf;
      }
      in.remove_prefix(nl + 1);
      if (!frame.empty() && frame.back() == '\r') frame.remove_suffix(1);
      bool go_on = frame.empty() || impl.OnFrame(*s, frame);
      ReleaseBuffer(*s);
      if (!go_on) return 0;  // aborts the transfer
    }
    return bytes;
  }

  // A frame of the watch was skipped, and with it a change: the kind's next list (brought this
  // close) records what the change left; the watch goes on meanwhile.
  void LostAChange(Stream& s) {
    const auto soon = Clock::now() +
                      std::chrono::duration_cast<Clock::duration>(options.relist_after_lost_change);
    if (soon >= s.resync_due) return;
    s.resync_due = soon;
    LogLimited(s, s.rec->type().GroupResource() + ": a change was lost with that frame; " +
                      "relisting in " + Seconds(options.relist_after_lost_change) +
                      " to record what it left");
  }

  void FrameTooLarge(Stream& s, size_t bytes, bool ended) {
    ++s.skipped_frames;
    s.rec->metrics()->Error("frame_too_large");
    LogLimited(s, s.rec->type().GroupResource() + ": dropped a watch frame of " +
                      (ended ? "" : "at least ") + MiB(bytes) + ", over -max-watch-frame-mb (" +
                      MiB(options.max_frame_bytes) +
                      "); the watch goes on (raise -max-watch-frame-mb if objects this large "
                      "are real)");
    LostAChange(s);
  }

  // A frame that could not be read: skipped and counted. False (the stream is relisted) when
  // kUnreadableFramesInRow came in a row with none readable between: that is not a watch stream.
  bool UnreadableFrame(Stream& s, std::string_view frame, const std::string& why) {
    ++s.skipped_frames;
    ++s.bad_frames_in_row;
    s.rec->metrics()->Error("malformed_frame");
    LogLimited(s, s.rec->type().GroupResource() + ": skipped an unreadable watch frame (" +
                      std::to_string(frame.size()) + " bytes: " + why + "): " + Clip(frame, 120));
    if (s.bad_frames_in_row < kUnreadableFramesInRow) {
      LostAChange(s);
      return true;
    }
    s.error_message = std::to_string(s.bad_frames_in_row) + " unreadable watch frames in a row";
    s.abort = Stream::Abort::kMalformed;
    return false;
  }

  // One watch frame. False to end the stream (s.abort says why).
  bool OnFrame(Stream& s, std::string_view frame) {
    ++s.frames;
    WatchFrame f = ParseWatchFrame(frame);
    const ResourceType& rt = s.rec->type();
    switch (f.kind) {
      case WatchFrame::Kind::kMalformed:
        return UnreadableFrame(s, frame, "not a watch event");
      case WatchFrame::Kind::kBookmark:
        s.bad_frames_in_row = 0;
        s.unreadable_relists = 0;
        if (!f.resource_version.empty()) s.rv = f.resource_version;
        WatchResumed(s);
        s.complete_ns = NowNs();
        return true;
      case WatchFrame::Kind::kError:
        s.error_message = f.error_message;
        if (f.error_code == "410" ||
            (f.error_code == "504" && TooLargeResourceVersion(f.error_message))) {
          s.abort = Stream::Abort::kRelist;
        } else {
          s.rec->metrics()->Error("watch_error");
          s.abort = Stream::Abort::kWatchError;
        }
        return false;
      case WatchFrame::Kind::kUnknownType:
        s.bad_frames_in_row = 0;
        WatchResumed(s);
        s.complete_ns = NowNs();
        s.rec->metrics()->Error("unknown_frame_type");
        LogLimited(s, rt.GroupResource() + ": skipped a watch frame of unknown type \"" +
                          Clip(f.type_name, 40) + "\"");
        return true;
      case WatchFrame::Kind::kEvent:
        break;
    }
    s.bad_frames_in_row = 0;
    CaptureType ct = f.type == WatchType::kAdded      ? CaptureType::kAdded
                     : f.type == WatchType::kModified ? CaptureType::kModified
                                                      : CaptureType::kDeleted;
    int64_t ts = NowNs();
    Capture(ts, ct, rt, f.object);
    auto ok = s.rec->OnWatchEvent(f.type, f.object, ts);
    if (!ok) {
      if (ok.error().code == ErrorCode::kCorruption) {
        // A poison event: the object cannot be read (no metadata.name, nested too deep, invalid
        // JSON). Relisting would read it again; skip it and keep the watch.
        ++s.skipped_frames;
        s.rec->metrics()->Error("malformed_frame");
        std::string who = RawIdentity(f.object);
        LogLimited(s, rt.GroupResource() + ": skipped an unreadable " + std::string(f.type_name) +
                          " event" + (who.empty() ? std::string() : " of " + who) + " (" +
                          std::to_string(f.object.size()) + " bytes): " + ok.error().message);
        LostAChange(s);
      } else if ((store_errors++ & 1023) == 0) {
        Log("store: " + ok.error().ToString());
      }
    } else {
      s.unreadable_relists = 0;
    }
    if (!f.resource_version.empty()) s.rv = f.resource_version;
    WatchResumed(s);
    s.complete_ns = ts;
    return true;
  }

  void StartRequest(Stream& s) {
    const ResourceType& rt = s.rec->type();
    std::string path = rt.CollectionPath(options.watch_namespace);
    bool list = s.need_list;
    long timeout_s;
    if (list) {
      path += "?limit=" + std::to_string(s.page_limit);
      if (!s.continue_token.empty()) path += "&continue=" + Escape(s.continue_token);
      timeout_s = static_cast<long>(options.request_timeout.count());
    } else {
      std::uniform_int_distribution<long> spread(options.watch_timeout.count(),
                                                 2 * options.watch_timeout.count());
      long watch_s = std::max(1L, spread(rng));
      path += "?watch=1&allowWatchBookmarks=true&resourceVersion=" + Escape(s.rv) +
              "&timeoutSeconds=" + std::to_string(watch_s);
      timeout_s = watch_s + 60;
    }
    s.easy = curl_easy_init();
    auto headers = client->Prepare(s.easy, path, kAcceptJson);
    if (!headers) {
      curl_easy_cleanup(s.easy);
      s.easy = nullptr;
      s.rec->metrics()->Error("credentials");
      s.last_error = headers.error().message;
      LogLimited(s, rt.GroupResource() + ": " + headers.error().ToString());
      Retry(s, Backoff(s));
      return;
    }
    s.headers = *headers;
    curl_easy_setopt(s.easy, CURLOPT_WRITEFUNCTION, &Impl::OnData);
    curl_easy_setopt(s.easy, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(s.easy, CURLOPT_HEADERFUNCTION, &Impl::OnHeader);
    curl_easy_setopt(s.easy, CURLOPT_HEADERDATA, &s);
    curl_easy_setopt(s.easy, CURLOPT_PRIVATE, &s);
    curl_easy_setopt(s.easy, CURLOPT_TIMEOUT, timeout_s);
    ReleaseBuffer(s);
    s.discarding = false;
    s.discarded = 0;
    s.status = 0;
    s.retry_after.clear();
    s.abort = Stream::Abort::kNone;
    s.frames = 0;
    s.bad_frames_in_row = 0;
    s.error_message.clear();
    s.started = s.last_data = Clock::now();
    if (list) {
      if (!s.rec->listing()) {
        s.rec->BeginList();
        if (s.rec->listed_once()) ++s.relists;
        s.list_items = 0;
        s.list_page = 0;
        s.list_bad_items = 0;
        s.list_incomplete = false;
        s.page_tries = 0;
        s.records_before_list = s.rec->records();
        s.list_started = s.started;
      }
      s.phase = Stream::Phase::kListing;
    } else {
      s.phase = Stream::Phase::kWatching;
    }
    curl_multi_add_handle(multi, s.easy);
  }

  void HttpFailure(Stream& s, const char* what) {
    const std::string name = s.rec->type().GroupResource();
    std::string reason = s.status == 429 ? "http_429" : s.status >= 500 ? "http_5xx" : "http_4xx";
    s.rec->metrics()->Error(reason);
    if (s.status == 401) client->CredentialsRejected();
    s.last_error = std::string(what) + " answered HTTP " + std::to_string(s.status) + ": " +
                   StatusMessage(s.buf);
    if (s.phase == Stream::Phase::kListing) {
      // A refused kind is not recorded at all (shown as forbidden), which is no gap in it; a
      // throttled list (429) is paced by the server, as any list takes its time.
      if (s.status != 403 && s.status != 429) GapCertain(s, ListFailedReason(s));
    } else {
      GapSuspected(s, s.last_error);
    }
    if (s.status == 403) {
      Forbidden(s, what);
      return;
    }
    LogLimited(s, name + ": " + s.last_error);
    if (s.status == 429) {
      RetryAfterOrBackoff(s);
    } else {
      Retry(s, Backoff(s));
    }
  }

  // 403 on one kind: its role lacks it. The other kinds go on; this one is said once with the
  // rule to add, shown (status, gauge), counted as listed for readiness and retried only every
  // options.forbidden_retry, so a missing rule never becomes a retry storm.
  void Forbidden(Stream& s, const char* what) {
    const ResourceType& t = s.rec->type();
    if (!s.forbidden) s.rec->metrics()->forbidden->Set(1);
    s.forbidden = true;
    if (!s.forbidden_logged) {
      s.forbidden_logged = true;
      Log(t.GroupResource() + ": " + what + " forbidden (403: " + StatusMessage(s.buf) +
          "); recording the other kinds and trying this one again every " +
          Seconds(options.forbidden_retry) +
          ". To record it, add to sloop's ClusterRole (or Role): {apiGroups: [\"" + t.group +
          "\"], resources: [\"" + t.resource + "\"], verbs: [\"get\", \"list\", \"watch\"]}");
    }
    s.failures = 0;
    std::uniform_real_distribution<double> jitter(0.9, 1.1);
    Retry(s, std::chrono::duration_cast<Clock::duration>(options.forbidden_retry * jitter(rng)));
  }

  // The kind was served again after a 403: the role was fixed.
  void Allowed(Stream& s) {
    if (!s.forbidden) return;
    s.forbidden = false;
    s.forbidden_logged = false;
    s.rec->metrics()->forbidden->Set(0);
    Log(s.rec->type().GroupResource() + ": allowed now; recording it");
  }

  // A list item that cannot be read: skipped, counted, logged (the first few of a list by name,
  // or by page and index), and the list marked incomplete so that it infers no deletions.
  void BadListItem(Stream& s, std::string_view item, size_t index, const std::string& why) {
    ++s.list_bad_items;
    ++s.skipped_items;
    s.list_incomplete = true;
    s.rec->metrics()->Error("malformed_item");
    if (s.list_bad_items > kBadItemsLogged) return;
    std::string who = RawIdentity(item);
    if (who.empty()) {
      who = "page " + std::to_string(s.list_page + 1) + " item " + std::to_string(index);
    } else {
      who += " (page " + std::to_string(s.list_page + 1) + " item " + std::to_string(index) + ")";
    }
    Log(s.rec->type().GroupResource() + ": skipped unreadable list item " + who + ", " +
        std::to_string(item.size()) + " bytes: " + why + "; this list infers no deletions" +
        (s.list_bad_items == kBadItemsLogged ? " (further bad items of this list are counted, "
                                               "not logged)"
                                             : ""));
  }

  // The next page, or the end of the list. `meta_source` holds the page's metadata.
  void NextPageOrEnd(Stream& s, std::string_view meta_source) {
    ++s.list_page;
    s.page_tries = 0;
    // A limit lowered for a page over the cap grows back page by page: one huge object must not
    // make every later list of this kind crawl.
    s.page_limit = std::min(std::max(1, options.list_page_size), s.page_limit * 2);
    std::string_view cont = RawMetadataField(meta_source, "continue");
    if (!cont.empty()) {
      s.continue_token = cont;
      StartRequest(s);
      return;
    }
    EndList(s, RawMetadataField(meta_source, "resourceVersion"));
  }

  std::string ListFailedReason(const Stream& s) const {
    return "the " + s.rec->type().kind + " list failed (" + Clip(s.last_error, 160) +
           ") and was tried again; changes until it completed may be missing";
  }

  // One record of the capture (-record-file), when there is one: a list item, a watch event,
  // or where a list ended or started again ("{}"). A failed write stops the recording.
  void Capture(int64_t ts, CaptureType type, const ResourceType& rt,
               std::string_view object = "{}") {
    if (!capture) return;
    if (auto w = capture->Write(ts, type, rt, object); !w) {
      Log("capture: " + w.error().ToString() + "; recording stopped");
      capture.reset();
    }
  }

  void EndList(Stream& s, std::string_view list_rv) {
    const std::string name = s.rec->type().GroupResource();
    int64_t ts = NowNs();
    GapEnded(s, ts);
    s.complete_ns = ts;
    s.continue_token.clear();
    auto mode = s.list_incomplete ? TypeRecorder::ListEnd::kKeepUnseen
                                  : TypeRecorder::ListEnd::kInferDeletions;
    Capture(ts, s.list_incomplete ? CaptureType::kListIncomplete : CaptureType::kListEnd,
            s.rec->type());
    auto vanished = s.rec->EndList(ts, mode);
    s.rv = list_rv;
    s.need_list = false;
    s.failures = 0;
    s.last_error.clear();
    s.resync_due =
        options.resync_interval.count() > 0
            ? Clock::now() + std::chrono::duration_cast<Clock::duration>(options.resync_interval)
            : Clock::time_point::max();
    uint64_t recorded = s.rec->records() - s.records_before_list;
    std::string incomplete;
    if (s.list_incomplete) {
      incomplete = s.list_bad_items > 0
                       ? ", not read whole: " + std::to_string(s.list_bad_items) +
                             " items unreadable or over the cap, so no deletions inferred"
                       : ", not read whole (a page was unreadable or over the cap), so no "
                         "deletions inferred";
    }
    Log(name + ": listed " + std::to_string(s.list_items) + " objects in " +
        Seconds(Clock::now() - s.list_started) + " (resourceVersion " + s.rv + ", " +
        std::to_string(recorded) + " records" +
        (vanished && *vanished ? ", " + std::to_string(*vanished) + " deleted while disconnected"
                               : std::string()) +
        incomplete + "); watching");
    StartRequest(s);
  }

  void PageTooLarge(Stream& s) {
    const std::string name = s.rec->type().GroupResource();
    s.rec->metrics()->Error("page_too_large");
    if (s.page_limit > 1) {
      // The same page asked for again in smaller pieces (the continue token does not depend on
      // the limit): nothing is skipped, so the list still infers deletions.
      int smaller = std::max(1, s.page_limit / 4);
      Log(name + ": list page " + std::to_string(s.list_page + 1) + " (limit " +
          std::to_string(s.page_limit) + ") is over -max-watch-frame-mb (" +
          MiB(options.max_frame_bytes) + "); asking again with limit " + std::to_string(smaller));
      s.page_limit = smaller;
      ReleaseBuffer(s);
      Retry(s, Clock::duration::zero());
      return;
    }
    // One object alone is over the cap: skip it and go on from the page's continue token. The
    // list no longer shows every object, so it infers no deletions.
    s.list_incomplete = true;
    ++s.list_bad_items;
    ++s.skipped_items;
    s.rec->metrics()->Error("object_too_large");
    std::string who;
    if (auto items = s.buf.find("\"items\""); items != std::string::npos) {
      who = CutIdentity(std::string_view(s.buf).substr(items));
    }
    Log(name + ": an object over -max-watch-frame-mb (" + MiB(options.max_frame_bytes) + ")" +
        (who.empty() ? std::string() : ", probably " + who) + ", on list page " +
        std::to_string(s.list_page + 1) + " was skipped; this list infers no deletions");
    std::string prefix = std::move(s.buf);
    ReleaseBuffer(s);
    NextPageOrEnd(s, prefix);
  }

  void ListDone(Stream& s, CURLcode rc) {
    const std::string name = s.rec->type().GroupResource();
    if (s.abort == Stream::Abort::kPageTooLarge) {
      PageTooLarge(s);
      return;
    }
    if (rc != CURLE_OK) {
      s.rec->metrics()->Error("network");
      s.last_error = std::string("list failed: ") + curl_easy_strerror(rc);
      GapCertain(s, ListFailedReason(s));
      LogLimited(s, name + ": " + s.last_error + "; retrying");
      Retry(s, Backoff(s));
      return;
    }
    if (s.status == 410) {  // the continue token expired: start the list again
      Log(name + ": list continuation expired; listing again from the start");
      s.continue_token.clear();
      // An object the pages before showed, deleted since, is not on the new ones: its deletion
      // is inferred at the end of this list rather than at the next.
      s.rec->RestartList();
      Capture(NowNs(), CaptureType::kListRestart, s.rec->type());
      s.list_page = 0;
      s.list_items = 0;
      Retry(s, std::chrono::milliseconds(0));
      return;
    }
    if (s.status != 200) {
      HttpFailure(s, "list");
      return;
    }
    Allowed(s);
    std::string_view body = s.buf;
    auto items = FindMember(body, "items");
    Result<void> walk;
    int64_t ts = NowNs();
    if (!items || items->empty()) {
      walk =
          MakeError(ErrorCode::kCorruption, items ? "no \"items\" array" : items.error().message);
    } else if (*items != "null") {
      size_t index = 0;
      walk = ForEachElement(*items, [&](std::string_view item) {
        size_t i = index++;
        ++s.list_items;
        Capture(ts, CaptureType::kList, s.rec->type(), item);
        auto ok = s.rec->OnListItem(item, ts);
        if (ok) return;
        if (ok.error().code == ErrorCode::kCorruption) {
          BadListItem(s, item, i, ok.error().message);
        } else if ((store_errors++ & 1023) == 0) {
          Log("store: " + ok.error().ToString());
        }
      });
    }
    if (!walk) {
      // The page's JSON is broken past some item (not just one bad item): ask for it again a few
      // times, then give the rest of it up. Either way this list infers no deletions.
      s.rec->metrics()->Error("malformed");
      s.list_incomplete = true;
      if (++s.page_tries < kBrokenPageTries) {
        LogLimited(s, name + ": list page " + std::to_string(s.list_page + 1) +
                          " is not readable JSON (" + walk.error().message +
                          "); asking for it again");
        Retry(s, Backoff(s));
        return;
      }
      Log(name + ": list page " + std::to_string(s.list_page + 1) + " was unreadable " +
          std::to_string(s.page_tries) + " times (" + walk.error().message +
          "); the rest of it is skipped and this list infers no deletions");
    }
    NextPageOrEnd(s, body);
  }

  std::string RelistReason(const Stream& s, const std::string& why) const {
    return "the " + s.rec->type().kind + " watch was cut (" + why +
           ") and relisted; changes in between may be missing";
  }

  void WatchDone(Stream& s, CURLcode rc) {
    const std::string name = s.rec->type().GroupResource();
    // The watch carried everything up to its last bytes, unless what ended it says that its
    // resourceVersion was already too old (410) or the stream was not a watch stream.
    if (s.status == 200 && s.abort != Stream::Abort::kRelist &&
        s.abort != Stream::Abort::kMalformed && s.abort != Stream::Abort::kStop) {
      s.complete_ns = std::max(s.complete_ns, WallNs(s.last_data));
    }
    switch (s.abort) {
      case Stream::Abort::kStop:
        return;
      case Stream::Abort::kRelist:
        GapCertain(s, RelistReason(s, "410 Gone"));
        Log(name + ": watch cannot resume from resourceVersion " + s.rv + " (" + s.error_message +
            "); relisting");
        s.need_list = true;
        Retry(s, std::chrono::milliseconds(0));
        return;
      case Stream::Abort::kMalformed: {
        // The stream was not a watch stream. The backoff grows with every such relist until a
        // watch reads a good frame again; a list that succeeds does not reset it.
        auto delay = Jittered(s.unreadable_relists++);
        s.last_error = s.error_message;
        GapCertain(s, RelistReason(s, "its stream was unreadable: " + Clip(s.error_message, 120)));
        Log(name + ": " + s.error_message + "; relisting in " + Seconds(delay) +
            " so that nothing is lost");
        s.need_list = true;
        Retry(s, delay);
        return;
      }
      case Stream::Abort::kWatchError:
        GapSuspected(s, "watch error: " + s.error_message);
        LogLimited(s, name + ": watch error: " + s.error_message + "; watching again");
        Retry(s, Backoff(s));
        return;
      case Stream::Abort::kPageTooLarge:
      case Stream::Abort::kNone:
        break;
    }
    if (s.discarding) FrameTooLarge(s, s.discarded, false);  // the stream ended inside it
    if (rc != CURLE_OK) {
      ++s.reconnects;
      s.rec->metrics()->reconnects->Increment();
      s.rec->metrics()->Error("network");
      GapSuspected(s, std::string("connection broken: ") + curl_easy_strerror(rc));
      LogLimited(s, name + ": watch broken (" + curl_easy_strerror(rc) + "); reconnecting from " +
                        "resourceVersion " + s.rv);
      Retry(s, s.frames > 0 ? Clock::duration::zero() : Backoff(s));
      return;
    }
    if (s.status == 410) {
      GapCertain(s, RelistReason(s, "410 Gone"));
      Log(name + ": watch answered 410 Gone; relisting");
      s.need_list = true;
      Retry(s, std::chrono::milliseconds(0));
      return;
    }
    if (s.status == 504 && TooLargeResourceVersion(s.buf)) {
      // The API server is behind the resourceVersion this watch resumes from, and stayed behind
      // for the seconds it waited: its etcd was restored from a backup, or another cluster now
      // answers at this address. Resuming again would fail the same way while everything
      // changes unseen; a list (a consistent read, no resourceVersion) reconciles with what is
      // there now, as client-go's reflector does.
      GapCertain(s, RelistReason(s,
                                 "its resourceVersion is newer than the API server's "
                                 "(ResourceVersionTooLarge)"));
      Log(name + ": watch answered 504: resourceVersion " + s.rv +
          " is newer than the API server's (" + StatusMessage(s.buf) +
          "); the cluster's store was restored or replaced; relisting");
      s.need_list = true;
      Retry(s, std::chrono::milliseconds(0));
      return;
    }
    if (s.status != 200) {
      HttpFailure(s, "watch");
      return;
    }
    Allowed(s);
    WatchResumed(s);
    // The server ended the watch (its timeout): go on from where it stopped. A server that ends
    // watches at once gets backoff rather than a busy loop.
    if (s.frames == 0 && Clock::now() - s.started < std::chrono::seconds(1)) {
      Retry(s, Backoff(s));
    } else {
      s.failures = 0;
      Retry(s, Clock::duration::zero());
    }
  }

  // The objects of each CRD deleted since the last call (CrdDeletionTap) that the store still
  // holds as alive are recorded as deleted (DELETED_INFERRED, with their last known state), as a
  // list of the kind that showed nothing would: the API server deleted them with the CRD, and
  // no watch of the kind is open to say so (the CRD went while sloop was down). A kind that
  // discovery lists again (a CRD of the same kind created since) is left to its own lists.
  void InferDeletionsOfDeletedCrdKinds() {
    std::vector<ResourceType> kinds = crd_tap->TakeDeletedKinds();
    if (!crd_kinds_to_retry.empty() && Clock::now() >= crd_retry_at) {
      kinds.insert(kinds.end(), crd_kinds_to_retry.begin(), crd_kinds_to_retry.end());
      crd_kinds_to_retry.clear();
    }
    for (const ResourceType& t : kinds) {
      const bool watched = std::any_of(streams.begin(), streams.end(), [&](const auto& s) {
        return s->rec->type().group == t.group && s->rec->type().kind == t.kind;
      });
      if (watched) continue;
      TypeRecorder gone(t, *sink, options, &metrics->For(t.kind, t.group), scratch);
      if (gone.SeedFromSink(options.watch_namespace) == 0) continue;
      gone.BeginList();
      auto vanished = gone.EndList(NowNs());
      if (!vanished) {
        ++store_errors;
        Log(t.GroupResource() +
            ": its CustomResourceDefinition was deleted, but the deletion of "
            "its objects could not be stored: " +
            vanished.error().ToString() + "; trying again in 30s");
        crd_kinds_to_retry.push_back(t);
        crd_retry_at = Clock::now() + std::chrono::seconds(30);
        continue;
      }
      Log(t.GroupResource() +
          ": its CustomResourceDefinition was deleted and the kind is no "
          "longer served; " +
          std::to_string(*vanished) +
          " of its objects the store held as alive are recorded as deleted with it "
          "(DELETED_INFERRED)");
    }
  }

  void Rediscover() {
    bool crds_listed = true;
    auto all = Discover(*client, options.watch_crds,
                        std::chrono::duration_cast<std::chrono::seconds>(options.request_timeout),
                        &crds_listed);
    if (!all) {
      Log("rediscovery failed: " + all.error().ToString() + "; keeping the current kinds");
      return;
    }
    if (!crds_listed) {
      // The CRD list failed this time (throttled, a timeout): a kind watched now keeps what the
      // last list said of it, rather than the guess from its group, which is wrong for CRDs in
      // *.k8s.io groups (Gateway API, volume snapshots): guessed, they would stop being watched,
      // and changes in between go unseen, until the next rediscovery.
      for (ResourceType& t : *all) {
        for (const auto& s : streams) {
          const ResourceType& w = s->rec->type();
          if (w.group == t.group && w.version == t.version && w.resource == t.resource) {
            t.is_crd = w.is_crd;
            break;
          }
        }
      }
    }
    auto selected = SelectResources(*all, options);
    for (const auto& t : selected) {
      bool known = std::any_of(streams.begin(), streams.end(),
                               [&](const auto& s) { return s->rec->type() == t; });
      if (!known) {
        size_t seeded = AddStream(t);
        Log(t.GroupResource() + ": new resource type (" + t.kind + "); watching it" +
            (seeded > 0 ? " (the store holds " + std::to_string(seeded) +
                              " of its objects as alive; its first list is reconciled with them)"
                        : std::string()));
      }
    }
    for (auto it = streams.begin(); it != streams.end();) {
      const ResourceType& t = (*it)->rec->type();
      bool still = std::any_of(selected.begin(), selected.end(),
                               [&](const ResourceType& x) { return x == t; });
      if (!still) {
        Log(t.GroupResource() + ": no longer served; stopped watching it");
        (*it)->rec->metrics()->forbidden->Set(0);
        (*it)->abort = Stream::Abort::kStop;
        GapEnded(**it, NowNs());
        Finish(**it);
        metrics->Watching(t, false);
        it = streams.erase(it);
      } else {
        ++it;
      }
    }
  }

  void UpdateStatus(Clock::time_point now) {
    int64_t now_ns = NowNs();
    std::vector<KindStatus> out;
    bool synced = true;
    std::vector<const Stream*> unlisted;
    std::vector<std::string> forbidden;
    for (const auto& s : streams) {
      KindStatus k;
      k.resource = s->rec->type().GroupResource();
      k.kind = s->rec->type().kind;
      k.state = s->phase == Stream::Phase::kListing    ? "listing"
                : s->phase == Stream::Phase::kWatching ? "watching"
                : s->forbidden                         ? "forbidden"
                                                       : "backoff";
      k.forbidden = s->forbidden;
      if (s->forbidden) forbidden.push_back(k.resource);
      k.objects = s->rec->known_objects();
      k.records = s->rec->records();
      k.relists = s->relists;
      k.reconnects = s->reconnects;
      k.last_event_ns = s->rec->last_event_ns();
      k.resource_version = s->rv;
      k.skipped_items = s->skipped_items;
      k.skipped_frames = s->skipped_frames;
      k.buffer_peak_bytes = s->buf_peak;
      s->rec->metrics()->buffer_peak->Set(static_cast<double>(s->buf_peak));
      // A refused kind counts as listed ("listed: forbidden"): readiness never waits for a rule.
      const bool listed = s->rec->listed_once() || s->forbidden;
      synced &= listed;
      if (!listed) unlisted.push_back(s.get());
      if (s->phase == Stream::Phase::kWatching) {
        int64_t last = k.last_event_ns;
        double lag = last > 0 ? static_cast<double>(now_ns - last) / 1e9
                              : std::chrono::duration<double>(now - s->started).count();
        s->rec->metrics()->watch_lag->Set(lag);
      }
      out.push_back(std::move(k));
    }
    owner->synced_.store(synced);
    std::lock_guard lock(status_mu);
    status = std::move(out);
    readiness.forbidden = std::move(forbidden);
    if (readiness.ready) return;
    if (synced) {
      readiness.ready = true;
      readiness.waiting_for.clear();
      Log("ready: the first list of all " + std::to_string(streams.size()) +
          " resource types is done" +
          (readiness.forbidden.empty()
               ? std::string()
               : " (" + std::to_string(readiness.forbidden.size()) + " of them forbidden)"));
      return;
    }
    std::string names, why;
    for (size_t i = 0; i < unlisted.size(); ++i) {
      if (i < 5) names += (i ? ", " : "") + unlisted[i]->rec->type().GroupResource();
      if (why.empty() && !unlisted[i]->last_error.empty()) {
        why = "; " + unlisted[i]->rec->type().GroupResource() + ": " + unlisted[i]->last_error;
      }
    }
    if (unlisted.size() > 5) names += ", …";
    readiness.waiting_for = "first list of " + names + " (" +
                            std::to_string(streams.size() - unlisted.size()) + " of " +
                            std::to_string(streams.size()) + " kinds listed)" + why;
  }

  // How far this machine's clock is ahead of the API server's, from the Date header of an answer
  // that just arrived (whole seconds, so within a second or so when both are right): told to
  // options.clock_ahead, and logged when it is more than a couple of minutes either way, since
  // every record is stamped with this machine's clock.
  void CheckClock(const ApiClient::Response& answer) {
    const int64_t now = NowNs();
    const auto server = ParseHttpDate(answer.date);
    if (!server) return;
    const int64_t ahead = now - *server;
    if (options.clock_ahead) options.clock_ahead(ahead);
    constexpr int64_t kTolerated = 120'000'000'000;
    if (std::abs(ahead) <= kTolerated) return;
    Log("CLOCK: this machine's clock is " + std::to_string(std::abs(ahead) / 1'000'000'000) +
        " s " + (ahead > 0 ? "ahead of" : "behind") + " the API server's (Date: " + answer.date +
        "); records are stamped with this machine's clock, so their times are off by as much. "
        "Set its time right (NTP)." +
        (ahead > 0 ? " Meanwhile retention by age counts from the API server's time, so that "
                     "the history is not deleted as older than it is."
                   : std::string()));
  }

  // One attempt at what must work before watching: /version with the credentials, discovery,
  // and one list permission check. The error says what is wrong and what to do.
  Result<std::vector<ResourceType>> Connect() {
    const ClusterConfig& cc = client->config();
    auto timeout = std::chrono::duration_cast<std::chrono::seconds>(options.request_timeout);
    auto version = client->Get("/version", kAcceptJson, timeout);
    if (!version) {
      const bool in_cluster = cc.source.find("in-cluster") != std::string::npos;
      if (!version.error().message.starts_with("cannot reach ")) {  // credentials
        return MakeError(ErrorCode::kUnavailable,
                         "no credentials for API server " + cc.server + ": " +
                             version.error().message + "; " +
                             (in_cluster ? "check that the pod's service-account token is "
                                           "mounted (automountServiceAccountToken, projected "
                                           "volume)"
                                         : "fix the user of " + cc.Describe()));
      }
      return MakeError(ErrorCode::kUnavailable,
                       "API server " + cc.server + " unreachable: " + version.error().message +
                           "; " +
                           (in_cluster ? "check that the API server is up and that the pod may "
                                         "reach it (network policies)"
                                       : "check that the cluster is up and that " + cc.Describe() +
                                             " points at it (or pass -apiserver-host)"));
    }
    if (version->status == 401 || version->status == 403) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "the API server at " + cc.server + "/version answered " +
                           std::to_string(version->status) + " (" + StatusMessage(version->body) +
                           "): the credentials of " + cc.Describe() +
                           " were refused; refresh them or pick another -context");
    }
    if (version->status != 200) {
      return MakeError(ErrorCode::kUnavailable,
                       "the API server at " + cc.server + "/version answered HTTP " +
                           std::to_string(version->status) + " (" + StatusMessage(version->body) +
                           "); waiting for it to be healthy");
    }
    CheckClock(*version);
    std::string git_version;
    {
      simdjson::dom::parser p;
      std::string_view v;
      if (p.parse(version->body).at_key("gitVersion").get(v) == 0) git_version = v;
    }
    auto all = Discover(*client, options.watch_crds, timeout);
    if (!all) return std::unexpected(all.error());
    auto selected = SelectResources(*all, options);
    if (selected.empty()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "none of the " + std::to_string(all->size()) +
                           " resource types the server offers is selected; check the include "
                           "and exclude kind lists");
    }
    // One permission check before going on: a user who may list none of the first few kinds is
    // almost certainly missing a role binding altogether. One refused kind is a role missing a
    // rule: the watches go on and that kind is reported forbidden.
    const ResourceType& first = selected.front();
    Result<ApiClient::Response> probe = MakeError(ErrorCode::kInvalidArgument, "no kind selected");
    for (size_t i = 0; i < std::min<size_t>(selected.size(), 3); ++i) {
      probe = client->Get(selected[i].CollectionPath(options.watch_namespace) + "?limit=1",
                          kAcceptJson, timeout);
      if (!probe || probe->status != 403) break;
    }
    if (!probe) return std::unexpected(probe.error());
    if (probe->status == 401 || probe->status == 403) {
      const std::string grant =
          options.watch_namespace.empty()
              ? "grant it get/list/watch on all resources (e.g. the 'view' ClusterRole)"
              : "grant it get/list/watch in namespace " + options.watch_namespace +
                    " (a Role and RoleBinding there: sloop -print-rbac -watch-namespace=" +
                    options.watch_namespace + " prints the rules)";
      return MakeError(ErrorCode::kInvalidArgument,
                       "the API server at " + cc.server +
                           first.CollectionPath(options.watch_namespace) + " answered " +
                           std::to_string(probe->status) + " (" + StatusMessage(probe->body) +
                           "): the user of " + cc.Describe() + " may not list " +
                           first.GroupResource() + "; " + grant);
    }
    Log("connected to " + cc.Describe() +
        (git_version.empty() ? std::string() : ", Kubernetes " + git_version));
    return selected;
  }

  // Connects, trying again with backoff until it works or Stop(). False when stopped.
  bool Bootstrap() {
    // From the start until connected after a failure, nothing of the cluster is recorded.
    uint64_t gap = 0;
    for (int attempt = 1;; ++attempt) {
      if (stop.load()) return false;
      auto selected = Connect();
      if (selected && gap != 0) options.gaps->CloseInterval(gap, NowNs(), {});
      if (selected) {
        std::string names;
        size_t seeded = 0;
        const auto seed_start = Clock::now();
        for (const auto& t : *selected) {
          seeded += AddStream(t);
          names += (names.empty() ? "" : ", ") + t.GroupResource();
        }
        Log("watching " + std::to_string(selected->size()) + " resource types: " + names);
        if (seeded > 0) {
          char ms[32];
          std::snprintf(
              ms, sizeof ms, "%.1f ms",
              std::chrono::duration<double, std::milli>(Clock::now() - seed_start).count());
          Log("the store holds " + std::to_string(seeded) +
              " objects of these types as alive (read in " + ms +
              "): each first list is reconciled against them (what vanished meanwhile is "
              "recorded as deleted)");
        }
        SetWaiting("first list of every resource type (0 of " + std::to_string(selected->size()) +
                   " kinds listed)");
        return true;
      }
      if (stop.load()) return false;
      if (options.gaps != nullptr && gap == 0) {
        gap = options.gaps->OpenInterval(IntervalMark{
            "recorder", "", "",
            "sloop could not read the cluster: " + Clip(selected.error().message), started_ns});
      }
      auto delay = Jittered(attempt - 1);
      std::string waiting = selected.error().message + " (attempt " + std::to_string(attempt) +
                            ", next in " + Seconds(delay) + ")";
      Log("waiting for the cluster: " + waiting);
      SetWaiting(std::move(waiting));
      if (!SleepFor(delay)) return false;
    }
  }

  void Run() {
    if (!Bootstrap()) return;
    auto last_flush = Clock::now();
    auto last_status = Clock::time_point{};
    next_discovery =
        Clock::now() + std::chrono::duration_cast<Clock::duration>(options.crd_refresh_interval);
    next_clock_check = Clock::now() + kClockCheckInterval;
    while (!stop.load()) {
      auto now = Clock::now();
      if (options.clock_ahead && now >= next_clock_check) {
        // The clock may be set right (or wrong) while sloop runs: read the server's again.
        next_clock_check = now + kClockCheckInterval;
        auto version = client->Get("/version", kAcceptJson, std::chrono::seconds(10));
        if (version && version->status == 200) CheckClock(*version);
      }
      if (options.watch_crds && options.crd_refresh_interval.count() > 0 && now >= next_discovery) {
        Rediscover();
        next_discovery =
            now + std::chrono::duration_cast<Clock::duration>(options.crd_refresh_interval);
      }
      for (auto& sp : streams) {
        Stream& s = *sp;
        if (s.phase == Stream::Phase::kWaiting && now >= s.next_attempt) {
          StartRequest(s);
        } else if (s.phase == Stream::Phase::kWatching) {
          // A watch accepted from its resourceVersion that has not been told 410 at once has
          // resumed (a quiet type may send no frame for minutes).
          if (s.gap_pending && s.status == 200 && now - s.started >= kResumedAfter) {
            WatchResumed(s);
          }
          if (now - s.last_data > options.stall_timeout) {
            s.complete_ns = std::max(s.complete_ns, WallNs(s.last_data));
            GapSuspected(s, "silent for " + Seconds(now - s.last_data));
            Finish(s);
            ++s.reconnects;
            s.rec->metrics()->reconnects->Increment();
            s.rec->metrics()->Error("stalled");
            Log(s.rec->type().GroupResource() + ": watch silent for " + Seconds(now - s.last_data) +
                "; reconnecting from resourceVersion " + s.rv);
            Retry(s, Clock::duration::zero());
          } else if (now >= s.resync_due) {
            s.complete_ns = std::max(s.complete_ns, NowNs());  // watching until now
            Finish(s);
            s.need_list = true;
            Retry(s, Clock::duration::zero());
          }
        }
      }
      int running = 0;
      curl_multi_perform(multi, &running);
      int queued = 0;
      while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
        if (msg->msg != CURLMSG_DONE) continue;
        Stream* s = nullptr;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &s);
        CURLcode rc = msg->data.result;
        if (s->status == 0) curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &s->status);
        // A transfer this side aborted from the write callback ends in CURLE_WRITE_ERROR.
        if (rc == CURLE_WRITE_ERROR && s->abort != Stream::Abort::kNone) rc = CURLE_OK;
        Finish(*s);
        if (s->phase == Stream::Phase::kListing) {
          ListDone(*s, rc);
        } else {
          WatchDone(*s, rc);
        }
      }
      InferDeletionsOfDeletedCrdKinds();
      if (capture && now - last_flush >= std::chrono::seconds(1)) {
        (void)capture->Flush();
        last_flush = now;
      }
      if (now - last_status >= std::chrono::milliseconds(250)) {
        UpdateStatus(now);
        last_status = now;
      }
      curl_multi_poll(multi, nullptr, 0, 100, nullptr);
    }
    for (auto& s : streams) {
      s->abort = Stream::Abort::kStop;
      Finish(*s);
    }
    UpdateStatus(Clock::now());
  }

  void RunAndClose() {
    Run();
    if (capture) {
      if (auto r = capture->Close(); !r) Log("capture: " + r.error().ToString());
    }
  }
};

Result<std::unique_ptr<Ingester>> Ingester::Start(const IngestOptions& options, RecordSink& sink,
                                                  prometheus::Registry& registry) {
  static std::once_flag curl_once;
  std::call_once(curl_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  auto config = LoadClusterConfig(options);
  if (!config) return std::unexpected(config.error());
  std::unique_ptr<Ingester> ing(new Ingester());
  ing->client_ = std::make_unique<ApiClient>(*config);
  const ClusterConfig& cc = ing->client_->config();
  bool has_credentials = !cc.token.empty() || !cc.token_file.empty() || cc.exec ||
                         !cc.client_cert_pem.empty() || !cc.username.empty();
  if (has_credentials && !cc.uses_tls()) {
    Log("warning: " + cc.Describe() +
        " has credentials but the server URL is plain http; they are not sent (as kubectl)");
  }
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->crd_tap = std::make_unique<CrdDeletionTap>(sink);
  impl->sink = impl->crd_tap.get();
  impl->client = ing->client_.get();
  impl->owner = ing.get();
  impl->metrics = std::make_unique<IngestMetrics>(registry, options.enable_granular_metrics);
  impl->readiness.waiting_for = "connecting to " + cc.server;
  impl->started_ns = NowNs();
  ing->client_->SetCancel(&impl->stop);
  if (!options.record_file.empty()) {
    auto w = CaptureWriter::Create(options.record_file, "sloop", /*list_ends=*/true);
    if (!w) return std::unexpected(w.error());
    impl->capture = std::move(*w);
    Log("recording the watch stream to " + options.record_file);
  }
  impl->multi = curl_multi_init();
  curl_multi_setopt(impl->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
  ing->impl_ = std::move(impl);
  Impl* raw = ing->impl_.get();
  ing->thread_ = std::thread([raw] { raw->RunAndClose(); });
  return ing;
}

void Ingester::Stop() {
  if (!impl_) return;
  {
    std::lock_guard lock(impl_->stop_mu);
    impl_->stop.store(true);
  }
  impl_->stop_cv.notify_all();
  if (impl_->multi) curl_multi_wakeup(impl_->multi);
  if (thread_.joinable()) thread_.join();
}

Ingester::~Ingester() { Stop(); }

std::vector<KindStatus> Ingester::Status() const {
  std::lock_guard lock(impl_->status_mu);
  return impl_->status;
}

IngestReadiness Ingester::Readiness() const {
  std::lock_guard lock(impl_->status_mu);
  return impl_->readiness;
}

}  // namespace sloop::ingest
