#include "objstore/memory_bucket.h"

#include <gtest/gtest.h>

#include <thread>

namespace sloop::objstore {
namespace {

TEST(MemoryBucketTest, PutHeadGetDeleteList) {
  MemoryBucket b(2);
  ASSERT_TRUE(b.PutBytes("a/1", "one").has_value());
  ASSERT_TRUE(b.PutBytes("a/2", "two!").has_value());
  ASSERT_TRUE(b.PutBytes("a/d/3", "3").has_value());
  ASSERT_TRUE(b.PutBytes("a/d/4", "4").has_value());
  ASSERT_TRUE(b.PutBytes("b/5", "5").has_value());
  EXPECT_EQ(b.Head("a/2")->size, 4u);
  EXPECT_EQ(b.Head("nope").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(*b.Get("a/2", 1, 2), "wo");
  EXPECT_EQ(*b.Get("a/2", 1), "wo!");
  // Pages of two, in key order.
  std::vector<std::string> keys;
  std::string token;
  int pages = 0;
  do {
    auto p = b.List("a/", "", token);
    ASSERT_TRUE(p.has_value());
    for (const auto& o : p->objects) keys.push_back(o.key);
    token = p->next_token;
    ++pages;
  } while (!token.empty());
  EXPECT_EQ(keys, (std::vector<std::string>{"a/1", "a/2", "a/d/3", "a/d/4"}));
  EXPECT_EQ(pages, 2);
  // With a delimiter, deeper keys fold into common prefixes.
  auto p = b.List("a/", "/");
  ASSERT_TRUE(p.has_value());
  ASSERT_EQ(p->objects.size(), 2u);
  auto q = b.List("a/", "/", p->next_token);
  ASSERT_TRUE(q.has_value());
  EXPECT_EQ(q->common_prefixes, std::vector<std::string>{"a/d/"});
  EXPECT_TRUE(q->objects.empty());
  ASSERT_TRUE(b.Delete("a/1").has_value());
  ASSERT_TRUE(b.Delete("a/1").has_value()) << "deleting a missing key succeeds";
  EXPECT_FALSE(b.Contains("a/1"));
  EXPECT_EQ(b.PutOrder(), (std::vector<std::string>{"a/1", "a/2", "a/d/3", "a/d/4", "b/5"}));
}

TEST(MemoryBucketTest, FaultsFailCallsAndChangeNothing) {
  MemoryBucket b;
  b.FailNext(2);
  auto r = b.PutBytes("k", "v");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("k"), std::string::npos);
  EXPECT_FALSE(b.Head("k").has_value());
  ASSERT_TRUE(b.PutBytes("k", "v").has_value());
  b.SetAvailable(false);
  EXPECT_FALSE(b.Get("k").has_value());
  EXPECT_FALSE(b.Delete("k").has_value());
  EXPECT_FALSE(b.List("").has_value());
  b.SetAvailable(true);
  EXPECT_EQ(*b.Get("k"), "v");
  EXPECT_EQ(b.Requests(MemoryBucket::Op::kPut), 2u);
  EXPECT_EQ(b.Requests(MemoryBucket::Op::kGet), 2u);
  EXPECT_EQ(b.Requests(MemoryBucket::Op::kHead), 1u);
  EXPECT_EQ(b.Failures(), 5u);
  EXPECT_EQ(b.PutOrder(), std::vector<std::string>{"k"});
}

TEST(MemoryBucketTest, ConcurrentPutsAllLand) {
  MemoryBucket b;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&b, t] {
      for (int i = 0; i < 200; ++i) {
        ASSERT_TRUE(b.PutBytes(std::to_string(t) + "/" + std::to_string(i), "x").has_value());
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(b.Objects().size(), 800u);
  EXPECT_EQ(b.Requests(MemoryBucket::Op::kPut), 800u);
}

}  // namespace
}  // namespace sloop::objstore
