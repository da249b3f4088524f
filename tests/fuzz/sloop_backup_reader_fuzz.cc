// Fuzzes the reader of the original Sloop's backups (ingest/sloop_backup.h): any bytes, as a raw
// Badger backup stream or a zstd file, are opened and summarized as `sloop-inspect sloop-backup`
// does. The reader must refuse what it cannot read without crashing, and what it accepts must
// add up: every live /watch/ row is counted once by kind and once by partition.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "ingest/sloop_backup.h"

namespace {

namespace fs = std::filesystem;

const fs::path& Sandbox() {
  static const fs::path dir = [] {
    fs::path base = fs::exists("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
    fs::path d = base / ("sloop-sloop-backup-fuzz-" + std::to_string(::getpid()));
    fs::remove_all(d);
    fs::create_directories(d);
    std::atexit([] { fs::remove_all(Sandbox()); });
    return d;
  }();
  return dir;
}

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "sloop_backup_reader_fuzz: %s\n", what.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const fs::path file = Sandbox() / "input.bak";
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  auto backup = sloop::ingest::SloopBackupFile::Open(file, Sandbox());
  if (!backup) return 0;
  auto s = sloop::ingest::SummarizeSloopBackup((*backup)->stream(), 1800000000);
  if (!s) {
    if (s.error().message.find("byte") == std::string::npos) {
      Fail("an error without an offset: " + s.error().message);
    }
    return 0;
  }
  uint64_t by_kind = 0, by_partition = 0;
  for (const auto& [k, n] : s->watch_rows_per_kind) by_kind += n;
  for (const auto& [p, n] : s->partitions) by_partition += n;
  const uint64_t watch = s->rows_per_table.contains("watch") ? s->rows_per_table.at("watch") : 0;
  if (by_kind != watch || by_partition != watch) Fail("watch rows do not add up");
  if (watch > 0 && s->first_ns > s->last_ns) Fail("time range reversed");
  return 0;
}
