// The S3 client over TLS against a fake server on loopback with a certificate of its own CA:
// trusted with -object-store-ca-file, refused without it (a configuration error, not retried);
// and virtual-host addressing, the bucket in the host name (bucket.localhost, which curl
// resolves to loopback).
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <thread>

#include "objstore/s3_client.h"

namespace sloop::objstore {
namespace {

namespace fs = std::filesystem;

class S3TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sloop-s3-tls-" + std::to_string(getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    // A certificate for the names the client will use, self-signed: it is its own CA.
    const std::string cmd =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
        "-subj /CN=localhost -addext subjectAltName=DNS:localhost,DNS:bucket.localhost,"
        "IP:127.0.0.1 -keyout " +
        (dir_ / "key.pem").string() + " -out " + (dir_ / "cert.pem").string() + " 2>/dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    server_ = std::make_unique<httplib::SSLServer>((dir_ / "cert.pem").c_str(),
                                                   (dir_ / "key.pem").c_str());
    ASSERT_TRUE(server_->is_valid());
    server_->Get(".*", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mu_);
      hosts_.push_back(req.get_header_value("Host"));
      paths_.push_back(req.path);
      res.set_content("hello over tls", "application/octet-stream");
    });
    port_ = server_->bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    while (!server_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  void TearDown() override {
    server_->stop();
    thread_.join();
    fs::remove_all(dir_);
  }

  S3Options Options() {
    S3Options o;
    o.bucket = "bucket";
    o.endpoint = "https://localhost:" + std::to_string(port_);
    o.access_key = "AKFAKE";
    o.secret_key = "secret";
    o.region = "us-east-1";
    o.retries = 2;
    o.connect_timeout = std::chrono::seconds(5);
    o.request_timeout = std::chrono::seconds(10);
    return o;
  }

  fs::path dir_;
  std::unique_ptr<httplib::SSLServer> server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mu_;
  std::vector<std::string> hosts_, paths_;
};

TEST_F(S3TlsTest, APrivateCaIsTrustedFromTheCaFileAndRefusedWithoutIt) {
  S3Options o = Options();
  o.ca_file = (dir_ / "cert.pem").string();
  auto c = S3Client::Create(o);
  ASSERT_TRUE(c.has_value()) << c.error().ToString();
  auto got = (*c)->Get("shards/a.seg");
  ASSERT_TRUE(got.has_value()) << got.error().ToString();
  EXPECT_EQ(*got, "hello over tls");
  {
    std::lock_guard lock(mu_);
    ASSERT_EQ(paths_.size(), 1u);
    EXPECT_EQ(paths_[0], "/bucket/shards/a.seg") << "path style with an endpoint";
  }

  auto untrusted = S3Client::Create(Options());  // the system's CAs only
  ASSERT_TRUE(untrusted.has_value());
  auto refused = (*untrusted)->Get("shards/a.seg");
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument)
      << "a certificate no CA vouches for is configuration, not an outage: "
      << refused.error().message;
  EXPECT_NE(refused.error().message.find("certificate"), std::string::npos)
      << refused.error().message;
  EXPECT_EQ((*untrusted)->stats().retries, 0u);
  std::lock_guard lock(mu_);
  EXPECT_EQ(paths_.size(), 1u) << "no request reached the server";
}

TEST_F(S3TlsTest, VirtualHostAddressingPutsTheBucketInTheHostName) {
  S3Options o = Options();
  o.ca_file = (dir_ / "cert.pem").string();
  o.addressing = "virtual";
  auto c = S3Client::Create(o);
  ASSERT_TRUE(c.has_value()) << c.error().ToString();
  auto got = (*c)->Get("k 1");
  ASSERT_TRUE(got.has_value()) << got.error().ToString();
  std::lock_guard lock(mu_);
  ASSERT_EQ(hosts_.size(), 1u);
  EXPECT_EQ(hosts_[0], "bucket.localhost:" + std::to_string(port_));
  EXPECT_EQ(paths_[0], "/k 1");  // as the server decodes it
}

}  // namespace
}  // namespace sloop::objstore
