// Fuzzes the restore of a backup archive (engine/backup.h): any bytes, as a plain or zstd archive,
// are extracted and checked into a scratch store directory. The restore must refuse what is not
// a whole, valid backup without crashing, must never write outside the store's directory, and
// what it accepts must open as a store.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <span>
#include <string>

#include "engine/backup.h"
#include "engine/store.h"

namespace {

namespace fs = std::filesystem;

// sandbox/store is the store; sandbox must hold nothing else afterwards.
const fs::path& Sandbox() {
  static const fs::path dir = [] {
    fs::path base = fs::exists("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
    fs::path d = base / ("sloop-backup-fuzz-" + std::to_string(::getpid()));
    fs::remove_all(d);
    fs::create_directories(d);
    std::atexit([] { fs::remove_all(Sandbox()); });
    return d;
  }();
  return dir;
}

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "backup_reader_fuzz: %s\n", what.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const fs::path root = Sandbox() / "store";
  size_t pos = 0;
  // Odd-sized reads, as from a network upload.
  sloop::ArchiveReadFn read = [&](std::span<char> buf) -> sloop::Result<size_t> {
    size_t n = std::min({buf.size(), size - pos, size_t{1} + (pos * 7919) % 4093});
    if (n) std::memcpy(buf.data(), data + pos, n);
    pos += n;
    return n;
  };
  sloop::RestoreOptions options;
  options.allow_empty = size % 2 == 1;
  auto restored = sloop::RestoreBackupArchive(read, "fuzz-input", root, options);

  for (const auto& e : fs::directory_iterator(Sandbox())) {
    if (e.path() != root) Fail("the restore wrote outside the store: " + e.path().string());
  }
  std::error_code ec;
  for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_symlink()) Fail("the restore created a symlink: " + it->path().string());
  }
  if (restored) {
    sloop::StoreOptions o;
    o.root = root;
    o.read_only = true;
    o.background = false;
    auto store = sloop::Store::Open(o);
    if (!store) Fail("a restored archive does not open: " + store.error().ToString());
    // Read every shard's index once.
    (void)(*store)->Search("", "", 10);
  }
  fs::remove_all(root, ec);
  return 0;
}
