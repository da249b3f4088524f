// Fuzzes reading a segment file (segments/segment_reader.h, and SegmentWriter's recovery on
// open): any bytes as a `.seg`/`.active` file must open or be refused, list their blocks, read
// every record of every good block, skip damaged ones, and be cut back to their last good block
// for appending, never crash or read out of bounds; the partial read of a block's first columns
// agrees with the whole read.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "segments/segment_reader.h"
#include "segments/segment_writer.h"

namespace {

// One scratch file per process, rewritten for each input.
const std::filesystem::path& Scratch() {
  static const std::filesystem::path p =
      std::filesystem::temp_directory_path() / ("sloop-fuzz-segment-" + std::to_string(::getpid()));
  return p;
}

bool WriteFile(const std::filesystem::path& path, const uint8_t* data, size_t size) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return false;
  bool ok = size == 0 || std::fwrite(data, 1, size, f) == size;
  return std::fclose(f) == 0 && ok;
}

size_t Touch(const sloop::RecordView& r) {
  size_t sum = static_cast<size_t>(r.observed_ns) + r.kind.size() + r.namespace_.size() +
               r.name.size() + r.uid.size() + r.resource_version.size() + r.api_group.size() +
               r.api_version.size();
  for (char c : r.payload) sum += static_cast<unsigned char>(c);
  for (char c : r.name) sum += static_cast<unsigned char>(c);
  if (r.event) {
    sum += r.event->reason.size() + r.event->message.size() + r.event->involved_name.size() +
           r.event->involved_kind.size() + r.event->involved_uid.size();
  }
  return sum;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto& path = Scratch();
  if (!WriteFile(path, data, size)) return 0;
  volatile size_t sink = 0;
  {
    auto reader = sloop::SegmentReader::Open(path);
    if (reader) {
      std::vector<sloop::CorruptBlock> corrupt;
      auto blocks = (*reader)->ListBlocks(&corrupt);
      sloop::Block block;
      std::vector<sloop::RecordHead> heads;
      std::string frame;
      if (blocks) {
        for (const auto& h : *blocks) {
          // The partial read of a block's first columns: refused or in bounds whatever the
          // bytes, and for a block that reads whole, its records' own watch types and times.
          const bool heads_read = (*reader)->ReadBlockHeads(h.offset, &heads, &frame).has_value();
          if (!(*reader)->ReadBlock(h.offset, &block)) continue;
          if (!heads_read || heads.size() != block.size()) __builtin_trap();
          for (size_t i = 0; i < block.size(); ++i) {
            const sloop::RecordView r = block.record(i);
            if (heads[i].observed_ns != r.observed_ns || heads[i].watch_type != r.watch_type) {
              __builtin_trap();
            }
            sink = sink + Touch(r);
          }
        }
      }
      for (const auto& c : corrupt) {
        uint64_t next = (*reader)->SkipDamaged(c.offset);
        if (next <= c.offset) __builtin_trap();  // must always move on
        (void)(*reader)->ReadBlock(next, &block);
      }
      (void)(*reader)->Scan(
          [&](const sloop::Block& b) {
            for (size_t i = 0; i < b.size(); ++i) sink = sink + Touch(b.record(i));
            return true;
          },
          [&](const sloop::CorruptBlock& c) { sink = sink + c.reason.size(); });
    }
  }
  // Recovery on open for append: cuts a torn tail; what remains must list without a bad tail.
  {
    sloop::RecoveryReport report;
    auto writer = sloop::SegmentWriter::OpenForAppend(path, sloop::WriterOptions{}, &report);
    if (writer) {
      writer->reset();
      auto reader = sloop::SegmentReader::Open(path);
      if (reader) {
        std::vector<sloop::CorruptBlock> corrupt;
        auto blocks = (*reader)->ListBlocks(&corrupt);
        if (blocks && blocks->size() != report.good_blocks) __builtin_trap();
      }
    }
  }
  std::filesystem::remove(path);
  return 0;
}
