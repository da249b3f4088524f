// Capture files (docs/format/capture.md): CaptureWriter and CaptureReader round trips, plain and
// zstd, and every way a reader meets a bad file.
#include "ingest/capture.h"

#include <gtest/gtest.h>
#include <zstd.h>

#include <string>
#include <vector>

#include "ingest_test_util.h"

namespace sloop::ingest {
namespace {

using testing::Fixture;
using testing::ReadText;
using testing::TempDir;
using testing::WriteText;

constexpr int64_t kT0 = 1'764'064'800'123'456'789;
const char kHeader[] = R"({"format":"sloop-capture","version":1,"source":"test"})";

ResourceType Pods() { return {"", "v1", "pods", "Pod", true, false}; }
ResourceType Nodes() { return {"", "v1", "nodes", "Node", false, false}; }
ResourceType Deployments() { return {"apps", "v1", "deployments", "Deployment", true, false}; }

std::string Line(int64_t ts, const std::string& type, const std::string& object,
                 const std::string& kind = "Pod") {
  return R"({"ts":)" + std::to_string(ts) + R"(,"type":")" + type +
         R"(","group":"","version":"v1","resource":"pods","kind":")" + kind +
         R"(","namespaced":true,"object":)" + object + "}\n";
}

std::string Zstd(std::string_view plain) {
  std::string out(ZSTD_compressBound(plain.size()), '\0');
  size_t n = ZSTD_compress(out.data(), out.size(), plain.data(), plain.size(), 3);
  EXPECT_FALSE(ZSTD_isError(n));
  out.resize(n);
  return out;
}

// Reads every record; fails the test on an error.
std::vector<CaptureRecord> ReadAll(CaptureReader& r, std::vector<std::string>* objects) {
  std::vector<CaptureRecord> out;
  for (;;) {
    auto next = r.Next();
    EXPECT_TRUE(next) << next.error().ToString();
    if (!next || !*next) break;
    out.push_back(**next);
    objects->emplace_back((*next)->object);  // views die at the next Next()
    out.back().object = {};                  // views into the line: not valid after the next Next()
    out.back().type_name = {};
  }
  return out;
}

struct Written {
  int64_t ts;
  CaptureType type;
  ResourceType rt;
  std::string object;
};

std::vector<Written> Sample() {
  return {
      {kT0, CaptureType::kList, Pods(), CompactJson(Fixture("pod.json"))},
      {kT0, CaptureType::kList, Nodes(), CompactJson(Fixture("node.json"))},
      {kT0 + 1, CaptureType::kAdded, Deployments(), CompactJson(Fixture("deployment.json"))},
      {kT0 + 2, CaptureType::kModified, Pods(), R"({"metadata":{"name":"we\"ird\\"}})"},
      {kT0 + 3, CaptureType::kDeleted, Pods(), CompactJson(Fixture("pod.json"))},
  };
}

class CaptureRoundTrip : public ::testing::TestWithParam<std::string> {
 protected:
  TempDir dir;
};

TEST_P(CaptureRoundTrip, WhatIsWrittenIsReadBack) {
  const std::string path = dir / ("capture" + GetParam());
  auto w = CaptureWriter::Create(path, "unit \"test\"");
  ASSERT_TRUE(w) << w.error().ToString();
  for (const auto& rec : Sample()) ASSERT_TRUE((*w)->Write(rec.ts, rec.type, rec.rt, rec.object));
  EXPECT_EQ((*w)->records(), Sample().size());
  ASSERT_TRUE((*w)->Close());
  EXPECT_FALSE((*w)->Write(kT0, CaptureType::kAdded, Pods(), "{}"));  // closed

  const std::string bytes = ReadText(path);
  const bool zst = GetParam() == ".zst";
  ASSERT_GE(bytes.size(), 4u);
  const bool has_magic = bytes.compare(0, 4, "\x28\xB5\x2F\xFD") == 0;
  EXPECT_EQ(has_magic, zst);
  if (!zst) {
    EXPECT_EQ(bytes.front(), '{');
  }

  auto r = CaptureReader::Open(path);
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_NE((*r)->header().find(R"("format":"sloop-capture","version":1)"), std::string::npos);
  EXPECT_NE((*r)->header().find(R"("source":"unit \"test\"")"), std::string::npos);
  EXPECT_NE((*r)->header().find(R"("created":")"), std::string::npos);
  std::vector<std::string> objects;
  auto got = ReadAll(**r, &objects);
  const auto want = Sample();
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].ts_ns, want[i].ts);
    EXPECT_EQ(got[i].type, want[i].type);
    EXPECT_EQ(got[i].resource, want[i].rt);
    EXPECT_EQ(objects[i], want[i].object);
    EXPECT_EQ(got[i].line, i + 2);  // line 1 is the header
  }
  EXPECT_FALSE((*r)->torn_tail());
  if (!zst) {
    EXPECT_EQ((*r)->bytes_read(), bytes.size());
  }
  // Reading past the end stays at the end.
  auto again = (*r)->Next();
  ASSERT_TRUE(again);
  EXPECT_FALSE(*again);
}

TEST_P(CaptureRoundTrip, MultiLineObjectsAreMinified) {
  const std::string path = dir / ("capture" + GetParam());
  const std::string pretty = Fixture("node.json");
  {
    auto w = CaptureWriter::Create(path, "test");
    ASSERT_TRUE(w);
    ASSERT_TRUE((*w)->Write(kT0, CaptureType::kAdded, Nodes(), pretty));
    // A failed write leaves nothing behind: the next record is still a whole line.
    EXPECT_FALSE((*w)->Write(kT0, CaptureType::kAdded, Nodes(), "{\n  not json"));
    ASSERT_TRUE((*w)->Write(kT0 + 1, CaptureType::kDeleted, Nodes(), "{\"a\":\n1}"));
  }  // the destructor closes
  auto r = CaptureReader::Open(path);
  ASSERT_TRUE(r);
  std::vector<std::string> objects;
  auto got = ReadAll(**r, &objects);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(objects[0], CompactJson(pretty));
  EXPECT_EQ(objects[1], R"({"a":1})");
  EXPECT_EQ(got[1].type, CaptureType::kDeleted);
}

TEST_P(CaptureRoundTrip, LargeCaptureCrossesBufferBoundaries) {
  const std::string path = dir / ("capture" + GetParam());
  const std::string pod = CompactJson(Fixture("pod.json"));
  constexpr int kRecords = 4000;  // ~20 MB: several writer flushes and reader fills
  {
    auto w = CaptureWriter::Create(path, "test");
    ASSERT_TRUE(w);
    for (int i = 0; i < kRecords; ++i) {
      ASSERT_TRUE(
          (*w)->Write(kT0 + i, i % 2 ? CaptureType::kModified : CaptureType::kList, Pods(), pod));
    }
    ASSERT_TRUE((*w)->Close());
  }
  auto r = CaptureReader::Open(path);
  ASSERT_TRUE(r);
  int n = 0;
  for (;;) {
    auto next = (*r)->Next();
    ASSERT_TRUE(next) << next.error().ToString();
    if (!*next) break;
    ASSERT_EQ((*next)->ts_ns, kT0 + n);
    ASSERT_EQ((*next)->object, pod);
    ++n;
    // Memory follows the longest line, not the file's compression ratio (a highly compressible
    // capture once made one read decode tens of MB at a time).
    ASSERT_LT((*r)->buffer_capacity(), size_t{1} << 20) << "record " << n;
  }
  EXPECT_EQ(n, kRecords);
  EXPECT_FALSE((*r)->torn_tail());
}

TEST_P(CaptureRoundTrip, FlushedRecordsAreReadableWhileTheWriterIsOpen) {
  const std::string path = dir / ("capture" + GetParam());
  auto w = CaptureWriter::Create(path, "test");
  ASSERT_TRUE(w);
  ASSERT_TRUE((*w)->Write(kT0, CaptureType::kAdded, Pods(), R"({"metadata":{"name":"a"}})"));
  ASSERT_TRUE((*w)->Flush());
  auto r = CaptureReader::Open(path);
  ASSERT_TRUE(r) << r.error().ToString();
  std::vector<std::string> objects;
  auto got = ReadAll(**r, &objects);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(objects[0], R"({"metadata":{"name":"a"}})");
  ASSERT_TRUE((*w)->Close());
}

INSTANTIATE_TEST_SUITE_P(PlainAndZstd, CaptureRoundTrip, ::testing::Values("", ".zst"),
                         [](const auto& info) { return info.param.empty() ? "plain" : "zstd"; });

// ---- hand-written files

class CaptureReaderTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& text, bool compress = false) {
    std::string path = dir / "c.ndjson";
    WriteText(path, compress ? Zstd(text) : text);
    return path;
  }
  TempDir dir;
};

TEST_F(CaptureReaderTest, TornLastLineIsIgnoredAndReported) {
  for (bool zst : {false, true}) {
    std::string text = std::string(kHeader) + "\n" + Line(kT0, "ADDED", R"({"a":1})") +
                       Line(kT0 + 1, "MODIFIED", R"({"a":2})");
    text += Line(kT0 + 2, "MODIFIED", R"({"a":3})").substr(0, 40);  // no '\n'
    auto r = CaptureReader::Open(Write(text, zst));
    ASSERT_TRUE(r);
    std::vector<std::string> objects;
    auto got = ReadAll(**r, &objects);
    EXPECT_EQ(got.size(), 2u);
    EXPECT_TRUE((*r)->torn_tail()) << zst;
  }
}

TEST_F(CaptureReaderTest, MalformedLineInTheMiddleNamesLineAndOffset) {
  const std::string l2 = Line(kT0, "ADDED", R"({"a":1})");
  std::string text = std::string(kHeader) + "\n" + l2 + R"({"ts":5,"type":"ADDED","object":{)" +
                     "\n" + Line(kT0 + 1, "ADDED", R"({"a":2})");
  const std::string path = Write(text);
  auto r = CaptureReader::Open(path);
  ASSERT_TRUE(r);
  auto first = (*r)->Next();
  ASSERT_TRUE(first && *first);
  auto bad = (*r)->Next();
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kCorruption);
  EXPECT_NE(bad.error().message.find("capture " + path + ": line 3 (byte offset " +
                                     std::to_string(sizeof(kHeader) + l2.size()) + ")"),
            std::string::npos)
      << bad.error().message;
}

TEST_F(CaptureReaderTest, RecordsMissingRequiredFields) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"type":"ADDED","kind":"Pod","object":{}})", "no integer \"ts\""},
      {R"({"ts":"12","type":"ADDED","kind":"Pod","object":{}})", "no integer \"ts\""},
      {R"({"ts":12.5,"type":"ADDED","kind":"Pod","object":{}})", "no integer \"ts\""},
      {R"({"ts":12,"kind":"Pod","object":{}})", "no \"type\""},
      {R"({"ts":12,"type":"ADDED","kind":"Pod"})", "no \"object\""},
      {R"({"ts":12,"type":"ADDED","kind":"Pod","object":[1]})", "no \"object\""},
      {R"({"ts":12,"type":"ADDED","object":{}})", "no \"kind\""},
      {R"([1,2,3])", "line 2"},
      {"", "line 2"},
      {"not json at all", "line 2"},
  };
  for (const auto& [line, why] : cases) {
    auto r = CaptureReader::Open(Write(std::string(kHeader) + "\n" + line + "\n"));
    ASSERT_TRUE(r);
    auto next = (*r)->Next();
    ASSERT_FALSE(next) << "accepted: " << line;
    EXPECT_EQ(next.error().code, ErrorCode::kCorruption);
    EXPECT_NE(next.error().message.find(why), std::string::npos)
        << line << " → " << next.error().message;
  }
}

TEST_F(CaptureReaderTest, UnknownTypesAndFieldsAreReadNotRejected) {
  std::string text = std::string(kHeader) + "\n" +
                     R"({"ts":1,"type":"BOOKMARK","future":[1,{"x":2}]})" + "\n" +
                     R"({"ts":2,"type":"ADDED","extra":"ignored","group":"","version":"v1",)"
                     R"("resource":"nodes","kind":"Node","namespaced":false,"object":{"m":1}})" +
                     "\n";
  auto r = CaptureReader::Open(Write(text));
  ASSERT_TRUE(r);
  std::vector<std::string> objects;
  auto got = ReadAll(**r, &objects);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].type, CaptureType::kUnknown);
  EXPECT_EQ(got[1].type, CaptureType::kAdded);
  EXPECT_FALSE(got[1].resource.namespaced);
  EXPECT_EQ(got[1].resource.kind, "Node");
  EXPECT_EQ(objects[1], R"({"m":1})");
}

TEST_F(CaptureReaderTest, BadHeaders) {
  auto missing = CaptureReader::Open(dir / "nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kIOError);
  EXPECT_NE(missing.error().message.find(dir / "nope"), std::string::npos);

  auto empty = CaptureReader::Open(Write(""));
  ASSERT_FALSE(empty);
  EXPECT_NE(empty.error().message.find("is empty"), std::string::npos);

  auto other = CaptureReader::Open(Write(R"({"format":"other","version":1})"
                                         "\n"));
  ASSERT_FALSE(other);
  EXPECT_NE(other.error().message.find("line 1 is not a sloop-capture header"), std::string::npos);

  auto record_first = CaptureReader::Open(Write(Line(kT0, "ADDED", "{}")));
  ASSERT_FALSE(record_first);

  auto v2 = CaptureReader::Open(Write(R"({"format":"sloop-capture","version":2})"
                                      "\n"));
  ASSERT_FALSE(v2);
  EXPECT_EQ(v2.error().code, ErrorCode::kUnsupported);
  EXPECT_NE(v2.error().message.find("version 2 is not supported"), std::string::npos);

  auto header_only = CaptureReader::Open(Write(std::string(kHeader) + "\n"));
  ASSERT_TRUE(header_only);
  auto next = (*header_only)->Next();
  ASSERT_TRUE(next);
  EXPECT_FALSE(*next);
}

TEST_F(CaptureReaderTest, CorruptZstdIsAnError) {
  std::string z = Zstd(std::string(kHeader) + "\n" + Line(kT0, "ADDED", R"({"a":1})"));
  z[z.size() / 2] ^= 0x55;
  z[z.size() / 2 + 1] ^= 0x55;
  std::string path = dir / "bad.zst";
  WriteText(path, z);
  auto r = CaptureReader::Open(path);
  if (!r) {
    EXPECT_EQ(r.error().code, ErrorCode::kCorruption) << r.error().ToString();
    return;
  }
  // Whatever decodes must not be taken for more than it is: an error or a torn record.
  auto next = (*r)->Next();
  if (next && *next) next = (*r)->Next();
  EXPECT_TRUE(!next || !*next);
}

TEST_F(CaptureReaderTest, SeveralZstdFramesAreOneStream) {
  std::string a = std::string(kHeader) + "\n" + Line(kT0, "ADDED", R"({"a":1})");
  std::string b = Line(kT0 + 1, "DELETED", R"({"a":1})");
  std::string path = dir / "frames.zst";
  WriteText(path, Zstd(a) + Zstd(b));
  auto r = CaptureReader::Open(path);
  ASSERT_TRUE(r) << r.error().ToString();
  std::vector<std::string> objects;
  auto got = ReadAll(**r, &objects);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].type, CaptureType::kDeleted);
}

TEST_F(CaptureReaderTest, DetectsZstdByMagicNotName) {
  std::string path = dir / "capture.ndjson";  // compressed, but not named .zst
  WriteText(path, Zstd(std::string(kHeader) + "\n" + Line(kT0, "LIST", R"({"a":1})")));
  auto r = CaptureReader::Open(path);
  ASSERT_TRUE(r) << r.error().ToString();
  std::vector<std::string> objects;
  EXPECT_EQ(ReadAll(**r, &objects).size(), 1u);
}

TEST(CaptureWriterTest, CreateFailsInAMissingDirectory) {
  auto w = CaptureWriter::Create("/nonexistent-dir/capture.zst", "test");
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code, ErrorCode::kIOError);
  EXPECT_NE(w.error().message.find("/nonexistent-dir/capture.zst"), std::string::npos);
}

}  // namespace
}  // namespace sloop::ingest
