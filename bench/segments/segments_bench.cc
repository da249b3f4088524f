// Segment micro benchmarks, all reporting bytes of JSON payload processed, so that one run with
// --benchmark_format=json gives bytes_per_second for each:
//   BM_SegmentAppend     append + encode + compress + write (the writer's whole path)
//   BM_ZstdCeiling       raw zstd at the same level on the same records' bytes (the ceiling)
//   BM_SegmentScan       full scan: read + checksum + decompress + verify every record
//   BM_SegmentReadOne    one record by its block: read + checksum + decompress + decode a block
// Arguments: target block KiB, zstd level, block format (1 FlatBuffers records, 2 columnar);
// 128 KiB at level 3 is how the active shard writes, 1 MiB at level 9 how sealing does.
#include <benchmark/benchmark.h>
#include <unistd.h>
#include <zstd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "bench/fixtures.h"
#include "segments/segment_reader.h"
#include "segments/segment_writer.h"

namespace {

using namespace sloop::bench;

using namespace sloop;

// A realistic mix in arrival order: many Pods of a few Deployments, Events about them, Node
// updates; names, uids, resourceVersions, IPs and timestamps vary as in a real cluster, and each
// record's name, uid and resourceVersion are those in its JSON, as the recorder stores them.
struct Workload {
  struct Rec {
    std::string kind, ns, name, uid, rv, payload;
  };
  std::vector<Rec> recs;
  uint64_t json_bytes = 0;

  Workload() {
    const std::string pod = ReadCompact("pod.json"), node = ReadCompact("node.json"),
                      event = ReadCompact("event.json");
    std::mt19937_64 rng(1);
    for (int i = 0; i < 4000; ++i) {
      Rec r;
      char uid[40];
      std::snprintf(uid, sizeof(uid), "%08x-%04x-4%03x-a%03x-%012llx", unsigned(rng()),
                    unsigned(rng() & 0xffff), unsigned(rng() & 0xfff), unsigned(rng() & 0xfff),
                    static_cast<unsigned long long>(rng() & 0xffffffffffffULL));
      r.uid = uid;
      r.rv = std::to_string(48213377 + i * 7);
      int which = i % 10;
      std::string app = "svc-" + std::to_string(rng() % 40);
      if (which < 6) {
        r.kind = "Pod", r.ns = "team-" + std::to_string(rng() % 8);
        r.name = app + "-7d9f8c6b5d-" + std::to_string(rng() % 100000);
        r.payload = pod;
        ReplaceAll(r.payload, "checkout-7d9f8c6b5d-x2k4q", r.name);
        ReplaceAll(r.payload, "checkout", app);
        ReplaceAll(r.payload, "10.42.", "10." + std::to_string(rng() % 200) + ".");
      } else if (which < 9) {
        r.kind = "Event", r.ns = "team-" + std::to_string(rng() % 8);
        const std::string pod = app + "-" + std::to_string(rng() % 100000);
        r.name = pod + ".1879c3f1a2b4d6e8";
        r.payload = event;
        ReplaceAll(r.payload, "checkout-7d9f8c6b5d-x2k4q", pod);
        ReplaceAll(r.payload, "c7e2a9f4-1b3d-4f6a-8c0e-2d4f6a8c0e1b", r.uid);
        ReplaceAll(r.payload, "\"48213380\"", "\"" + r.rv + "\"");
        // The involved Pod's uid, not the Event's.
        ReplaceAll(r.payload, "5f1c2b9e-3a47-4c0e-9d4b-8e2f6a1c7b30",
                   "5f1c2b9e-3a47-4c0e-9d4b-" + std::to_string(100000000000 + rng() % 100000));
      } else {
        r.kind = "Node", r.name = "ip-10-42-" + std::to_string(rng() % 50) + ".ec2.internal";
        r.payload = node;
        ReplaceAll(r.payload, "ip-10-42-17-203.ec2.internal", r.name);
        ReplaceAll(r.payload, "a3d9e1f7-2b6c-4e8a-9f1d-5c7b3e0a8d42", r.uid);
        ReplaceAll(r.payload, "\"48213402\"", "\"" + r.rv + "\"");
      }
      // A Pod's own uid and resourceVersion (the Event and Node ones were replaced above), and
      // the namespace (the Event's involved object is in its namespace).
      if (!r.ns.empty())
        ReplaceAll(r.payload, "\"namespace\":\"shop\"", "\"namespace\":\"" + r.ns + "\"");
      ReplaceAll(r.payload, "5f1c2b9e-3a47-4c0e-9d4b-8e2f6a1c7b30", r.uid);
      ReplaceAll(r.payload, "\"48213377\"", "\"" + r.rv + "\"");
      json_bytes += r.payload.size();
      recs.push_back(std::move(r));
    }
  }

  RecordView View(size_t i) const {
    const Rec& r = recs[i];
    RecordView v;
    v.observed_ns = 1795165200LL * 1000000000LL + static_cast<int64_t>(i) * 1000000;
    v.watch_type = WatchType::kModified;
    v.api_version = "v1";
    v.kind = r.kind;
    v.namespace_ = r.ns;
    v.name = r.name;
    v.uid = r.uid;
    v.resource_version = r.rv;
    v.payload = r.payload;
    return v;
  }
};

const Workload& Load() {
  static Workload w;
  return w;
}

std::filesystem::path TempPath(const char* what) {
  return std::filesystem::temp_directory_path() /
         (std::string("sloop-segbench-") + what + "-" + std::to_string(getpid()) + ".seg");
}

WriterOptions Options(const benchmark::State& state) {
  WriterOptions o;
  o.sync = SyncPolicy::kNever;
  o.target_block_bytes = static_cast<size_t>(state.range(0)) * 1024;
  o.zstd_level = static_cast<int>(state.range(1));
  o.block_format = static_cast<uint16_t>(state.range(2));
  o.split_columns = state.range(3) != 0;
  return o;
}

// Block KiB, zstd level, block format, split_columns (what the sealer sets on format 2).
void Formats(benchmark::internal::Benchmark* b) {
  for (int format : {1, 2}) {
    b->Args({128, 3, format, 0});
    b->Args({1024, 9, format, 0});
  }
  b->Args({1024, 9, 2, 1});
}

void BM_SegmentAppend(benchmark::State& state) {
  const Workload& w = Load();
  const WriterOptions o = Options(state);
  auto path = TempPath("append");
  for (auto _ : state) {
    std::filesystem::remove(path);
    auto writer = SegmentWriter::Create(path, o);
    for (size_t i = 0; i < w.recs.size(); ++i)
      benchmark::DoNotOptimize((*writer)->Append(w.View(i)));
    benchmark::DoNotOptimize((*writer)->Flush());
  }
  state.counters["ratio"] = double(w.json_bytes) / std::filesystem::file_size(path);
  std::filesystem::remove(path);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * w.json_bytes));
}
BENCHMARK(BM_SegmentAppend)->Apply(Formats)->Unit(benchmark::kMillisecond);

void BM_ZstdCeiling(benchmark::State& state) {
  const Workload& w = Load();
  // The same bytes in the same block-sized batches, compressed at the same level.
  const size_t block = static_cast<size_t>(state.range(0)) * 1024;
  std::vector<std::string> batches(1);
  for (const auto& r : w.recs) {
    if (batches.back().size() >= block) batches.emplace_back();
    batches.back() += r.payload;
  }
  ZSTD_CCtx* ctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(ctx, ZSTD_c_compressionLevel, static_cast<int>(state.range(1)));
  std::string out(ZSTD_compressBound(block * 2), '\0');
  for (auto _ : state) {
    for (const auto& b : batches) {
      out.resize(ZSTD_compressBound(b.size()));
      benchmark::DoNotOptimize(ZSTD_compress2(ctx, out.data(), out.size(), b.data(), b.size()));
    }
  }
  ZSTD_freeCCtx(ctx);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * w.json_bytes));
}
BENCHMARK(BM_ZstdCeiling)->Args({128, 3})->Args({1024, 9})->Unit(benchmark::kMillisecond);

void BM_SegmentScan(benchmark::State& state) {
  const Workload& w = Load();
  auto path = TempPath("scan");
  std::filesystem::remove(path);
  {
    auto writer = SegmentWriter::Create(path, Options(state));
    for (size_t i = 0; i < w.recs.size(); ++i) (void)(*writer)->Append(w.View(i));
    (void)(*writer)->Close();
  }
  auto reader = SegmentReader::Open(path);
  for (auto _ : state) {
    uint64_t seen = 0;
    (void)(*reader)->Scan(
        [&](const Block& b) {
          for (size_t i = 0; i < b.size(); ++i) seen += b.record(i).payload.size();
          return true;
        },
        [](const CorruptBlock&) {});
    if (seen != w.json_bytes) state.SkipWithError("scan lost bytes");
  }
  std::filesystem::remove(path);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * w.json_bytes));
}
BENCHMARK(BM_SegmentScan)->Apply(Formats)->Unit(benchmark::kMillisecond);

void BM_SegmentReadOne(benchmark::State& state) {
  const Workload& w = Load();
  auto path = TempPath("readone");
  std::filesystem::remove(path);
  {
    auto writer = SegmentWriter::Create(path, Options(state));
    for (size_t i = 0; i < w.recs.size(); ++i) (void)(*writer)->Append(w.View(i));
    (void)(*writer)->Close();
  }
  auto reader = SegmentReader::Open(path);
  auto blocks = (*reader)->ListBlocks(nullptr);
  Block b;
  uint64_t payload_bytes = 0;
  size_t next = 0;
  for (auto _ : state) {
    const BlockHandle& h = (*blocks)[next++ % blocks->size()];
    if (!(*reader)->ReadBlock(h.offset, &b)) state.SkipWithError("read failed");
    payload_bytes += b.record(b.size() / 2).payload.size();
  }
  std::filesystem::remove(path);
  state.counters["block_records"] = double(w.recs.size()) / blocks->size();
  benchmark::DoNotOptimize(payload_bytes);
}
BENCHMARK(BM_SegmentReadOne)->Apply(Formats)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
