#include "engine/shard.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <set>

#include "index/sparse_index.h"
#include "schema/index_generated.h"

namespace sloop {
namespace {

std::string_view Str(const flatbuffers::String* s) {
  return s ? std::string_view(s->data(), s->size()) : std::string_view();
}

bool SameResource(const RecordView& r, const ResourceKeyView& key) {
  return r.name == key.name && r.namespace_ == key.namespace_ && r.kind == key.kind &&
         (key.uid.empty() || r.uid == key.uid);
}

// Does key (of an entry) fall under filter's fields?
bool Matches(const ResourceKeyView& key, const EntryFilter& f) {
  if (!f.kind.empty() && key.kind != f.kind) return false;
  if (!f.namespace_.empty() && key.namespace_ != f.namespace_) return false;
  if (!f.name.empty() && key.name != f.name) return false;
  return true;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// SealedShard

SealedShard::~SealedShard() {
  if (delete_on_release_) {
    reader_.reset();
    index_.reset();
    std::error_code ec;
    std::filesystem::remove(index_path_, ec);
    std::filesystem::remove(segment_path_, ec);
  }
}

Result<std::shared_ptr<SealedShard>> SealedShard::Open(const std::filesystem::path& segment_path,
                                                       const std::filesystem::path& index_path) {
  std::shared_ptr<SealedShard> shard(new SealedShard());
  shard->segment_path_ = segment_path;
  shard->index_path_ = index_path;
  auto index = SparseIndex::Open(index_path);
  if (!index) return std::unexpected(index.error());
  shard->index_ = std::move(*index);
  auto reader = SegmentReader::Open(segment_path);
  if (!reader) return std::unexpected(reader.error());
  shard->reader_ = std::move(*reader);
  std::error_code ec;
  uint64_t size = std::filesystem::file_size(segment_path, ec);
  if (ec) return IOError("stat segment", segment_path.string(), ec.value());
  if (size != shard->index_->root()->segment_bytes()) {
    return MakeError(ErrorCode::kCorruption,
                     "shard " + segment_path.string() + ": segment is " + std::to_string(size) +
                         " bytes but its index " + index_path.string() + " describes " +
                         std::to_string(shard->index_->root()->segment_bytes()));
  }
  shard->segment_bytes_ = size;
  return shard;
}

ShardInfo SealedShard::info() const {
  const fb::ShardIndex* r = index_->root();
  ShardInfo i;
  i.id = r->shard_id();
  i.sealed = true;
  i.window_start_ns = r->window_start_ns();
  i.window_end_ns = r->window_end_ns();
  i.min_ns = r->min_ns();
  i.max_ns = r->max_ns();
  i.records = r->record_count();
  i.resources = index_->size();
  i.segment_bytes = segment_bytes_;
  i.index_bytes = index_->file_bytes();
  return i;
}

void SealedShard::FillEntry(uint32_t i, bool with_details, EntryView* v) const {
  const fb::ResourceEntry* e = index_->entry(i);
  v->key = index_->key(i);
  v->api_group = Str(e->api_group());
  v->api_version = Str(e->api_version());
  v->creation_ns = e->creation_ns();
  v->first_ns = e->first_ns();
  v->last_ns = e->last_ns();
  v->change_count = e->change_count();
  v->nochange_count = e->nochange_count();
  v->record_count = e->record_count();
  v->flags = e->flags();
  v->change_secs = e->change_secs() ? std::span<const uint32_t>(e->change_secs()->data(),
                                                                 e->change_secs()->size())
                                    : std::span<const uint32_t>();
  v->nochange_secs = e->nochange_secs() ? std::span<const uint32_t>(e->nochange_secs()->data(),
                                                                     e->nochange_secs()->size())
                                        : std::span<const uint32_t>();
  v->heat.clear();
  v->owners.clear();
  if (!with_details) return;
  const auto* reasons = index_->root()->reasons();
  if (e->heat()) {
    for (const fb::HeatCell* h : *e->heat()) {
      std::string_view reason =
          reasons && h->reason() < reasons->size() ? Str(reasons->Get(h->reason())) : "";
      v->heat.push_back(
          HeatView{h->minute(), h->count(), reason, static_cast<EventSeverity>(h->severity())});
    }
  }
  if (e->owners()) {
    for (const fb::OwnerRef* o : *e->owners()) {
      v->owners.push_back(OwnerView{Str(o->kind()), Str(o->name()), Str(o->uid()), o->controller()});
    }
  }
}

void SealedShard::ForEachEntry(const EntryFilter& filter, bool with_details,
                               const EntryFn& fn) const {
  auto [first, last] = filter.kind.empty() ? std::pair<uint32_t, uint32_t>{0, index_->size()}
                                           : index_->Find(filter.kind, filter.namespace_, filter.name);
  EntryView v;
  for (uint32_t i = first; i < last; ++i) {
    if (!Matches(index_->key(i), filter)) continue;
    FillEntry(i, with_details, &v);
    if (!fn(v)) return;
  }
}

Result<void> SealedShard::ReadEntryRecords(uint32_t entry, const RecordFn& fn) const {
  const fb::ResourceEntry* e = index_->entry(entry);
  if (e->record_count() == 0) return {};
  ResourceKeyView key = index_->key(entry);
  uint64_t offset = e->first_block();
  uint32_t skip = e->first_record();
  Block block;
  // Records of one resource are contiguous in a sealed shard: read on from the first block
  // until the key changes.
  while (offset < segment_bytes_) {
    auto read = reader_->ReadBlock(offset, &block);
    if (!read) {
      return MakeError(read.error().code, "reading " + ResourceKey(key).ToString() + " from " +
                                              segment_path_.string() + ": " +
                                              read.error().message);
    }
    for (size_t j = skip; j < block.size(); ++j) {
      RecordView r = block.record(j);
      if (!SameResource(r, key)) return {};
      if (!fn(r)) return {};
    }
    skip = 0;
    offset = block.handle().offset + block.handle().frame_bytes;
  }
  return {};
}

Result<void> SealedShard::ForEachRecord(const ResourceKeyView& key, const RecordFn& fn) const {
  std::vector<uint32_t> entries;
  if (!key.uid.empty()) {
    uint32_t i = index_->FindExact(key);
    if (i < index_->size()) entries.push_back(i);
  } else {
    auto [first, last] = index_->Find(key.kind, key.namespace_.empty() ? std::string_view() : key.namespace_, key.name);
    if (key.namespace_.empty()) {
      // Cluster-scoped: the namespace field is empty; search (kind, "", name) exactly.
      for (uint32_t i = first; i < last; ++i) {
        ResourceKeyView k = index_->key(i);
        if (k.namespace_.empty() && k.name == key.name) entries.push_back(i);
      }
    } else {
      for (uint32_t i = first; i < last; ++i) entries.push_back(i);
    }
    std::sort(entries.begin(), entries.end(), [&](uint32_t a, uint32_t b) {
      return index_->entry(a)->first_ns() < index_->entry(b)->first_ns();
    });
  }
  bool stopped = false;
  for (uint32_t i : entries) {
    auto r = ReadEntryRecords(i, [&](const RecordView& rec) {
      if (!fn(rec)) {
        stopped = true;
        return false;
      }
      return true;
    });
    if (!r) return r;
    if (stopped) break;
  }
  return {};
}

Result<void> SealedShard::ForEachEventAbout(const ResourceKeyView& involved,
                                            const RecordFn& fn) const {
  std::vector<uint32_t> targets;
  if (!involved.uid.empty()) {
    uint32_t i = index_->FindExact(involved);
    if (i < index_->size()) targets.push_back(i);
  }
  if (targets.empty()) {
    auto [first, last] = index_->Find(involved.kind, "", "");
    for (uint32_t i = first; i < last; ++i) {
      ResourceKeyView k = index_->key(i);
      if (k.namespace_ == involved.namespace_ && k.name == involved.name) targets.push_back(i);
    }
  }
  bool stopped = false;
  for (uint32_t t : targets) {
    auto [lo, hi] = index_->EventsAbout(t);
    for (const fb::EventLink* l = lo; l != hi && !stopped; ++l) {
      auto r = ReadEntryRecords(l->entry(), [&](const RecordView& rec) {
        if (!fn(rec)) {
          stopped = true;
          return false;
        }
        return true;
      });
      if (!r) return r;
    }
  }
  return {};
}

std::vector<std::string> SealedShard::Kinds() const {
  std::vector<std::string> out;
  if (const auto* k = index_->root()->kinds()) {
    for (const auto* s : *k) out.emplace_back(Str(s));
  }
  return out;
}

std::vector<std::string> SealedShard::Namespaces() const {
  std::vector<std::string> out;
  if (const auto* k = index_->root()->namespaces()) {
    for (const auto* s : *k) out.emplace_back(Str(s));
  }
  return out;
}

std::vector<std::pair<std::filesystem::path, uint64_t>> SealedShard::Files() const {
  return {{segment_path_, segment_bytes_}, {index_path_, index_->file_bytes()}};
}

// ---------------------------------------------------------------------------------------------
// ActiveShard

Result<std::shared_ptr<ActiveShard>> ActiveShard::Create(const std::filesystem::path& dir,
                                                         uint64_t id, int64_t window_start_ns,
                                                         int64_t window_end_ns,
                                                         const WriterOptions& options) {
  char name[32];
  std::snprintf(name, sizeof(name), "%010llu.active", static_cast<unsigned long long>(id));
  std::shared_ptr<ActiveShard> shard(
      new ActiveShard(dir / name, id, window_start_ns, window_end_ns));
  auto writer = SegmentWriter::Create(shard->path_, options);
  if (!writer) return std::unexpected(writer.error());
  shard->writer_ = std::move(*writer);
  ActiveShard* raw = shard.get();
  shard->writer_->SetBlockListener(
      [raw](const BlockHandle& h) { raw->block_offsets_.push_back(h.offset); });
  return shard;
}

Result<std::shared_ptr<ActiveShard>> ActiveShard::Reopen(const std::filesystem::path& path,
                                                         uint64_t id, int64_t window_start_ns,
                                                         int64_t window_end_ns,
                                                         const WriterOptions& options,
                                                         RecoveryReport* report) {
  std::shared_ptr<ActiveShard> shard(new ActiveShard(path, id, window_start_ns, window_end_ns));
  auto writer = SegmentWriter::OpenForAppend(path, options, report);
  if (!writer) return std::unexpected(writer.error());
  shard->writer_ = std::move(*writer);
  auto reader = SegmentReader::Open(path);
  if (!reader) return std::unexpected(reader.error());
  ActiveShard* raw = shard.get();
  auto scanned = (*reader)->Scan(
      [raw](const Block& block) {
        uint32_t id = static_cast<uint32_t>(raw->block_offsets_.size());
        raw->block_offsets_.push_back(block.handle().offset);
        for (size_t i = 0; i < block.size(); ++i) raw->builder_.Add(block.record(i), id);
        return true;
      },
      [](const CorruptBlock&) {});
  if (!scanned) return std::unexpected(scanned.error());
  shard->reader_ = std::move(*reader);
  shard->writer_->SetBlockListener(
      [raw](const BlockHandle& h) { raw->block_offsets_.push_back(h.offset); });
  return shard;
}

Result<void> ActiveShard::Append(const RecordView& record) {
  std::lock_guard lock(mu_);
  if (finished_) {
    return MakeError(ErrorCode::kInvalidArgument, "shard " + path_.string() + " is sealed");
  }
  auto loc = writer_->Append(record);
  if (!loc) return std::unexpected(loc.error());
  uint32_t id = static_cast<uint32_t>(block_offsets_.size());
  if (!block_offsets_.empty() && block_offsets_.back() == loc->block_offset) --id;
  builder_.Add(record, id);
  return {};
}

Result<void> ActiveShard::Flush() {
  std::lock_guard lock(mu_);
  if (finished_) return {};
  return writer_->Flush();
}

Result<void> ActiveShard::Finish() {
  std::lock_guard lock(mu_);
  if (finished_) return {};
  auto closed = writer_->Close();
  if (!closed) return closed;
  finished_bytes_ = writer_->file_bytes();
  finished_ = true;
  return {};
}

void ActiveShard::CarryOver(const Shard& previous) {
  std::lock_guard lock(mu_);
  if (const auto* active = dynamic_cast<const ActiveShard*>(&previous)) {
    std::lock_guard prev_lock(active->mu_);
    builder_.CarryOver(active->builder_);
  } else if (const auto* sealed = dynamic_cast<const SealedShard*>(&previous)) {
    builder_.CarryOver(sealed->index());
  }
}

uint64_t ActiveShard::segment_bytes() const {
  std::lock_guard lock(mu_);
  return finished_ ? finished_bytes_ : writer_->file_bytes();
}

uint64_t ActiveShard::memory_bytes() const {
  std::lock_guard lock(mu_);
  return builder_.memory_bytes() + (finished_ ? 0 : writer_->pending_bytes());
}

ShardInfo ActiveShard::info() const {
  std::lock_guard lock(mu_);
  ShardInfo i;
  i.id = id_;
  i.sealed = false;
  i.window_start_ns = builder_.window_start_ns();
  i.window_end_ns = builder_.window_end_ns();
  i.min_ns = builder_.min_ns();
  i.max_ns = builder_.max_ns();
  i.records = builder_.record_count();
  i.resources = builder_.summaries().size();
  i.segment_bytes = finished_ ? finished_bytes_ : writer_->file_bytes();
  i.index_bytes = builder_.memory_bytes();
  return i;
}

void ActiveShard::FillEntry(const ResourceKey& key, const ResourceSummary& s, bool with_details,
                            EntryView* v) const {
  v->key = key.view();
  v->api_group = s.api_group;
  v->api_version = s.api_version;
  v->creation_ns = s.creation_ns;
  v->first_ns = s.first_ns;
  v->last_ns = s.last_ns;
  v->change_count = s.change_count;
  v->nochange_count = s.nochange_count;
  v->record_count = s.record_count;
  v->flags = s.flags;
  v->change_secs = s.change_secs;
  v->nochange_secs = s.nochange_secs;
  v->heat.clear();
  v->owners.clear();
  if (!with_details) return;
  const auto& reasons = builder_.reasons();
  for (const HeatCellData& h : s.heat) {
    v->heat.push_back(HeatView{h.minute, h.count,
                               h.reason < reasons.size() ? std::string_view(reasons[h.reason]) : "",
                               static_cast<EventSeverity>(h.severity)});
  }
  for (const OwnerRefData& o : s.owners) {
    v->owners.push_back(OwnerView{o.kind, o.name, o.uid, o.controller});
  }
}

void ActiveShard::ForEachEntry(const EntryFilter& filter, bool with_details,
                               const EntryFn& fn) const {
  std::lock_guard lock(mu_);
  const SummaryMap& map = builder_.summaries();
  auto it = map.begin();
  if (!filter.kind.empty()) {
    it = map.lower_bound(ResourceKeyView{filter.kind, filter.namespace_, filter.name, ""});
  }
  EntryView v;
  for (; it != map.end(); ++it) {
    const ResourceKey& k = it->first;
    if (!filter.kind.empty() && k.kind != filter.kind) break;
    if (!Matches(k.view(), filter)) continue;
    FillEntry(k, it->second, with_details, &v);
    if (!fn(v)) return;
  }
}

Result<void> ActiveShard::OpenReader() const {
  if (reader_) return {};
  auto reader = SegmentReader::Open(path_);
  if (!reader) return std::unexpected(reader.error());
  reader_ = std::move(*reader);
  return {};
}

Result<void> ActiveShard::ReadSummaryRecords(const ResourceKeyView& key, const ResourceSummary& s,
                                             const RecordFn& fn) const {
  Block block;
  bool stopped = false;
  for (uint32_t id : s.blocks) {
    if (id < block_offsets_.size()) {
      if (auto r = OpenReader(); !r) return r;
      auto read = reader_->ReadBlock(block_offsets_[id], &block);
      if (!read) return read;
      for (size_t j = 0; j < block.size(); ++j) {
        RecordView r = block.record(j);
        if (SameResource(r, key) && !fn(r)) return {};
      }
    } else if (!finished_) {
      writer_->VisitPending([&](const RecordView& r, RecordLocation) {
        if (!stopped && SameResource(r, key) && !fn(r)) stopped = true;
      });
      if (stopped) return {};
    }
  }
  return {};
}

Result<void> ActiveShard::ForEachRecord(const ResourceKeyView& key, const RecordFn& fn) const {
  std::lock_guard lock(mu_);
  const SummaryMap& map = builder_.summaries();
  std::vector<SummaryMap::const_iterator> matches;
  for (auto it = map.lower_bound(ResourceKeyView{key.kind, key.namespace_, key.name, key.uid});
       it != map.end(); ++it) {
    const ResourceKey& k = it->first;
    if (k.kind != key.kind || k.namespace_ != key.namespace_ || k.name != key.name) break;
    if (!key.uid.empty() && k.uid != key.uid) break;
    matches.push_back(it);
  }
  std::sort(matches.begin(), matches.end(),
            [](auto a, auto b) { return a->second.first_ns < b->second.first_ns; });
  for (auto it : matches) {
    ResourceKeyView exact = it->first.view();
    bool stopped = false;
    auto r = ReadSummaryRecords(exact, it->second, [&](const RecordView& rec) {
      if (!fn(rec)) {
        stopped = true;
        return false;
      }
      return true;
    });
    if (!r) return r;
    if (stopped) break;
  }
  return {};
}

Result<void> ActiveShard::ForEachEventAbout(const ResourceKeyView& involved,
                                            const RecordFn& fn) const {
  std::lock_guard lock(mu_);
  const SummaryMap& map = builder_.summaries();
  std::vector<const ResourceKey*> targets;
  if (!involved.uid.empty()) {
    auto it = map.find(involved);
    if (it != map.end()) targets.push_back(&it->first);
  }
  if (targets.empty()) {
    for (auto it = map.lower_bound(ResourceKeyView{involved.kind, involved.namespace_, involved.name, ""});
         it != map.end(); ++it) {
      const ResourceKey& k = it->first;
      if (k.kind != involved.kind || k.namespace_ != involved.namespace_ || k.name != involved.name) break;
      targets.push_back(&k);
    }
  }
  for (const ResourceKey* t : targets) {
    for (const ResourceKey* e : builder_.EventsAbout(*t)) {
      bool stopped = false;
      auto r = ReadSummaryRecords(e->view(), map.find(*e)->second, [&](const RecordView& rec) {
        if (!fn(rec)) {
          stopped = true;
          return false;
        }
        return true;
      });
      if (!r) return r;
      if (stopped) return {};
    }
  }
  return {};
}

std::vector<std::string> ActiveShard::Kinds() const {
  std::lock_guard lock(mu_);
  std::set<std::string> kinds;
  for (const auto& [k, s] : builder_.summaries()) kinds.insert(k.kind);
  return {kinds.begin(), kinds.end()};
}

std::vector<std::string> ActiveShard::Namespaces() const {
  std::lock_guard lock(mu_);
  std::set<std::string> ns;
  for (const auto& [k, s] : builder_.summaries()) {
    if (!k.namespace_.empty()) ns.insert(k.namespace_);
  }
  return {ns.begin(), ns.end()};
}

std::vector<std::pair<std::filesystem::path, uint64_t>> ActiveShard::Files() const {
  return {{path_, segment_bytes()}};
}

}  // namespace sloop
