// Imports of backups of the original Sloop's store written by Badger itself: the Go program
// tests/tools/sloopbackup writes Sloop's rows through Badger v2.2007.2 and calls its Backup, and
// lists in manifest.json what each row is and what the import must make of it.
#include "ingest/sloop_import.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <simdjson.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "engine/store.h"
#include "ingest/sloop_backup.h"
#include "tests/tools/sloop/process.h"

namespace sloop::ingest {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::Process;
using testing::ReadFile;
using testing::WaitFor;

struct ManifestRow {
  std::string key, sloop_kind, kind, ns, name, uid, watch_type, payload, outcome;
  int64_t ts_ns = 0;
};

class SloopImportTest : public ::testing::Test {
 public:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("sloop-import-test-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "backup");
    const std::string cmd = std::string("'") + SLOOPBACKUP_BINARY + "' -out '" +
                            (dir_ / "backup").string() + "' > '" + (dir_ / "gen.log").string() +
                            "' 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << ReadFile(dir_ / "gen.log");
    simdjson::dom::parser parser;
    simdjson::padded_string json =
        simdjson::padded_string::load((dir_ / "backup" / "manifest.json").string());
    auto doc = parser.parse(json);
    ASSERT_EQ(doc.error(), simdjson::SUCCESS);
    for (auto r : doc["rows"].get_array()) {
      ManifestRow m;
      m.key = std::string(r["key"].get_string().value());
      m.sloop_kind = std::string(r["sloop_kind"].get_string().value());
      m.kind = std::string(r["kind"].get_string().value());
      m.ns = std::string(r["namespace"].get_string().value());
      m.name = std::string(r["name"].get_string().value());
      m.uid = std::string(r["uid"].get_string().value());
      m.watch_type = std::string(r["watch_type"].get_string().value());
      m.payload = std::string(r["payload"].get_string().value());
      m.outcome = std::string(r["outcome"].get_string().value());
      m.ts_ns = r["timestamp_ns"].get_int64().value();
      rows_.push_back(std::move(m));
    }
    ASSERT_GT(rows_.size(), 10u);
  }
  static void TearDownTestSuite() {
    if (!any_failed_)
      fs::remove_all(dir_);
    else
      std::fprintf(stderr, "kept %s\n", dir_.c_str());
  }
  void TearDown() override { any_failed_ |= HasFailure(); }

  static fs::path Raw() { return dir_ / "backup" / "sloop.bak"; }
  static fs::path Zst() { return dir_ / "backup" / "sloop.bak.zst"; }

  static StoreOptions Options(const fs::path& root) {
    StoreOptions o;
    o.root = root;
    o.max_look_back = std::chrono::hours(24 * 365 * 10);
    return o;
  }

  static size_t Imported() {
    size_t n = 0;
    for (const auto& r : rows_) n += r.outcome == "imported";
    return n;
  }

  // Every file under dir with its size and bytes, to show that a refused import changed nothing.
  static std::map<std::string, std::string> Snapshot(const fs::path& dir) {
    std::map<std::string, std::string> out;
    std::error_code ec;
    if (!fs::exists(dir, ec)) return out;
    for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator();
         ++it) {
      out[fs::relative(it->path(), dir).string()] =
          it->is_regular_file() ? ReadFile(it->path()) : std::string("<dir>");
    }
    return out;
  }

  static void WriteBytes(const fs::path& p, const std::string& bytes) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << bytes;
  }

  static std::pair<int, std::string> Get(int port, const std::string& target) {
    httplib::Client client("127.0.0.1", port);
    client.set_read_timeout(30, 0);
    auto res = client.Get(target);
    if (!res) return {0, ""};
    return {res->status, res->body};
  }

  static inline fs::path dir_;
  static inline std::vector<ManifestRow> rows_;
  static inline bool any_failed_ = false;
};

const char* SloopWatchTypeName(WatchType t) {
  switch (t) {
    case WatchType::kAdded:
      return "ADD";
    case WatchType::kModified:
      return "UPDATE";
    case WatchType::kDeleted:
      return "DELETE";
    default:
      return "other";
  }
}

// Every imported row is a record with its payload byte for byte, its time, kind (Sloop's
// "Endpoint" as "Endpoints"), watch type and uid; no skipped row is.
void ExpectStoreMatchesManifest(const fs::path& root, const std::vector<ManifestRow>& rows) {
  StoreOptions o;
  o.root = root;
  o.read_only = true;
  auto store = Store::Open(o);
  ASSERT_TRUE(store) << store.error().message;
  size_t total = 0;
  for (const auto& row : rows) {
    std::vector<StoredRecord> found;
    auto r =
        (*store)->History(ResourceKeyView{row.kind, row.ns, row.name, ""},
                          TimeRange{row.ts_ns, row.ts_ns + 1}, false, [&](const RecordView& rec) {
                            found.push_back(StoredRecord::From(rec));
                            return true;
                          });
    ASSERT_TRUE(r) << r.error().message;
    if (row.outcome != "imported") {
      for (const auto& f : found) {
        EXPECT_NE(f.payload, row.payload) << row.key << " (" << row.outcome << ") was imported";
      }
      continue;
    }
    ++total;
    ASSERT_EQ(found.size(), 1u) << row.key;
    const StoredRecord& rec = found[0];
    EXPECT_EQ(rec.payload, row.payload) << row.key;
    EXPECT_EQ(rec.observed_ns, row.ts_ns) << row.key;
    EXPECT_EQ(rec.kind, row.kind) << row.key;
    // An Event is known by namespace and name: its uid stays in its payload (LookupKey).
    EXPECT_EQ(rec.uid, row.kind == "Event" ? std::string() : row.uid) << row.key;
    EXPECT_STREQ(SloopWatchTypeName(rec.watch_type), row.watch_type.c_str()) << row.key;
    if (row.kind == "Event") {
      ASSERT_TRUE(rec.event.has_value()) << row.key;
      EXPECT_EQ(rec.event->involved_name, "web-1");
      EXPECT_EQ(rec.event->reason, "BackOff");
    }
    if (row.kind == "Deployment") EXPECT_EQ(rec.api_group, "apps");
    if (row.kind == "Widget") EXPECT_EQ(rec.api_group, "example.com");
    if (row.kind == "Endpoints") EXPECT_EQ(rec.api_version, "v1");
  }
  const StoreStats stats = (*store)->Stats();
  EXPECT_EQ(stats.sealed_shards, stats.shards);
  EXPECT_EQ(total, SloopImportTest::Imported());
}

TEST_F(SloopImportTest, ZstdBackupImportsEveryRowByteForByte) {
  const fs::path root = dir_ / "zst-store";
  auto report = ImportSloopBackup(Zst(), Options(root));
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_TRUE(report->compressed);
  EXPECT_EQ(report->records_written, Imported());
  // Three hourly partitions → three sealed one-hour shards.
  EXPECT_EQ(report->shards_written, 3u);
  EXPECT_EQ(report->skipped["watch: deleted in Badger"], 1u);
  EXPECT_EQ(report->skipped["watch: expired in Badger (TTL passed)"], 1u);
  EXPECT_EQ(report->skipped["ressum: derived data, rebuilt from the watch rows, not copied"], 2u);
  EXPECT_EQ(report->skipped["watchactivity: derived data, rebuilt from the watch rows, not copied"],
            1u);
  EXPECT_EQ(report->skipped["eventcount: derived data, rebuilt from the watch rows, not copied"],
            1u);
  EXPECT_FALSE(fs::exists(root / ".restore-staging"));
  ExpectStoreMatchesManifest(root, rows_);
}

TEST_F(SloopImportTest, RawBackupImportsTheSame) {
  const fs::path root = dir_ / "raw-store";
  auto report = ImportSloopBackup(Raw(), Options(root));
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_FALSE(report->compressed);
  EXPECT_EQ(report->records_written, Imported());
  ExpectStoreMatchesManifest(root, rows_);
  // A second import into the same store is refused: nothing is merged, nothing changes.
  const auto before = Snapshot(root);
  auto again = ImportSloopBackup(Raw(), Options(root));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
  EXPECT_NE(again.error().message.find("already holds"), std::string::npos)
      << again.error().message;
  EXPECT_EQ(Snapshot(root), before);
}

TEST_F(SloopImportTest, InspectSummaryCountsRowsByTableAndKind) {
  auto file = SloopBackupFile::Open(Zst(), dir_);
  ASSERT_TRUE(file) << file.error().message;
  auto s = SummarizeSloopBackup((*file)->stream(), std::time(nullptr));
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->rows_per_table["watch"], Imported());
  EXPECT_EQ(s->rows_per_table["ressum"], 2u);
  EXPECT_EQ(s->watch_rows_per_kind["Endpoint"], 1u);
  EXPECT_EQ(s->watch_rows_per_kind["Pod"], 3u);
  EXPECT_EQ(s->partitions.size(), 3u);
  EXPECT_EQ(s->deleted, 1u);
  EXPECT_EQ(s->expired, 1u);
}

// Cut short, bytes flipped where Badger's framing or protobuf lives, a damaged zstd stream: each
// is refused naming a byte offset, and the store (absent, or empty) is left exactly as it was.
TEST_F(SloopImportTest, DamagedFilesAreRefusedWithAnOffsetAndChangeNothing) {
  const std::string raw = ReadFile(Raw());
  const std::string zst = ReadFile(Zst());
  ASSERT_GT(raw.size(), 1000u);
  std::vector<std::pair<std::string, std::string>> cases;
  for (size_t cut : {size_t{3}, size_t{8}, size_t{9}, size_t{40}, raw.size() / 3, raw.size() / 2,
                     raw.size() - 1}) {
    cases.emplace_back("raw cut at " + std::to_string(cut), raw.substr(0, cut));
  }
  {
    std::string b = raw;
    b[7] = '\x7f';  // the first KVList's length: far past the end
    cases.emplace_back("huge length", b);
  }
  {
    std::string b = raw;
    b[8] = '\xff';  // the first KVList's first tag
    cases.emplace_back("bad tag", b);
  }
  {
    std::string b = raw;
    b[0] = static_cast<char>(b[0] - 1);  // the list is one byte shorter than its contents
    cases.emplace_back("length off by one", b);
  }
  for (size_t cut : {size_t{6}, zst.size() / 2, zst.size() - 3}) {
    cases.emplace_back("zstd cut at " + std::to_string(cut), zst.substr(0, cut));
  }
  {
    std::string b = zst.substr(0, 4) + std::string(64, '\x55');
    cases.emplace_back("zstd magic, garbage after", b);
  }
  const fs::path empty_root = dir_ / "empty-store";
  fs::create_directories(empty_root / "shards");
  int n = 0;
  for (const auto& [what, bytes] : cases) {
    SCOPED_TRACE(what);
    const fs::path file = dir_ / ("damaged-" + std::to_string(n++) + ".bak");
    WriteBytes(file, bytes);
    const fs::path absent_root = dir_ / ("absent-" + std::to_string(n));
    auto r = ImportSloopBackup(file, Options(absent_root));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kCorruption) << r.error().message;
    EXPECT_NE(r.error().message.find("byte"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("nothing was imported"), std::string::npos)
        << r.error().message;
    EXPECT_FALSE(fs::exists(absent_root)) << r.error().message;
    const auto before = Snapshot(empty_root);
    auto r2 = ImportSloopBackup(file, Options(empty_root));
    ASSERT_FALSE(r2);
    EXPECT_EQ(Snapshot(empty_root), before);
  }
}

// An import killed while it writes (SIGKILL, no chance to tidy up) leaves the store as it was:
// its staging directory never has the checked marker, and the next open removes it.
TEST_F(SloopImportTest, KilledImportLeavesTheStoreAsItWas) {
  const fs::path big = dir_ / "big";
  fs::create_directories(big);
  const std::string gen = std::string("'") + SLOOPBACKUP_BINARY + "' -out '" + big.string() +
                          "' -no-scenario -bulk-rows 100000 -bulk-step 50ms > '" +
                          (dir_ / "gen-big.log").string() + "' 2>&1";
  ASSERT_EQ(std::system(gen.c_str()), 0) << ReadFile(dir_ / "gen-big.log");
  const fs::path root = dir_ / "killed" / "ctx";
  fs::create_directories(root);
  Process sloop;
  sloop.Start({SLOOP_BINARY, "-import-sloop-backup=" + (big / "sloop.bak").string(),
               "-store-root=" + (dir_ / "killed").string(), "-context=ctx", "-disable-kube-watch",
               "-max-look-back=87600h"},
              {"HOME=" + dir_.string()}, dir_ / "killed.log");
  // Kill it once the first shard is being written in the staging directory.
  const fs::path staged = root / ".restore-staging" / "shards";
  ASSERT_TRUE(WaitFor(
      [&] {
        std::error_code ec;
        for (fs::directory_iterator it(staged, ec), end; !ec && it != end; it.increment(ec)) {
          if (it->path().extension() == ".active" || it->path().extension() == ".seg") return true;
        }
        return false;
      },
      60s))
      << sloop.Log();
  ::kill(sloop.pid(), SIGKILL);
  EXPECT_TRUE(sloop.Stop(SIGKILL, 10s).has_value());
  EXPECT_FALSE(fs::exists(root / "shards")) << sloop.Log();
  StoreOptions o = Options(root);
  {
    auto store = Store::Open(o);
    ASSERT_TRUE(store) << store.error().message;
    EXPECT_EQ((*store)->Stats().shards, 0u);
  }
  EXPECT_FALSE(fs::exists(root / ".restore-staging"));
  // And the import, run again, completes.
  auto report = ImportSloopBackup(big / "sloop.bak", o);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->records_written, 100000u);
}

// sloop-inspect sloop-backup, as a user runs it: what the file holds, and the offset of damage.
TEST_F(SloopImportTest, InspectCommandDescribesAndChecksTheFile) {
  const fs::path out = dir_ / "inspect.out";
  const std::string cmd = std::string("'") + SLOOP_INSPECT + "' sloop-backup '" + Zst().string() +
                          "' > '" + out.string() + "' 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << ReadFile(out);
  const std::string text = ReadFile(out);
  EXPECT_NE(text.find("(zstd)"), std::string::npos) << text;
  EXPECT_NE(text.find("imported as Endpoints"), std::string::npos) << text;
  EXPECT_NE(text.find("watch          " + std::to_string(Imported())), std::string::npos) << text;
  EXPECT_NE(text.find("time range: 2026-11-20T09:00:10Z"), std::string::npos) << text;
  const std::string raw = ReadFile(Raw());
  WriteBytes(dir_ / "inspect-cut.bak", raw.substr(0, raw.size() / 2));
  const std::string cut = std::string("'") + SLOOP_INSPECT + "' sloop-backup '" +
                          (dir_ / "inspect-cut.bak").string() + "' > '" + out.string() + "' 2>&1";
  const int status = std::system(cut.c_str());
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << ReadFile(out);
  EXPECT_NE(ReadFile(out).find("at byte"), std::string::npos) << ReadFile(out);
}

TEST_F(SloopImportTest, NotASloopBackup) {
  auto missing = ImportSloopBackup(dir_ / "no-such.bak", Options(dir_ / "x"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  std::string tar(1024, '\0');
  std::memcpy(tar.data() + 257, "ustar", 5);
  WriteBytes(dir_ / "tar.bak", tar);
  auto t = ImportSloopBackup(dir_ / "tar.bak", Options(dir_ / "y"));
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(t.error().message.find("-restore-database-file"), std::string::npos);
}

// The imported store served by the real sloop, read-only on loopback: timeline, history and
// Events answer as the original rows say, on /api/v1 and on Sloop's own routes.
TEST_F(SloopImportTest, ServerAnswersFromTheImportedStore) {
  const fs::path store_root = dir_ / "served";
  // Through the command, as a user runs it; a later plain start serves the result.
  const std::string cmd =
      std::string("'") + SLOOP_BINARY + "' -import-sloop-backup='" + Zst().string() +
      "' -store-root='" + store_root.string() + "' -context=imported -disable-kube-watch > '" +
      (dir_ / "import.out").string() + "' 2> '" + (dir_ / "import.log").string() + "'";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << ReadFile(dir_ / "import.log");
  const std::string summary = ReadFile(dir_ / "import.out");
  EXPECT_NE(summary.find("imported " + std::to_string(Imported()) + " records"), std::string::npos)
      << summary;
  EXPECT_NE(summary.find("skipped 1: watch: deleted in Badger"), std::string::npos) << summary;

  Process sloop;
  const int port = testing::FreePort();
  sloop.Start({SLOOP_BINARY, "-port=" + std::to_string(port), "-bind-address=127.0.0.1",
               "-store-root=" + store_root.string(), "-context=imported", "-disable-kube-watch",
               "-max-look-back=87600h"},
              {"HOME=" + dir_.string()}, dir_ / "sloop.log");
  ASSERT_TRUE(WaitFor([&] { return Get(port, "/healthz").first == 200; }, 20s)) << sloop.Log();
  const std::string window = "from=2026-11-20T08:00:00Z&to=2026-11-20T12:00:00Z";
  simdjson::dom::parser parser;

  // History of the Pod: ADD, UPDATE, DELETE, each payload as Sloop stored it.
  {
    auto [status, body] =
        Get(port, "/api/v1/history?kind=Pod&namespace=default&name=web-1&" + window);
    ASSERT_EQ(status, 200) << body;
    auto doc = parser.parse(body);
    ASSERT_EQ(doc.error(), simdjson::SUCCESS) << body;
    std::vector<ManifestRow> expect;
    for (const auto& r : rows_) {
      if (r.kind == "Pod" && r.name == "web-1") expect.push_back(r);
    }
    std::sort(expect.begin(), expect.end(),
              [](const ManifestRow& a, const ManifestRow& b) { return a.ts_ns < b.ts_ns; });
    auto versions = doc["versions"].get_array();
    ASSERT_EQ(versions.size(), expect.size()) << body;
    const char* types[] = {"ADDED", "MODIFIED", "DELETED"};
    size_t i = 0;
    for (auto v : versions) {
      EXPECT_EQ(v["watch_type"].get_string().value(), types[i]);
      EXPECT_EQ(std::string(v["key"].get_string().value()), expect[i].key);
      ++i;
    }
  }
  // The timeline: the Pod deleted, Sloop's Endpoint as Endpoints, the custom resource.
  {
    auto [status, body] = Get(port, "/api/v1/timeline?" + window);
    ASSERT_EQ(status, 200) << body;
    auto doc = parser.parse(body);
    ASSERT_EQ(doc.error(), simdjson::SUCCESS) << body;
    std::map<std::string, bool> deleted;
    for (auto row : doc["rows"].get_array()) {
      std::string k = std::string(row["kind"].get_string().value()) + "/" +
                      std::string(row["namespace"].get_string().value()) + "/" +
                      std::string(row["name"].get_string().value());
      deleted[k] = row["deleted"].get_bool().value();
    }
    EXPECT_TRUE(deleted.contains("Pod/default/web-1")) << body;
    EXPECT_TRUE(deleted["Pod/default/web-1"]) << body;
    EXPECT_TRUE(deleted.contains("Endpoints/default/web")) << body;
    EXPECT_TRUE(deleted.contains("Deployment/default/web")) << body;
    EXPECT_TRUE(deleted.contains("Widget/team-a/w1")) << body;
    EXPECT_TRUE(deleted.contains("Node//node-1")) << body;
    EXPECT_FALSE(deleted.contains("Pod/default/gone")) << body;
    EXPECT_FALSE(deleted.contains("Pod/default/expired")) << body;
  }
  // Events about the Pod.
  {
    auto [status, body] =
        Get(port, "/api/v1/events?kind=Pod&namespace=default&name=web-1&" + window);
    ASSERT_EQ(status, 200) << body;
    auto doc = parser.parse(body);
    ASSERT_EQ(doc.error(), simdjson::SUCCESS) << body;
    auto events = doc["events"].get_array();
    ASSERT_EQ(events.size(), 1u) << body;
    for (auto e : events) {
      EXPECT_EQ(e["name"].get_string().value(), "web-1.17a");
      EXPECT_EQ(e["event"]["reason"].get_string().value(), "BackOff");
      EXPECT_EQ(e["event"]["type"].get_string().value(), "Warning");
    }
  }
  // Sloop's own routes: the payloads of the Pod and its Events.
  {
    const std::string range = "&start_time=1795161600&end_time=1795176000";
    auto [status, body] = Get(
        port, "/imported/data?query=GetResPayload&kind=Pod&namespace=default&name=web-1" + range);
    ASSERT_EQ(status, 200) << body;
    auto doc = parser.parse(body);
    ASSERT_EQ(doc.error(), simdjson::SUCCESS) << body;
    std::set<std::string> payloads;
    for (auto p : doc.get_array()) payloads.insert(std::string(p["payload"].get_string().value()));
    for (const auto& r : rows_) {
      if (r.kind == "Pod" && r.name == "web-1") EXPECT_TRUE(payloads.contains(r.payload)) << r.key;
    }
    auto [estatus, ebody] = Get(
        port, "/imported/data?query=GetEventData&kind=Pod&namespace=default&name=web-1" + range);
    ASSERT_EQ(estatus, 200) << ebody;
    EXPECT_NE(ebody.find("web-1.17a"), std::string::npos) << ebody;
  }
  EXPECT_TRUE(sloop.Stop(SIGTERM, 10s).has_value());
}

}  // namespace
}  // namespace sloop::ingest
