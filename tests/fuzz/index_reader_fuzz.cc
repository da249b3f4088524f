// Fuzzes opening a sealed shard's index (index/index_reader.h, through SealedShard::Open as the
// store does): any bytes as a `.idx` file must be refused with an error or open and be walked
// whole (every entry, its strings, heat, owners, event links, lookups, the recorded names),
// never crash or read out of bounds.
//
// An input that starts with "SLB3" is instead the decompressed payload of one version-3 entry
// block (index/entry_block.h) after those four bytes: a mutated zstd frame almost never passes
// its checksum, so the block decoder is fuzzed directly. It must refuse the payload or decode
// rows whose every list lies inside the block.
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>

#include "engine/shard.h"
#include "index/entry_block.h"
#include "index/index_reader.h"
#include "base/varint.h"
#include "segments/segment_format.h"

namespace {

// Scratch files of this process, rewritten for each input.
std::filesystem::path Scratch(const char* ext) {
  return std::filesystem::temp_directory_path() /
         ("sloop-fuzz-index-" + std::to_string(::getpid()) + ext);
}

bool WriteFile(const std::filesystem::path& path, const void* data, size_t size) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return false;
  bool ok = size == 0 || std::fwrite(data, 1, size, f) == size;
  return std::fclose(f) == 0 && ok;
}

size_t Walk(const sloop::IndexReader& index) {
  size_t sum = 0;
  const sloop::IndexHeader& h = index.header();
  sum += h.format_version + h.shard_id + h.record_count + h.segment_bytes;
  for (std::string_view s : index.kinds()) sum += s.size();
  for (std::string_view s : index.namespaces()) sum += s.size();
  for (uint32_t b = 0; b < index.block_count(); ++b) {
    sum += index.block(b).file_offset + index.block(b).compressed_bytes;
  }
  index.ForEachEventLink([&](uint32_t event, uint32_t involved) { sum += event + involved; });
  for (uint32_t i = 0; i < index.size(); ++i) {
    const sloop::IndexEntry e = index.entry(i);
    sloop::ResourceKeyView k = index.key(i);
    sum += k.kind.size() + k.namespace_.size() + k.name.size() + k.uid.size();
    sum += e.key().kind.size() + e.api_group().size() + e.api_version().size();
    sum += e.record_count() + e.first_block() + e.first_record() + e.creation_ns() + e.first_ns();
    sum += e.change_secs().size() + e.nochange_secs().size();
    for (uint32_t c : e.change_secs()) sum += c;
    sum += e.last_resource_version().size() + e.involved_kind().size() +
           e.involved_namespace().size() + e.involved_name().size() + e.involved_uid().size();
    sum += static_cast<size_t>(e.event_count()) + static_cast<size_t>(e.event_last_ns());
    for (uint32_t c = 0; c < e.heat_size(); ++c) {
      const sloop::IndexHeatCell cell = e.heat(c);
      sum += cell.count + cell.reason + index.reason(cell.reason).size();
    }
    for (uint32_t o = 0; o < e.owner_count(); ++o) {
      const sloop::IndexOwner owner = e.owner(o);
      sum += owner.kind.size() + owner.name.size() + owner.uid.size() + owner.controller;
    }
    for (uint32_t event : index.EventsAbout(i)) {
      if (event >= index.size()) __builtin_trap();  // a link names an entry of the shard
      sum += event + index.entry(event).record_count();
    }
    // Lookups must stay in bounds (a damaged file's keys need not be in order: they may miss).
    if (index.FindExact(k) > index.size() || index.LowerBound(k) > index.size()) __builtin_trap();
    auto [first, last] = index.Find(k.kind, k.namespace_, k.name);
    sum += last - first;
  }
  index.ForEachRecordedName([&](uint32_t i, std::string_view name) {
    sum += i + name.size();
    return true;
  });
  return sum;
}

// The decoder's context for a raw block: a small string table, a window, a shard of 1000
// entries of which the block is the second.
size_t DecodeRawBlock(std::string_view payload) {
  static const std::string_view strings[] = {"",        "Event",      "Node", "Pod",
                                             "apps",    "Deployment", "v1",   "ReplicaSet",
                                             "default", "kube-system"};
  sloop::index_internal::BlockContext ctx;
  ctx.strings = strings;
  ctx.window_start_ns = 1795165200LL * 1000000000LL;
  ctx.first_entry = 128;
  ctx.shard_entries = 1000;
  ctx.base_entries = 1000;  // entries may name their key in a base index of 1000
  ctx.times_in_segment = true;  // version 4: entries may leave their times to the segment
  sloop::index_internal::EntryBlock block;
  std::string why;
  size_t sum = 0;
  // Whatever count the payload claims, within one block of the shard.
  sloop::varint::Reader head(payload);
  ctx.entries = static_cast<uint32_t>(std::min<uint64_t>(head.Get(), 128));
  if (!sloop::index_internal::DecodeEntryBlock(payload, ctx, &block, &why)) return why.size();
  if (block.rows.size() != ctx.entries) __builtin_trap();
  for (const sloop::index_internal::EntryRow& r : block.rows) {
    sum += r.key.kind.size() + r.key.name.size() + r.key.uid.size() + r.api_group.size() +
           r.last_resource_version.size() + r.flags + r.record_count;
    if (size_t{r.ticks} + r.change_n + r.nochange_n > block.ticks.size() ||
        size_t{r.heat} + r.heat_n > block.heat.size() ||
        size_t{r.owners} + r.owners_n > block.owners.size() ||
        size_t{r.about} + r.about_n > block.about.size() ||
        (r.event != sloop::index_internal::kNoEvent && r.event >= block.events.size())) {
      __builtin_trap();
    }
    for (uint32_t k = 0; k < r.change_n + r.nochange_n; ++k) sum += block.ticks[r.ticks + k];
    for (uint32_t k = 0; k < r.owners_n; ++k) sum += block.owners[r.owners + k].name.size();
    for (uint32_t k = 0; k < r.about_n; ++k) {
      if (block.about[r.about + k] >= ctx.shard_entries) __builtin_trap();
    }
    if (r.ref != sloop::index_format::kNoRef && r.ref >= ctx.base_entries) __builtin_trap();
    if (r.event != sloop::index_internal::kNoEvent) sum += block.events[r.event].name.size();
  }
  return sum;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size >= 4 && std::memcmp(data, "SLB3", 4) == 0) {
    volatile size_t sink =
        DecodeRawBlock(std::string_view(reinterpret_cast<const char*>(data) + 4, size - 4));
    (void)sink;
    return 0;
  }
  const auto idx = Scratch(".idx");
  const auto seg = Scratch(".seg");
  if (!WriteFile(idx, data, size)) return 0;
  volatile size_t sink = 0;
  uint64_t segment_bytes = sloop::segment_format::kFileHeaderSize;
  {
    auto index = sloop::IndexReader::Open(idx, true);
    if (index) {
      sink = sink + Walk(**index);
      segment_bytes = (*index)->header().segment_bytes;
    }
  }
  if (segment_bytes >= sloop::segment_format::kFileHeaderSize && segment_bytes <= (256u << 10)) {
    // The store's path: a sealed shard over a segment of the size its index names (a header,
    // then zeros: every block a query reads is damaged and skipped).
    char header[sloop::segment_format::kFileHeaderSize] = {};
    std::memcpy(header, sloop::segment_format::kFileMagic, 8);
    header[8] = 1;
    WriteFile(seg, header, sizeof(header));
    std::filesystem::resize_file(seg, segment_bytes);
    auto shard = sloop::SealedShard::Open(seg, idx);
    if (shard) {
      sloop::EntryFilter all;
      (*shard)->ForEachEntry(all, true, [&](const sloop::EntryView& v) {
        sink = sink + v.key.name.size() + v.heat.size() + v.owners.size();
        (void)(*shard)->ForEachRecord(v.key, [](const sloop::RecordView&) { return true; });
        return true;
      });
      sink = sink + (*shard)->Kinds().size() + (*shard)->Namespaces().size();
    }
  }
  std::filesystem::remove(idx);
  std::filesystem::remove(seg);
  return 0;
}
