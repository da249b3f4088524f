// engine_bench --object-store: the store just built is uploaded to a real S3 server (a one-node
// Ceph RADOS Gateway, tools/objectstore/rgw-cluster.sh) and queried back from it by a sloop
// store that holds nothing itself (objstore/remote_shards.h): the same queries, in the middle of
// the recorded time, with a cold cache (each run a new cache and a new listing), warm, and on
// the local store, with the requests and bytes a cold query costs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "engine/store.h"
#include "objstore/upload_state.h"

namespace sloop::bench {

struct ObjectStoreFigures {
  std::string error;  // not empty: the phase failed, and why
  uint64_t shards = 0;
  double upload_s = 0;
  double listing_ms = 0;  // the first listing (every manifest read)
  size_t rows_1h = 0, rows_24h = 0, history_records = 0;
  double timeline_1h_cold_ms = 0, timeline_1h_warm_ms = 0, timeline_1h_local_ms = 0;
  double timeline_24h_cold_ms = 0, timeline_24h_warm_ms = 0, timeline_24h_local_ms = 0;
  double history_cold_ms = 0, history_warm_ms = 0, history_local_ms = 0;
  double timeline_1h_cold_requests = 0, timeline_1h_cold_kb = 0;
  double history_cold_requests = 0, history_cold_kb = 0;
  double cache_mb_after = 0;
  double rss_mb_after = 0;
};

// store: the recorder's store, opened with `state` attached (UploadState::Attach); work: a
// directory for the reader's store and cache; t_mid: the end of the 1 h window queried.
ObjectStoreFigures RunObjectStorePhase(Store& store, objstore::UploadState& state,
                                       const std::filesystem::path& work, int64_t t_mid);

}  // namespace sloop::bench
