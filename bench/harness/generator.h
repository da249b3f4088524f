// A synthetic cluster written as a capture (docs/format/capture.md), for when no kubesim capture
// is at hand: the initial list, then minutes of churn. Deployments roll out (about three times a
// day each), crash-looping pods restart with BackOff Events, every node heartbeats every five
// minutes (and really changes about once an hour), and the API server deletes Events an hour after
// their last update. Objects are the fixtures in tests/testdata/k8s with their identity, times,
// node, phase and counters rewritten, so sizes and shapes are realistic.
#pragma once

#include <cstdint>
#include <string>

namespace sloop::bench {

struct GenerateOptions {
  int pods = 200;
  int nodes = 10;
  int64_t churn_minutes = 90;
  uint64_t seed = 42;
  int64_t start_unix = 1795165200;  // hour-aligned
  int zstd_level = 3;
};

// "small" (seconds, for CI), "medium" (10,000 pods, a day of churn), "large" (150,000 pods,
// 5,000 nodes, the initial list and an hour of churn). False for another name.
bool SizePreset(const std::string& name, GenerateOptions* out);

struct GenerateResult {
  std::string error;  // empty on success
  uint64_t records = 0;
  uint64_t raw_bytes = 0;
};

GenerateResult GenerateCapture(const std::string& path, const GenerateOptions& options);

}  // namespace sloop::bench
