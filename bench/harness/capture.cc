#include "bench/harness/capture.h"

#include <simdjson.h>

#include <cstring>
#include <memory>
#include <vector>

namespace sloop::bench {
namespace {

constexpr size_t kChunk = 4 << 20;

// The offset just past the JSON value that starts at text[pos] (an object or array: brackets
// are matched outside strings), or npos when the text ends first. simdjson 3.0's On-Demand API
// has no raw text for a whole object, and the object's bytes must be kept exactly as written.
size_t SkipValue(std::string_view text, size_t pos) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = pos; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (--depth == 0) return i + 1;
    }
  }
  return std::string_view::npos;
}

// Parses one line into rec. Returns "" or what was wrong.
std::string ParseLine(simdjson::ondemand::parser& parser, const char* p, size_t len,
                      size_t capacity, bool header, CaptureRecord& rec) {
  using namespace simdjson;
  ondemand::document doc;
  if (auto e = parser.iterate(padded_string_view(p, len, capacity)).get(doc)) {
    return error_message(e);
  }
  ondemand::object obj;
  if (auto e = doc.get_object().get(obj)) return error_message(e);
  rec = CaptureRecord{};
  std::string_view format;
  int64_t version = 0;
  bool have_ts = false;
  for (auto field : obj) {
    std::string_view key;
    if (auto e = field.unescaped_key().get(key)) return error_message(e);
    ondemand::value v;
    if (auto e = field.value().get(v)) return error_message(e);
    simdjson::error_code err = SUCCESS;
    if (header) {
      if (key == "format")
        err = v.get_string().get(format);
      else if (key == "version")
        err = v.get_int64().get(version);
    } else if (key == "ts") {
      err = v.get_int64().get(rec.ts_ns);
      have_ts = true;
    } else if (key == "type") {
      err = v.get_string().get(rec.type);
    } else if (key == "group") {
      err = v.get_string().get(rec.group);
    } else if (key == "version") {
      err = v.get_string().get(rec.version);
    } else if (key == "resource") {
      err = v.get_string().get(rec.resource);
    } else if (key == "kind") {
      err = v.get_string().get(rec.kind);
    } else if (key == "namespaced") {
      err = v.get_bool().get(rec.namespaced);
    } else if (key == "object") {
      std::string_view token = v.raw_json_token();
      {
        size_t at = static_cast<size_t>(token.data() - p);
        size_t end = token.empty() || (token[0] != '{' && token[0] != '[')
                         ? at + token.size()
                         : SkipValue(std::string_view(p, len), at);
        if (end == std::string_view::npos) return "object: cut short";
        rec.object = std::string_view(token.data(), end - at);
      }
    }
    if (err) return std::string(key) + ": " + error_message(err);
  }
  if (header) {
    if (format != "sloop-capture")
      return "not a sloop capture (format \"" + std::string(format) + "\")";
    if (version != 1) return "capture version " + std::to_string(version) + " is not supported";
    return "";
  }
  if (!have_ts || rec.type.empty() || rec.kind.empty() || rec.object.empty()) {
    return "record lacks ts, type, kind or object";
  }
  while (!rec.object.empty() && (rec.object.back() == ' ' || rec.object.back() == '\n'))
    rec.object.remove_suffix(1);
  return "";
}

}  // namespace

std::string ReadCapture(const std::string& path,
                        const std::function<void(const CaptureRecord&)>& fn, CaptureStats* stats) {
  CaptureStats local;
  CaptureStats& st = stats ? *stats : local;
  st = CaptureStats{};
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) return path + ": " + std::strerror(errno);
  std::vector<char> in(kChunk);
  size_t in_len = std::fread(in.data(), 1, in.size(), f.get());
  st.file_bytes += in_len;
  const bool zstd = in_len >= 4 && static_cast<unsigned char>(in[0]) == 0x28 &&
                    static_cast<unsigned char>(in[1]) == 0xB5 &&
                    static_cast<unsigned char>(in[2]) == 0x2F &&
                    static_cast<unsigned char>(in[3]) == 0xFD;
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> dctx(zstd ? ZSTD_createDCtx() : nullptr,
                                                          &ZSTD_freeDCtx);
  ZSTD_inBuffer zin{in.data(), in_len, 0};

  // buf holds [start, end) of undelivered text plus CaptureRecord::kPadding spare bytes.
  std::vector<char> buf(2 * kChunk + CaptureRecord::kPadding);
  size_t start = 0, end = 0;
  simdjson::ondemand::parser parser;
  bool header_done = false, eof = false;
  uint64_t offset = 0;  // of buf[start] in the uncompressed stream
  CaptureRecord rec;

  auto fill = [&]() -> std::string {
    // Compact, then grow when a line is longer than the buffer.
    if (start > 0) {
      std::memmove(buf.data(), buf.data() + start, end - start);
      end -= start;
      start = 0;
    }
    if (buf.size() - end < kChunk / 2 + CaptureRecord::kPadding)
      buf.resize(buf.size() * 2 + CaptureRecord::kPadding);
    size_t room = buf.size() - CaptureRecord::kPadding - end;
    while (room > 0) {
      if (zstd) {
        if (zin.pos == zin.size) {
          in_len = std::fread(in.data(), 1, in.size(), f.get());
          st.file_bytes += in_len;
          zin = {in.data(), in_len, 0};
          if (in_len == 0) {
            eof = true;
            return "";
          }
        }
        ZSTD_outBuffer zout{buf.data() + end, room, 0};
        size_t r = ZSTD_decompressStream(dctx.get(), &zout, &zin);
        if (ZSTD_isError(r)) return std::string("zstd: ") + ZSTD_getErrorName(r);
        end += zout.pos;
        room -= zout.pos;
        if (zout.pos > 0 && end - start >= kChunk / 2) return "";
      } else {
        size_t n;
        if (in_len > 0) {  // the first chunk, read to sniff the magic
          n = std::min(in_len, room);
          std::memcpy(buf.data() + end, in.data(), n);
          std::memmove(in.data(), in.data() + n, in_len - n);
          in_len -= n;
        } else {
          n = std::fread(buf.data() + end, 1, room, f.get());
          st.file_bytes += n;
          if (n == 0) {
            eof = true;
            return "";
          }
        }
        end += n;
        return "";
      }
    }
    return "";
  };

  while (true) {
    const char* nl = static_cast<const char*>(std::memchr(buf.data() + start, '\n', end - start));
    if (!nl) {
      if (eof) break;
      if (auto e = fill(); !e.empty()) return e;
      continue;
    }
    size_t len = nl - (buf.data() + start);
    ++st.lines;
    std::string err =
        ParseLine(parser, buf.data() + start, len, buf.size() - start, !header_done, rec);
    if (!err.empty()) {
      return path + ": line " + std::to_string(st.lines) + " (offset " + std::to_string(offset) +
             "): " + err;
    }
    if (!header_done) {
      header_done = true;
    } else if (rec.type == "LIST" || rec.type == "ADDED" || rec.type == "MODIFIED" ||
               rec.type == "DELETED") {
      ++st.records;
      st.object_bytes += rec.object.size();
      fn(rec);
    } else {
      ++st.unknown_types;
    }
    st.raw_bytes += len + 1;
    offset += len + 1;
    start += len + 1;
  }
  if (end > start) st.torn_tail = true;  // a torn last line: reported, ignored
  if (!header_done) return path + ": empty capture (no header)";
  return "";
}

CaptureWriter::CaptureWriter(const std::string& path, int level) {
  file_ = std::fopen(path.c_str(), "wb");
  if (!file_) return;
  cctx_ = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(cctx_, ZSTD_c_compressionLevel, level);
  out_.resize(ZSTD_CStreamOutSize());
}

CaptureWriter::~CaptureWriter() { Close(); }

void CaptureWriter::Write(std::string_view s, bool end) {
  raw_bytes_ += s.size();
  ZSTD_inBuffer in{s.data(), s.size(), 0};
  while (true) {
    ZSTD_outBuffer out{out_.data(), out_.size(), 0};
    size_t r = ZSTD_compressStream2(cctx_, &out, &in, end ? ZSTD_e_end : ZSTD_e_continue);
    if (ZSTD_isError(r)) {
      error_ = true;
      return;
    }
    if (out.pos && std::fwrite(out_.data(), 1, out.pos, file_) != out.pos) error_ = true;
    if (end ? r == 0 : in.pos == in.size) return;
  }
}

void CaptureWriter::Header(std::string_view scenario, uint64_t seed) {
  line_ = "{\"format\":\"sloop-capture\",\"version\":1,\"source\":\"sloop-bench\",\"scenario\":\"";
  line_ += scenario;
  line_ += "\",\"seed\":" + std::to_string(seed) + "}\n";
  Write(line_, false);
}

void CaptureWriter::Record(int64_t ts_ns, std::string_view type, std::string_view group,
                           std::string_view version, std::string_view resource,
                           std::string_view kind, bool namespaced, std::string_view object) {
  line_.clear();
  line_ += "{\"ts\":";
  line_ += std::to_string(ts_ns);
  line_ += ",\"type\":\"";
  line_ += type;
  line_ += "\",\"group\":\"";
  line_ += group;
  line_ += "\",\"version\":\"";
  line_ += version;
  line_ += "\",\"resource\":\"";
  line_ += resource;
  line_ += "\",\"kind\":\"";
  line_ += kind;
  line_ +=
      namespaced ? "\",\"namespaced\":true,\"object\":" : "\",\"namespaced\":false,\"object\":";
  line_ += object;
  line_ += "}\n";
  Write(line_, false);
}

bool CaptureWriter::Close() {
  if (!file_) return false;
  Write("", true);
  bool ok = !error_ && std::fclose(file_) == 0;
  file_ = nullptr;
  ZSTD_freeCCtx(cctx_);
  cctx_ = nullptr;
  return ok;
}

}  // namespace sloop::bench
