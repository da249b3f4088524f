// RecordingLog: sessions and intervals survive a restart, a kill -9 ends a session at its last
// heartbeat, damaged files cost only what is damaged, and the file stays bounded.
#include "engine/recording_log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>

namespace sloop {
namespace {

namespace fs = std::filesystem;
constexpr int64_t kSec = 1'000'000'000;

class RecordingLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("recording_log_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path path() const { return dir_ / RecordingLog::kFileName; }

  std::unique_ptr<RecordingLog> Open(bool read_only = false,
                                     std::vector<std::string>* warnings = nullptr) {
    RecordingLogOptions o;
    o.path = path();
    o.read_only = read_only;
    o.now_ns = [this] { return now_.load(); };
    o.heartbeat_interval = std::chrono::milliseconds(0);  // the test beats
    o.horizon_ns = [this] { return horizon_.load(); };
    o.compact_bytes = compact_bytes_;
    o.max_intervals = max_intervals_;
    auto log = RecordingLog::Open(o, warnings);
    EXPECT_TRUE(log.has_value()) << log.error().ToString();
    return log ? std::move(*log) : nullptr;
  }

  std::string ReadFile() const {
    std::ifstream in(path(), std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  void WriteFile(const std::string& data) const {
    std::ofstream out(path(), std::ios::binary | std::ios::trunc);
    out << data;
  }

  fs::path dir_;
  std::atomic<int64_t> now_{1'800'000'000 * kSec};
  std::atomic<int64_t> horizon_{0};
  size_t compact_bytes_ = 256 << 10;
  size_t max_intervals_ = 5000;
};

IntervalMark Watch(std::string kind, int64_t start_ns, std::string reason = "cut") {
  return IntervalMark{"watch", std::move(kind), "", std::move(reason), start_ns};
}

TEST_F(RecordingLogTest, RoundTripOfSessionsAndIntervals) {
  const int64_t t0 = now_;
  {
    auto log = Open();
    ASSERT_TRUE(log);
    EXPECT_FALSE(log->found());
    ASSERT_TRUE(log->BeginSession());
    uint64_t a = log->OpenInterval(Watch("Pod", t0 + 5 * kSec, "pods: watch down"));
    uint64_t b = log->OpenInterval(
        IntervalMark{"watch", "Deployment", "apps", "deployments: watch down", t0 + 7 * kSec});
    uint64_t c = log->OpenInterval(Watch("Node", t0 + 8 * kSec));
    EXPECT_NE(a, 0u);
    EXPECT_NE(a, b);
    log->CloseInterval(a, t0 + 9 * kSec, "the Pod watch was cut (410 Gone) and relisted");
    log->CancelInterval(c);  // resumed without loss
    now_ += 60 * kSec;
    ASSERT_TRUE(log->EndSession());  // closes b at the end
  }
  auto log = Open();
  ASSERT_TRUE(log);
  EXPECT_TRUE(log->found());
  RecordingState st = log->State();
  ASSERT_EQ(st.sessions.size(), 1u);
  EXPECT_EQ(st.sessions[0].start_ns, t0);
  EXPECT_EQ(st.sessions[0].end_ns, t0 + 60 * kSec);
  EXPECT_EQ(st.sessions[0].end, RecordingSession::End::kClean);
  EXPECT_FALSE(st.recording);
  ASSERT_EQ(st.intervals.size(), 2u);
  EXPECT_EQ(st.intervals[0].kind, "Pod");
  EXPECT_EQ(st.intervals[0].start_ns, t0 + 5 * kSec);
  EXPECT_EQ(st.intervals[0].end_ns, t0 + 9 * kSec);
  EXPECT_EQ(st.intervals[0].reason, "the Pod watch was cut (410 Gone) and relisted");
  EXPECT_EQ(st.intervals[1].kind, "Deployment");
  EXPECT_EQ(st.intervals[1].group, "apps");
  EXPECT_EQ(st.intervals[1].end_ns, t0 + 60 * kSec);
  EXPECT_EQ(st.intervals[1].reason, "deployments: watch down");
}

TEST_F(RecordingLogTest, CleanRestartIsARecorderGapOfTheDowntime) {
  const int64_t t0 = now_;
  {
    auto log = Open();
    ASSERT_TRUE(log->BeginSession());
    now_ += 100 * kSec;
    ASSERT_TRUE(log->EndSession());
  }
  now_ += 300 * kSec;  // down for five minutes
  auto log = Open();
  ASSERT_TRUE(log->BeginSession());
  now_ += 10 * kSec;
  RecordingState st = log->State();
  ASSERT_EQ(st.sessions.size(), 2u);
  EXPECT_TRUE(st.recording);
  auto gaps = FindGaps(st, t0, t0, now_);
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(gaps[0].scope, "recorder");
  EXPECT_EQ(gaps[0].start_ns, t0 + 100 * kSec);
  EXPECT_EQ(gaps[0].end_ns, t0 + 400 * kSec);
  EXPECT_EQ(gaps[0].reason, "sloop was not running");
  EXPECT_TRUE(gaps[0].kind.empty());
  // The same read by another process while this one records (it reads the file, read-only).
  auto reader = Open(/*read_only=*/true);
  RecordingState seen = reader->State();
  ASSERT_EQ(seen.sessions.size(), 2u);
  EXPECT_EQ(seen.sessions[1].start_ns, t0 + 400 * kSec);
}

TEST_F(RecordingLogTest, KilledSessionEndsAtItsLastHeartbeat) {
  const int64_t t0 = now_;
  uint64_t open_id = 0;
  {
    auto log = Open();
    ASSERT_TRUE(log->BeginSession());
    now_ += 30 * kSec;
    ASSERT_TRUE(log->Heartbeat());
    now_ += 30 * kSec;
    ASSERT_TRUE(log->Heartbeat());
    open_id = log->OpenInterval(Watch("Pod", t0 + 50 * kSec));
    now_ += 20 * kSec;  // killed here, 20 s after the last beat: the destructor writes nothing
  }
  ASSERT_NE(open_id, 0u);
  now_ = t0 + 1000 * kSec;
  auto log = Open();
  ASSERT_TRUE(log->BeginSession());
  RecordingState st = log->State();
  ASSERT_EQ(st.sessions.size(), 2u);
  EXPECT_EQ(st.sessions[0].end, RecordingSession::End::kHeartbeat);
  EXPECT_EQ(st.sessions[0].end_ns, t0 + 60 * kSec);
  ASSERT_EQ(st.intervals.size(), 1u);
  EXPECT_EQ(st.intervals[0].end_ns, t0 + 60 * kSec);  // open intervals end with their session
  auto gaps = FindGaps(st, t0, t0, now_);
  ASSERT_EQ(gaps.size(), 2u);
  EXPECT_EQ(gaps[0].scope, "watch");
  EXPECT_EQ(gaps[0].start_ns, t0 + 50 * kSec);
  EXPECT_EQ(gaps[1].scope, "recorder");
  EXPECT_EQ(gaps[1].start_ns, t0 + 60 * kSec);
  EXPECT_EQ(gaps[1].end_ns, t0 + 1000 * kSec);
  EXPECT_EQ(
      gaps[1].reason,
      "sloop was not running (it stopped without a clean shutdown, at its last sign of life)");
}

// Records stored after the last heartbeat show that the killed session lived at least that long.
TEST_F(RecordingLogTest, KilledSessionLivedUntilItsNewestRecord) {
  const int64_t t0 = now_;
  {
    auto log = Open();
    ASSERT_TRUE(log->BeginSession());
    now_ += 30 * kSec;
    ASSERT_TRUE(log->Heartbeat());
  }
  RecordingLogOptions o;
  o.path = path();
  o.read_only = true;
  o.now_ns = [&] { return t0 + 100 * kSec; };
  o.newest_record_ns = [&] { return t0 + 45 * kSec; };
  auto log = RecordingLog::Open(o, nullptr);
  ASSERT_TRUE(log.has_value());
  RecordingState st = (*log)->State();
  ASSERT_EQ(st.sessions.size(), 1u);
  EXPECT_EQ(st.sessions[0].end_ns, t0 + 45 * kSec);
  o.newest_record_ns = [&] { return t0 + 10 * kSec; };  // older than the heartbeat: no change
  log = RecordingLog::Open(o, nullptr);
  EXPECT_EQ((*log)->State().sessions[0].end_ns, t0 + 30 * kSec);
}

TEST_F(RecordingLogTest, OneTornHeartbeatSlotFallsBackToTheOther) {
  const int64_t t0 = now_;
  {
    auto log = Open();
    ASSERT_TRUE(log->BeginSession());
    now_ += 30 * kSec;
    ASSERT_TRUE(log->Heartbeat());  // slot 0
    now_ += 30 * kSec;
    ASSERT_TRUE(log->Heartbeat());  // slot 1
  }
  std::string data = ReadFile();
  data[40 + 9] ^= 0x55;  // slot 1 (the newer) torn
  WriteFile(data);
  now_ = t0 + 500 * kSec;
  auto log = Open(/*read_only=*/true);  // reads without rewriting the file
  RecordingState st = log->State();
  ASSERT_EQ(st.sessions.size(), 1u);
  EXPECT_EQ(st.sessions[0].end, RecordingSession::End::kHeartbeat);
  EXPECT_EQ(st.sessions[0].end_ns, t0 + 30 * kSec);

  // Both slots gone: the session ends at its last record (its start here).
  data = ReadFile();
  data[16 + 3] ^= 0x55;
  data[40 + 3] ^= 0x55;
  WriteFile(data);
  log = Open(/*read_only=*/true);
  st = log->State();
  ASSERT_EQ(st.sessions.size(), 1u);
  EXPECT_EQ(st.sessions[0].end, RecordingSession::End::kUnknown);
  EXPECT_EQ(st.sessions[0].end_ns, t0);
}

TEST_F(RecordingLogTest, TornAndGarbledTailsAreCutBack) {
  const int64_t t0 = now_;
  {
    auto log = Open();
    ASSERT_TRUE(log->BeginSession());
    log->CloseInterval(log->OpenInterval(Watch("Pod", t0 + kSec)), t0 + 2 * kSec, "");
    log->OpenInterval(Watch("Node", t0 + 3 * kSec));
    now_ += 10 * kSec;
    ASSERT_TRUE(log->EndSession());
  }
  const std::string whole = ReadFile();
  for (size_t cut : {size_t{1}, size_t{5}, size_t{13}}) {
    WriteFile(whole.substr(0, whole.size() - cut));  // the session's end record torn
    std::vector<std::string> warnings;
    auto log = Open(false, &warnings);
    ASSERT_TRUE(log);
    ASSERT_EQ(warnings.size(), 1u) << cut;
    EXPECT_NE(warnings[0].find("torn tail"), std::string::npos) << warnings[0];
    RecordingState st = log->State();
    ASSERT_EQ(st.sessions.size(), 1u);
    EXPECT_NE(st.sessions[0].end, RecordingSession::End::kOpen);
    ASSERT_EQ(st.intervals.size(), 2u);
    EXPECT_EQ(st.intervals[0].end_ns, t0 + 2 * kSec);
    log.reset();
    std::vector<std::string> again;
    Open(false, &again);
    EXPECT_TRUE(again.empty()) << "the tail was cut back: " << again[0];
  }
  // A flipped byte inside a record: that record and everything after it are dropped.
  std::string garbled = whole;
  garbled[64 + 12 + 3] ^= 0x01;  // the first record's body (the session start)
  WriteFile(garbled);
  std::vector<std::string> warnings;
  auto log = Open(false, &warnings);
  ASSERT_TRUE(log);
  EXPECT_EQ(warnings.size(), 1u);
  EXPECT_TRUE(log->State().sessions.empty());
  EXPECT_TRUE(log->State().intervals.empty());
  ASSERT_TRUE(log->BeginSession());  // and recording goes on in the rewritten file
  EXPECT_EQ(log->State().sessions.size(), 1u);
}

TEST_F(RecordingLogTest, MissingOrForeignFileIsAWarningNeverAFailure) {
  {
    std::vector<std::string> warnings;
    auto log = Open(/*read_only=*/true, &warnings);
    ASSERT_TRUE(log);
    EXPECT_FALSE(log->found());
    EXPECT_TRUE(log->State().sessions.empty());
    EXPECT_FALSE(fs::exists(path())) << "read-only creates nothing";
  }
  WriteFile("this is not a recording log, but something a person put here; " +
            std::string(100, '.'));
  {
    std::vector<std::string> warnings;
    auto log = Open(/*read_only=*/true, &warnings);
    ASSERT_TRUE(log);
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_NE(warnings[0].find("not a recording log"), std::string::npos);
    EXPECT_TRUE(fs::exists(path())) << "read-only leaves it in place";
  }
  std::vector<std::string> warnings;
  auto log = Open(false, &warnings);
  ASSERT_TRUE(log);
  EXPECT_FALSE(log->found());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("set aside"), std::string::npos);
  EXPECT_TRUE(fs::exists(dir_ / "recording.log.damaged"));
  ASSERT_TRUE(log->BeginSession());
  EXPECT_EQ(log->State().sessions.size(), 1u);
}

// A log that cannot be written (here its rewrite's temporary name is taken by a directory; on a
// real store, a full disk) is a warning: the session and gaps are kept in memory and served, and
// the next rewrite that works writes them.
TEST_F(RecordingLogTest, UnwritableLogKeepsItsStateInMemory) {
  const int64_t t0 = now_;
  fs::create_directories(dir_ / "recording.log.tmp");
  std::vector<std::string> warnings;
  auto log = Open(false, &warnings);
  ASSERT_TRUE(log);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("kept in memory"), std::string::npos) << warnings[0];
  ASSERT_TRUE(log->BeginSession());
  uint64_t id = log->OpenInterval(Watch("Pod", t0 + kSec));
  log->CloseInterval(id, t0 + 2 * kSec, "relisted");
  RecordingState st = log->State();
  ASSERT_EQ(st.sessions.size(), 1u);
  EXPECT_TRUE(st.recording);
  ASSERT_EQ(st.intervals.size(), 1u);
  EXPECT_EQ(st.intervals[0].reason, "relisted");
  EXPECT_FALSE(fs::exists(path()));

  now_ += 30 * kSec;
  EXPECT_FALSE(log->Heartbeat()) << "still unwritable";
  fs::remove(dir_ / "recording.log.tmp");  // the disk has room again
  now_ += 30 * kSec;
  ASSERT_TRUE(log->Heartbeat());  // the next beat rewrites the file
  log.reset();
  auto again = Open(/*read_only=*/true);
  st = again->State();
  ASSERT_EQ(st.sessions.size(), 1u);
  EXPECT_EQ(st.sessions[0].end, RecordingSession::End::kHeartbeat);
  EXPECT_EQ(st.sessions[0].end_ns, t0 + 60 * kSec);
  ASSERT_EQ(st.intervals.size(), 1u);
  EXPECT_EQ(st.intervals[0].end_ns, t0 + 2 * kSec);
}

TEST_F(RecordingLogTest, TrimmedToTheHorizonAndBoundedInSize) {
  const int64_t t0 = now_;
  compact_bytes_ = 16 << 10;
  max_intervals_ = 100;
  // Three sessions an hour apart, each with a watch gap.
  for (int k = 0; k < 3; ++k) {
    auto log = Open();
    ASSERT_TRUE(log->BeginSession());
    log->CloseInterval(log->OpenInterval(Watch("Pod", now_ + kSec)), now_ + 2 * kSec, "");
    now_ += 600 * kSec;
    ASSERT_TRUE(log->EndSession());
    now_ += 3000 * kSec;
  }
  // Retention dropped everything before the third session: its predecessor's end stays (the
  // hole before the third session starts there), the first session and both old gaps go.
  horizon_ = t0 + 2 * 3600 * kSec;
  auto log = Open();
  RecordingState st = log->State();
  ASSERT_EQ(st.sessions.size(), 2u);
  EXPECT_EQ(st.sessions[0].start_ns, t0 + 3600 * kSec);
  ASSERT_EQ(st.intervals.size(), 1u);
  EXPECT_GE(st.intervals[0].start_ns, t0 + 2 * 3600 * kSec);

  // A flapping watch: thousands of intervals, opened and closed or withdrawn. The file is
  // rewritten as it grows and memory keeps at most max_intervals.
  ASSERT_TRUE(log->BeginSession());
  for (int i = 0; i < 5000; ++i) {
    now_ += kSec;
    uint64_t id = log->OpenInterval(Watch("Pod", now_, std::string(200, 'x')));
    if (i % 2) {
      log->CancelInterval(id);
    } else {
      log->CloseInterval(id, now_ + kSec / 2, "");
    }
  }
  EXPECT_LE(log->State().intervals.size(), 100u + 1);
  EXPECT_LE(fs::file_size(path()), 2 * (16u << 10) + 100 * 300u);
  log.reset();
  auto again = Open();
  EXPECT_LE(again->State().intervals.size(), 100u + 1);
}

TEST(FindGapsTest, ClipsToTheWindowAndToTheFirstRecording) {
  RecordingState st;
  st.sessions = {{1, 100, 200, RecordingSession::End::kClean},
                 {2, 300, 400, RecordingSession::End::kHeartbeat},
                 {3, 500, 0, RecordingSession::End::kOpen}};
  st.recording = true;
  st.intervals = {{7, "watch", "Pod", "", "pods cut", 520, 560},
                  {8, "watch", "Node", "", "nodes cut", 530, 0},
                  {9, "recorder", "", "", "cluster unreachable", 540, 550}};
  auto gaps = FindGaps(st, 0, 0, 1000);
  ASSERT_EQ(gaps.size(), 5u);
  EXPECT_EQ(gaps[0].start_ns, 200);
  EXPECT_EQ(gaps[0].end_ns, 300);
  EXPECT_EQ(gaps[1].start_ns, 400);
  EXPECT_EQ(gaps[1].end_ns, 500);
  EXPECT_EQ(gaps[2].kind, "Pod");
  EXPECT_EQ(gaps[3].kind, "Node");
  EXPECT_EQ(gaps[3].end_ns, 0) << "still open";
  EXPECT_EQ(gaps[4].scope, "recorder");

  gaps = FindGaps(st, 0, 250, 540, "pod");  // case does not matter
  ASSERT_EQ(gaps.size(), 3u);
  EXPECT_EQ(gaps[0].start_ns, 250);  // clipped to the window
  EXPECT_EQ(gaps[0].end_ns, 300);
  EXPECT_EQ(gaps[1].start_ns, 400);
  EXPECT_EQ(gaps[2].kind, "Pod");
  EXPECT_EQ(gaps[2].end_ns, 540);

  gaps = FindGaps(st, /*since_ns=*/350, 0, 1000, "Deployment");
  ASSERT_EQ(gaps.size(), 2u) << "the hole before the first recording is not a gap";
  EXPECT_EQ(gaps[0].start_ns, 400);
  EXPECT_EQ(gaps[1].scope, "recorder");  // no kind: shown for every kind

  // Nothing recording now: the time after the last session is an open hole.
  st.sessions.pop_back();
  st.recording = false;
  st.intervals.clear();
  gaps = FindGaps(st, 0, 0, 1000);
  ASSERT_EQ(gaps.size(), 2u);
  EXPECT_EQ(gaps[1].start_ns, 400);
  EXPECT_EQ(gaps[1].end_ns, 0);
  EXPECT_EQ(gaps[1].reason,
            "sloop has not recorded since it stopped without a clean shutdown (at its last sign "
            "of life)");
  EXPECT_EQ(gaps[0].reason, "sloop was not running");
  EXPECT_TRUE(FindGaps(st, 0, 1000, 2000).size() == 1);  // still open after the window start
}

}  // namespace
}  // namespace sloop
