#include "ingest/ingester.h"

#include <curl/curl.h>
#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <random>

#include "ingest/capture.h"
#include "ingest/discovery.h"
#include "ingest/ingest_metrics.h"
#include "ingest/log.h"
#include "ingest/raw_json.h"
#include "ingest/type_recorder.h"

namespace sloop::ingest {

using Clock = std::chrono::steady_clock;

namespace {

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

// metadata.<field> of an object or list, from its raw text.
std::string_view MetadataField(std::string_view json, std::string_view field) {
  auto meta = FindMember(json, "metadata");
  if (!meta || meta->empty()) return {};
  auto v = FindMember(*meta, field);
  if (!v) return {};
  return StringValue(*v);
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
  enum class Abort { kNone, kRelist, kMalformed, kWatchError, kStop };

  std::unique_ptr<TypeRecorder> rec;
  Phase phase = Phase::kWaiting;
  bool need_list = true;
  std::string rv;
  std::string continue_token;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  std::string buf;
  size_t scan_from = 0;
  long status = 0;
  std::string retry_after;
  Clock::time_point next_attempt{};
  Clock::time_point started{};
  Clock::time_point last_data{};
  Clock::time_point resync_due{};
  Clock::time_point list_started{};
  int failures = 0;
  Abort abort = Abort::kNone;
  uint64_t frames = 0;
  uint64_t relists = 0;
  uint64_t reconnects = 0;
  uint64_t list_items = 0;
  uint64_t records_before_list = 0;
  std::string error_message;
  Ingester::Impl* impl = nullptr;
};

struct Ingester::Impl {
  IngestOptions options;
  RecordSink* sink = nullptr;
  ApiClient* client = nullptr;
  Ingester* owner = nullptr;
  std::unique_ptr<IngestMetrics> metrics;
  std::unique_ptr<CaptureWriter> capture;
  ParseScratch scratch;
  CURLM* multi = nullptr;
  std::vector<std::unique_ptr<Stream>> streams;
  std::atomic<bool> stop{false};
  std::mt19937_64 rng{std::random_device{}()};
  Clock::time_point next_discovery{};
  mutable std::mutex status_mu;
  std::vector<KindStatus> status;
  uint64_t store_errors = 0;

  ~Impl() {
    if (multi) curl_multi_cleanup(multi);
  }

  void AddStream(const ResourceType& type) {
    auto s = std::make_unique<Stream>();
    s->impl = this;
    KindMetrics* km = &metrics->For(type.kind, type.group);
    s->rec = std::make_unique<TypeRecorder>(type, *sink, options, km, scratch);
    s->next_attempt = Clock::now();
    streams.push_back(std::move(s));
  }

  Clock::duration Backoff(Stream& s) {
    auto base = options.backoff_initial * (1LL << std::min(s.failures, 16));
    auto capped = std::min<std::chrono::milliseconds>(
        std::chrono::duration_cast<std::chrono::milliseconds>(base), options.backoff_max);
    std::uniform_real_distribution<double> jitter(0.5, 1.0);
    ++s.failures;
    return std::chrono::duration_cast<Clock::duration>(capped * jitter(rng));
  }

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
    size_t bytes = size * n;
    s->last_data = Clock::now();
    if (s->status == 0) curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &s->status);
    if (s->status != 200 || s->phase == Stream::Phase::kListing) {
      if (s->status != 200 && s->buf.size() > (64 << 10)) return bytes;  // enough of an error
      s->buf.append(data, bytes);
      return bytes;
    }
    s->buf.append(data, bytes);
    size_t start = 0;
    for (;;) {
      size_t nl = s->buf.find('\n', std::max(start, s->scan_from));
      if (nl == std::string::npos) break;
      std::string_view frame(s->buf.data() + start, nl - start);
      if (!frame.empty() && frame.back() == '\r') frame.remove_suffix(1);
      if (!frame.empty() && !s->impl->OnFrame(*s, frame)) return 0;  // aborts the transfer
      start = nl + 1;
    }
    s->buf.erase(0, start);
    s->scan_from = s->buf.size();
    return bytes;
  }

  // One watch frame. False to end the stream (s.abort says why).
  bool OnFrame(Stream& s, std::string_view frame) {
    ++s.frames;
    auto type = FindMember(frame, "type");
    auto object = type ? FindMember(frame, "object") : type;
    const ResourceType& rt = s.rec->type();
    if (!type || !object || object->empty() || object->front() != '{') {
      s.rec->metrics()->Error("malformed");
      s.error_message = "malformed watch frame (" + std::to_string(frame.size()) + " bytes)";
      s.abort = Stream::Abort::kMalformed;
      return false;
    }
    std::string_view t = StringValue(*type);
    if (t == "BOOKMARK") {
      std::string_view rv = MetadataField(*object, "resourceVersion");
      if (!rv.empty()) s.rv = rv;
      return true;
    }
    if (t == "ERROR") {
      auto code = FindMember(*object, "code");
      auto message = FindMember(*object, "message");
      s.error_message = message ? std::string(StringValue(*message)) : std::string();
      if (code && *code == "410") {
        s.abort = Stream::Abort::kRelist;
      } else {
        s.rec->metrics()->Error("watch_error");
        s.abort = Stream::Abort::kWatchError;
      }
      return false;
    }
    WatchType wt;
    CaptureType ct;
    if (t == "ADDED") {
      wt = WatchType::kAdded;
      ct = CaptureType::kAdded;
    } else if (t == "MODIFIED") {
      wt = WatchType::kModified;
      ct = CaptureType::kModified;
    } else if (t == "DELETED") {
      wt = WatchType::kDeleted;
      ct = CaptureType::kDeleted;
    } else {
      s.rec->metrics()->Error("unknown_frame_type");
      return true;
    }
    int64_t ts = NowNs();
    if (capture) {
      if (auto w = capture->Write(ts, ct, rt, *object); !w) {
        Log("capture: " + w.error().ToString() + "; recording stopped");
        capture.reset();
      }
    }
    auto ok = s.rec->OnWatchEvent(wt, *object, ts);
    if (!ok) {
      if (ok.error().code == ErrorCode::kCorruption) {
        s.error_message = ok.error().message;
        s.abort = Stream::Abort::kMalformed;
        return false;
      }
      if ((store_errors++ & 1023) == 0) Log("store: " + ok.error().ToString());
    }
    std::string_view rv = MetadataField(*object, "resourceVersion");
    if (!rv.empty()) s.rv = rv;
    return true;
  }

  void StartRequest(Stream& s) {
    const ResourceType& rt = s.rec->type();
    std::string path = rt.CollectionPath();
    bool list = s.need_list;
    long timeout_s;
    if (list) {
      path += "?limit=" + std::to_string(options.list_page_size);
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
      Log(rt.GroupResource() + ": " + headers.error().ToString());
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
    s.buf.clear();
    s.scan_from = 0;
    s.status = 0;
    s.retry_after.clear();
    s.abort = Stream::Abort::kNone;
    s.frames = 0;
    s.error_message.clear();
    s.started = s.last_data = Clock::now();
    if (list) {
      if (!s.rec->listing()) {
        s.rec->BeginList();
        if (s.rec->listed_once()) ++s.relists;
        s.list_items = 0;
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
    Log(name + ": " + what + " answered HTTP " + std::to_string(s.status) + ": " +
        StatusMessage(s.buf));
    if (s.status == 429) {
      RetryAfterOrBackoff(s);
    } else {
      Retry(s, Backoff(s));
    }
  }

  void ListDone(Stream& s, CURLcode rc) {
    const std::string name = s.rec->type().GroupResource();
    if (rc != CURLE_OK) {
      s.rec->metrics()->Error("network");
      Log(name + ": list failed: " + curl_easy_strerror(rc) + "; retrying");
      Retry(s, Backoff(s));
      return;
    }
    if (s.status == 410) {  // the continue token expired: start the list again
      Log(name + ": list continuation expired; listing again from the start");
      s.continue_token.clear();
      Retry(s, std::chrono::milliseconds(0));
      return;
    }
    if (s.status != 200) {
      HttpFailure(s, "list");
      return;
    }
    std::string_view body = s.buf;
    auto items = FindMember(body, "items");
    Result<void> each;
    int64_t ts = NowNs();
    bool malformed = !items || items->empty();
    if (!malformed && *items != "null") {
      each = ForEachElement(*items, [&](std::string_view item) {
        if (!each) return;
        ++s.list_items;
        if (capture) {
          if (auto w = capture->Write(ts, CaptureType::kList, s.rec->type(), item); !w) {
            Log("capture: " + w.error().ToString() + "; recording stopped");
            capture.reset();
          }
        }
        auto ok = s.rec->OnListItem(item, ts);
        if (!ok && ok.error().code == ErrorCode::kCorruption) each = ok;
        if (!ok && ok.error().code != ErrorCode::kCorruption && (store_errors++ & 1023) == 0) {
          Log("store: " + ok.error().ToString());
        }
      });
      malformed = !each;
    }
    if (malformed) {
      s.rec->metrics()->Error("malformed");
      Log(name + ": malformed list page" + (each ? "" : ": " + each.error().message) +
          "; listing again");
      s.continue_token.clear();
      Retry(s, Backoff(s));
      return;
    }
    std::string_view cont = MetadataField(body, "continue");
    if (!cont.empty()) {
      s.continue_token = cont;
      StartRequest(s);
      return;
    }
    s.continue_token.clear();
    auto vanished = s.rec->EndList(ts);
    s.rv = MetadataField(body, "resourceVersion");
    s.need_list = false;
    s.failures = 0;
    s.resync_due =
        options.resync_interval.count() > 0
            ? Clock::now() + std::chrono::duration_cast<Clock::duration>(options.resync_interval)
            : Clock::time_point::max();
    uint64_t recorded = s.rec->records() - s.records_before_list;
    Log(name + ": listed " + std::to_string(s.list_items) + " objects in " +
        Seconds(Clock::now() - s.list_started) + " (resourceVersion " + s.rv + ", " +
        std::to_string(recorded) + " records" +
        (vanished && *vanished ? ", " + std::to_string(*vanished) + " deleted while disconnected"
                               : std::string()) +
        "); watching");
    StartRequest(s);
  }

  void WatchDone(Stream& s, CURLcode rc) {
    const std::string name = s.rec->type().GroupResource();
    switch (s.abort) {
      case Stream::Abort::kStop:
        return;
      case Stream::Abort::kRelist:
        Log(name + ": watch expired (410: " + s.error_message + "); relisting");
        s.need_list = true;
        Retry(s, std::chrono::milliseconds(0));
        return;
      case Stream::Abort::kMalformed:
        Log(name + ": " + s.error_message + "; relisting so that nothing is lost");
        s.need_list = true;
        Retry(s, Backoff(s));
        return;
      case Stream::Abort::kWatchError:
        Log(name + ": watch error: " + s.error_message + "; watching again");
        Retry(s, Backoff(s));
        return;
      case Stream::Abort::kNone:
        break;
    }
    if (rc != CURLE_OK) {
      ++s.reconnects;
      s.rec->metrics()->reconnects->Increment();
      s.rec->metrics()->Error("network");
      Log(name + ": watch broken (" + curl_easy_strerror(rc) + "); reconnecting from " +
          "resourceVersion " + s.rv);
      Retry(s, s.frames > 0 ? Clock::duration::zero() : Backoff(s));
      return;
    }
    if (s.status == 410) {
      Log(name + ": watch answered 410 Gone; relisting");
      s.need_list = true;
      Retry(s, std::chrono::milliseconds(0));
      return;
    }
    if (s.status != 200) {
      HttpFailure(s, "watch");
      return;
    }
    // The server ended the watch (its timeout): go on from where it stopped. A server that ends
    // watches at once gets backoff rather than a busy loop.
    if (s.frames == 0 && Clock::now() - s.started < std::chrono::seconds(1)) {
      Retry(s, Backoff(s));
    } else {
      s.failures = 0;
      Retry(s, Clock::duration::zero());
    }
  }

  void Rediscover() {
    auto all = Discover(*client, options.watch_crds,
                        std::chrono::duration_cast<std::chrono::seconds>(options.request_timeout));
    if (!all) {
      Log("rediscovery failed: " + all.error().ToString() + "; keeping the current kinds");
      return;
    }
    auto selected = SelectResources(*all, options);
    for (const auto& t : selected) {
      bool known = std::any_of(streams.begin(), streams.end(),
                               [&](const auto& s) { return s->rec->type() == t; });
      if (!known) {
        Log(t.GroupResource() + ": new resource type (" + t.kind + "); watching it");
        AddStream(t);
      }
    }
    for (auto it = streams.begin(); it != streams.end();) {
      const ResourceType& t = (*it)->rec->type();
      bool still = std::any_of(selected.begin(), selected.end(),
                               [&](const ResourceType& x) { return x == t; });
      if (!still) {
        Log(t.GroupResource() + ": no longer served; stopped watching it");
        (*it)->abort = Stream::Abort::kStop;
        Finish(**it);
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
    for (const auto& s : streams) {
      KindStatus k;
      k.resource = s->rec->type().GroupResource();
      k.kind = s->rec->type().kind;
      k.state = s->phase == Stream::Phase::kListing    ? "listing"
                : s->phase == Stream::Phase::kWatching ? "watching"
                                                       : "backoff";
      k.objects = s->rec->known_objects();
      k.records = s->rec->records();
      k.relists = s->relists;
      k.reconnects = s->reconnects;
      k.last_event_ns = s->rec->last_event_ns();
      k.resource_version = s->rv;
      synced &= s->rec->listed_once();
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
  }

  void Run() {
    auto last_flush = Clock::now();
    auto last_status = Clock::time_point{};
    while (!stop.load()) {
      auto now = Clock::now();
      if (options.watch_crds && options.crd_refresh_interval.count() > 0 && now >= next_discovery) {
        if (next_discovery != Clock::time_point{}) Rediscover();
        next_discovery =
            now + std::chrono::duration_cast<Clock::duration>(options.crd_refresh_interval);
      }
      for (auto& sp : streams) {
        Stream& s = *sp;
        if (s.phase == Stream::Phase::kWaiting && now >= s.next_attempt) {
          StartRequest(s);
        } else if (s.phase == Stream::Phase::kWatching) {
          if (now - s.last_data > options.stall_timeout) {
            Finish(s);
            ++s.reconnects;
            s.rec->metrics()->reconnects->Increment();
            s.rec->metrics()->Error("stalled");
            Log(s.rec->type().GroupResource() + ": watch silent for " + Seconds(now - s.last_data) +
                "; reconnecting from resourceVersion " + s.rv);
            Retry(s, Clock::duration::zero());
          } else if (now >= s.resync_due) {
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
  ApiClient& client = *ing->client_;
  const ClusterConfig& cc = client.config();
  auto timeout = std::chrono::duration_cast<std::chrono::seconds>(options.request_timeout);
  bool has_credentials = !cc.token.empty() || !cc.token_file.empty() || cc.exec ||
                         !cc.client_cert_pem.empty() || !cc.username.empty();
  if (has_credentials && !cc.uses_tls()) {
    Log("warning: " + cc.Describe() +
        " has credentials but the server URL is plain http; they are not sent (as kubectl)");
  }
  auto version = client.Get("/version", kAcceptJson, timeout);
  if (!version) {
    return MakeError(ErrorCode::kUnavailable,
                     version.error().message + "; check that the cluster is up and that " +
                         cc.Describe() + " points at it (or pass -apiserver-host)");
  }
  if (version->status == 401 || version->status == 403) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "the API server at " + cc.server + "/version answered " +
                         std::to_string(version->status) + " (" + StatusMessage(version->body) +
                         "): the credentials of " + cc.Describe() +
                         " were refused; refresh them or pick another -context");
  }
  std::string git_version;
  {
    simdjson::dom::parser p;
    std::string_view v;
    if (version->status == 200 && p.parse(version->body).at_key("gitVersion").get(v) == 0) {
      git_version = v;
    }
  }
  Log("connected to " + cc.Describe() +
      (git_version.empty() ? std::string() : ", Kubernetes " + git_version));
  auto all = Discover(client, options.watch_crds, timeout);
  if (!all) return std::unexpected(all.error());
  auto selected = SelectResources(*all, options);
  if (selected.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "none of the " + std::to_string(all->size()) +
                         " resource types the server offers is selected; check the include and "
                         "exclude kind lists");
  }
  // One permission check before going on: a user who may not list the first kind is almost
  // certainly missing a role binding altogether.
  auto probe = client.Get(selected.front().CollectionPath() + "?limit=1", kAcceptJson, timeout);
  if (!probe) return std::unexpected(probe.error());
  if (probe->status == 401 || probe->status == 403) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "the API server at " + cc.server + selected.front().CollectionPath() +
                         " answered " + std::to_string(probe->status) + " (" +
                         StatusMessage(probe->body) + "): the user of " + cc.Describe() +
                         " may not list " + selected.front().GroupResource() +
                         "; grant it get/list/watch on all resources (e.g. the 'view' "
                         "ClusterRole)");
  }
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->sink = &sink;
  impl->client = &client;
  impl->owner = ing.get();
  impl->metrics = std::make_unique<IngestMetrics>(registry);
  if (!options.record_file.empty()) {
    auto w = CaptureWriter::Create(options.record_file, "sloop");
    if (!w) return std::unexpected(w.error());
    impl->capture = std::move(*w);
    Log("recording the watch stream to " + options.record_file);
  }
  impl->multi = curl_multi_init();
  curl_multi_setopt(impl->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
  std::string names;
  for (const auto& t : selected) {
    impl->AddStream(t);
    names += (names.empty() ? "" : ", ") + t.GroupResource();
  }
  Log("watching " + std::to_string(selected.size()) + " resource types: " + names);
  ing->impl_ = std::move(impl);
  Impl* raw = ing->impl_.get();
  ing->thread_ = std::thread([raw] { raw->Run(); });
  return ing;
}

void Ingester::Stop() {
  if (!impl_) return;
  impl_->stop.store(true);
  if (impl_->multi) curl_multi_wakeup(impl_->multi);
  if (thread_.joinable()) thread_.join();
}

Ingester::~Ingester() { Stop(); }

std::vector<KindStatus> Ingester::Status() const {
  std::lock_guard lock(impl_->status_mu);
  return impl_->status;
}

}  // namespace sloop::ingest
