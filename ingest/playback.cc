#include "ingest/playback.h"

#include <chrono>
#include <memory>
#include <unordered_map>

#include "ingest/capture.h"
#include "ingest/log.h"
#include "ingest/type_recorder.h"

namespace sloop::ingest {

Result<PlaybackStats> Playback(const std::string& path, const IngestOptions& options,
                               RecordSink& sink, prometheus::Registry* registry,
                               const std::atomic<bool>* stop) {
  auto start = std::chrono::steady_clock::now();
  auto reader = CaptureReader::Open(path);
  if (!reader) return std::unexpected(reader.error());
  std::unique_ptr<IngestMetrics> metrics;
  if (registry) metrics = std::make_unique<IngestMetrics>(*registry, options.enable_granular_metrics);
  ParseScratch scratch;
  std::unordered_map<std::string, std::unique_ptr<TypeRecorder>> recorders;
  std::unordered_map<TypeRecorder*, int64_t> last_list_ts;
  PlaybackStats stats;
  auto last_log = start;
  std::string key;
  Log("playback of " + path + " started");

  auto end_list = [&](TypeRecorder& rec, int64_t ts,
                      TypeRecorder::ListEnd how = TypeRecorder::ListEnd::kInferDeletions)
      -> Result<void> {
    auto vanished = rec.EndList(ts, how);
    if (!vanished) return std::unexpected(vanished.error());
    stats.inferred_deletions += *vanished;
    return {};
  };
  // A capture sloop wrote says where each list ended, and whether it was read whole: only a
  // whole one infers deletions. Without those records (kubesim's, or an earlier sloop's), a list
  // ends at the next watch event of its kind, or at the end of the file.
  const bool marked = (*reader)->list_ends();
  const auto unmarked_end = marked ? TypeRecorder::ListEnd::kKeepUnseen
                                   : TypeRecorder::ListEnd::kInferDeletions;

  for (;;) {
    if (stop && stop->load(std::memory_order_relaxed)) {
      stats.stopped = true;
      Log("playback of " + path + " stopped at record " + std::to_string(stats.lines));
      break;
    }
    auto next = (*reader)->Next();
    if (!next) return std::unexpected(next.error());
    if (!*next) break;
    const CaptureRecord& r = **next;
    ++stats.lines;
    if (r.type == CaptureType::kUnknown) {
      ++stats.unknown_types;
      continue;
    }
    key.assign(r.resource.group)
        .append("/")
        .append(r.resource.resource)
        .append("/")
        .append(r.resource.kind);
    auto it = recorders.find(key);
    if (it == recorders.end()) {
      KindMetrics* km = metrics ? &metrics->For(r.resource.kind, r.resource.group) : nullptr;
      it = recorders
               .emplace(key, std::make_unique<TypeRecorder>(r.resource, sink, options, km, scratch))
               .first;
    }
    TypeRecorder& rec = *it->second;
    stats.object_bytes += r.object.size();
    Result<void> ok;
    auto fail = [&](const Error& e) {
      return MakeError(e.code, "playback " + path + ": line " + std::to_string(r.line) + " (" +
                                   std::string(r.resource.kind) + "): " + e.message);
    };
    if (r.type == CaptureType::kList) {
      ++stats.list_items;
      if (!rec.listing()) rec.BeginList();
      last_list_ts[&rec] = r.ts_ns;
      ok = rec.OnListItem(r.object, r.ts_ns);
    } else if (r.type == CaptureType::kListRestart) {
      rec.RestartList();
    } else if (r.type == CaptureType::kListEnd || r.type == CaptureType::kListIncomplete) {
      if (!rec.listing()) rec.BeginList();  // a list of no item
      ok = end_list(rec, r.ts_ns,
                    r.type == CaptureType::kListEnd ? TypeRecorder::ListEnd::kInferDeletions
                                                    : TypeRecorder::ListEnd::kKeepUnseen);
    } else {
      ++stats.watch_events;
      if (rec.listing()) {
        if (auto e = end_list(rec, last_list_ts[&rec], unmarked_end); !e) return fail(e.error());
      }
      WatchType wt = r.type == CaptureType::kAdded      ? WatchType::kAdded
                     : r.type == CaptureType::kModified ? WatchType::kModified
                                                        : WatchType::kDeleted;
      ok = rec.OnWatchEvent(wt, r.object, r.ts_ns);
    }
    if (!ok) return fail(ok.error());
    if ((stats.lines & 0xfff) == 0) {
      auto now = std::chrono::steady_clock::now();
      if (now - last_log >= std::chrono::seconds(5)) {
        last_log = now;
        double secs = std::chrono::duration<double>(now - start).count();
        Log("playback: " + std::to_string(stats.lines) + " records, " +
            std::to_string(stats.object_bytes >> 20) + " MiB in " + std::to_string(secs) + " s");
      }
    }
  }
  for (auto& [k, rec] : recorders) {
    if (rec->listing()) {
      // Marked: the capture stopped before this list ended, which says nothing of the rest.
      if (auto e = end_list(*rec, last_list_ts[rec.get()], unmarked_end); !e) {
        return std::unexpected(e.error());
      }
    }
    stats.appended += rec->records();
  }
  stats.resource_types = recorders.size();
  stats.torn_tail = (*reader)->torn_tail();
  if (stats.torn_tail) {
    Log("playback " + path + ": the last line is cut short (a writer stopped mid-line); ignored");
  }
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  Log("playback of " + path + " done: " + std::to_string(stats.lines) + " records, " +
      std::to_string(stats.appended) + " stored, " + std::to_string(stats.inferred_deletions) +
      " inferred deletions, " + std::to_string(stats.unknown_types) + " of unknown type, in " +
      std::to_string(stats.seconds) + " s");
  return stats;
}

}  // namespace sloop::ingest
