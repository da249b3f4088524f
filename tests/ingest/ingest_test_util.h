// Helpers shared by the ingest tests: a temporary directory, environment overrides restored at
// scope exit, fixture loading and an in-memory RecordSink that keeps copies (engine/store.h's
// StoredRecord) of what it got.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "base/json_text.h"
#include "engine/record_sink.h"
#include "engine/store.h"
#include "segments/record.h"

namespace sloop::ingest::testing {

inline std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

inline void WriteText(const std::string& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  ASSERT_TRUE(out.good()) << path;
}

// A JSON fixture of tests/testdata/k8s (pretty-printed, as kubectl shows it).
inline std::string Fixture(const std::string& name) {
  std::string text = ReadText(std::string(SLOOP_FIXTURES_DIR) + "/" + name);
  EXPECT_FALSE(text.empty()) << "cannot read fixture " << name;
  return text;
}

// The text with its first `from` replaced by `to` (which must occur).
inline std::string With(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << "not found: " << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sloop-ingest-XXXXXX").string();
    char* p = mkdtemp(tmpl.data());
    EXPECT_NE(p, nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Sets (or, with nullopt, unsets) an environment variable until the end of the scope.
class ScopedEnv {
 public:
  ScopedEnv(std::string name, std::optional<std::string> value) : name_(std::move(name)) {
    if (const char* old = std::getenv(name_.c_str())) old_ = old;
    if (value) {
      setenv(name_.c_str(), value->c_str(), 1);
    } else {
      unsetenv(name_.c_str());
    }
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_.c_str(), old_->c_str(), 1);
    } else {
      unsetenv(name_.c_str());
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

// Keeps every appended record; can be told to fail from the n-th append on.
class FakeSink : public RecordSink {
 public:
  Result<void> Append(const RecordView& r) override {
    std::lock_guard lock(mu_);
    if (fail_from_ >= 0 && static_cast<int>(records.size()) >= fail_from_) {
      return MakeError(ErrorCode::kIOError, "fake sink: disk full");
    }
    records.push_back(StoredRecord::From(r));
    return {};
  }
  void FailFrom(int n) { fail_from_ = n; }

  std::vector<StoredRecord> records;

 private:
  std::mutex mu_;
  int fail_from_ = -1;
};

}  // namespace sloop::ingest::testing
