// sloop-bench: replays one workload (a capture file, or a synthetic one generated here) into our
// store, into Sloop's own engine (Badger, a Go program: bench/harness/badger/) and into RocksDB
// laid out as Sloop lays out Badger, each in its own child process, and prints one table of
// figures and, as its last line, one JSON object (docs/benchmarks.md).
//
//   build/bench/sloop-bench --generate small|medium|large     synthetic capture, then the stores
//   build/bench/sloop-bench --capture FILE                    a kubesim or sloop capture
//   --stores ours,rocksdb,badger  --dir DIR  --keep  --save-capture FILE  --quick (fewer runs)
//   --rocksdb-resync DURATION (Sloop's informer resync on the RocksDB and Badger sides: 30m, 0 =
//   off)
//   --badger-bin FILE (default: sloop-bench-badger next to this program)  --badger-sync-writes
//   --floor (the capture's text as one zstd stream at -19 and -3, --long=27: the distance to it)
//   --in-process (run ours and RocksDB in this process rather than a child each, for heap
//   profilers; peak RSS then counts everything the process did before)
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "bench/harness/floor.h"
#include "bench/harness/generator.h"
#include "bench/harness/stores.h"
#include "engine/malloc_tuning.h"
#include "tools/sloop/config.h"

namespace {

using namespace sloop::bench;
namespace fs = std::filesystem;

struct ChildResult {
  Figures figures;
  std::string error;
  double peak_rss_mb = 0;
};

// Runs fn in a child process so that its memory is measured alone; the child's figures come back
// through a pipe, its peak RSS from wait4.
bool g_in_process = false;  // --in-process: no fork, for heap profilers (heaptrack, massif)

// Reads a child's figures from fd until it closes, then reaps the child with its peak RSS.
ChildResult Collect(pid_t pid, int fd) {
  ChildResult out;
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) text.append(buf, n);
  close(fd);
  int status = 0;
  struct rusage ru {};
  wait4(pid, &status, 0, &ru);
  out.peak_rss_mb = ru.ru_maxrss / 1024.0;
  if (text.rfind("error ", 0) == 0) {
    out.error = text.substr(6);
    while (!out.error.empty() && out.error.back() == '\n') out.error.pop_back();
  } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || text.empty()) {
    out.error = "child failed (status " + std::to_string(status) + ")";
  } else {
    out.figures = Figures::Parse(text);
  }
  return out;
}

ChildResult RunChild(const std::function<Figures(std::string*)>& fn) {
  ChildResult out;
  if (g_in_process) {
    std::string error;
    Figures f = fn(&error);
    struct rusage ru {};
    getrusage(RUSAGE_SELF, &ru);
    out.peak_rss_mb = ru.ru_maxrss / 1024.0;  // of this process so far: both stores, if both ran
    if (!error.empty())
      out.error = error;
    else
      out.figures = Figures::Parse(f.Serialize());
    return out;
  }
  int fds[2];
  if (pipe(fds) != 0) {
    out.error = std::string("pipe: ") + std::strerror(errno);
    return out;
  }
  std::fflush(stdout);
  std::fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) {
    out.error = std::string("fork: ") + std::strerror(errno);
    return out;
  }
  if (pid == 0) {
    close(fds[0]);
    std::string error;
    Figures f = fn(&error);
    std::string text = error.empty() ? f.Serialize() : "error " + error;
    for (size_t off = 0; off < text.size();) {
      ssize_t n = write(fds[1], text.data() + off, text.size() - off);
      if (n <= 0) break;
      off += n;
    }
    close(fds[1]);
    std::fflush(stderr);
    _exit(error.empty() ? 0 : 1);
  }
  close(fds[1]);
  return Collect(pid, fds[0]);
}

// Runs a program whose standard output speaks the same protocol ("key value" lines, or "error
// MESSAGE"): the Badger side.
ChildResult ExecChild(const std::vector<std::string>& argv) {
  ChildResult out;
  int fds[2];
  if (pipe(fds) != 0) {
    out.error = std::string("pipe: ") + std::strerror(errno);
    return out;
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::fflush(stdout);
  std::fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) {
    out.error = std::string("fork: ") + std::strerror(errno);
    return out;
  }
  if (pid == 0) {
    close(fds[0]);
    dup2(fds[1], STDOUT_FILENO);
    close(fds[1]);
    execv(args[0], args.data());
    std::string text = "error cannot run " + argv[0] + ": " + std::strerror(errno);
    ssize_t n = write(STDOUT_FILENO, text.data(), text.size());
    (void)n;
    _exit(127);
  }
  close(fds[1]);
  return Collect(pid, fds[0]);
}

// Figures derived from what a child measured.
void Derive(Figures& f, double peak_rss_mb) {
  double s = f.Get("ingest_s");
  f.Set("ingest_events_per_s", s > 0 ? f.Get("records") / s : 0);
  f.Set("ingest_mb_per_s", s > 0 ? f.Get("json_bytes") / 1e6 / s : 0);
  f.Set("disk_mb", f.Get("disk_bytes") / 1e6);
  f.Set("disk_bytes_per_event", f.Get("records") > 0 ? f.Get("disk_bytes") / f.Get("records") : 0);
  f.Set("compression_ratio",
        f.Get("disk_bytes") > 0 ? f.Get("json_bytes") / f.Get("disk_bytes") : 0);
  // The busy phase's feeder keeps ingest state of its own (the harness's, not the store's), so
  // the peak that has a budget is the one before it; the whole run's is kept beside it.
  f.Set("peak_rss_with_busy_mb", peak_rss_mb);
  f.Set("peak_rss_mb", f.Has("peak_rss_before_busy_mb") ? f.Get("peak_rss_before_busy_mb")
                                                         : peak_rss_mb);
}

struct Row {
  const char* key;
  const char* label;
  const char* fmt;
};
const Row kRows[] = {
    {"ingest_s", "ingest s (end to end)", "%.2f"},
    {"ingest_before_seal_s", "  of which before seal/flush", "%.2f"},
    {"initial_list_s", "initial list s", "%.2f"},
    {"ingest_events_per_s", "ingest events/s", "%.0f"},
    {"ingest_mb_per_s", "ingest MB/s of JSON", "%.1f"},
    {"stored_records", "records stored", "%.0f"},
    {"resync_records", "  resync records replayed", "%.0f"},
    {"disk_mb", "disk MB", "%.1f"},
    {"disk_bytes_per_event", "disk bytes/event", "%.1f"},
    {"compression_ratio", "compression (JSON/disk)", "%.2f"},
    {"peak_rss_mb", "peak RSS MB", "%.1f"},
    {"peak_rss_with_busy_mb", "  with the busy phase", "%.1f"},
    {"rss_after_ingest_mb", "RSS after ingest MB", "%.1f"},
    {"rss_anon_after_ingest_mb", "  of which anonymous", "%.1f"},
    {"rss_file_after_ingest_mb", "  of which mapped files", "%.1f"},
    {"timeline_1h_median_ms", "timeline 1h ms median", "%.2f"},
    {"timeline_1h_p99_ms", "timeline 1h ms p99", "%.2f"},
    {"timeline_1h_rows", "  rows", "%.0f"},
    {"timeline_24h_median_ms", "timeline 24h ms median", "%.2f"},
    {"timeline_24h_p99_ms", "timeline 24h ms p99", "%.2f"},
    {"timeline_24h_rows", "  rows", "%.0f"},
    {"history_median_ms", "pod history ms median", "%.3f"},
    {"history_p99_ms", "pod history ms p99", "%.3f"},
    {"history_records", "  records per query", "%.1f"},
    {"search_median_ms", "name search ms median", "%.2f"},
    {"search_p99_ms", "name search ms p99", "%.2f"},
    {"search_hits", "  hits per query", "%.1f"},
    {"events_median_ms", "pod events ms median", "%.3f"},
    {"events_p99_ms", "pod events ms p99", "%.3f"},
    {"events_records", "  Events per query", "%.1f"},
    {"timeline_1h_busy_median_ms", "busy: timeline 1h median", "%.2f"},
    {"timeline_1h_busy_p99_ms", "busy: timeline 1h p99", "%.2f"},
    {"timeline_1h_busy_runs", "  runs", "%.0f"},
    {"busy_records", "  records ingested meanwhile", "%.0f"},
};
// The figures that get a ratio ours/theirs (the info rows, indented above, get none).
bool HasRatio(const Row& r) {
  return r.label[0] != ' ' && std::strcmp(r.key, "stored_records") != 0;
}

std::string Fmt(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), fmt, v);
  return buf;
}

int Usage(int code) {
  std::fprintf(code ? stderr : stdout,
               "usage: sloop-bench (--generate small|medium|large | --capture FILE)\n"
               "                   [--stores ours,rocksdb,badger] [--dir DIR] [--keep]\n"
               "                   [--save-capture FILE] [--quick] [--seed N] [--in-process]\n"
               "                   [--rocksdb-resync DURATION (default 30m, 0: off)]\n"
               "                   [--badger-bin FILE] [--badger-sync-writes] [--floor]\n"
               "                   [--busy-rate N (records/s ingested during the busy phase,\n"
               "                    default 2000, 0: no busy phase)]\n");
  return code;
}

// sloop-bench-badger next to this program (where CMake builds it), or "" when absent.
std::string DefaultBadgerBinary() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return "";
  fs::path bin = self.parent_path() / "sloop-bench-badger";
  return access(bin.c_str(), X_OK) == 0 ? bin.string() : "";
}

}  // namespace

int main(int argc, char** argv) {
  sloop::TuneAllocator();  // as the sloop binary does, for both stores
  std::string size, capture, save_capture, stores, badger_bin;
  std::string dir = (fs::temp_directory_path() / ("sloop-bench-" + std::to_string(getpid())));
  bool keep = false, quick = false, floor = false, badger_sync = false;
  uint64_t seed = 42;
  int64_t resync_ns = kSloopResyncNs;
  double busy_rate = 2000;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "sloop-bench: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--generate")
      size = next();
    else if (a == "--capture")
      capture = next();
    else if (a == "--save-capture")
      save_capture = next();
    else if (a == "--stores")
      stores = next();
    else if (a == "--dir")
      dir = next();
    else if (a == "--keep")
      keep = true;
    else if (a == "--quick")
      quick = true;
    else if (a == "--floor")
      floor = true;
    else if (a == "--badger-bin")
      badger_bin = next();
    else if (a == "--badger-sync-writes")
      badger_sync = true;
    else if (a == "--in-process")
      g_in_process = true;
    else if (a == "--seed")
      seed = std::stoull(next());
    else if (a == "--rocksdb-resync") {
      std::string v = next();
      auto d = sloop::ParseGoDuration(v);  // the parser of sloop's own duration flags
      if (!d) {
        std::fprintf(stderr, "sloop-bench: --rocksdb-resync: %s (0 turns the resync off)\n",
                     d.error().message.c_str());
        return 2;
      }
      resync_ns = d->count();
      // No cluster resyncs faster, and a period of nanoseconds would replay the whole cache
      // billions of times over a day of capture.
      if (resync_ns != 0 && resync_ns < kSec) {
        std::fprintf(stderr, "sloop-bench: --rocksdb-resync: \"%s\" is %s (0 turns it off)\n",
                     v.c_str(), resync_ns < 0 ? "negative" : "under 1s");
        return 2;
      }
    } else if (a == "--busy-rate") {
      std::string v = next();
      char* end = nullptr;
      busy_rate = std::strtod(v.c_str(), &end);
      if (v.empty() || *end != '\0' || !(busy_rate >= 0) || busy_rate > 1e7) {
        std::fprintf(stderr,
                     "sloop-bench: --busy-rate: \"%s\" is not a rate in records a second "
                     "(0 to 10000000; 0: no busy phase)\n",
                     v.c_str());
        return 2;
      }
    } else if (a == "--help" || a == "-h")
      return Usage(0);
    else
      return Usage(2);
  }
  if (size.empty() == capture.empty()) return Usage(2);

  // The sides asked for; by default all three, the Badger side when its program was built.
  if (badger_bin.empty()) badger_bin = DefaultBadgerBinary();
  const bool default_stores = stores.empty();
  if (default_stores) stores = badger_bin.empty() ? "ours,rocksdb" : "ours,rocksdb,badger";
  std::vector<std::string> wanted;
  for (size_t pos = 0; pos <= stores.size();) {
    size_t comma = std::min(stores.find(',', pos), stores.size());
    std::string name = stores.substr(pos, comma - pos);
    if (name != "ours" && name != "rocksdb" && name != "badger" && name != "none") {
      std::fprintf(stderr,
                   "sloop-bench: --stores: unknown store \"%s\" (ours, rocksdb, badger, or none "
                   "with --floor)\n",
                   name.c_str());
      return 2;
    }
    if (name != "none") wanted.push_back(name);
    pos = comma + 1;
  }
  auto wants = [&](const std::string& n) {
    return std::find(wanted.begin(), wanted.end(), n) != wanted.end();
  };
  if (wants("badger") && (badger_bin.empty() || access(badger_bin.c_str(), X_OK) != 0)) {
    std::fprintf(stderr,
                 "sloop-bench: the Badger side's program %s is missing: build it with "
                 "`cmake --build build --target sloop-bench-badger` (it needs Go; `make bench` "
                 "installs it), or pass --badger-bin FILE\n",
                 badger_bin.empty() ? "sloop-bench-badger" : badger_bin.c_str());
    return 2;
  }
  if (wanted.empty() && !floor) {
    std::fprintf(stderr, "sloop-bench: --stores none measures nothing without --floor\n");
    return 2;
  }
  if (default_stores && badger_bin.empty())
    std::fprintf(stderr,
                 "sloop-bench: no sloop-bench-badger next to this program (built when Go is "
                 "found): running ours and rocksdb only\n");
  fs::remove_all(dir);
  fs::create_directories(dir);

  std::string workload = capture.empty() ? "synthetic " + size : capture;
  if (capture.empty()) {
    GenerateOptions g;
    if (!SizePreset(size, &g)) return Usage(2);
    g.seed = seed;
    capture = save_capture.empty() ? dir + "/capture.ndjson.zst" : save_capture;
    std::fprintf(
        stderr, "sloop-bench: generating %s (%d pods, %d nodes, %lld min of churn) into %s\n",
        size.c_str(), g.pods, g.nodes, static_cast<long long>(g.churn_minutes), capture.c_str());
    auto a = std::chrono::steady_clock::now();
    ChildResult gen = RunChild([&](std::string* error) {
      Figures f;
      GenerateResult r = GenerateCapture(capture, g);
      *error = r.error;
      f.Set("records", r.records);
      f.Set("raw_bytes", r.raw_bytes);
      return f;
    });
    if (!gen.error.empty()) {
      std::fprintf(stderr, "sloop-bench: generating: %s\n", gen.error.c_str());
      return 1;
    }
    std::fprintf(stderr, "sloop-bench: %.0f records, %.0f MB of capture JSON in %.1f s\n",
                 gen.figures.Get("records"), gen.figures.Get("raw_bytes") / 1e6,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count());
  }

  // The query targets, picked from the capture alone (untimed), the same for every store. Read
  // in a child so that the parent's memory stays out of the stores' children.
  RunOptions ro;
  ro.capture = capture;
  ro.rocksdb_resync_ns = resync_ns;
  ro.plan_file = dir + "/plan.txt";
  ro.badger_sync_writes = badger_sync;
  {
    ChildResult planned = RunChild([&](std::string* error) {
      QueryPlan plan;
      Figures f;
      *error = ComputePlan(capture, 32, &plan);
      f.Set("pods", static_cast<double>(plan.pods.size()));
      if (error->empty()) {
        std::ofstream out(ro.plan_file);
        out << SerializePlan(plan);
        if (!out) *error = "cannot write " + ro.plan_file;
      }
      return f;
    });
    if (!planned.error.empty()) {
      std::fprintf(stderr, "sloop-bench: reading the capture: %s\n", planned.error.c_str());
      return 1;
    }
    std::ifstream in(ro.plan_file);
    std::stringstream text;
    text << in.rdbuf();
    ro.plan = ParsePlan(text.str());
  }
  if (quick) ro.runs = QueryRuns{5, 3, 9, 3, 9, 3};
  if (busy_rate > 0) {
    // The busy phase's records: the capture's last hour, later (WriteShiftedCapture).
    ro.busy_capture = dir + "/busy.ndjson.zst";
    ro.busy_rate = busy_rate;
    // Moved so that its records start past the queried window and cross an hour boundary half
    // an hour of capture time in: the active shard rotates (and is sealed) mid-phase.
    const int64_t from = ro.plan.last_ns - kHour;
    const int64_t boundary = (ro.plan.last_ns + 30 * kMin) / kHour * kHour + kHour;
    const int64_t shift = boundary - 30 * kMin - from;
    ChildResult shifted = RunChild([&](std::string* error) {
      Figures f;
      uint64_t n = 0;
      *error = WriteShiftedCapture(capture, from, shift, ro.busy_capture, &n);
      f.Set("records", double(n));
      return f;
    });
    if (!shifted.error.empty()) {
      std::fprintf(stderr, "sloop-bench: writing the busy phase's capture: %s\n",
                   shifted.error.c_str());
      return 1;
    }
    std::fprintf(stderr,
                 "sloop-bench: busy phase: %.0f records of the last hour, moved past it, at %g "
                 "records/s while the 1 h timeline runs for %g s\n",
                 shifted.figures.Get("records"), busy_rate, ro.runs.busy_seconds);
  }
  struct Side {
    std::string name;
    Figures (*run)(const RunOptions&, std::string*);  // nullptr: the Badger program
    ChildResult result;
    bool ran = false;
    const Figures* ok() const { return ran && result.error.empty() ? &result.figures : nullptr; }
  };
  std::vector<Side> sides = {{"ours", &RunOurs, {}, false},
                             {"rocksdb", &RunRocks, {}, false},
                             {"badger", nullptr, {}, false}};
  int failed = 0;
  for (auto& s : sides) {
    if (!wants(s.name)) continue;
    RunOptions o = ro;
    o.dir = dir + "/" + s.name;
    fs::create_directories(o.dir);
    std::string note;
    if (s.name != "ours")
      note =
          resync_ns ? Fmt(", informer resync every %g s", resync_ns / 1e9) : ", no informer resync";
    if (s.name == "badger") note += badger_sync ? ", SyncWrites on" : ", SyncWrites off";
    std::fprintf(stderr, "sloop-bench: replaying into %s (%s%s)\n", s.name.c_str(), o.dir.c_str(),
                 note.c_str());
    if (s.run)
      s.result = RunChild([&](std::string* error) { return s.run(o, error); });
    else
      s.result = ExecChild(BadgerCommand(o, badger_bin));
    s.ran = true;
    if (!s.result.error.empty()) {
      std::fprintf(stderr, "sloop-bench: %s: %s\n", s.name.c_str(), s.result.error.c_str());
      ++failed;
      continue;
    }
    Derive(s.result.figures, s.result.peak_rss_mb);
    std::fprintf(stderr, "sloop-bench: %s done: ingest %.1f s\n", s.name.c_str(),
                 s.result.figures.Get("ingest_s"));
    if (!keep) fs::remove_all(o.dir);
  }

  // The floor: the capture's text as one zstd stream (floor.h), in a child of its own.
  ChildResult floor_result;
  if (floor) {
    std::fprintf(stderr, "sloop-bench: compressing the capture's text at -19 and -3, --long=27\n");
    floor_result = RunChild([&](std::string* error) {
      FloorSizes z;
      *error = MeasureFloor(capture, &z);
      Figures f;
      f.Set("raw_bytes", z.raw_bytes);
      f.Set("zstd19_long27_bytes", z.zstd19_bytes);
      f.Set("zstd3_long27_bytes", z.zstd3_bytes);
      f.Set("zstd19_s", z.zstd19_s);
      f.Set("zstd3_s", z.zstd3_s);
      return f;
    });
    if (!floor_result.error.empty()) {
      std::fprintf(stderr, "sloop-bench: floor: %s\n", floor_result.error.c_str());
      ++failed;
    } else {
      floor_result.figures.Set("peak_rss_mb", floor_result.peak_rss_mb);
    }
  }
  if (!keep) fs::remove_all(dir);

  const Figures* ours = sides[0].ok();
  const Figures* rocks = sides[1].ok();
  const Figures* badger = sides[2].ok();
  const Figures* zfloor = floor && floor_result.error.empty() ? &floor_result.figures : nullptr;
  const Figures* any = ours ? ours : badger ? badger : rocks;
  if (!any && !zfloor) return 1;
  if (any)
    std::printf("workload: %s: %.0f records, %.1f MB of object JSON\n", workload.c_str(),
                any->Get("records"), any->Get("json_bytes") / 1e6);
  else
    std::printf("workload: %s\n", workload.c_str());
  auto ratio = [](const Figures* a, const Figures* b, const Row& r) -> std::string {
    if (!HasRatio(r) || !a || !b || b->Get(r.key) == 0) return "";
    return Fmt("%.3f", a->Get(r.key) / b->Get(r.key));
  };
  if (any) {
    std::printf("%-26s %12s %12s %12s %12s %12s\n", "figure", "ours", "badger", "rocksdb",
                "ours/badger", "ours/rocksdb");
    for (const Row& r : kRows) {
      auto cell = [&](const Figures* f) {
        return f && f->Has(r.key) ? Fmt(r.fmt, f->Get(r.key)) : std::string("-");
      };
      std::printf("%-26s %12s %12s %12s %12s %12s\n", r.label, cell(ours).c_str(),
                  cell(badger).c_str(), cell(rocks).c_str(), ratio(ours, badger, r).c_str(),
                  ratio(ours, rocks, r).c_str());
    }
  }
  if (zfloor) {
    double raw = zfloor->Get("raw_bytes");
    std::printf("floor: the capture's text (%.1f MB) as one zstd stream, --long=27\n", raw / 1e6);
    std::printf("%-26s %12s %12s %12s %12s %12s\n", "", "MB", "s", "ours/it", "badger/it",
                "rocksdb/it");
    for (auto [key, label, secs] :
         {std::tuple{"zstd19_long27_bytes", "zstd -19 --long=27", "zstd19_s"},
          std::tuple{"zstd3_long27_bytes", "zstd -3 --long=27", "zstd3_s"}}) {
      double z = zfloor->Get(key);
      auto over = [&](const Figures* f) {
        return f && z > 0 ? Fmt("%.3f", f->Get("disk_bytes") / z) : std::string("-");
      };
      std::printf("%-26s %12s %12s %12s %12s %12s\n", label, Fmt("%.2f", z / 1e6).c_str(),
                  Fmt("%.1f", zfloor->Get(secs)).c_str(), over(ours).c_str(), over(badger).c_str(),
                  over(rocks).c_str());
    }
  }

  auto obj = [](const Figures* f) {
    std::string s = "{";
    for (const auto& [k, v] : f->items) {
      if (s.size() > 1) s += ",";
      s += "\"" + k + "\":" + Fmt(std::abs(v) >= 1e15 || v == std::floor(v) ? "%.0f" : "%.4g", v);
    }
    return s + "}";
  };
  auto ratios = [](const Figures* a, const Figures* b) {
    std::string s = "{";
    for (const Row& r : kRows) {
      if (!HasRatio(r) || b->Get(r.key) == 0) continue;
      if (s.size() > 1) s += ",";
      s += "\"" + std::string(r.key) + "\":" + Fmt("%.4g", a->Get(r.key) / b->Get(r.key));
    }
    return s + "}";
  };
  std::string json = "{\"workload\":\"" + workload + "\"";
  if (any)
    json += ",\"records\":" + Fmt("%.0f", any->Get("records")) +
            ",\"json_bytes\":" + Fmt("%.0f", any->Get("json_bytes"));
  if (ours) json += ",\"ours\":" + obj(ours);
  if (rocks) json += ",\"rocksdb\":" + obj(rocks);
  if (badger) json += ",\"badger\":" + obj(badger);
  if (ours && rocks) json += ",\"ratios\":" + ratios(ours, rocks);  // ours/rocksdb, as before
  if (ours && badger) json += ",\"ratios_badger\":" + ratios(ours, badger);
  if (zfloor) {
    std::string f = obj(zfloor);
    f.pop_back();
    for (auto [name, key] :
         {std::pair{"19", "zstd19_long27_bytes"}, std::pair{"3", "zstd3_long27_bytes"}}) {
      double z = zfloor->Get(key);
      for (auto [side, figs] :
           {std::pair{"ours", ours}, std::pair{"badger", badger}, std::pair{"rocksdb", rocks}})
        if (figs && z > 0)
          f += std::string(",\"") + side + "_over_zstd" + name +
               "\":" + Fmt("%.4g", figs->Get("disk_bytes") / z);
    }
    json += ",\"floor\":" + f + "}";
  }
  std::printf("%s}\n", json.c_str());
  return failed ? 1 : 0;
}
