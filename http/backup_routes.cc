// Backups: /<ctx>/data/backup (Sloop's route) and /api/v1/backup stream the store as the
// archive of docs/format/backup.md, with its Content-Length announced up front. The archive is
// written by engine/backup on a thread of its own into a small bounded queue that the connection
// drains (never waiting on an I/O thread: Ready() says when a chunk is there), so memory stays at
// a few chunks whatever the store's size, and a slow disk does not hold up health probes.
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "engine/backup.h"
#include "http/routes_internal.h"

namespace sloop::http {

namespace {

constexpr size_t kQueuedChunks = 4;
constexpr int kMaxConcurrentBackups = 2;

class BackupStream : public BodyStream {
 public:
  BackupStream(std::vector<Store::BackupFile> files, int64_t created_ns,
               std::shared_ptr<std::atomic<int>> running)
      : files_(std::move(files)), created_ns_(created_ns), running_(std::move(running)) {
    worker_ = std::thread([this] { Run(); });
  }

  ~BackupStream() override {
    {
      std::lock_guard lock(mu_);
      cancelled_ = true;
    }
    cv_.notify_all();
    worker_.join();
    --*running_;
  }

  bool Ready() override {
    std::lock_guard lock(mu_);
    return !queue_.empty() || done_;
  }

  bool Next(std::string* out, std::string* error) override {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !queue_.empty() || done_; });
    if (!queue_.empty()) {
      out->append(queue_.front());
      queue_.pop_front();
      cv_.notify_all();
      return true;
    }
    if (!error_.empty()) *error = error_;
    return false;
  }

 private:
  void Run() {
    auto r =
        WriteBackupArchive(files_, created_ns_, [this](std::string_view chunk) -> Result<void> {
          std::unique_lock lock(mu_);
          cv_.wait(lock, [&] { return cancelled_ || queue_.size() < kQueuedChunks; });
          if (cancelled_) return MakeError(ErrorCode::kAborted, "backup: the client went away");
          queue_.emplace_back(chunk);
          cv_.notify_all();
          return {};
        });
    std::lock_guard lock(mu_);
    done_ = true;
    if (!r) error_ = r.error().ToString();
    cv_.notify_all();
  }

  std::vector<Store::BackupFile> files_;
  int64_t created_ns_;
  std::shared_ptr<std::atomic<int>> running_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  bool done_ = false;
  bool cancelled_ = false;
  std::string error_;
  std::thread worker_;
};

std::string CompactTime(int64_t ns) {
  std::string t = FormatIsoNoZone(ns);  // 2026-11-20T09:14:03
  std::string out;
  for (char c : t) {
    if (c != '-' && c != ':') out.push_back(c);
  }
  return out + "Z";
}

Response Backup(const HandlerContext& ctx, const Request& req,
                const std::shared_ptr<std::atomic<int>>& running) {
  Params p(req);
  // Sloop's since= is a Badger version; backups here are always whole. Accept and check it.
  (void)p.Int("since", 0, INT64_MAX);
  if (req.method == "HEAD") {
    // What a download would be, without its snapshot: taking one flushes the active shard's
    // block and opens every shard file, which a client polling with HEAD must not cause. The
    // length is the snapshot's, so it is not given (as for a body sent in chunks).
    class NoBody : public BodyStream {
     public:
      bool Next(std::string*, std::string*) override { return false; }
    };
    Response res;
    res.content_type = "application/x-tar";
    res.compressible = false;
    res.SetHeader("Content-Disposition", "attachment; filename=sloop-" + ctx.options.UrlContext() +
                                             "-" + CompactTime(ctx.store.Now()) + ".tar");
    res.stream = std::make_unique<NoBody>();
    return res;
  }
  if (++*running > kMaxConcurrentBackups) {
    --*running;
    Response r = ErrorResponse(503, "", "too many backups in progress; try again later");
    r.SetHeader("Retry-After", "10");
    return r;
  }
  auto files = ctx.store.SnapshotForBackup();
  if (!files) {
    --*running;
    return StoreErrorResponse(files.error(), "backup query");
  }
  int64_t now = ctx.store.Now();
  Response res;
  res.status = 200;
  res.content_type = "application/x-tar";
  res.compressible = false;
  res.stream_length = BackupArchiveSize(*files);
  res.SetHeader("Content-Disposition", "attachment; filename=sloop-" + ctx.options.UrlContext() +
                                           "-" + CompactTime(now) + ".tar");
  res.stream = std::make_unique<BackupStream>(std::move(*files), now, running);
  return res;
}

}  // namespace

void AddBackupRoutes(Router& router, ContextPtr ctx) {
  auto running = std::make_shared<std::atomic<int>>(0);
  auto handler = [ctx, running](bool by_parameter) -> Handler {
    return [ctx, running, by_parameter](const Request& req) {
      return Backup(ContextFor(*ctx, req, by_parameter), req, running);
    };
  };
  const RouteClass admin{Lane::kWorker, Access::kAdmin};
  router.Exact(ctx->prefix + "/data/backup", "backup", handler(false), admin);
  if (ctx->is_default) router.Exact("/api/v1/backup", "api_backup", handler(true), admin);
  router.Exact(ctx->prefix + "/api/v1/backup", "api_backup", handler(false), admin);
}

}  // namespace sloop::http
