#include "objstore/s3_options.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

namespace sloop::objstore {
namespace {

namespace fs = std::filesystem;

TEST(ParseS3Url, BucketAndPrefix) {
  auto u = ParseS3Url("s3://my-bucket/a/b/");
  ASSERT_TRUE(u.has_value()) << u.error().ToString();
  EXPECT_EQ(u->bucket, "my-bucket");
  EXPECT_EQ(u->prefix, "a/b");
  u = ParseS3Url("s3://my.bucket.1");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->bucket, "my.bucket.1");
  EXPECT_EQ(u->prefix, "");
  u = ParseS3Url("s3://abc/");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->prefix, "");
  EXPECT_EQ(ParseS3Url("s3://abc/x")->prefix, "x");
  for (const char* dots : {"s3://abc/a/../b", "s3://abc/./b", "s3://abc/a/..", "s3://abc/.."}) {
    auto bad = ParseS3Url(dots);
    ASSERT_FALSE(bad.has_value()) << dots;
    EXPECT_NE(bad.error().message.find("path segment"), std::string::npos) << bad.error().message;
  }
  EXPECT_EQ(ParseS3Url("s3://abc/a..b/.c")->prefix, "a..b/.c") << "dots inside names are fine";
}

TEST(ParseS3Url, ClearErrors) {
  auto expect = [](std::string_view url, std::string_view says) {
    auto u = ParseS3Url(url);
    ASSERT_FALSE(u.has_value()) << url;
    EXPECT_EQ(u.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(u.error().message.find(says), std::string::npos) << u.error().message;
    EXPECT_NE(u.error().message.find(std::string(url)), std::string::npos) << "names the URL";
  };
  expect("http://bucket/x", "must start with s3://");
  expect("bucket/x", "must start with s3://");
  expect("s3://", "no bucket name");
  expect("s3:///prefix", "no bucket name");
  expect("s3://ab", "3 to 63");
  expect("s3://" + std::string(64, 'a'), "3 to 63");
  expect("s3://My-Bucket", "lower-case");
  expect("s3://my_bucket", "lower-case");
  expect("s3://-bucket", "start and end");
  expect("s3://bucket-", "start and end");
  expect("s3://a..b", "\"..\"");
  expect("s3://192.168.1.1", "IP address");
  expect("s3://bucket/a//b", "empty path segment");
  expect("s3://bucket//a", "empty path segment");
  expect("s3://bucket/a?x=1", "query");
  EXPECT_TRUE(ParseS3Url("s3://1.2.3.4a").has_value()) << "not an IP address";
}

class ResolveCredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sloop-s3-options-test-" + std::to_string(getpid()));
    fs::create_directories(dir_ / ".aws");
    env_["HOME"] = dir_.string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  EnvLookup Env() {
    return [this](const std::string& name) -> std::optional<std::string> {
      auto it = env_.find(name);
      if (it == env_.end()) return std::nullopt;
      return it->second;
    };
  }
  void WriteCredentials(const fs::path& p) {
    std::ofstream(p) << "# comment\n"
                        "[default]\n"
                        "aws_access_key_id = DEFAULTKEY\n"
                        "aws_secret_access_key=defaultsecret\n"
                        "\n"
                        "; another comment\n"
                        "[other]\n"
                        "aws_access_key_id = OTHERKEY\n"
                        "aws_secret_access_key = othersecret\n"
                        "aws_session_token = othertoken\n"
                        "region = eu-west-3\n"
                        "[profile third]\n"
                        "aws_access_key_id = THIRDKEY\n"
                        "aws_secret_access_key = thirdsecret\n";
  }

  fs::path dir_;
  std::map<std::string, std::string> env_;
};

TEST_F(ResolveCredentialsTest, ExplicitValuesWin) {
  WriteCredentials(dir_ / ".aws/credentials");
  env_["AWS_ACCESS_KEY_ID"] = "ENVKEY";
  env_["AWS_SECRET_ACCESS_KEY"] = "envsecret";
  env_["AWS_REGION"] = "eu-central-1";
  S3Options o;
  o.access_key = "FLAGKEY";
  o.secret_key = "flagsecret";
  o.region = "ap-south-1";
  ASSERT_TRUE(ResolveCredentials(&o, Env()).has_value());
  EXPECT_EQ(o.access_key, "FLAGKEY");
  EXPECT_EQ(o.secret_key, "flagsecret");
  EXPECT_EQ(o.session_token, "");
  EXPECT_EQ(o.region, "ap-south-1");
}

TEST_F(ResolveCredentialsTest, ThenTheEnvironment) {
  WriteCredentials(dir_ / ".aws/credentials");
  env_["AWS_ACCESS_KEY_ID"] = "ENVKEY";
  env_["AWS_SECRET_ACCESS_KEY"] = "envsecret";
  env_["AWS_SESSION_TOKEN"] = "envtoken";
  env_["AWS_DEFAULT_REGION"] = "us-west-2";
  S3Options o;
  ASSERT_TRUE(ResolveCredentials(&o, Env()).has_value());
  EXPECT_EQ(o.access_key, "ENVKEY");
  EXPECT_EQ(o.secret_key, "envsecret");
  EXPECT_EQ(o.session_token, "envtoken");
  EXPECT_EQ(o.region, "us-west-2");
  env_["AWS_REGION"] = "eu-north-1";  // before AWS_DEFAULT_REGION
  S3Options o2;
  ASSERT_TRUE(ResolveCredentials(&o2, Env()).has_value());
  EXPECT_EQ(o2.region, "eu-north-1");
}

TEST_F(ResolveCredentialsTest, ThenTheCredentialsFileDefaultProfile) {
  WriteCredentials(dir_ / ".aws/credentials");
  env_["AWS_ACCESS_KEY_ID"] = "HALF";  // without its secret: not used
  S3Options o;
  ASSERT_TRUE(ResolveCredentials(&o, Env()).has_value());
  EXPECT_EQ(o.access_key, "DEFAULTKEY");
  EXPECT_EQ(o.secret_key, "defaultsecret");
  EXPECT_EQ(o.region, "us-east-1") << "no region anywhere";
}

TEST_F(ResolveCredentialsTest, ProfileFromTheEnvironmentOrOptions) {
  const fs::path file = dir_ / "elsewhere";
  WriteCredentials(file);
  env_["AWS_SHARED_CREDENTIALS_FILE"] = file.string();
  env_["AWS_PROFILE"] = "other";
  S3Options o;
  ASSERT_TRUE(ResolveCredentials(&o, Env()).has_value());
  EXPECT_EQ(o.access_key, "OTHERKEY");
  EXPECT_EQ(o.session_token, "othertoken");
  EXPECT_EQ(o.region, "eu-west-3");
  S3Options o2;
  o2.profile = "third";  // wins over AWS_PROFILE; "[profile third]" is accepted
  ASSERT_TRUE(ResolveCredentials(&o2, Env()).has_value());
  EXPECT_EQ(o2.access_key, "THIRDKEY");
  S3Options o3;
  o3.credentials_file = (dir_ / "none").string();  // wins over AWS_SHARED_CREDENTIALS_FILE
  auto r = ResolveCredentials(&o3, Env());
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find(o3.credentials_file), std::string::npos) << r.error().message;
  S3Options o4;
  o4.profile = "nope";
  r = ResolveCredentials(&o4, Env());
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("no profile [nope]"), std::string::npos) << r.error().message;
}

TEST_F(ResolveCredentialsTest, NoCredentialsSaysWhatToSet) {
  S3Options o;
  auto r = ResolveCredentials(&o, Env());  // no ~/.aws/credentials: that is no error by itself
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find("AWS_ACCESS_KEY_ID"), std::string::npos);
  EXPECT_NE(r.error().message.find("~/.aws/credentials"), std::string::npos);
  S3Options half;
  half.access_key = "ONLY";
  r = ResolveCredentials(&half, Env());
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("without a secret key"), std::string::npos);
}

TEST(ProcessEnv, ReadsTheEnvironment) {
  ::setenv("SLOOP_S3_OPTIONS_TEST_VAR", "v", 1);
  EXPECT_EQ(ProcessEnv()("SLOOP_S3_OPTIONS_TEST_VAR"), "v");
  ::setenv("SLOOP_S3_OPTIONS_TEST_VAR", "", 1);
  EXPECT_EQ(ProcessEnv()("SLOOP_S3_OPTIONS_TEST_VAR"), std::nullopt) << "empty counts as unset";
}

}  // namespace
}  // namespace sloop::objstore
