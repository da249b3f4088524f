// Where a sealed shard's files live in a bucket (docs/format/object-store.md, "Key layout"):
//   PREFIX/CLUSTER/shards/<start>-<id>.seg | .idx | .json
// <start> is the shard's window start in UTC as YYYYMMDDTHHMMZ and <id> its 10-digit id, so that
// a listing of one cluster is in time order and a time range is a key range.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace sloop::objstore {

enum class ShardFile { kSegment, kIndex, kManifest };

// ".seg", ".idx", ".json".
const char* Extension(ShardFile file);

// A cluster name is 1 to 128 bytes of [A-Za-z0-9._-], not "." or "..": one path segment of a
// key. kInvalidArgument naming the name and the rule otherwise.
Result<void> ValidateClusterName(std::string_view cluster);

// The prefix as keys use it: no leading or trailing '/', then one '/' unless empty ("a/b/").
std::string NormalizePrefix(std::string_view prefix);

// "PREFIX/CLUSTER/shards/": every shard of the cluster is under it.
std::string ClusterShardsPrefix(std::string_view prefix, std::string_view cluster);

// "20261120T0900Z-0000000012": a shard's name without extension (start rounded down to the
// minute; times before 1970 are written as 1970).
std::string ShardStem(int64_t window_start_ns, uint64_t id);

// The key of one file of a shard.
std::string ShardKey(std::string_view prefix, std::string_view cluster, int64_t window_start_ns,
                     uint64_t id, ShardFile file);

struct ParsedShardKey {
  std::string cluster;
  int64_t start_ns = 0;  // to the minute
  uint64_t id = 0;
  ShardFile file = ShardFile::kSegment;
  std::string stem;  // "<start>-<id>"
};

// The parts of a key under prefix that ShardKey wrote; nullopt for any other key.
std::optional<ParsedShardKey> ParseShardKey(std::string_view prefix, std::string_view key);

}  // namespace sloop::objstore
