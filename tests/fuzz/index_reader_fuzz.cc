// Fuzzes opening a sealed shard's index (index/index_reader.h, through SealedShard::Open as the
// store does): any bytes as a `.idx` file must be refused with an error or open and be walked
// whole (every entry, its strings, heat, owners, event links, lookups, the recorded names),
// never crash or read out of bounds.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include "engine/shard.h"
#include "index/index_reader.h"
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
  for (uint32_t l = 0; l < index.event_link_count(); ++l) sum += index.event_link(l).involved;
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
    auto [lo, hi] = index.EventsAbout(i);
    for (uint32_t l = lo; l != hi; ++l) sum += index.event_link(l).entry;
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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
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
