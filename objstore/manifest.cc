#include "objstore/manifest.h"

#include <fcntl.h>
#include <simdjson.h>
#include <unistd.h>
#include <xxhash.h>

#include <cerrno>
#include <charconv>
#include <memory>
#include <vector>

#include "base/json_text.h"
#include "base/time_text.h"

namespace sloop::objstore {
namespace {

void Field(std::string* out, const char* name, const std::string& json_value) {
  if (out->size() > 1) out->push_back(',');
  AppendJsonString(out, name);
  out->push_back(':');
  out->append(json_value);
}

std::string DigestJson(const FileDigest& d) {
  return "{\"bytes\":" + std::to_string(d.bytes) + ",\"xxh3_64\":\"" + Hex64(d.xxh3) + "\"}";
}

}  // namespace

std::string Hex64(uint64_t v) {
  char buf[17];
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = 15; i >= 0; --i, v >>= 4) buf[i] = kHex[v & 15];
  buf[16] = 0;
  return buf;
}

uint64_t Xxh3(std::string_view bytes) { return XXH3_64bits(bytes.data(), bytes.size()); }

Result<FileDigest> DigestFd(int fd, const std::filesystem::path& path) {
  std::unique_ptr<XXH3_state_t, decltype(&XXH3_freeState)> st(XXH3_createState(), XXH3_freeState);
  XXH3_64bits_reset(st.get());
  std::vector<char> buf(1 << 20);
  FileDigest d;
  for (;;) {
    ssize_t n = ::pread(fd, buf.data(), buf.size(), static_cast<off_t>(d.bytes));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return IOError("read", path.string(), errno);
    if (n == 0) break;
    XXH3_64bits_update(st.get(), buf.data(), static_cast<size_t>(n));
    d.bytes += static_cast<uint64_t>(n);
  }
  d.xxh3 = XXH3_64bits_digest(st.get());
  return d;
}

Result<FileDigest> DigestFile(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return IOError("open", path.string(), errno);
  auto d = DigestFd(fd, path);
  ::close(fd);
  return d;
}

std::string ManifestJson(const ShardManifest& m) {
  std::string out = "{";
  Field(&out, "format_version", std::to_string(m.format_version));
  Field(&out, "cluster", JsonQuote(m.cluster));
  Field(&out, "shard_id", std::to_string(m.shard_id));
  Field(&out, "window_start_ns", std::to_string(m.window_start_ns));
  Field(&out, "window_end_ns", std::to_string(m.window_end_ns));
  Field(&out, "first_record_ns", std::to_string(m.first_record_ns));
  Field(&out, "last_record_ns", std::to_string(m.last_record_ns));
  Field(&out, "records", std::to_string(m.records));
  Field(&out, "resources", std::to_string(m.resources));
  Field(&out, "segment", DigestJson(m.segment));
  Field(&out, "index", DigestJson(m.index));
  Field(&out, "segment_format", std::to_string(m.segment_format));
  Field(&out, "index_format", std::to_string(m.index_format));
  Field(&out, "index_made_whole", m.index_made_whole ? "true" : "false");
  Field(&out, "uploaded_at", JsonQuote(FormatRfc3339(m.uploaded_at_ns)));
  Field(&out, "uploaded_at_ns", std::to_string(m.uploaded_at_ns));
  out += "}\n";
  return out;
}

Result<ShardManifest> ParseManifest(std::string_view json, std::string_view what) {
  auto bad = [&](const std::string& why) -> Result<ShardManifest> {
    return MakeError(ErrorCode::kCorruption,
                     "shard manifest " + std::string(what) + ": " + why +
                         "; the shard counts as not uploaded (it is uploaded again from the "
                         "store that has it)");
  };
  simdjson::dom::parser parser;
  simdjson::padded_string padded(json);
  simdjson::dom::element root;
  if (auto e = parser.parse(padded).get(root); e) {
    return bad(std::string("not JSON: ") + simdjson::error_message(e));
  }
  simdjson::dom::object obj;
  if (root.get(obj)) return bad("not a JSON object");
  ShardManifest m;
  uint64_t version = 0;
  if (obj["format_version"].get(version)) return bad("no format_version");
  if (version != ShardManifest::kFormatVersion) {
    return MakeError(ErrorCode::kUnsupported,
                     "shard manifest " + std::string(what) + ": format_version " +
                         std::to_string(version) + " is not known to this build (it reads " +
                         std::to_string(ShardManifest::kFormatVersion) + "); upgrade sloop");
  }
  m.format_version = static_cast<uint32_t>(version);
  auto u64 = [&](const char* name, uint64_t* out) { return !obj[name].get(*out); };
  auto i64 = [&](const char* name, int64_t* out) { return !obj[name].get(*out); };
  auto u32 = [&](const char* name, uint32_t* out) {
    uint64_t v;
    if (obj[name].get(v) || v > UINT32_MAX) return false;
    *out = static_cast<uint32_t>(v);
    return true;
  };
  auto digest = [&](const char* name, FileDigest* out) {
    simdjson::dom::object d;
    std::string_view hex;
    if (obj[name].get(d) || d["bytes"].get(out->bytes) || d["xxh3_64"].get(hex)) return false;
    if (hex.size() != 16) return false;
    auto r = std::from_chars(hex.data(), hex.data() + hex.size(), out->xxh3, 16);
    return r.ec == std::errc() && r.ptr == hex.data() + hex.size();
  };
  std::string_view cluster;
  if (obj["cluster"].get(cluster)) return bad("no cluster");
  m.cluster = std::string(cluster);
  if (!u64("shard_id", &m.shard_id)) return bad("no shard_id");
  if (!i64("window_start_ns", &m.window_start_ns) || !i64("window_end_ns", &m.window_end_ns)) {
    return bad("no window_start_ns or window_end_ns");
  }
  if (!i64("first_record_ns", &m.first_record_ns) || !i64("last_record_ns", &m.last_record_ns)) {
    return bad("no first_record_ns or last_record_ns");
  }
  if (!u64("records", &m.records) || !u64("resources", &m.resources)) {
    return bad("no records or resources");
  }
  if (!digest("segment", &m.segment)) return bad("no segment {bytes, xxh3_64} (16 hex digits)");
  if (!digest("index", &m.index)) return bad("no index {bytes, xxh3_64} (16 hex digits)");
  if (!u32("segment_format", &m.segment_format) || !u32("index_format", &m.index_format)) {
    return bad("no segment_format or index_format");
  }
  if (obj["index_made_whole"].get(m.index_made_whole)) return bad("no index_made_whole");
  if (!i64("uploaded_at_ns", &m.uploaded_at_ns)) return bad("no uploaded_at_ns");
  return m;
}

}  // namespace sloop::objstore
