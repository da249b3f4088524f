// A small program for the fault tests to kill: it writes the records of fault_records.h into a
// store, or restores a backup into one, and reports its progress on stdout.
//
//   store_fault_driver append ROOT FIRST_SEQ COUNT BATCH flush|timer
//     appends records FIRST_SEQ.. in batches; after each batch, with "flush" it flushes and
//     prints "acked LAST_SEQ"; with "timer" it relies on the store's sync timer and prints
//     "appended LAST_SEQ MONOTONIC_NS". After COUNT records it closes the store and exits 0.
//   store_fault_driver restore ARCHIVE ROOT
//     prints "starting", restores ARCHIVE into ROOT; prints "restored" and exits 0, or the error
//     and exits 1.
//   store_fault_driver backup ROOT ARCHIVE
//     writes a backup of the store at ROOT to ARCHIVE (seed inputs for the backup_reader fuzzer).
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "engine/backup.h"
#include "engine/store.h"
#include "tests/faults/fault_records.h"

namespace {

void Say(const std::string& line) {
  std::string l = line + "\n";
  // One write per line: the parent may kill us at any instant and reads whole lines only.
  (void)!::write(1, l.data(), l.size());
}

int64_t MonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

int Append(const std::string& root, uint64_t first, uint64_t count, uint64_t batch, bool flush) {
  auto store = sloop::Store::Open(sloop::faults::FaultStoreOptions(root));
  if (!store) {
    Say("error " + store.error().ToString());
    return 1;
  }
  Say("opened");
  for (uint64_t seq = first; seq < first + count;) {
    const uint64_t end = std::min(first + count, seq + batch);
    for (; seq < end; ++seq) {
      const sloop::StoredRecord r = sloop::faults::RecordFor(seq);
      if (auto a = (*store)->Append(r.view()); !a) {
        Say("error " + a.error().ToString());
        return 1;
      }
    }
    if (flush) {
      if (auto f = (*store)->Flush(); !f) {
        Say("error " + f.error().ToString());
        return 1;
      }
      Say("acked " + std::to_string(seq - 1));
    } else {
      Say("appended " + std::to_string(seq - 1) + " " + std::to_string(MonotonicNs()));
    }
  }
  if (auto c = (*store)->Close(); !c) {
    Say("error " + c.error().ToString());
    return 1;
  }
  Say("closed");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 7 && std::strcmp(argv[1], "append") == 0) {
    return Append(argv[2], std::strtoull(argv[3], nullptr, 10), std::strtoull(argv[4], nullptr, 10),
                  std::strtoull(argv[5], nullptr, 10), std::strcmp(argv[6], "flush") == 0);
  }
  if (argc == 4 && std::strcmp(argv[1], "restore") == 0) {
    Say("starting");
    auto r = sloop::RestoreBackupArchive(std::string(argv[2]), std::string(argv[3]));
    if (!r) {
      Say("error " + r.error().ToString());
      return 1;
    }
    Say("restored");
    return 0;
  }
  if (argc == 4 && std::strcmp(argv[1], "backup") == 0) {
    auto store = sloop::Store::Open(sloop::faults::FaultStoreOptions(argv[2]));
    if (!store) {
      Say("error " + store.error().ToString());
      return 1;
    }
    auto files = (*store)->SnapshotForBackup();
    FILE* out = files ? std::fopen(argv[3], "wb") : nullptr;
    if (!out) {
      Say(files ? std::string("error cannot create ") + argv[3]
                : "error " + files.error().ToString());
      return 1;
    }
    auto w = sloop::WriteBackupArchive(*files, 1, [&](std::string_view c) -> sloop::Result<void> {
      if (std::fwrite(c.data(), 1, c.size(), out) != c.size()) {
        return sloop::MakeError(sloop::ErrorCode::kIOError, "short write");
      }
      return {};
    });
    std::fclose(out);
    if (!w) {
      Say("error " + w.error().ToString());
      return 1;
    }
    Say("written");
    return 0;
  }
  std::fprintf(stderr,
               "usage: store_fault_driver append ROOT FIRST_SEQ COUNT BATCH flush|timer\n"
               "       store_fault_driver restore ARCHIVE ROOT\n"
               "       store_fault_driver backup ROOT ARCHIVE\n");
  return 2;
}
