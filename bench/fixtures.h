// What every benchmark builds its workload from: the Kubernetes objects in tests/testdata/k8s,
// read once and made compact (as an API server sends them), and a string replace to stamp names,
// uids and times into copies of them.
#pragma once

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include "base/json_text.h"

namespace sloop::bench {

constexpr int64_t kSec = 1000000000LL;
constexpr int64_t kMin = 60 * kSec;
constexpr int64_t kHour = 60 * kMin;
constexpr int64_t kDay = 24 * kHour;

// The fixture `name` without the whitespace between tokens (strings are kept as they are).
inline std::string ReadCompact(const std::string& name) {
  std::ifstream in(std::string(SLOOP_FIXTURES_DIR) + "/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return CompactJson(ss.str());
}

inline void ReplaceAll(std::string& s, std::string_view from, std::string_view to) {
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) {
    s.replace(pos, from.size(), to);
  }
}

}  // namespace sloop::bench
