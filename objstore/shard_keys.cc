#include "objstore/shard_keys.h"

#include <cstdio>

namespace sloop::objstore {
namespace {

constexpr int64_t kMinuteNs = 60'000'000'000LL;

// Days since 1970-01-01 of a proleptic Gregorian date, and back (H. Hinnant's algorithms).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

bool Digits(std::string_view s, size_t at, size_t n, uint64_t* out) {
  if (at + n > s.size()) return false;
  uint64_t v = 0;
  for (size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + static_cast<uint64_t>(s[i] - '0');
  }
  *out = v;
  return true;
}

bool ClusterChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

}  // namespace

const char* Extension(ShardFile file) {
  switch (file) {
    case ShardFile::kSegment:
      return ".seg";
    case ShardFile::kIndex:
      return ".idx";
    case ShardFile::kManifest:
      return ".json";
  }
  return "";
}

Result<void> ValidateClusterName(std::string_view cluster) {
  bool ok = !cluster.empty() && cluster.size() <= 128 && cluster != "." && cluster != "..";
  for (char c : cluster) ok = ok && ClusterChar(c);
  if (!ok) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "cluster name '" + std::string(cluster) +
                         "' cannot name objects in a bucket: use 1 to 128 letters, digits, '.', "
                         "'_' or '-' (not '.' or '..')");
  }
  return {};
}

std::string NormalizePrefix(std::string_view prefix) {
  while (!prefix.empty() && prefix.front() == '/') prefix.remove_prefix(1);
  while (!prefix.empty() && prefix.back() == '/') prefix.remove_suffix(1);
  return prefix.empty() ? std::string() : std::string(prefix) + "/";
}

std::string ClusterShardsPrefix(std::string_view prefix, std::string_view cluster) {
  return NormalizePrefix(prefix) + std::string(cluster) + "/shards/";
}

std::string ShardStem(int64_t window_start_ns, uint64_t id) {
  const int64_t minutes = window_start_ns > 0 ? window_start_ns / kMinuteNs : 0;
  int64_t y;
  unsigned m, d;
  CivilFromDays(minutes / 1440, &y, &m, &d);
  const int64_t in_day = minutes % 1440;
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04lld%02u%02uT%02lld%02lldZ-%010llu",
                static_cast<long long>(y), m, d, static_cast<long long>(in_day / 60),
                static_cast<long long>(in_day % 60), static_cast<unsigned long long>(id));
  return buf;
}

std::string ShardKey(std::string_view prefix, std::string_view cluster, int64_t window_start_ns,
                     uint64_t id, ShardFile file) {
  return ClusterShardsPrefix(prefix, cluster) + ShardStem(window_start_ns, id) + Extension(file);
}

std::optional<ParsedShardKey> ParseShardKey(std::string_view prefix, std::string_view key) {
  const std::string p = NormalizePrefix(prefix);
  if (!key.starts_with(p)) return std::nullopt;
  key.remove_prefix(p.size());
  const size_t slash = key.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  ParsedShardKey out;
  out.cluster = std::string(key.substr(0, slash));
  if (!ValidateClusterName(out.cluster)) return std::nullopt;
  key.remove_prefix(slash + 1);
  if (!key.starts_with("shards/")) return std::nullopt;
  key.remove_prefix(7);
  // YYYYMMDDTHHMMZ-NNNNNNNNNN.ext
  uint64_t y, mo, d, h, mi;
  if (!Digits(key, 0, 4, &y) || !Digits(key, 4, 2, &mo) || !Digits(key, 6, 2, &d) ||
      key.size() < 25 || key[8] != 'T' || !Digits(key, 9, 2, &h) || !Digits(key, 11, 2, &mi) ||
      key[13] != 'Z' || key[14] != '-' || !Digits(key, 15, 10, &out.id)) {
    return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59) return std::nullopt;
  const std::string_view ext = key.substr(25);
  if (ext == ".seg") {
    out.file = ShardFile::kSegment;
  } else if (ext == ".idx") {
    out.file = ShardFile::kIndex;
  } else if (ext == ".json") {
    out.file = ShardFile::kManifest;
  } else {
    return std::nullopt;
  }
  out.stem = std::string(key.substr(0, 25));
  const int64_t days = DaysFromCivil(static_cast<int64_t>(y), static_cast<unsigned>(mo),
                                     static_cast<unsigned>(d));
  out.start_ns = ((days * 24 + static_cast<int64_t>(h)) * 60 + static_cast<int64_t>(mi)) * kMinuteNs;
  if (ShardStem(out.start_ns, out.id) != out.stem) return std::nullopt;  // 31 February
  return out;
}

}  // namespace sloop::objstore
