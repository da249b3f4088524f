// The StoreTest fixture shared by the store's test files (store_test.cc, timeline_test.cc): a
// store in a temporary directory, with a clock the test sets, and helpers to read it back.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/store.h"
#include "tests/engine/record_maker.h"

namespace sloop {

using testing::RecordMaker;
namespace fs = std::filesystem;

constexpr int64_t kSec = 1000000000LL;
constexpr int64_t kMin = 60 * kSec;
constexpr int64_t kHour = 60 * kMin;
// 2026-11-20T09:00:00Z, a whole hour.
constexpr int64_t kT0 = 1795165200LL * kSec;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sloop-store-test-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    now_ = kT0 + 10 * kHour;
  }
  void TearDown() override { fs::remove_all(dir_); }

  StoreOptions Options() {
    StoreOptions o;
    o.root = dir_;
    o.background = false;
    o.now_ns = [this] { return now_.load(); };
    o.writer.target_block_bytes = 16 * 1024;
    return o;
  }

  std::unique_ptr<Store> OpenStore(StoreOptions o) {
    auto s = Store::Open(std::move(o));
    EXPECT_TRUE(s.has_value()) << (s ? "" : s.error().ToString());
    return s ? std::move(*s) : nullptr;
  }
  std::unique_ptr<Store> OpenStore() { return OpenStore(Options()); }

  static std::vector<StoredRecord> History(const Store& s, ResourceKeyView key, TimeRange r,
                                           bool prev = false) {
    std::vector<StoredRecord> out;
    auto h = s.History(key, r, prev, [&](const RecordView& v) {
      out.push_back(StoredRecord::From(v));
      return true;
    });
    EXPECT_TRUE(h.has_value()) << (h ? "" : h.error().ToString());
    return out;
  }

  static const TimelineRow* FindRow(const TimelineResult& t, std::string_view name) {
    for (const auto& r : t.rows) {
      if (r.key.name == name) return &r;
    }
    return nullptr;
  }

  fs::path dir_;
  std::atomic<int64_t> now_;
  RecordMaker mk_;
};

}  // namespace sloop
