#include "capture_writer.h"

#include <cerrno>
#include <cstring>

#include "api_resources.h"
#include "json_writer.h"

namespace kubesim {
namespace {

constexpr size_t kBufferBytes = 1 << 20;

// `"group":…,"version":…,"resource":…,"kind":…,"namespaced":…` for each kind, built once.
const std::string& record_fields(Kind k) {
  static const std::vector<std::string> fields = [] {
    std::vector<std::string> v;
    for (const auto& rt : all_resource_types()) {
      std::string s;
      JsonWriter w(s);
      w.kv("group", rt.group)
          .kv("version", rt.version)
          .kv("resource", rt.resource)
          .kv("kind", rt.kind_name)
          .kv("namespaced", rt.namespaced);
      v.push_back(std::move(s));
    }
    return v;
  }();
  return fields[static_cast<size_t>(k)];
}

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::unique_ptr<CaptureWriter> CaptureWriter::open(const std::string& path,
                                                   const CaptureHeader& header,
                                                   std::string* error) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) {
    *error = "cannot create capture file " + path + ": " + std::strerror(errno);
    return nullptr;
  }
  std::unique_ptr<CaptureWriter> w(new CaptureWriter(f, ends_with(path, ".zst")));
  std::string line;
  JsonWriter j(line);
  j.begin_object()
      .kv("format", "sloop-capture")
      .kv("version", 1)
      .kv("source", "kubesim")
      .kv("created", format_time(header.created))
      .kv("scenario", header.scenario)
      .key("seed")
      .num(static_cast<int64_t>(header.seed))
      .end_object();
  w->buf_ += line;
  w->buf_ += '\n';
  return w;
}

CaptureWriter::CaptureWriter(FILE* f, bool zstd) : file_(f) {
  buf_.reserve(kBufferBytes + 64 * 1024);
  if (zstd) {
    zstd_ = ZSTD_createCStream();
    ZSTD_CCtx_setParameter(zstd_, ZSTD_c_compressionLevel, 3);
    // A worker thread compresses while the simulation renders (ignored by single-thread builds).
    ZSTD_CCtx_setParameter(zstd_, ZSTD_c_nbWorkers, 1);
    out_.resize(ZSTD_CStreamOutSize());
  }
}

CaptureWriter::~CaptureWriter() {
  std::string ignored;
  close(&ignored);
}

void CaptureWriter::append_record(std::string_view type, const ObjectVersion& object, SimTime ts) {
  buf_ += "{\"ts\":";
  buf_ += std::to_string(ts);
  buf_ += ",\"type\":\"";
  buf_ += type;
  buf_ += "\",";
  buf_ += record_fields(object.kind);
  buf_ += ",\"object\":";
  buf_ += object.json;
  buf_ += "}\n";
  ++records_;
  if (buf_.size() >= kBufferBytes) drain(false);
}

void CaptureWriter::write_list(const ObjectVersion& object, SimTime ts) {
  append_record("LIST", object, ts);
}

void CaptureWriter::on_event(const WatchEvent& event) {
  append_record(event_type_name(event.type), *event.object, event.ts);
}

bool CaptureWriter::drain(bool end_frame) {
  if (failed_ || closed_) return false;
  bytes_in_ += buf_.size();
  if (zstd_ == nullptr) {
    if (!buf_.empty() && std::fwrite(buf_.data(), 1, buf_.size(), file_) != buf_.size()) {
      failed_ = true;
    }
    buf_.clear();
    return !failed_;
  }
  ZSTD_inBuffer in{buf_.data(), buf_.size(), 0};
  const ZSTD_EndDirective mode = end_frame ? ZSTD_e_end : ZSTD_e_continue;
  for (;;) {
    ZSTD_outBuffer out{out_.data(), out_.size(), 0};
    const size_t left = ZSTD_compressStream2(zstd_, &out, &in, mode);
    if (ZSTD_isError(left)) {
      failed_ = true;
      break;
    }
    if (out.pos > 0 && std::fwrite(out_.data(), 1, out.pos, file_) != out.pos) {
      failed_ = true;
      break;
    }
    if (end_frame ? left == 0 : in.pos == in.size) break;
  }
  buf_.clear();
  return !failed_;
}

bool CaptureWriter::flush() {
  if (failed_ || closed_) return false;
  // Ending the zstd frame makes everything so far decodable by a reader of the growing file.
  if (!drain(zstd_ != nullptr && bytes_in_ + buf_.size() > 0)) return false;
  return std::fflush(file_) == 0;
}

bool CaptureWriter::close(std::string* error) {
  if (closed_) return !failed_;
  drain(true);
  closed_ = true;
  if (zstd_ != nullptr) ZSTD_freeCStream(zstd_);
  zstd_ = nullptr;
  if (std::fclose(file_) != 0) failed_ = true;
  file_ = nullptr;
  if (failed_) *error = std::string("writing the capture file failed: ") + std::strerror(errno);
  return !failed_;
}

}  // namespace kubesim
