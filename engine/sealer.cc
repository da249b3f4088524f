#include "engine/sealer.h"

#include <algorithm>
#include <queue>

#include "engine/store.h"
#include "segments/dictionary.h"
#include "segments/segment_reader.h"

namespace sloop {
namespace {

bool KeyTimeLess(const RecordView& a, const RecordView& b) {
  ResourceKeyView ka{a.kind, a.namespace_, a.name, a.uid};
  ResourceKeyView kb{b.kind, b.namespace_, b.name, b.uid};
  if (auto c = ka <=> kb; c != 0) return c < 0;
  return a.observed_ns < b.observed_ns;
}

// Reads one sorted run record by record.
class RunCursor {
 public:
  static Result<std::unique_ptr<RunCursor>> Open(const std::filesystem::path& path, size_t order) {
    auto reader = SegmentReader::Open(path);
    if (!reader) return std::unexpected(reader.error());
    std::vector<CorruptBlock> corrupt;
    auto blocks = (*reader)->ListBlocks(&corrupt);
    if (!blocks) return std::unexpected(blocks.error());
    if (!corrupt.empty()) {
      return MakeError(ErrorCode::kCorruption, "sort run " + path.string() + ": block at offset " +
                                                   std::to_string(corrupt[0].offset) + ": " +
                                                   corrupt[0].reason);
    }
    auto cursor = std::unique_ptr<RunCursor>(new RunCursor());
    cursor->reader_ = std::move(*reader);
    cursor->blocks_ = std::move(*blocks);
    cursor->order_ = order;
    auto ok = cursor->Advance();
    if (!ok) return std::unexpected(ok.error());
    return cursor;
  }
  bool valid() const { return valid_; }
  const RecordView& current() const { return current_; }
  size_t order() const { return order_; }

  Result<void> Advance() {
    while (true) {
      if (loaded_ && next_ < block_.size()) {
        current_ = block_.record(next_++);
        valid_ = true;
        return {};
      }
      if (block_index_ >= blocks_.size()) {
        valid_ = false;
        return {};
      }
      auto read = reader_->ReadBlock(blocks_[block_index_++].offset, &block_);
      if (!read) return read;
      loaded_ = true;
      next_ = 0;
    }
  }

 private:
  RunCursor() = default;
  std::unique_ptr<SegmentReader> reader_;
  std::vector<BlockHandle> blocks_;
  size_t block_index_ = 0;
  Block block_;
  bool loaded_ = false;
  size_t next_ = 0;
  RecordView current_;
  bool valid_ = false;
  size_t order_ = 0;
};

class SortedOutput {
 public:
  SortedOutput(SortedSegment* out, const FirstRecordFn& on_first, size_t event_block_bytes)
      : out_(out), on_first_(on_first), event_block_bytes_(event_block_bytes) {}
  Result<void> Open(const std::filesystem::path& path, const WriterOptions& options) {
    auto w = SegmentWriter::Create(path, options);
    if (!w) return std::unexpected(w.error());
    writer_ = std::move(*w);
    return {};
  }
  Result<void> Add(const RecordView& r) {
    if (event_block_bytes_ && writer_->pending_records() > 0) {
      // Events get blocks of their own, smaller ones, cut between the Events of one object and
      // the next: a query reads the Events of one object, and decompresses only their block.
      const bool event = r.kind == "Event";
      bool cut = event != last_event_;
      if (!cut && event && writer_->pending_bytes() >= event_block_bytes_) {
        cut = r.namespace_ != last_.namespace_ || InvolvedPrefix(r.name) != last_about_ ||
              writer_->pending_bytes() >= 2 * event_block_bytes_;
      }
      if (cut) {
        if (auto f = writer_->Flush(); !f) return f;
      }
    }
    last_event_ = r.kind == "Event";
    if (last_event_) last_about_.assign(InvolvedPrefix(r.name));
    auto loc = writer_->Append(r);
    if (!loc) return std::unexpected(loc.error());
    ResourceKeyView k{r.kind, r.namespace_, r.name, r.uid};
    if (out_->records == 0 || last_.view() != k) {
      last_.kind.assign(k.kind);
      last_.namespace_.assign(k.namespace_);
      last_.name.assign(k.name);
      last_.uid.assign(k.uid);
      on_first_(k, *loc, out_->records);
    }
    ++out_->records;
    return {};
  }
  Result<void> Close() {
    auto c = writer_->Close();
    if (!c) return c;
    out_->bytes = writer_->file_bytes();
    return {};
  }

 private:
  // An Event's name is its object's name, a dot and a suffix (client-go's "<name>.<hex time>").
  static std::string_view InvolvedPrefix(std::string_view name) {
    const size_t dot = name.rfind('.');
    return dot == std::string_view::npos ? name : name.substr(0, dot);
  }

  SortedSegment* out_;
  const FirstRecordFn& on_first_;
  const size_t event_block_bytes_;
  bool last_event_ = false;
  std::string last_about_;  // the object the Events in the pending block are about
  ResourceKey last_;  // the key of the record before
  std::unique_ptr<SegmentWriter> writer_;
};

}  // namespace

Result<SortedSegment> WriteSortedSegment(const std::filesystem::path& input,
                                         const std::filesystem::path& output,
                                         const WriterOptions& options, uint64_t budget_bytes,
                                         size_t dictionary_bytes, const FirstRecordFn& on_first,
                                         size_t event_block_bytes) {
  SortedSegment result;
  auto reader = SegmentReader::Open(input);
  if (!reader) return std::unexpected(reader.error());

  // Runs are temporary and read back in parallel, one block per run at a time: small blocks at a
  // fast level keep the merge's memory at runs x 64 KiB (sealed blocks of 1 MiB made it 2 MiB a
  // run) and the extra compression work off the seal.
  WriterOptions run_options = options;
  run_options.sync = SyncPolicy::kNever;
  run_options.target_block_bytes = std::min<uint64_t>(options.target_block_bytes, 64 << 10);
  run_options.zstd_level = 1;
  run_options.dictionary.clear();
  if (options.block_format != segment_format::kBlockColumnar) dictionary_bytes = 0;
  DictionarySampler sampler;
  std::vector<StoredRecord> batch;
  uint64_t batch_bytes = 0;
  std::vector<std::filesystem::path> runs;
  Result<void> failure;
  // Every file this writes is removed on every way out but success: on a full disk the
  // temporaries hold the space the next attempt needs (and a crash leaves them to Recover).
  struct Temporaries {
    const std::filesystem::path& output;
    std::vector<std::filesystem::path>& runs;
    std::filesystem::path partial_run;  // being written
    bool done = false;
    ~Temporaries() {
      std::error_code ec;
      for (const auto& r : runs) std::filesystem::remove(r, ec);
      if (!partial_run.empty()) std::filesystem::remove(partial_run, ec);
      if (!done) std::filesystem::remove(output, ec);
    }
  } temporaries{output, runs, {}, false};

  auto sort_batch = [&] {
    std::vector<RecordView> views;
    views.reserve(batch.size());
    for (const StoredRecord& r : batch) views.push_back(r.view());
    // Stable: records of one resource at one instant keep their arrival order.
    std::stable_sort(views.begin(), views.end(), KeyTimeLess);
    return views;
  };
  auto write_run = [&]() -> Result<void> {
    std::filesystem::path run_path = output;
    run_path += ".run" + std::to_string(runs.size());
    std::filesystem::remove(run_path);
    temporaries.partial_run = run_path;
    auto w = SegmentWriter::Create(run_path, run_options);
    if (!w) return std::unexpected(w.error());
    for (const RecordView& v : sort_batch()) {
      auto a = (*w)->Append(v);
      if (!a) return std::unexpected(a.error());
    }
    auto c = (*w)->Close();
    if (!c) return c;
    runs.push_back(run_path);
    temporaries.partial_run.clear();
    batch.clear();
    batch_bytes = 0;
    return {};
  };

  auto scanned = (*reader)->Scan(
      [&](const Block& block) {
        for (size_t i = 0; i < block.size(); ++i) {
          if (dictionary_bytes) sampler.Add(block.record(i));
          batch.push_back(StoredRecord::From(block.record(i)));
          batch_bytes += batch.back().bytes();
          if (batch_bytes >= budget_bytes) {
            failure = write_run();
            if (!failure) return false;
          }
        }
        return true;
      },
      // A corrupt block in the arrival-order file was already reported when it was opened;
      // its records are lost either way, and the rest is sealed.
      [](const CorruptBlock&) {});
  if (!scanned || !failure) {
    return std::unexpected(!scanned ? scanned.error() : failure.error());
  }

  SortedOutput out(&result, on_first, event_block_bytes);
  WriterOptions out_options = options;
  if (dictionary_bytes) out_options.dictionary = sampler.Content(dictionary_bytes);
  out_options.split_columns = true;  // its Events' times are read from their first columns
  if (auto o = out.Open(output, out_options); !o) {
    return std::unexpected(o.error());
  }
  if (runs.empty()) {
    // Everything fitted in memory: one sort, no merge.
    for (const RecordView& v : sort_batch()) {
      if (auto a = out.Add(v); !a) return std::unexpected(a.error());
    }
  } else {
    if (!batch.empty()) {
      if (auto w = write_run(); !w) {
        return std::unexpected(w.error());
      }
    }
    result.runs = runs.size();
    std::vector<std::unique_ptr<RunCursor>> cursors;
    for (size_t i = 0; i < runs.size(); ++i) {
      auto c = RunCursor::Open(runs[i], i);
      if (!c) {
        return std::unexpected(c.error());
      }
      cursors.push_back(std::move(*c));
    }
    auto greater = [](const RunCursor* a, const RunCursor* b) {
      if (KeyTimeLess(a->current(), b->current())) return false;
      if (KeyTimeLess(b->current(), a->current())) return true;
      return a->order() > b->order();  // earlier runs hold earlier arrivals
    };
    std::priority_queue<RunCursor*, std::vector<RunCursor*>, decltype(greater)> heap(greater);
    for (auto& c : cursors) {
      if (c->valid()) heap.push(c.get());
    }
    while (!heap.empty()) {
      RunCursor* c = heap.top();
      heap.pop();
      if (auto a = out.Add(c->current()); !a) {
        return std::unexpected(a.error());
      }
      if (auto n = c->Advance(); !n) {
        return std::unexpected(n.error());
      }
      if (c->valid()) heap.push(c);
    }
    cursors.clear();
  }
  if (auto c = out.Close(); !c) return std::unexpected(c.error());
  temporaries.done = true;
  return result;
}

}  // namespace sloop
