#include "bench/harness/floor.h"

#include <zstd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

namespace sloop::bench {
namespace {

constexpr int kWindowLog = 27;  // --long=27

// Reads the capture's text chunk by chunk (decompressing a zstd capture) and compresses it at
// `level`; sets *raw and *compressed. Each level reads the file itself: decompression costs little
// next to level 19, and the two need no shared buffers.
std::string CompressAt(const std::string& path, int level, uint64_t* raw, uint64_t* compressed) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) return path + ": " + std::strerror(errno);
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> d(ZSTD_createDCtx(), &ZSTD_freeDCtx);
  std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)> c(ZSTD_createCCtx(), &ZSTD_freeCCtx);
  // A capture may itself have been written with a long window.
  ZSTD_DCtx_setParameter(d.get(), ZSTD_d_windowLogMax, 31);
  for (auto [p, v] :
       {std::pair{ZSTD_c_compressionLevel, level}, std::pair{ZSTD_c_windowLog, kWindowLog},
        std::pair{ZSTD_c_enableLongDistanceMatching, 1}}) {
    size_t r = ZSTD_CCtx_setParameter(c.get(), p, v);
    if (ZSTD_isError(r)) return std::string("zstd: ") + ZSTD_getErrorName(r);
  }
  std::vector<char> in(ZSTD_DStreamInSize()), text(ZSTD_DStreamOutSize()),
      out(ZSTD_CStreamOutSize());
  size_t n = std::fread(in.data(), 1, in.size(), f.get());
  const bool zstd = n >= 4 && std::memcmp(in.data(), "\x28\xB5\x2F\xFD", 4) == 0;
  *raw = *compressed = 0;
  auto feed = [&](const char* p, size_t len, ZSTD_EndDirective mode) -> std::string {
    *raw += len;
    ZSTD_inBuffer src{p, len, 0};
    while (true) {
      ZSTD_outBuffer dst{out.data(), out.size(), 0};
      size_t r = ZSTD_compressStream2(c.get(), &dst, &src, mode);
      if (ZSTD_isError(r)) return std::string("zstd: ") + ZSTD_getErrorName(r);
      *compressed += dst.pos;
      if (mode == ZSTD_e_end ? r == 0 : src.pos == src.size) return "";
    }
  };
  for (; n > 0; n = std::fread(in.data(), 1, in.size(), f.get())) {
    if (!zstd) {
      if (auto e = feed(in.data(), n, ZSTD_e_continue); !e.empty()) return e;
      continue;
    }
    ZSTD_inBuffer src{in.data(), n, 0};
    while (src.pos < src.size) {
      ZSTD_outBuffer dst{text.data(), text.size(), 0};
      size_t r = ZSTD_decompressStream(d.get(), &dst, &src);
      if (ZSTD_isError(r)) return path + ": zstd: " + ZSTD_getErrorName(r);
      if (auto e = feed(text.data(), dst.pos, ZSTD_e_continue); !e.empty()) return e;
    }
  }
  if (std::ferror(f.get())) return path + ": read error";
  // Whatever the decompressor still holds, then the end of the frame.
  if (zstd) {
    while (true) {
      ZSTD_inBuffer src{nullptr, 0, 0};
      ZSTD_outBuffer dst{text.data(), text.size(), 0};
      size_t r = ZSTD_decompressStream(d.get(), &dst, &src);
      if (ZSTD_isError(r)) return path + ": zstd: " + ZSTD_getErrorName(r);
      if (dst.pos == 0) break;
      if (auto e = feed(text.data(), dst.pos, ZSTD_e_continue); !e.empty()) return e;
    }
  }
  return feed(nullptr, 0, ZSTD_e_end);
}

}  // namespace

std::string MeasureFloor(const std::string& capture, FloorSizes* out) {
  std::string e19, e3;
  uint64_t raw19 = 0, raw3 = 0;
  auto timed = [&](int level, uint64_t* raw, uint64_t* size, double* s, std::string* err) {
    auto a = std::chrono::steady_clock::now();
    *err = CompressAt(capture, level, raw, size);
    *s = std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count();
  };
  std::thread t3(timed, 3, &raw3, &out->zstd3_bytes, &out->zstd3_s, &e3);
  timed(19, &raw19, &out->zstd19_bytes, &out->zstd19_s, &e19);
  t3.join();
  if (!e19.empty()) return e19;
  if (!e3.empty()) return e3;
  out->raw_bytes = raw19;
  return "";
}

}  // namespace sloop::bench
