#include "objstore/s3_xml.h"

#include <gtest/gtest.h>

namespace sloop::objstore {
namespace {

TEST(S3Xml, ListBucketResultWithContentsPrefixesAndToken) {
  const char* xml = R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>b</Name><Prefix>p/</Prefix><KeyCount>3</KeyCount><MaxKeys>3</MaxKeys>
  <Delimiter>/</Delimiter><IsTruncated>true</IsTruncated>
  <Contents><Key>p/a&amp;b</Key><LastModified>2026-11-20T09:00:00.000Z</LastModified>
    <ETag>&quot;0123456789abcdef0123456789abcdef&quot;</ETag><Size>42</Size>
    <StorageClass>STANDARD</StorageClass></Contents>
  <Contents><Key>p/c</Key><ETag>"abc-2"</ETag><Size>0</Size></Contents>
  <CommonPrefixes><Prefix>p/d/</Prefix></CommonPrefixes>
  <NextContinuationToken>1/tok+en=</NextContinuationToken>
</ListBucketResult>)";
  auto p = ParseListBucketResult(xml);
  ASSERT_TRUE(p.has_value()) << p.error().ToString();
  ASSERT_EQ(p->objects.size(), 2u);
  EXPECT_EQ(p->objects[0].key, "p/a&b");
  EXPECT_EQ(p->objects[0].size, 42u);
  EXPECT_EQ(p->objects[0].etag, "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(p->objects[1].key, "p/c");
  EXPECT_EQ(p->objects[1].size, 0u);
  EXPECT_EQ(p->objects[1].etag, "abc-2");
  EXPECT_EQ(p->common_prefixes, std::vector<std::string>{"p/d/"});
  EXPECT_EQ(p->next_token, "1/tok+en=");
}

TEST(S3Xml, LastPageHasNoToken) {
  auto p = ParseListBucketResult(
      "<ListBucketResult><IsTruncated>false</IsTruncated>"
      "<NextContinuationToken>ignored</NextContinuationToken></ListBucketResult>");
  ASSERT_TRUE(p.has_value());
  EXPECT_TRUE(p->objects.empty());
  EXPECT_EQ(p->next_token, "");
}

TEST(S3Xml, BadListingsAreCorruption) {
  for (const char* xml :
       {"", "<ListBucketResult>", "<Other/>", "not xml at all",
        "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
        "<ListBucketResult><Contents><Key>k</Key><Size>x1</Size></Contents>"
        "</ListBucketResult>",
        "<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>"}) {
    auto p = ParseListBucketResult(xml);
    ASSERT_FALSE(p.has_value()) << xml;
    EXPECT_EQ(p.error().code, ErrorCode::kCorruption) << xml;
  }
}

// A hostile answer nested a million deep is refused, not a stack overflow (the tree stays
// shallow), and entity expansion is expat's to refuse.
TEST(S3Xml, DeepNestingAndEntityBombsAreRefused) {
  std::string deep = "<ListBucketResult>";
  for (int i = 0; i < 1000000; ++i) deep += "<a>";
  auto r = ParseListBucketResult(deep);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("nested deeper"), std::string::npos) << r.error().message;
  EXPECT_FALSE(ParseS3Error("<Error>" + deep).has_value());
  std::string bomb = "<?xml version=\"1.0\"?><!DOCTYPE l [<!ENTITY a \"aaaaaaaaaa\">";
  std::string prev = "a";
  for (int i = 0; i < 9; ++i) {
    std::string name(1, static_cast<char>('b' + i));
    bomb += "<!ENTITY " + name + " \"";
    for (int j = 0; j < 10; ++j) bomb += "&" + prev + ";";
    bomb += "\">";
    prev = name;
  }
  bomb += "]><ListBucketResult><Prefix>&" + prev + ";</Prefix></ListBucketResult>";
  EXPECT_FALSE(ParseListBucketResult(bomb).has_value());
}

TEST(S3Xml, Error) {
  auto e = ParseS3Error(
      "<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code><Message>The key &lt;k&gt; does "
      "not exist</Message><Key>k</Key><RequestId>tx1</RequestId></Error>");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code, "NoSuchKey");
  EXPECT_EQ(e->message, "The key <k> does not exist");
  EXPECT_EQ(e->request_id, "tx1");
  EXPECT_FALSE(ParseS3Error("").has_value());
  EXPECT_FALSE(ParseS3Error("<html><body>502 Bad Gateway</body></html>").has_value());
  EXPECT_FALSE(ParseS3Error("<Error><Code>broken").has_value());
  EXPECT_FALSE(ParseS3Error("<ListBucketResult><Error/></ListBucketResult>").has_value());
}

TEST(S3Xml, InitiateMultipartUpload) {
  auto id = ParseInitiateMultipartUpload(
      "<InitiateMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
      "<Bucket>b</Bucket><Key>k</Key><UploadId>2~abc.def</UploadId>"
      "</InitiateMultipartUploadResult>");
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(*id, "2~abc.def");
  EXPECT_EQ(ParseInitiateMultipartUpload("<InitiateMultipartUploadResult/>").error().code,
            ErrorCode::kCorruption);
}

TEST(S3Xml, ListAllMyBuckets) {
  auto b = ParseListAllMyBuckets(
      "<ListAllMyBucketsResult><Owner><ID>o</ID></Owner><Buckets>"
      "<Bucket><Name>one</Name><CreationDate>x</CreationDate></Bucket>"
      "<Bucket><Name>two</Name></Bucket></Buckets></ListAllMyBucketsResult>");
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(*b, (std::vector<std::string>{"one", "two"}));
  EXPECT_TRUE(ParseListAllMyBuckets("<ListAllMyBucketsResult/>")->empty());
  EXPECT_FALSE(ParseListAllMyBuckets("<Error/>").has_value());
}

TEST(S3Xml, CompleteMultipartBody) {
  EXPECT_EQ(CompleteMultipartXml({"\"a\"", "b"}),
            "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
            "<Part><PartNumber>1</PartNumber><ETag>&quot;a&quot;</ETag></Part>"
            "<Part><PartNumber>2</PartNumber><ETag>&quot;b&quot;</ETag></Part>"
            "</CompleteMultipartUpload>");
  EXPECT_EQ(XmlEscape("<a & 'b'>"), "&lt;a &amp; &apos;b&apos;&gt;");
}

}  // namespace
}  // namespace sloop::objstore
