// The records the fault tests write: record `seq` is a pure function of seq, so a test that
// killed the writer knows exactly what every surviving record must hold, byte for byte.
#pragma once

#include <cstdint>
#include <string>

#include "engine/store.h"

namespace sloop::faults {

constexpr int64_t kSec = 1000000000LL;
// 2026-11-20T09:00:00Z; records are 100 ms apart, so a 1 min shard holds 600 of them.
constexpr int64_t kT0 = 1795165200LL * kSec;
constexpr int64_t kStep = kSec / 10;
constexpr int kObjects = 40;

inline std::string ObjectName(uint64_t seq) { return "obj-" + std::to_string(seq % kObjects); }

// `flavour` tells two stores' records apart (the store a restore replaces, and the backup).
inline StoredRecord RecordFor(uint64_t seq, const std::string& flavour = "a") {
  StoredRecord r;
  r.observed_ns = kT0 + static_cast<int64_t>(seq) * kStep;
  r.watch_type = seq < kObjects ? WatchType::kAdded : WatchType::kModified;
  r.api_version = "v1";
  r.kind = "ConfigMap";
  r.namespace_ = "faults-" + flavour;
  r.name = ObjectName(seq);
  r.uid = "uid-" + flavour + "-" + r.name;
  r.resource_version = std::to_string(seq);
  // Some bytes that compress (names, keys) and some that do not (a hash chain).
  r.payload = "{\"kind\":\"ConfigMap\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"" + r.name +
              "\",\"namespace\":\"" + r.namespace_ + "\",\"resourceVersion\":\"" +
              r.resource_version + "\"},\"data\":{\"seq\":\"" + std::to_string(seq) +
              "\",\"noise\":\"";
  uint64_t x = seq * 0x9E3779B97F4A7C15ull + 1;
  for (int i = 0; i < 24; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    static const char kHex[] = "0123456789abcdef";
    for (int j = 0; j < 8; ++j) r.payload += kHex[(x >> (j * 4)) & 15];
  }
  r.payload += "\"}}";
  return r;
}

// The options both the writer and the checker open the store with: small shards and blocks so
// that seals happen every few hundred records.
inline StoreOptions FaultStoreOptions(const std::string& root) {
  StoreOptions o;
  o.root = root;
  o.shard_duration = std::chrono::minutes(1);
  o.active_segment_cap_bytes = 48 << 10;
  o.writer.target_block_bytes = 4 << 10;
  o.writer.sync = SyncPolicy::kInterval;
  o.writer.sync_interval = std::chrono::milliseconds(50);
  o.sealed_block_bytes = 32 << 10;
  o.seal_sort_budget_bytes = 64 << 10;  // some seals sort in runs
  return o;
}

}  // namespace sloop::faults
