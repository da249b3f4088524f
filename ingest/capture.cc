#include "ingest/capture.h"

#include <simdjson.h>
#include <zstd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <ctime>

#include "base/json_text.h"
#include "base/time_text.h"
#include "ingest/raw_json.h"

namespace sloop::ingest {

std::string_view CaptureTypeName(CaptureType t) {
  switch (t) {
    case CaptureType::kList:
      return "LIST";
    case CaptureType::kAdded:
      return "ADDED";
    case CaptureType::kModified:
      return "MODIFIED";
    case CaptureType::kDeleted:
      return "DELETED";
    case CaptureType::kListEnd:
      return "LIST_END";
    case CaptureType::kListIncomplete:
      return "LIST_INCOMPLETE";
    case CaptureType::kListRestart:
      return "LIST_RESTART";
    case CaptureType::kUnknown:
      break;
  }
  return "UNKNOWN";
}

namespace {

CaptureType ParseCaptureType(std::string_view s) {
  if (s == "LIST") return CaptureType::kList;
  if (s == "ADDED") return CaptureType::kAdded;
  if (s == "MODIFIED") return CaptureType::kModified;
  if (s == "DELETED") return CaptureType::kDeleted;
  if (s == "LIST_END") return CaptureType::kListEnd;
  if (s == "LIST_INCOMPLETE") return CaptureType::kListIncomplete;
  if (s == "LIST_RESTART") return CaptureType::kListRestart;
  return CaptureType::kUnknown;
}

constexpr size_t kWriteBuffer = 1 << 20;

}  // namespace

Result<std::unique_ptr<CaptureWriter>> CaptureWriter::Create(const std::string& path,
                                                             std::string_view source,
                                                             bool list_ends) {
  std::unique_ptr<CaptureWriter> w(new CaptureWriter());
  w->path_ = path;
  w->file_ = std::fopen(path.c_str(), "wb");
  if (!w->file_) return IOError("create capture file", path, errno);
  if (path.ends_with(".zst")) {
    auto* cctx = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, 3);
    w->zstd_ = cctx;
  }
  const std::string created =
      FormatRfc3339Fixed(static_cast<int64_t>(std::time(nullptr)) * 1'000'000'000, 0);
  std::string header = "{\"format\":\"sloop-capture\",\"version\":1,\"source\":";
  AppendJsonString(&header, source);
  header += ",\"created\":\"";
  header += created;
  header += list_ends ? "\",\"list_ends\":true}\n" : "\"}\n";
  w->buffer_ = header;
  if (auto r = w->Flush(); !r) return std::unexpected(r.error());
  return w;
}

CaptureWriter::~CaptureWriter() { (void)Close(); }

Result<void> CaptureWriter::WriteOut(std::string_view bytes, bool end_frame) {
  if (!zstd_) {
    if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size()) {
      return IOError("write capture file", path_, errno);
    }
    return {};
  }
  auto* cctx = static_cast<ZSTD_CCtx*>(zstd_);
  zbuf_.resize(ZSTD_CStreamOutSize());
  ZSTD_inBuffer in{bytes.data(), bytes.size(), 0};
  ZSTD_EndDirective mode = end_frame ? ZSTD_e_end : ZSTD_e_flush;
  for (;;) {
    ZSTD_outBuffer out{zbuf_.data(), zbuf_.size(), 0};
    size_t left = ZSTD_compressStream2(cctx, &out, &in, mode);
    if (ZSTD_isError(left)) {
      return MakeError(ErrorCode::kIOError,
                       "compress capture " + path_ + ": " + ZSTD_getErrorName(left));
    }
    if (out.pos > 0 && std::fwrite(zbuf_.data(), 1, out.pos, file_) != out.pos) {
      return IOError("write capture file", path_, errno);
    }
    if (left == 0 && in.pos == in.size) break;
  }
  return {};
}

Result<void> CaptureWriter::Write(int64_t ts_ns, CaptureType type, const ResourceType& rt,
                                  std::string_view object) {
  std::lock_guard lock(mu_);
  if (!file_) return MakeError(ErrorCode::kAborted, "capture " + path_ + " is closed");
  std::string& l = buffer_;
  const size_t line_start = l.size();  // a failed Write leaves no partial line behind
  l += "{\"ts\":";
  char num[24];
  auto [end, ec] = std::to_chars(num, num + sizeof num, ts_ns);
  l.append(num, end);
  l += ",\"type\":\"";
  l += CaptureTypeName(type);
  l += "\",\"group\":";
  AppendJsonString(&l, rt.group);
  l += ",\"version\":";
  AppendJsonString(&l, rt.version);
  l += ",\"resource\":";
  AppendJsonString(&l, rt.resource);
  l += ",\"kind\":";
  AppendJsonString(&l, rt.kind);
  l += rt.namespaced ? ",\"namespaced\":true,\"object\":" : ",\"namespaced\":false,\"object\":";
  if (std::memchr(object.data(), '\n', object.size()) != nullptr) {
    line_.resize(object.size());
    size_t len = 0;
    // minify() only strips whitespace; the result is parsed so that no malformed line is written.
    simdjson::dom::parser parser;
    if (simdjson::minify(object.data(), object.size(), line_.data(), len) != simdjson::SUCCESS ||
        parser.parse(line_.data(), len).error() != simdjson::SUCCESS) {
      l.resize(line_start);
      return MakeError(ErrorCode::kInvalidArgument, "capture: object is not JSON");
    }
    l.append(line_.data(), len);
  } else {
    l += object;
  }
  l += "}\n";
  ++records_;
  if (buffer_.size() >= kWriteBuffer) {
    auto r = WriteOut(buffer_, false);
    buffer_.clear();
    return r;
  }
  return {};
}

Result<void> CaptureWriter::Flush() {
  std::lock_guard lock(mu_);
  if (!file_) return {};
  auto r = WriteOut(buffer_, false);
  buffer_.clear();
  if (!r) return r;
  if (std::fflush(file_) != 0) return IOError("flush capture file", path_, errno);
  return {};
}

Result<void> CaptureWriter::Close() {
  std::lock_guard lock(mu_);
  if (!file_) return {};
  Result<void> r = WriteOut(buffer_, zstd_ != nullptr);
  buffer_.clear();
  if (zstd_) ZSTD_freeCCtx(static_cast<ZSTD_CCtx*>(zstd_));
  zstd_ = nullptr;
  if (std::fclose(file_) != 0 && r) r = IOError("close capture file", path_, errno);
  file_ = nullptr;
  return r;
}

// ---- reader

Result<std::unique_ptr<CaptureReader>> CaptureReader::Open(const std::string& path) {
  std::unique_ptr<CaptureReader> r(new CaptureReader());
  r->path_ = path;
  r->file_ = std::fopen(path.c_str(), "rb");
  if (!r->file_) return IOError("open capture file", path, errno);
  unsigned char magic[4] = {0};
  size_t n = std::fread(magic, 1, 4, r->file_);
  std::rewind(r->file_);
  if (n == 4 && magic[0] == 0x28 && magic[1] == 0xB5 && magic[2] == 0x2F && magic[3] == 0xFD) {
    r->zstd_ = ZSTD_createDCtx();
  }
  std::string_view line;
  auto got = r->ReadLine(line);
  if (!got) return std::unexpected(got.error());
  if (!*got) return MakeError(ErrorCode::kCorruption, "capture " + path + " is empty");
  r->header_ = line;
  auto list_ends = FindMember(line, "list_ends");
  r->list_ends_ = list_ends && *list_ends == "true";
  auto format = FindMember(line, "format");
  auto version = FindMember(line, "version");
  if (!format || !version || StringValue(*format) != "sloop-capture") {
    return MakeError(ErrorCode::kCorruption,
                     "capture " + path + ": line 1 is not a sloop-capture header");
  }
  if (*version != "1") {
    return MakeError(ErrorCode::kUnsupported, "capture " + path + ": version " +
                                                  std::string(*version) +
                                                  " is not supported (this build reads 1)");
  }
  return r;
}

CaptureReader::~CaptureReader() {
  if (file_) std::fclose(file_);
  if (zstd_) ZSTD_freeDCtx(static_cast<ZSTD_DCtx*>(zstd_));
}

Result<bool> CaptureReader::Fill() {
  if (eof_) return false;
  if (buf_pos_ > 0) {
    buf_.erase(0, buf_pos_);
    buf_pos_ = 0;
  }
  constexpr size_t kChunk = 1 << 17;
  in_.resize(kChunk);
  if (!zstd_) {
    size_t n = std::fread(in_.data(), 1, kChunk, file_);
    if (n == 0) {
      if (std::ferror(file_)) return IOError("read capture file", path_, errno);
      eof_ = true;
      return false;
    }
    buf_.append(in_.data(), n);
    return true;
  }
  auto* dctx = static_cast<ZSTD_DCtx*>(zstd_);
  out_.resize(ZSTD_DStreamOutSize());
  for (;;) {
    if (in_pos_ == in_size_ && !in_eof_) {
      size_t n = std::fread(in_.data(), 1, kChunk, file_);
      if (n == 0) {
        if (std::ferror(file_)) return IOError("read capture file", path_, errno);
        in_eof_ = true;
      }
      in_pos_ = 0;
      in_size_ = n;
    }
    // With the input used up this drains what the decoder still holds.
    ZSTD_inBuffer in{in_.data(), in_size_, in_pos_};
    ZSTD_outBuffer o{out_.data(), out_.size(), 0};
    size_t rc = ZSTD_decompressStream(dctx, &o, &in);
    if (ZSTD_isError(rc)) {
      return MakeError(ErrorCode::kCorruption,
                       "capture " + path_ + ": zstd: " + ZSTD_getErrorName(rc));
    }
    in_pos_ = in.pos;
    buf_.append(out_.data(), o.pos);
    if (o.pos > 0) return true;
    if (in_eof_ && in_pos_ == in_size_) {
      eof_ = true;  // a truncated frame ends here too: ReadLine reports the torn tail
      return false;
    }
  }
}

Result<bool> CaptureReader::ReadLine(std::string_view& line) {
  for (;;) {
    const char* start = buf_.data() + buf_pos_;
    const void* nl = std::memchr(start, '\n', buf_.size() - buf_pos_);
    if (nl != nullptr) {
      size_t len = static_cast<const char*>(nl) - start;
      line = std::string_view(start, len);
      buf_pos_ += len + 1;
      offset_ += len + 1;
      ++line_no_;
      return true;
    }
    auto more = Fill();
    if (!more) return std::unexpected(more.error());
    if (!*more) {
      if (buf_pos_ < buf_.size()) torn_tail_ = true;
      return false;
    }
  }
}

Result<std::optional<CaptureRecord>> CaptureReader::Next() {
  std::string_view line;
  auto got = ReadLine(line);
  if (!got) return std::unexpected(got.error());
  if (!*got) return std::optional<CaptureRecord>();
  CaptureRecord rec;
  rec.line = line_no_;
  bool have_ts = false, have_type = false;
  auto bad = [&](const std::string& why) {
    return MakeError(ErrorCode::kCorruption,
                     "capture " + path_ + ": line " + std::to_string(line_no_) + " (byte offset " +
                         std::to_string(offset_ - line.size() - 1) + "): " + why);
  };
  auto scanned = ForEachMember(line, [&](std::string_view key, std::string_view value) {
    if (key == "ts") {
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), rec.ts_ns);
      have_ts = ec == std::errc() && p == value.data() + value.size();
    } else if (key == "type") {
      rec.type_name = StringValue(value);
      rec.type = ParseCaptureType(rec.type_name);
      have_type = !rec.type_name.empty();
    } else if (key == "group") {
      rec.resource.group = StringValue(value);
    } else if (key == "version") {
      rec.resource.version = StringValue(value);
    } else if (key == "resource") {
      rec.resource.resource = StringValue(value);
    } else if (key == "kind") {
      rec.resource.kind = StringValue(value);
    } else if (key == "namespaced") {
      rec.resource.namespaced = value == "true";
    } else if (key == "object") {
      rec.object = value;
    }
    return true;
  });
  if (!scanned) return bad(scanned.error().message);
  if (!have_ts) return bad("no integer \"ts\"");
  if (!have_type) return bad("no \"type\"");
  if (rec.type != CaptureType::kUnknown && (rec.object.empty() || rec.object.front() != '{')) {
    return bad("no \"object\"");
  }
  if (rec.type != CaptureType::kUnknown && rec.resource.kind.empty()) return bad("no \"kind\"");
  return std::optional<CaptureRecord>(rec);
}

}  // namespace sloop::ingest
