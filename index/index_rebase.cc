#include "index/index_rebase.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "index/entry_block.h"
#include "index/index_format.h"
#include "index/index_writer.h"

namespace sloop {
namespace {

// An entry's content as the writer takes it (ResourceSummary), its strings the reader's.
void SummaryOf(const IndexEntry& e, ResourceSummary* s) {
  *s = ResourceSummary{};
  s->api_group = e.api_group();
  s->api_version = e.api_version();
  s->creation_ns = e.creation_ns();
  s->first_ns = e.first_ns();
  s->last_ns = e.last_ns();
  s->change_count = e.change_count();
  s->nochange_count = e.nochange_count();
  s->record_count = e.record_count();
  s->flags = e.flags();
  if (const uint32_t n = e.owner_count(); n > 0) {
    auto owners = std::make_shared<std::vector<OwnerRefData>>();
    owners->reserve(n);
    for (uint32_t k = 0; k < n; ++k) {
      const IndexOwner o = e.owner(k);
      owners->push_back(
          OwnerRefData{std::string(o.kind), std::string(o.name), std::string(o.uid), o.controller});
    }
    s->owners = std::move(owners);
  }
  for (uint32_t t : e.change_secs()) s->change_secs.push_back(t);
  for (uint32_t t : e.nochange_secs()) s->nochange_secs.push_back(t);
  for (uint32_t k = 0; k < e.heat_size(); ++k) {
    const IndexHeatCell h = e.heat(k);
    s->heat.push_back({h.minute, h.count, h.reason, h.severity});
  }
  s->last_resource_version = std::string(e.last_resource_version());
}

bool SameOwners(const IndexEntry& a, const IndexEntry& b) {
  if (a.owner_count() != b.owner_count()) return false;
  for (uint32_t k = 0; k < a.owner_count(); ++k) {
    const IndexOwner x = a.owner(k), y = b.owner(k);
    if (x.kind != y.kind || x.name != y.name || x.uid != y.uid || x.controller != y.controller) {
      return false;
    }
  }
  return true;
}

bool SameEvent(const IndexEntry& a, const IndexEntry& b) {
  return a.involved_kind() == b.involved_kind() &&
         a.involved_namespace() == b.involved_namespace() &&
         a.involved_name() == b.involved_name() && a.involved_uid() == b.involved_uid() &&
         a.event_count() == b.event_count() && a.event_last_ns() == b.event_last_ns();
}

// Walks the base in key order alongside the entries of the index, through a reader that frees
// the blocks it has passed.
class BaseCursor {
 public:
  explicit BaseCursor(const IndexReader& base) : reader_(base.Reader()) {}
  // The base entry with this key, if any (keys asked for ascending).
  std::optional<uint32_t> Find(const ResourceKeyView& key) {
    while (at_ < reader_->size() && reader_->key(at_) < key) Advance();
    if (at_ < reader_->size() && reader_->key(at_) == key) return at_;
    return std::nullopt;
  }
  IndexEntry entry(uint32_t j) const { return reader_->entry(j); }

 private:
  void Advance() {
    ++at_;
    const uint32_t per = reader_->entries_per_block();
    if (per && at_ % per == 0) reader_->DropBlocks(at_ - per, at_);
  }
  std::shared_ptr<IndexReader> reader_;
  uint32_t at_ = 0;
};

// Calls add(entry, its summary) for every entry of index in key order, after writer.Plan has
// seen them all: the two passes the writer takes, each reading the index block by block.
Result<void> ForEachSummary(
    const IndexReader& index, IndexWriter& writer,
    const std::function<Result<void>(const IndexEntry&, const ResourceSummary&)>& add) {
  // The object each linked Event is about: Events name it only through its entry's list.
  std::vector<uint32_t> about(index.size(), index_format::kNoEntry);
  index.ForEachEventLink([&](uint32_t event, uint32_t involved) {
    if (event < about.size()) about[event] = involved;
  });
  ResourceSummary s;
  std::shared_ptr<IndexReader> targets = index.Reader();  // the objects Events are about
  auto pass = [&](const std::function<Result<void>(const IndexEntry&)>& fn) {
    std::shared_ptr<IndexReader> reader = index.Reader();
    const uint32_t per = reader->entries_per_block();
    for (uint32_t i = 0; i < reader->size(); ++i) {
      if (per && i > 0 && i % per == 0) reader->DropBlocks(i - per, i);
      if (targets->cached_bytes() > (4u << 20)) targets = index.Reader();
      const IndexEntry e = reader->entry(i);
      SummaryOf(e, &s);
      if (!e.involved_kind().empty()) {
        EventSummary& ev = s.MakeEvent();
        ev.involved = about[i] < index.size()
                          ? targets->key(about[i])
                          : ResourceKeyView{e.involved_kind(), e.involved_namespace(),
                                            e.involved_name(), e.involved_uid()};
        ev.count = e.event_count();
        ev.last_ns = e.event_last_ns();
      }
      if (auto r = fn(e); !r) return r;
    }
    return Result<void>{};
  };
  (void)pass([&](const IndexEntry& e) {
    writer.Plan(e.key(), s);
    return Result<void>{};
  });
  return pass([&](const IndexEntry& e) { return add(e, s); });
}

RecordPosition FirstPosition(const IndexEntry& e) {
  RecordPosition position;
  if (auto ordinal = e.first_record_ordinal()) {
    position = {e.first_block(), e.first_record(), *ordinal};
  }
  return position;
}

}  // namespace

Result<void> WriteRebasedIndex(const IndexReader& index, const IndexReader& base,
                               const std::filesystem::path& path) {
  if (!index_format::Columnar(index.format_version()) ||
      !index_format::Columnar(base.format_version()) || index.base()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "index " + index.path().string() +
                         ": only an index of format 3 or 4 holding its own keys is rewritten "
                         "against another of format 3 or 4");
  }
  const IndexHeader& h = index.header();
  IndexWriter writer(path, h.window_start_ns);
  BaseCursor cursor(base);
  auto added = ForEachSummary(
      index, writer, [&](const IndexEntry& e, const ResourceSummary& s) -> Result<void> {
        const RecordPosition position = FirstPosition(e);
        const ResourceKeyView key = e.key();
        // Resources carried over with nothing new, and Events: what queries read of them most
        // is what the base says too (a scan of a later shard skips the former, a timeline the
        // latter).
        const bool unchanged =
            (e.flags() & kCarriedOver) && e.record_count() == 0 && e.heat_size() == 0;
        // An Event's times and ticks are its records': readers take them from the segment
        // (docs/format/index.md, "Times in the segment").
        const bool event = key.kind == kEventKind;
        const bool times_in_segment = event && e.record_count() > 0 && position.first_block != 0;
        std::optional<uint32_t> j;
        if (unchanged || event) j = cursor.Find(key);
        if (!j) return writer.Add(key, s, position, nullptr, times_in_segment);
        const IndexEntry b = cursor.entry(*j);
        index_internal::EntryRef ref{*j, 0};
        if (e.creation_ns() != 0 && e.creation_ns() == b.creation_ns()) {
          ref.inherit |= index_internal::kInheritCreation;
        }
        if (e.owner_count() > 0 && SameOwners(e, b)) {
          ref.inherit |= index_internal::kInheritOwners;
        }
        if (!e.last_resource_version().empty() &&
            e.last_resource_version() == b.last_resource_version()) {
          ref.inherit |= index_internal::kInheritVersion;
        }
        if (!e.involved_kind().empty() && SameEvent(e, b)) {
          ref.inherit |= index_internal::kInheritEvent;
        }
        return writer.Add(key, s, position, &ref, times_in_segment);
      });
  if (!added) return added;
  std::vector<std::string> reasons;
  for (std::string_view r : index.reasons()) reasons.emplace_back(r);
  IndexShardInfo info{h.shard_id,
                      h.window_start_ns,
                      h.window_end_ns,
                      h.min_ns,
                      h.max_ns,
                      h.segment_bytes,
                      h.record_count,
                      h.index_id,
                      base.header().shard_id,
                      base.header().index_id,
                      base.size()};
  return writer.Finish(info, reasons);
}

Result<void> WriteWholeIndex(const IndexReader& index, const std::filesystem::path& path) {
  if (!index_format::Columnar(index.format_version())) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "index " + index.path().string() +
                         ": only an index of format 3 or 4 is written whole (older ones are "
                         "whole)");
  }
  const IndexHeader& h = index.header();
  IndexWriter writer(path, h.window_start_ns);
  auto added = ForEachSummary(index, writer, [&](const IndexEntry& e, const ResourceSummary& s) {
    return writer.Add(e.key(), s, FirstPosition(e), nullptr, e.times_in_segment());
  });
  if (!added) return added;
  std::vector<std::string> reasons;
  for (std::string_view r : index.reasons()) reasons.emplace_back(r);
  IndexShardInfo info{h.shard_id,     h.window_start_ns, h.window_end_ns, h.min_ns, h.max_ns,
                      h.segment_bytes, h.record_count,    h.index_id,      0,        0,
                      0};
  return writer.Finish(info, reasons);
}

}  // namespace sloop
