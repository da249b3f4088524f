// sloop-inspect: look inside sloop's files.
//
//   sloop-inspect segment FILE [--records] [--payload]   header, blocks, optionally records
//   sloop-inspect index FILE [--entries] [--streams]     a shard index: sizes, blocks, entries,
//                                                        bytes by entry-block stream
//   sloop-inspect demo DIR [--records N]                 write a demo segment and inspect it
//   sloop-inspect sloop-backup FILE                      check a backup of the original Sloop
//
// Exit status: 0 when every block is whole, 1 when any is corrupt or torn (its offset is named),
// 2 for a usage error or a file that is not a readable segment.
#include <zstd.h>

#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "base/json_text.h"
#include "base/time_text.h"
#include "base/varint.h"
#include "index/index_format.h"
#include "index/index_reader.h"
#include "index/shard_index_builder.h"
#include "ingest/sloop_backup.h"
#include "segments/segment_format.h"
#include "segments/segment_reader.h"
#include "segments/segment_writer.h"

// The demo's objects (demo_fixtures.cc, generated at build time).
std::string_view DemoFixture(std::string_view name);

namespace {

using namespace sloop;

void Usage(FILE* out) {
  std::fprintf(out,
               "usage: sloop-inspect segment FILE [--records] [--payload]\n"
               "       sloop-inspect index FILE [--entries] [--streams]\n"
               "       sloop-inspect demo DIR [--records N]\n"
               "       sloop-inspect sloop-backup FILE\n\n"
               "segment  prints the file header and every block (offset, block format: 1 for\n"
               "         FlatBuffers records, 2 for columns; frame and uncompressed bytes, the\n"
               "         columns' share of a format 2 block, record count, time range, checksum)\n"
               "         and the dictionary a sealed segment starts with;\n"
               "         --records adds one JSON line per record, --payload embeds each record's\n"
               "         object JSON.\n"
               "         Exit status 1 names the offset of each corrupt or torn block.\n"
               "index    verifies a shard index (.idx, format versions 1 to 4; an index read through\n"
               "         the next shard's is opened with it, from the same directory) and prints its\n"
               "         header, the bytes of its parts and entry blocks, and its entries by kind;\n"
               "         --entries adds one JSON line per entry with every field it holds.\n"
               "         Exit status 1 when the file fails verification.\n"
               "demo     writes a segment of N realistic records (default 20000) into DIR and\n"
               "         reports throughput and compression, then inspects it.\n"
               "sloop-backup  checks a backup of the original (Go) Sloop's store (Badger backup,\n"
               "         raw or zstd) as sloop -import-sloop-backup would read it, without\n"
               "         importing: rows per table and kind, partitions, time range. Exit status\n"
               "         1 names the byte offset where the file is damaged.\n");
}

// JSON string with every control character and quote escaped; invalid UTF-8 bytes become U+FFFD.
void JsonString(std::string_view s, std::string& out) {
  out += '"';
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"':
        out += "\\\"";
        continue;
      case '\\':
        out += "\\\\";
        continue;
      case '\n':
        out += "\\n";
        continue;
      case '\r':
        out += "\\r";
        continue;
      case '\t':
        out += "\\t";
        continue;
      default:
        break;
    }
    if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
      continue;
    }
    if (c < 0x80) {
      out += static_cast<char>(c);
      continue;
    }
    // Validate one UTF-8 sequence.
    size_t n = c >= 0xf0 && c < 0xf5 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
    bool ok = n && i + n <= s.size();
    for (size_t k = 1; ok && k < n; ++k) ok = (static_cast<unsigned char>(s[i + k]) & 0xc0) == 0x80;
    if (!ok) {
      out += "\\ufffd";
      continue;
    }
    out.append(s.substr(i, n));
    i += n - 1;
  }
  out += '"';
}

std::string Rfc3339(int64_t ns) { return sloop::FormatRfc3339Fixed(ns, 9); }

std::string RecordJson(const RecordView& r, bool payload) {
  std::string out = "{\"observed\":";
  JsonString(Rfc3339(r.observed_ns), out);
  out += ",\"observed_ns\":" + std::to_string(r.observed_ns) + ",\"type\":";
  JsonString(WatchTypeName(r.watch_type), out);
  auto field = [&](const char* name, std::string_view v) {
    out += ",\"";
    out += name;
    out += "\":";
    JsonString(v, out);
  };
  field("apiGroup", r.api_group);
  field("apiVersion", r.api_version);
  field("kind", r.kind);
  field("namespace", r.namespace_);
  field("name", r.name);
  field("uid", r.uid);
  field("resourceVersion", r.resource_version);
  out += ",\"payloadBytes\":" + std::to_string(r.payload.size());
  if (r.event) {
    out += ",\"event\":{\"involvedObject\":{\"kind\":";
    JsonString(r.event->involved_kind, out);
    out += ",\"namespace\":";
    JsonString(r.event->involved_namespace, out);
    out += ",\"name\":";
    JsonString(r.event->involved_name, out);
    out += ",\"uid\":";
    JsonString(r.event->involved_uid, out);
    out += "},\"reason\":";
    JsonString(r.event->reason, out);
    out += ",\"type\":";
    JsonString(EventSeverityName(r.event->severity), out);
    out += ",\"count\":" + std::to_string(r.event->count) + ",\"message\":";
    JsonString(r.event->message, out);
    out += "}";
  }
  if (payload) {
    // The payload is the object's JSON as the API server sent it; embed it as a string when it
    // is not an object (it then could not be embedded raw safely).
    out += ",\"payload\":";
    if (!r.payload.empty() && r.payload.front() == '{' && r.payload.back() == '}') {
      out.append(r.payload);
    } else {
      JsonString(r.payload, out);
    }
  }
  out += "}";
  return out;
}

int InspectSegment(const std::string& path, bool records, bool payload) {
  auto reader = SegmentReader::Open(path);
  if (!reader) {
    std::fprintf(stderr, "sloop-inspect: %s\n", reader.error().ToString().c_str());
    return 2;
  }
  std::error_code ec;
  uint64_t size = std::filesystem::file_size(path, ec);
  std::printf("segment %s\n  format version %u, %" PRIu64 " bytes\n", path.c_str(),
              (*reader)->format_version(), size);
  std::printf("  %-12s %3s %10s %12s %10s %10s %8s  %-30s %-30s %s\n", "offset", "fmt", "frame",
              "uncompressed", "columns", "ratio", "records", "first", "last", "checksum");
  uint64_t blocks = 0, recs = 0, raw = 0, framed = 0, bad = 0;
  uint64_t by_format[3] = {0, 0, 0};
  if (const uint64_t end = (*reader)->dictionary_end()) {
    std::printf("  %-12zu dictionary: %zu bytes of example objects in a frame of %" PRIu64
                " bytes; the blocks below are compressed against it\n",
                segment_format::kFileHeaderSize, (*reader)->dictionary_bytes(),
                end - segment_format::kFileHeaderSize);
  }
  std::string line;
  auto scanned = (*reader)->Scan(
      [&](const Block& b) {
        const BlockHandle& h = b.handle();
        ++blocks;
        recs += h.record_count;
        raw += h.uncompressed_bytes;
        framed += h.frame_bytes;
        ++by_format[b.format() == segment_format::kBlockColumnar ? 2 : 1];
        // Format 2 keeps the payloads after the columns: what the columns take is the rest.
        std::string columns = "-";
        if (b.format() == segment_format::kBlockColumnar) {
          uint64_t payloads = 0;
          for (size_t i = 0; i < b.size(); ++i) payloads += b.record(i).payload.size();
          columns = std::to_string(h.uncompressed_bytes - payloads);
        }
        std::printf("  %-12" PRIu64 " %3u %10u %12u %10s %9.1fx %8u  %-30s %-30s ok\n", h.offset,
                    b.format(), h.frame_bytes, h.uncompressed_bytes, columns.c_str(),
                    double(h.uncompressed_bytes) / h.frame_bytes, h.record_count,
                    Rfc3339(h.min_observed_ns).c_str(), Rfc3339(h.max_observed_ns).c_str());
        if (records) {
          for (size_t i = 0; i < b.size(); ++i) {
            std::puts(RecordJson(b.record(i), payload).c_str());
          }
        }
        return true;
      },
      [&](const CorruptBlock& c) {
        ++bad;
        std::printf("  %-12" PRIu64 " CORRUPT: %s\n", c.offset, c.reason.c_str());
        std::fprintf(stderr, "sloop-inspect: %s: block at offset %" PRIu64 ": %s\n", path.c_str(),
                     c.offset, c.reason.c_str());
      });
  if (!scanned) {
    std::fprintf(stderr, "sloop-inspect: %s\n", scanned.error().ToString().c_str());
    return 2;
  }
  std::printf("  %" PRIu64 " blocks (%" PRIu64 " of format 1, %" PRIu64 " of format 2), %" PRIu64
              " records, %" PRIu64 " bytes of records in %" PRIu64
              " bytes of frames (%.1fx), %" PRIu64 " corrupt\n",
              blocks, by_format[1], by_format[2], recs, raw, framed,
              framed ? double(raw) / framed : 0.0, bad);
  return bad ? 1 : 0;
}

// One of the demo's Kubernetes objects (tests/testdata/k8s/NAME.json, compiled in by
// embed_fixtures.cmake), its whitespace outside strings removed.
std::string CompactFixture(std::string_view name) { return CompactJson(DemoFixture(name)); }

int Demo(const std::string& dir, long count) {
  std::filesystem::create_directories(dir);
  std::string path = dir + "/demo.seg";
  std::filesystem::remove(path);
  const std::string pod = CompactFixture("pod"), node = CompactFixture("node"),
                    event = CompactFixture("event");
  auto writer = SegmentWriter::Create(path, WriterOptions{});
  if (!writer) {
    std::fprintf(stderr, "sloop-inspect: %s\n", writer.error().ToString().c_str());
    return 2;
  }
  const int64_t t0 = 1795165200LL * 1000000000LL;
  uint64_t json_bytes = 0;
  auto start = std::chrono::steady_clock::now();
  std::string payload, name, rv;
  for (long i = 0; i < count; ++i) {
    const std::string& base = i % 5 == 0 ? node : i % 3 == 0 ? event : pod;
    name = "demo-" + std::to_string(i % 997);
    rv = std::to_string(100000 + i);
    payload = base;
    payload.insert(payload.size() - 1, ",\"demo\":{\"seq\":" + std::to_string(i) + "}");
    RecordView r;
    r.observed_ns = t0 + i * 50000000LL;
    r.watch_type = i < 997 ? WatchType::kAdded : WatchType::kModified;
    r.api_version = "v1";
    r.kind = i % 5 == 0 ? "Node" : i % 3 == 0 ? "Event" : "Pod";
    r.namespace_ = r.kind == "Node" ? "" : "demo";
    r.name = name;
    r.uid = name;
    r.resource_version = rv;
    r.payload = payload;
    json_bytes += payload.size();
    if (auto a = (*writer)->Append(r); !a) {
      std::fprintf(stderr, "sloop-inspect: %s\n", a.error().ToString().c_str());
      return 2;
    }
  }
  if (auto c = (*writer)->Close(); !c) {
    std::fprintf(stderr, "sloop-inspect: %s\n", c.error().ToString().c_str());
    return 2;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  uint64_t disk = std::filesystem::file_size(path);
  std::printf("demo: wrote %ld records, %.1f MB of Kubernetes JSON, into %s\n", count,
              json_bytes / 1e6, path.c_str());
  std::printf("demo: %.1f MB on disk (%.1fx smaller), %.0f records/s, %.0f MB/s of JSON\n\n",
              disk / 1e6, double(json_bytes) / disk, count / secs, json_bytes / 1e6 / secs);
  return InspectSegment(path, false, false);
}

// One index entry as a JSON line: every field the index holds.
std::string EntryJson(const IndexReader& idx, uint32_t i) {
  const IndexEntry e = idx.entry(i);
  const ResourceKeyView key = e.key();
  std::string line = "{\"entry\":" + std::to_string(i) + ",\"kind\":";
  JsonString(key.kind, line);
  line += ",\"namespace\":";
  JsonString(key.namespace_, line);
  line += ",\"name\":";
  JsonString(key.name, line);
  line += ",\"uid\":";
  JsonString(key.uid, line);
  line += ",\"group\":";
  JsonString(e.api_group(), line);
  line += ",\"version\":";
  JsonString(e.api_version(), line);
  line += ",\"flags\":" + std::to_string(e.flags()) +
          ",\"records\":" + std::to_string(e.record_count()) +
          ",\"changes\":" + std::to_string(e.change_count()) +
          ",\"nochanges\":" + std::to_string(e.nochange_count()) +
          ",\"creation_ns\":" + std::to_string(e.creation_ns()) +
          ",\"first_ns\":" + std::to_string(e.first_ns()) +
          ",\"last_ns\":" + std::to_string(e.last_ns()) + ",\"resource_version\":";
  JsonString(e.last_resource_version(), line);
  auto ticks = [&](const char* name, std::span<const uint32_t> secs) {
    line += std::string(",\"") + name + "\":[";
    for (size_t k = 0; k < secs.size(); ++k) line += (k ? "," : "") + std::to_string(secs[k]);
    line += "]";
  };
  ticks("change_secs", e.change_secs());
  ticks("nochange_secs", e.nochange_secs());
  // Its times and ticks (0 and empty above) are its records' in the segment.
  if (e.times_in_segment()) line += ",\"times_in_segment\":true";
  line += ",\"heat\":[";
  for (uint32_t k = 0; k < e.heat_size(); ++k) {
    const IndexHeatCell h = e.heat(k);
    line += std::string(k ? "," : "") + "{\"minute\":" + std::to_string(h.minute) +
            ",\"count\":" + std::to_string(h.count) + ",\"reason\":";
    JsonString(idx.reason(h.reason), line);
    line += ",\"severity\":" + std::to_string(h.severity) + "}";
  }
  line += "],\"owners\":[";
  for (uint32_t k = 0; k < e.owner_count(); ++k) {
    const IndexOwner o = e.owner(k);
    line += k ? ",{\"kind\":" : "{\"kind\":";
    JsonString(o.kind, line);
    line += ",\"name\":";
    JsonString(o.name, line);
    line += ",\"uid\":";
    JsonString(o.uid, line);
    line += std::string(",\"controller\":") + (o.controller ? "true" : "false") + "}";
  }
  line += "]";
  if (e.record_count() > 0) {
    line += ",\"first_block\":" + std::to_string(e.first_block()) +
            ",\"first_record\":" + std::to_string(e.first_record());
  }
  if (!e.involved_kind().empty()) {
    line += ",\"involved\":{\"kind\":";
    JsonString(e.involved_kind(), line);
    line += ",\"namespace\":";
    JsonString(e.involved_namespace(), line);
    line += ",\"name\":";
    JsonString(e.involved_name(), line);
    line += ",\"uid\":";
    JsonString(e.involved_uid(), line);
    line += "},\"event_count\":" + std::to_string(e.event_count()) +
            ",\"event_last_ns\":" + std::to_string(e.event_last_ns());
  }
  if (!e.events_about().empty()) {
    line += ",\"events_about\":[";
    bool first = true;
    for (uint32_t k : e.events_about()) {
      line += (first ? "" : ",") + std::to_string(k);
      first = false;
    }
    line += "]";
  }
  line += "}";
  return line;
}

// Opens an index, and the indexes it reads keys in (its base, and theirs), from the same
// directory, as the store names them (NNNNNNNNNN.idx).
Result<std::shared_ptr<IndexReader>> OpenWithBases(const std::filesystem::path& path,
                                                   int depth = 0) {
  return IndexReader::Open(path, true, {}, [&](uint64_t id) -> std::shared_ptr<const IndexReader> {
    char name[32];
    std::snprintf(name, sizeof(name), "%010llu.idx", static_cast<unsigned long long>(id));
    if (depth > 64) return nullptr;
    auto base = OpenWithBases(path.parent_path() / name, depth + 1);
    if (!base) {
      std::fprintf(stderr, "sloop-inspect: %s\n", base.error().message.c_str());
      return nullptr;
    }
    return *base;
  });
}

// Where a format-3 index's entry-block bytes go: each stream's decompressed bytes summed over
// the blocks, and what the stream costs compressed on its own (its pieces of every block, one
// zstd frame a block at the writer's level): the share of each part of an entry.
int PrintStreamBytes(const IndexReader& idx) {
  static constexpr const char* kNames[index_format::kBlockStreams] = {
      "key runs", "names", "uids", "flags", "masks", "counts", "times", "ticks",
      "heat", "owners", "versions", "events", "positions", "about", "refs"};
  std::FILE* f = std::fopen(idx.path().c_str(), "rb");
  if (!f) {
    std::fprintf(stderr, "sloop-inspect: %s: %s\n", idx.path().c_str(), std::strerror(errno));
    return 2;
  }
  uint64_t raw[index_format::kBlockStreams] = {}, packed[index_format::kBlockStreams] = {};
  uint64_t header = 0;
  std::string frame, payload, piece;
  std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)> cctx(ZSTD_createCCtx(), ZSTD_freeCCtx);
  ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_compressionLevel, index_format::kBlockCompressionLevel);
  int status = 0;
  for (uint32_t b = 0; b < idx.block_count(); ++b) {
    const IndexBlock blk = idx.block(b);
    frame.resize(blk.compressed_bytes);
    payload.resize(blk.raw_bytes);
    if (std::fseek(f, static_cast<long>(blk.file_offset), SEEK_SET) != 0 ||
        std::fread(frame.data(), 1, frame.size(), f) != frame.size() ||
        ZSTD_decompress(payload.data(), payload.size(), frame.data(), frame.size()) !=
            payload.size()) {
      std::fprintf(stderr, "sloop-inspect: %s: entry block %u does not decompress\n",
                   idx.path().c_str(), b);
      status = 1;
      continue;
    }
    varint::Reader in(payload);
    in.Get();  // entries
    in.Get();  // first ordinal
    uint64_t in_streams = 0;
    for (size_t s = 0; s < index_format::kBlockStreams && in.ok(); ++s) {
      const std::string_view bytes = in.Bytes(in.GetCount(0));
      raw[s] += bytes.size();
      in_streams += bytes.size();
      piece.resize(ZSTD_compressBound(bytes.size()));
      const size_t n = ZSTD_compress2(cctx.get(), piece.data(), piece.size(), bytes.data(),
                                      bytes.size());
      if (!ZSTD_isError(n)) packed[s] += n;
    }
    header += payload.size() - in_streams;  // counts, first ordinals and stream lengths
    if (!in.ok()) {
      std::fprintf(stderr, "sloop-inspect: %s: entry block %u: streams overrun the block\n",
                   idx.path().c_str(), b);
      status = 1;
    }
  }
  std::fclose(f);
  uint64_t raw_all = header, packed_all = 0;
  for (size_t s = 0; s < index_format::kBlockStreams; ++s) {
    raw_all += raw[s];
    packed_all += packed[s];
  }
  std::printf("  %-10s %12s %7s %14s %7s   (each stream of each block compressed alone)\n",
              "stream", "raw bytes", "share", "compressed", "share");
  for (size_t s = 0; s < index_format::kBlockStreams; ++s) {
    std::printf("  %-10s %12" PRIu64 " %6.1f%% %14" PRIu64 " %6.1f%%\n", kNames[s], raw[s],
                raw_all ? 100.0 * static_cast<double>(raw[s]) / static_cast<double>(raw_all) : 0.0,
                packed[s],
                packed_all ? 100.0 * static_cast<double>(packed[s]) / static_cast<double>(packed_all)
                           : 0.0);
  }
  std::printf("  %-10s %12" PRIu64 "\n", "headers", header);
  return status;
}

int InspectIndex(const std::string& path, bool entries, bool streams) {
  auto opened = OpenWithBases(path);
  if (!opened) {
    std::fprintf(stderr, "sloop-inspect: %s\n", opened.error().message.c_str());
    return opened.error().code == ErrorCode::kCorruption ? 1 : 2;
  }
  const IndexReader& idx = **opened;
  const IndexHeader& r = idx.header();
  std::printf("index %s\n", path.c_str());
  std::printf("  format version %u, shard %" PRIu64 ", window [%" PRId64 ", %" PRId64 ") ns\n",
              r.format_version, r.shard_id, r.window_start_ns, r.window_end_ns);
  std::printf("  records %" PRIu64 " in a segment of %" PRIu64 " bytes, %u entries\n",
              r.record_count, r.segment_bytes, idx.size());
  if (r.format_version >= 3) {
    std::printf("  index id %016" PRIx64 ", %s\n", r.index_id,
                r.base_shard_id ? ("keys shared with the next shard read in the index of shard " +
                                   std::to_string(r.base_shard_id))
                                      .c_str()
                                : "every key held here");
  }
  uint64_t raw = 0, packed = 0;
  const uint32_t blocks = idx.block_count();
  for (uint32_t b = 0; b < blocks; ++b) {
    raw += idx.block(b).raw_bytes;
    packed += idx.block(b).compressed_bytes;
  }
  uint64_t links = 0;
  idx.ForEachEventLink([&](uint32_t, uint32_t) { ++links; });
  // Version 2 keeps its Event links apart (8 bytes each); version 3 inside the entry blocks.
  const uint64_t link_bytes = r.format_version == 2 ? links * 8 : 0;
  std::printf("  file %zu bytes: %u entry blocks of %u, %" PRIu64 " bytes compressed from %" PRIu64
              " (%.2fx), %" PRIu64 " Event links (%s), the rest %" PRIu64
              " bytes (block keys, strings, names, header)\n",
              idx.file_bytes(), blocks, idx.entries_per_block(), packed, raw,
              packed ? static_cast<double>(raw) / static_cast<double>(packed) : 0.0, links,
              link_bytes ? (std::to_string(link_bytes) + " bytes").c_str() : "in the blocks",
              idx.file_bytes() - packed - link_bytes);
  struct Count {
    uint64_t all = 0, with_records = 0, carried_only = 0, event_only = 0;
  };
  std::map<std::string, Count, std::less<>> by_kind;
  for (uint32_t i = 0; i < idx.size(); ++i) {
    const IndexEntry e = idx.entry(i);
    ResourceKeyView key = e.key();
    Count& c = by_kind[std::string(key.kind)];
    ++c.all;
    if (e.record_count() > 0) ++c.with_records;
    if ((e.flags() & kCarriedOver) && e.record_count() == 0) ++c.carried_only;
    if (e.flags() & kEventOnly) ++c.event_only;
    if (entries) std::printf("%s\n", EntryJson(idx, i).c_str());
  }
  std::printf("  %-28s %9s %9s %9s %9s\n", "kind", "entries", "records", "carried", "evt-only");
  for (const auto& [kind, c] : by_kind) {
    std::printf("  %-28s %9" PRIu64 " %9" PRIu64 " %9" PRIu64 " %9" PRIu64 "\n", kind.c_str(),
                c.all, c.with_records, c.carried_only, c.event_only);
  }
  if (streams) {
    if (r.format_version < 3) {
      std::fprintf(stderr, "sloop-inspect: --streams reads format 3 indexes; this one is %u\n",
                   r.format_version);
      return 2;
    }
    return PrintStreamBytes(idx);
  }
  return 0;
}

std::string IsoTime(int64_t ns) { return sloop::FormatRfc3339Fixed(ns, 0); }

int InspectSloopBackup(const std::string& path) {
  std::error_code ec;
  const auto scratch = std::filesystem::temp_directory_path(ec);
  auto file = ingest::SloopBackupFile::Open(path, scratch);
  if (!file) {
    std::fprintf(stderr, "sloop-inspect: %s: %s\n", path.c_str(), file.error().message.c_str());
    return file.error().code == ErrorCode::kCorruption ? 1 : 2;
  }
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  auto s = ingest::SummarizeSloopBackup((*file)->stream(), now);
  if (!s) {
    std::fprintf(stderr, "sloop-inspect: %s: %s\n", path.c_str(), s.error().message.c_str());
    return 1;
  }
  std::printf("sloop backup %s: %" PRIu64 " bytes%s, %" PRIu64 " bytes of Badger stream, %" PRIu64
              " KVs\n",
              path.c_str(), (*file)->file_bytes(), (*file)->compressed() ? " (zstd)" : "",
              s->stream_bytes, s->kvs);
  std::printf("rows by table (newest version of each key, not deleted or expired):\n");
  for (const auto& [t, n] : s->rows_per_table) std::printf("  %-14s %" PRIu64 "\n", t.c_str(), n);
  std::printf("watch rows by kind (as Sloop names it):\n");
  for (const auto& [k, n] : s->watch_rows_per_kind) {
    const auto m = ingest::MapSloopKind(k);
    std::printf("  %-28s %" PRIu64 "%s\n", k.c_str(), n,
                m.kind != k ? (" (imported as " + std::string(m.kind) + ")").c_str() : "");
  }
  std::printf("partitions (hours) with watch rows: %zu\n", s->partitions.size());
  if (s->first_ns != 0) {
    std::printf("time range: %s to %s\n", IsoTime(s->first_ns).c_str(),
                IsoTime(s->last_ns).c_str());
  }
  std::printf("older versions: %" PRIu64 ", deleted: %" PRIu64 ", expired: %" PRIu64
              ", keys not of Sloop's layout: %" PRIu64 "\n",
              s->older_versions, s->deleted, s->expired, s->malformed_keys);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    Usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  std::string cmd = argv[1];
  if (cmd == "segment") {
    if (argc < 3) {
      Usage(stderr);
      return 2;
    }
    bool records = false, payload = false;
    for (int i = 3; i < argc; ++i) {
      if (!std::strcmp(argv[i], "--records"))
        records = true;
      else if (!std::strcmp(argv[i], "--payload"))
        records = payload = true;
      else {
        std::fprintf(stderr, "sloop-inspect: unknown option %s\n", argv[i]);
        return 2;
      }
    }
    return InspectSegment(argv[2], records, payload);
  }
  if (cmd == "index") {
    if (argc < 3) {
      Usage(stderr);
      return 2;
    }
    bool entries = false, streams = false;
    for (int i = 3; i < argc; ++i) {
      if (!std::strcmp(argv[i], "--entries")) {
        entries = true;
      } else if (!std::strcmp(argv[i], "--streams")) {
        streams = true;
      } else {
        std::fprintf(stderr, "sloop-inspect: unknown option %s\n", argv[i]);
        return 2;
      }
    }
    return InspectIndex(argv[2], entries, streams);
  }
  if (cmd == "demo") {
    if (argc < 3) {
      Usage(stderr);
      return 2;
    }
    long count = 20000;
    for (int i = 3; i < argc; ++i) {
      if (!std::strcmp(argv[i], "--records") && i + 1 < argc) {
        char* end = nullptr;
        count = std::strtol(argv[++i], &end, 10);
        if (*end || count <= 0 || count > 100000000) {
          std::fprintf(stderr, "sloop-inspect: --records wants a positive number, got %s\n",
                       argv[i]);
          return 2;
        }
      } else {
        std::fprintf(stderr, "sloop-inspect: unknown option %s\n", argv[i]);
        return 2;
      }
    }
    return Demo(argv[2], count);
  }
  if (cmd == "sloop-backup") {
    if (argc != 3) {
      Usage(stderr);
      return 2;
    }
    return InspectSloopBackup(argv[2]);
  }
  std::fprintf(stderr, "sloop-inspect: unknown command '%s'\n\n", cmd.c_str());
  Usage(stderr);
  return 2;
}
