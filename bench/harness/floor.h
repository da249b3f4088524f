// The compression floor of a workload: the capture's text (every line, header included, exactly as
// `zstd -d` restores it) compressed as one zstd stream with a 128 MiB window and long-distance
// matching, at level 19 (`zstd -19 --long=27`) and at level 3 (`zstd -3 --long=27`). No store
// that keeps every record can expect to be much smaller than the first; the second is the size
// our store aims to stay under (docs/benchmarks.md).
#pragma once

#include <cstdint>
#include <string>

namespace sloop::bench {

struct FloorSizes {
  uint64_t raw_bytes = 0;            // the capture's text
  uint64_t zstd19_bytes = 0;         // zstd -19 --long=27
  uint64_t zstd3_bytes = 0;          // zstd -3 --long=27
  double zstd19_s = 0, zstd3_s = 0;  // wall time of each (they run on two threads)
};

// Streams the capture (plain or zstd) through both compressions, with bounded memory (the
// window and each level's tables). Returns "" or an error.
std::string MeasureFloor(const std::string& capture, FloorSizes* out);

}  // namespace sloop::bench
