// The S3 client against a real S3 server: Ceph's RADOS Gateway, started by the test
// (tests/objstore/rgw_fixture.h). Label objectstore.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "objstore/s3_client.h"
#include "tests/objstore/rgw_fixture.h"

namespace sloop::objstore {
namespace {

namespace fs = std::filesystem;
using testing::RgwCluster;

class S3ClientRgwTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto c = RgwCluster::Start();
    ASSERT_TRUE(c.has_value()) << c.error().ToString();
    cluster_ = std::move(*c);
  }
  static void TearDownTestSuite() { cluster_.reset(); }

  void SetUp() override {
    ASSERT_NE(cluster_, nullptr) << "the RGW cluster did not start";
    auto c = S3Client::Create(cluster_->Options("sloop-test"));
    ASSERT_TRUE(c.has_value()) << c.error().ToString();
    client_ = std::move(*c);
    auto r = client_->CreateBucket();
    ASSERT_TRUE(r.has_value()) << r.error().ToString();
  }

  static std::string Random(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    return s;
  }

  static inline std::unique_ptr<RgwCluster> cluster_;
  std::unique_ptr<S3Client> client_;
};

TEST_F(S3ClientRgwTest, BucketsObjectsRangesAndErrors) {
  ASSERT_TRUE(client_->CreateBucket().has_value()) << "creating an existing bucket of ours";
  ASSERT_TRUE(client_->CheckBucket().has_value());
  auto buckets = client_->ListBuckets();
  ASSERT_TRUE(buckets.has_value()) << buckets.error().ToString();
  EXPECT_NE(std::find(buckets->begin(), buckets->end(), "sloop-test"), buckets->end());

  // Keys that need encoding: spaces, '+', '%', UTF-8, '=' and '&'.
  const std::string key = "p/a b+c%d/ü=1&x.json";
  const std::string bytes = Random(10000, 1);
  ASSERT_TRUE(client_->PutBytes(key, bytes).has_value());
  auto h = client_->Head(key);
  ASSERT_TRUE(h.has_value()) << h.error().ToString();
  EXPECT_EQ(h->size, bytes.size());
  EXPECT_EQ(h->etag.size(), 32u) << "a single PUT's ETag is the MD5, unquoted: " << h->etag;
  EXPECT_EQ(*client_->Get(key), bytes);
  EXPECT_EQ(*client_->Get(key, 100, 50), bytes.substr(100, 50));
  EXPECT_EQ(*client_->Get(key, 9990), bytes.substr(9990));
  EXPECT_EQ(*client_->Get(key, 9990, 100), bytes.substr(9990)) << "a range past the end is cut";
  EXPECT_EQ(*client_->Get(key, 10000), "") << "a range from the end is empty";
  EXPECT_EQ(*client_->Get(key, 5, 0), "");
  ASSERT_TRUE(client_->PutBytes("p/empty", "").has_value());
  EXPECT_EQ(client_->Head("p/empty")->size, 0u);
  EXPECT_EQ(*client_->Get("p/empty"), "");

  auto missing = client_->Get("p/none");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message.find("NoSuchKey"), std::string::npos)
      << missing.error().message;
  EXPECT_EQ(client_->Head("p/none").error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(client_->Delete(key).has_value());
  ASSERT_TRUE(client_->Delete(key).has_value()) << "deleting a missing key succeeds";
  EXPECT_EQ(client_->Head(key).error().code, ErrorCode::kNotFound);

  // A bucket that does not exist, and keys that are wrong.
  auto other = S3Client::Create(cluster_->Options("sloop-no-such-bucket"));
  auto check = (*other)->CheckBucket();
  ASSERT_FALSE(check.has_value());
  EXPECT_EQ(check.error().code, ErrorCode::kNotFound);
  EXPECT_NE(check.error().message.find("no bucket sloop-no-such-bucket"), std::string::npos);
  S3Options bad = cluster_->Options("sloop-test");
  bad.secret_key = "wrong";
  auto wrong = S3Client::Create(bad);
  auto denied = (*wrong)->PutBytes("p/x", "x");
  ASSERT_FALSE(denied.has_value());
  EXPECT_EQ(denied.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(denied.error().message.find("SignatureDoesNotMatch"), std::string::npos)
      << denied.error().message;
  EXPECT_NE(denied.error().message.find("credentials"), std::string::npos);
  EXPECT_EQ((*wrong)->CheckBucket().error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ((*wrong)->stats().retries, 0u) << "a refusal is not retried";
  EXPECT_EQ(client_->stats().retries, 0u);
}

TEST_F(S3ClientRgwTest, MultipartFilesThroughProcSelfFd) {
  S3Options o = cluster_->Options("sloop-test");
  o.part_size = 5 << 20;  // RGW's smallest part (but the last)
  o.multipart_threshold = 5 << 20;
  auto c = S3Client::Create(o);
  ASSERT_TRUE(c.has_value());
  const fs::path file = fs::temp_directory_path() / ("sloop-s3-rgw-" + std::to_string(getpid()));
  const std::string bytes = Random((12 << 20) + 12345, 2);
  std::ofstream(file, std::ios::binary) << bytes;
  // As the uploader does: the file unlinked, read through an open descriptor.
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  fs::remove(file);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = (*c)->PutFile("m/big.seg", "/proc/self/fd/" + std::to_string(fd));
  ::close(fd);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  std::cerr << "12 MiB in 3 parts: "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()
            << " s\n";
  auto h = (*c)->Head("m/big.seg");
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->size, bytes.size());
  EXPECT_NE(h->etag.find("-3"), std::string::npos) << "a 3-part upload's ETag: " << h->etag;
  EXPECT_EQ(*(*c)->Get("m/big.seg", (5 << 20) - 10, 20), bytes.substr((5 << 20) - 10, 20))
      << "a range across a part boundary";
  EXPECT_EQ(*(*c)->Get("m/big.seg"), bytes);
  EXPECT_GE((*c)->stats().bytes_uploaded, bytes.size());

  // A small file is one PUT.
  std::ofstream(file, std::ios::binary) << "small";
  ASSERT_TRUE((*c)->PutFile("m/small", file).has_value());
  EXPECT_EQ(*(*c)->Get("m/small"), "small");
  EXPECT_EQ((*c)->Head("m/small")->etag.find('-'), std::string::npos);
  auto gone = (*c)->PutFile("m/x", file.string() + ".missing");
  EXPECT_EQ(gone.error().code, ErrorCode::kIOError);
  fs::remove(file);
}

TEST_F(S3ClientRgwTest, ListingsPageAndGroupByDelimiter) {
  // The gateway answers at most a few keys per page (rgw max listing results in the script), so
  // 23 keys take several pages.
  std::set<std::string> want;
  for (int i = 0; i < 20; ++i) {
    char k[64];
    std::snprintf(k, sizeof(k), "l/a/%02d+x", i);
    want.insert(k);
  }
  want.insert("l/b/1");
  want.insert("l/b/2");
  want.insert("l/c");
  for (const auto& k : want) ASSERT_TRUE(client_->PutBytes(k, k).has_value());
  ASSERT_TRUE(client_->PutBytes("lz/outside", "x").has_value());

  std::vector<std::string> got;
  int pages = 0;
  std::string token;
  do {
    auto p = client_->List("l/", "", token);
    ASSERT_TRUE(p.has_value()) << p.error().ToString();
    ++pages;
    for (const auto& o : p->objects) {
      got.push_back(o.key);
      EXPECT_EQ(o.size, o.key.size());
      EXPECT_EQ(o.etag.size(), 32u);
    }
    token = p->next_token;
  } while (!token.empty() && pages < 100);
  EXPECT_EQ(got, std::vector<std::string>(want.begin(), want.end())) << "in key order";
  EXPECT_GT(pages, 2);

  std::vector<std::string> prefixes, keys;
  token.clear();
  do {
    auto p = client_->List("l/", "/", token);
    ASSERT_TRUE(p.has_value()) << p.error().ToString();
    for (const auto& c : p->common_prefixes) prefixes.push_back(c);
    for (const auto& o : p->objects) keys.push_back(o.key);
    token = p->next_token;
  } while (!token.empty());
  EXPECT_EQ(prefixes, (std::vector<std::string>{"l/a/", "l/b/"}));
  EXPECT_EQ(keys, std::vector<std::string>{"l/c"});
  auto none = client_->List("nothing/");
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->objects.empty());
  EXPECT_TRUE(none->next_token.empty());
}

TEST_F(S3ClientRgwTest, AGatewayOutageIsUnavailableQuicklyAndThenOver) {
  ASSERT_TRUE(client_->PutBytes("o/1", "one").has_value());
  ASSERT_TRUE(cluster_->StopGateway().has_value());
  const auto t0 = std::chrono::steady_clock::now();
  auto r = client_->Get("o/1");
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable) << r.error().ToString();
  EXPECT_LT(s, 5.0) << "connection refused, retried twice with backoff";
  EXPECT_EQ(client_->stats().retries, 2u);
  auto check = client_->CheckBucket();
  EXPECT_EQ(check.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(check.error().message.find("cannot reach"), std::string::npos) << check.error().message;
  ASSERT_TRUE(cluster_->StartGateway().has_value());
  auto again = client_->Get("o/1");
  ASSERT_TRUE(again.has_value()) << again.error().ToString();
  EXPECT_EQ(*again, "one");
}

}  // namespace
}  // namespace sloop::objstore
