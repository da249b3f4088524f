// The S3 client against a fake S3 server on loopback (cpp-httplib): what it sends (signature
// headers, encoding, sorted queries, ranges, the multipart sequence) and what it makes of what
// it is answered (retries, errors, 404s). The real server is in s3_client_rgw_test.
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <openssl/sha.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <deque>
#include <functional>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "objstore/s3_client.h"

namespace sloop::objstore {
namespace {

namespace fs = std::filesystem;

std::string Sha256Hex(const std::string& s) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), md);
  std::string out;
  char b[3];
  for (unsigned char c : md) {
    std::snprintf(b, sizeof(b), "%02x", c);
    out += b;
  }
  return out;
}

std::string ErrorXml(const std::string& code, const std::string& message) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>" + code + "</Code><Message>" +
         message + "</Message><RequestId>req-1</RequestId></Error>";
}

struct Seen {
  std::string method, target, body;
  std::multimap<std::string, std::string> headers;  // as httplib keeps them (case-insensitive)
  std::string Header(const std::string& name) const {
    for (const auto& [k, v] : headers) {
      if (strcasecmp(k.c_str(), name.c_str()) == 0) return v;
    }
    return "";
  }
};

// A bucket "bucket" in memory behind path-style S3 answers, with failures on demand.
class FakeS3 {
 public:
  FakeS3() {
    auto h = [this](const httplib::Request& req, httplib::Response& res) { Handle(req, res); };
    server_.Get(".*", h);
    server_.Put(".*", h);
    server_.Post(".*", h);
    server_.Delete(".*", h);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeS3() {
    server_.stop();
    thread_.join();
  }
  int port() const { return port_; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // The next requests answer these (status, S3 error code) instead.
  void FailNext(std::vector<std::pair<int, std::string>> f) {
    std::lock_guard lock(mu_);
    for (auto& x : f) fail_.push_back(std::move(x));
  }
  // The first request whose target contains `part` answers this.
  void FailMatching(std::string part, int status, std::string code) {
    std::lock_guard lock(mu_);
    match_ = {std::move(part), status, std::move(code)};
  }
  // Range requests are answered 200 with the whole object (as a server may).
  void IgnoreRanges() { ignore_ranges_ = true; }
  // Answers a request instead of the fake bucket when it returns true (called unlocked: it may
  // take its time).
  void Override(std::function<bool(const httplib::Request&, httplib::Response&)> f) {
    std::lock_guard lock(mu_);
    override_ = std::move(f);
  }
  std::vector<Seen> seen() const {
    std::lock_guard lock(mu_);
    return seen_;
  }
  std::map<std::string, std::string> objects() const {
    std::lock_guard lock(mu_);
    return objects_;
  }
  void Put(const std::string& key, std::string bytes) {
    std::lock_guard lock(mu_);
    objects_[key] = std::move(bytes);
  }

 private:
  void Handle(const httplib::Request& req, httplib::Response& res) {
    std::function<bool(const httplib::Request&, httplib::Response&)> f;
    {
      std::lock_guard lock(mu_);
      f = override_;
      if (f) seen_.push_back(Seen{req.method, req.target, req.body, {}});
    }
    if (f && f(req, res)) return;
    std::lock_guard lock(mu_);
    Seen s{req.method, req.target, req.body, {}};
    for (const auto& [k, v] : req.headers) s.headers.emplace(k, v);
    seen_.push_back(s);
    if (!match_.part.empty() && req.target.find(match_.part) != std::string::npos) {
      res.status = match_.status;
      res.set_content(ErrorXml(match_.code, "injected " + match_.code), "application/xml");
      match_ = {};
      return;
    }
    if (!fail_.empty()) {
      auto [status, code] = fail_.front();
      fail_.pop_front();
      res.status = status;
      res.set_content(ErrorXml(code, "injected " + code), "application/xml");
      return;
    }
    const std::string path = req.path;  // decoded
    if (!path.starts_with("/bucket")) {
      res.status = 404;
      res.set_content(ErrorXml("NoSuchBucket", "no such bucket"), "application/xml");
      return;
    }
    const std::string key = path.size() > 8 ? path.substr(8) : "";
    if (key.empty()) return Bucket(req, res);
    if (req.method == "POST" && req.has_param("uploads")) {
      res.set_content("<InitiateMultipartUploadResult><Bucket>bucket</Bucket><Key>" + key +
                          "</Key><UploadId>up-1</UploadId></InitiateMultipartUploadResult>",
                      "application/xml");
      return;
    }
    if (req.method == "PUT" && req.has_param("partNumber")) {
      parts_[std::stoi(req.get_param_value("partNumber"))] = req.body;
      res.set_header("ETag", "\"etag-" + req.get_param_value("partNumber") + "\"");
      return;
    }
    if (req.method == "POST" && req.has_param("uploadId")) {
      std::string all;
      for (const auto& [n, b] : parts_) all += b;
      objects_[key] = all;
      parts_.clear();
      res.set_content(
          "<CompleteMultipartUploadResult><ETag>\"x-3\"</ETag>"
          "</CompleteMultipartUploadResult>",
          "application/xml");
      return;
    }
    if (req.method == "DELETE" && req.has_param("uploadId")) {
      parts_.clear();
      res.status = 204;
      return;
    }
    if (req.method == "PUT") {
      objects_[key] = req.body;
      res.set_header("ETag", "\"e\"");
      return;
    }
    auto it = objects_.find(key);
    if (req.method == "DELETE") {
      objects_.erase(key);
      res.status = 204;
      return;
    }
    if (it == objects_.end()) {
      res.status = 404;
      if (req.method != "HEAD") {
        res.set_content(ErrorXml("NoSuchKey", "The specified key does not exist."),
                        "application/xml");
      }
      return;
    }
    res.set_header("ETag", "\"etag-of-" + key + "\"");
    // The fake answers ranges itself: httplib would otherwise cut what it answers again.
    const_cast<httplib::Request&>(req).ranges.clear();
    const std::string range = req.get_header_value("Range");
    if (!range.empty() && !ignore_ranges_) {
      // "bytes=a-b" or "bytes=a-"
      const size_t dash = range.find('-');
      const size_t a = std::stoull(range.substr(6, dash - 6));
      if (a >= it->second.size()) {
        res.status = 416;
        res.set_content(ErrorXml("InvalidRange", "The requested range is not satisfiable"),
                        "application/xml");
        return;
      }
      size_t b =
          dash + 1 < range.size() ? std::stoull(range.substr(dash + 1)) : it->second.size() - 1;
      b = std::min(b, it->second.size() - 1);
      res.status = 206;
      res.set_content(it->second.substr(a, b - a + 1), "application/octet-stream");
      return;
    }
    res.set_content(it->second, "application/octet-stream");
  }

  void Bucket(const httplib::Request& req, httplib::Response& res) {
    if (req.method == "PUT") {
      res.status = 409;
      res.set_content(ErrorXml("BucketAlreadyOwnedByYou", "yours"), "application/xml");
      return;
    }
    if (req.method == "HEAD") return;
    std::string xml = "<ListBucketResult><IsTruncated>false</IsTruncated>";
    for (const auto& [k, v] : objects_) {
      if (k.starts_with(req.get_param_value("prefix"))) {
        xml += "<Contents><Key>" + k + "</Key><Size>" + std::to_string(v.size()) +
               "</Size><ETag>\"e\"</ETag></Contents>";
      }
    }
    res.set_content(xml + "</ListBucketResult>", "application/xml");
  }

  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mu_;
  std::vector<Seen> seen_;
  std::deque<std::pair<int, std::string>> fail_;
  std::map<std::string, std::string> objects_;
  std::map<int, std::string> parts_;
  bool ignore_ranges_ = false;
  std::function<bool(const httplib::Request&, httplib::Response&)> override_;
  struct {
    std::string part;
    int status = 0;
    std::string code;
  } match_;
};

class S3FakeServerTest : public ::testing::Test {
 protected:
  S3Options Options() {
    S3Options o;
    o.bucket = "bucket";
    o.endpoint = server_.endpoint();
    o.access_key = "AKFAKE";
    o.secret_key = "secret";
    o.region = "eu-west-3";
    o.retries = 3;
    o.connect_timeout = std::chrono::seconds(2);
    o.request_timeout = std::chrono::seconds(10);
    return o;
  }
  std::unique_ptr<S3Client> Client(S3Options o) {
    auto c = S3Client::Create(o);
    EXPECT_TRUE(c.has_value()) << c.error().ToString();
    return std::move(*c);
  }
  FakeS3 server_;
};

TEST_F(S3FakeServerTest, EveryRequestIsSignedWithItsPayloadHash) {
  S3Options o = Options();
  o.session_token = "tok/en";
  auto c = Client(o);
  ASSERT_TRUE(c->PutBytes("dir/a b+ü~", "hello").has_value());
  auto seen = server_.seen();
  ASSERT_EQ(seen.size(), 1u);
  const Seen& s = seen[0];
  EXPECT_EQ(s.method, "PUT");
  EXPECT_EQ(s.target, "/bucket/dir/a%20b%2B%C3%BC~") << "each segment encoded, '/' kept";
  EXPECT_EQ(s.body, "hello");
  EXPECT_EQ(s.Header("Content-Length"), "5");
  EXPECT_EQ(s.Header("x-amz-content-sha256"), Sha256Hex("hello"));
  EXPECT_EQ(s.Header("x-amz-security-token"), "tok/en");
  EXPECT_FALSE(s.Header("x-amz-date").empty());
  const std::string auth = s.Header("Authorization");
  EXPECT_TRUE(auth.starts_with("AWS4-HMAC-SHA256 Credential=AKFAKE/")) << auth;
  EXPECT_NE(auth.find("/eu-west-3/s3/aws4_request"), std::string::npos) << auth;
  EXPECT_NE(auth.find("x-amz-content-sha256"), std::string::npos) << "signed: " << auth;
  EXPECT_NE(auth.find("x-amz-security-token"), std::string::npos) << "signed: " << auth;
  EXPECT_NE(auth.find("host"), std::string::npos) << auth;
  EXPECT_NE(auth.find("Signature="), std::string::npos) << auth;
  EXPECT_EQ(server_.objects().at("dir/a b+ü~"), "hello");

  ASSERT_TRUE(c->Head("dir/a b+ü~").has_value());
  EXPECT_EQ(server_.seen().back().Header("x-amz-content-sha256"), Sha256Hex(""));
}

TEST_F(S3FakeServerTest, QueriesAreSortedEncodedAndAlwaysHaveEquals) {
  auto c = Client(Options());
  server_.Put("a b/x", "1");
  auto p = c->List("a b/", "/", "tok/+=");
  ASSERT_TRUE(p.has_value()) << p.error().ToString();
  EXPECT_EQ(server_.seen().back().target,
            "/bucket/?continuation-token=tok%2F%2B%3D&delimiter=%2F&list-type=2&max-keys=1000"
            "&prefix=a%20b%2F");
  ASSERT_EQ(p->objects.size(), 1u);
  EXPECT_EQ(p->objects[0].key, "a b/x");
  ASSERT_TRUE(c->List("").has_value());
  EXPECT_EQ(server_.seen().back().target, "/bucket/?list-type=2&max-keys=1000&prefix=");
}

TEST_F(S3FakeServerTest, RetriesServerErrorsThenSucceeds) {
  auto c = Client(Options());
  server_.FailNext({{500, "InternalError"}, {503, "SlowDown"}, {429, "TooManyRequests"}});
  ASSERT_TRUE(c->PutBytes("k", "v").has_value());
  EXPECT_EQ(server_.objects().at("k"), "v");
  auto st = c->stats();
  EXPECT_EQ(st.requests, 4u);
  EXPECT_EQ(st.retries, 3u);
  EXPECT_EQ(st.request_errors, 3u);
  EXPECT_EQ(st.bytes_uploaded, 4u) << "the body was sent each time";

  // A 400 RequestTimeout is retried too; one more failure than retries is the error.
  S3Options o = Options();
  o.retries = 1;
  auto c1 = Client(o);
  server_.FailNext({{400, "RequestTimeout"}, {500, "InternalError"}});
  auto r = c1->PutBytes("k2", "v");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("HTTP 500 InternalError: injected InternalError"),
            std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find("PUT k2"), std::string::npos);
  EXPECT_NE(r.error().message.find("after 2 attempts"), std::string::npos);
}

TEST_F(S3FakeServerTest, ClientErrorsAreNotRetriedAndSayWhatTheServerSaid) {
  auto c = Client(Options());
  server_.FailNext({{403, "AccessDenied"}});
  auto r = c->PutBytes("k", "v");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  for (const char* part :
       {"PUT k", "HTTP 403 AccessDenied", "injected AccessDenied", "credentials", "/bucket"}) {
    EXPECT_NE(r.error().message.find(part), std::string::npos) << part << ": " << r.error().message;
  }
  EXPECT_EQ(c->stats().retries, 0u);
  server_.FailNext({{301, "PermanentRedirect"}});
  r = c->PutBytes("k", "v");
  EXPECT_NE(r.error().message.find("check the region: it is eu-west-3"), std::string::npos)
      << r.error().message;
}

TEST_F(S3FakeServerTest, MissingKeysAreNotFoundAndDeletingThemSucceeds) {
  auto c = Client(Options());
  auto g = c->Get("nope");
  ASSERT_FALSE(g.has_value());
  EXPECT_EQ(g.error().code, ErrorCode::kNotFound);
  EXPECT_NE(g.error().message.find("NoSuchKey: The specified key does not exist."),
            std::string::npos)
      << g.error().message;
  EXPECT_EQ(c->Head("nope").error().code, ErrorCode::kNotFound);
  server_.FailNext({{404, "NoSuchKey"}});
  EXPECT_TRUE(c->Delete("nope").has_value());
  EXPECT_EQ(c->stats().retries, 0u) << "a 404 is an answer";
  EXPECT_EQ(c->stats().request_errors, 0u);
  EXPECT_TRUE(c->CreateBucket().has_value()) << "BucketAlreadyOwnedByYou";
  auto other = Options();
  other.bucket = "other";
  EXPECT_EQ(Client(other)->CheckBucket().error().code, ErrorCode::kNotFound);
}

TEST_F(S3FakeServerTest, RangesAnd206) {
  auto c = Client(Options());
  server_.Put("r", "0123456789");
  EXPECT_EQ(*c->Get("r", 2, 3), "234");
  EXPECT_EQ(server_.seen().back().Header("Range"), "bytes=2-4");
  EXPECT_EQ(*c->Get("r", 7), "789");
  EXPECT_EQ(server_.seen().back().Header("Range"), "bytes=7-");
  EXPECT_EQ(*c->Get("r"), "0123456789");
  EXPECT_EQ(server_.seen().back().Header("Range"), "") << "the whole object: no range";
  EXPECT_EQ(*c->Get("r", 10), "") << "416 past the end";
  EXPECT_EQ(*c->Get("r", 8, 100), "89");
  server_.IgnoreRanges();
  EXPECT_EQ(*c->Get("r", 2, 3), "234") << "a 200 with the whole object is cut by the client";
  EXPECT_EQ(*c->Get("r", 12), "");
}

TEST_F(S3FakeServerTest, LargeFilesGoMultipart) {
  S3Options o = Options();
  o.multipart_threshold = 10;
  o.part_size = 4;
  auto c = Client(o);
  const fs::path file = fs::temp_directory_path() / ("sloop-s3-fake-" + std::to_string(getpid()));
  std::ofstream(file, std::ios::binary) << "abcdefghijk";  // 11 bytes: parts of 4, 4, 3
  ASSERT_TRUE(c->PutFile("big", file).has_value());
  EXPECT_EQ(server_.objects().at("big"), "abcdefghijk");
  auto seen = server_.seen();
  std::vector<std::string> targets;
  for (const auto& s : seen) targets.push_back(s.method + " " + s.target);
  EXPECT_EQ(targets, (std::vector<std::string>{
                         "POST /bucket/big?uploads=",
                         "PUT /bucket/big?partNumber=1&uploadId=up-1",
                         "PUT /bucket/big?partNumber=2&uploadId=up-1",
                         "PUT /bucket/big?partNumber=3&uploadId=up-1",
                         "POST /bucket/big?uploadId=up-1",
                         "HEAD /bucket/big",
                     }));
  EXPECT_EQ(seen[1].body, "abcd");
  EXPECT_EQ(seen[1].Header("x-amz-content-sha256"), Sha256Hex("abcd")) << "each part signed";
  EXPECT_EQ(seen[3].body, "ijk");
  EXPECT_EQ(seen[4].body,
            "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
            "<Part><PartNumber>1</PartNumber><ETag>&quot;etag-1&quot;</ETag></Part>"
            "<Part><PartNumber>2</PartNumber><ETag>&quot;etag-2&quot;</ETag></Part>"
            "<Part><PartNumber>3</PartNumber><ETag>&quot;etag-3&quot;</ETag></Part>"
            "</CompleteMultipartUpload>");
  EXPECT_EQ(seen[4].Header("x-amz-content-sha256"), Sha256Hex(seen[4].body));

  // At the threshold: one PUT.
  std::ofstream(file, std::ios::binary) << "0123456789";
  ASSERT_TRUE(c->PutFile("small", file).has_value());
  EXPECT_EQ(server_.seen().back().target, "/bucket/small");

  fs::remove(file);
}

TEST_F(S3FakeServerTest, AFailedPartAbortsTheUpload) {
  S3Options o = Options();
  o.multipart_threshold = 4;
  o.part_size = 4;
  o.retries = 0;
  auto c = Client(o);
  const fs::path file = fs::temp_directory_path() / ("sloop-s3-fake2-" + std::to_string(getpid()));
  std::ofstream(file, std::ios::binary) << "abcdefgh";
  server_.FailMatching("partNumber=2&", 400, "InvalidPart");
  auto r = c->PutFile("big", file);
  fs::remove(file);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("UploadPart 2 of big"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("InvalidPart"), std::string::npos);
  auto seen = server_.seen();
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back().method + " " + seen.back().target, "DELETE /bucket/big?uploadId=up-1");
  EXPECT_EQ(server_.objects().count("big"), 0u);
}

// What a broken or hostile server answers costs bounded memory: an error body is read up to
// 16 MiB, and a server that ignores a range is read only as far as the range.
TEST_F(S3FakeServerTest, HugeAnswersAreRefusedAndIgnoredRangesAreReadOnlyThatFar) {
  S3Options o = Options();
  o.retries = 0;
  auto c = Client(o);
  server_.Override([](const httplib::Request& req, httplib::Response& res) {
    if (req.path != "/bucket/huge-error") return false;
    res.status = 400;
    res.set_content(std::string(40 << 20, 'x'), "application/xml");
    return true;
  });
  auto r = c->Head("x");  // anything but the huge one goes to the bucket
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  auto big = c->Delete("huge-error");
  ASSERT_FALSE(big.has_value());
  EXPECT_NE(big.error().message.find("larger than 16 MiB"), std::string::npos)
      << big.error().message.substr(0, 300);
  // A 30 MiB object, a server that answers every range with all of it: 10 bytes are kept.
  server_.Override(nullptr);
  std::string object(30 << 20, 'a');
  for (size_t i = 0; i < object.size(); i += 4096) object[i] = static_cast<char>('0' + i / 4096 % 10);
  server_.Put("whole", object);
  server_.IgnoreRanges();
  auto part = c->Get("whole", 4096 * 3, 10);
  ASSERT_TRUE(part.has_value()) << part.error().ToString();
  EXPECT_EQ(*part, object.substr(4096 * 3, 10));
  EXPECT_LT(c->stats().bytes_downloaded, 20u << 20) << "stopped once past the range";
}

// Cancel() ends a request to a server that hangs within a second, with no retries after it,
// and Resume() lets requests through again.
TEST_F(S3FakeServerTest, CancelEndsAHangingRequestAtOnce) {
  auto c = Client(Options());  // 3 retries, a 10 s request timeout
  std::atomic<bool> hang{true};
  server_.Override([&](const httplib::Request& req, httplib::Response&) {
    if (req.path != "/bucket/slow") return false;
    for (int i = 0; i < 100 && hang; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return false;
  });
  server_.Put("slow", "ok");
  const auto start = std::chrono::steady_clock::now();
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    c->Cancel();
  });
  auto r = c->Get("slow");
  canceller.join();
  const auto took = std::chrono::steady_clock::now() - start;
  hang = false;
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("cancelled"), std::string::npos) << r.error().message;
  EXPECT_LT(took, std::chrono::seconds(3));
  EXPECT_EQ(c->stats().retries, 0u);
  EXPECT_FALSE(c->Head("slow").has_value()) << "cancelled until resumed";
  c->Resume();
  auto again = c->Get("slow");
  ASSERT_TRUE(again.has_value()) << again.error().ToString();
  EXPECT_EQ(*again, "ok");
}

// CreateMultipartUpload is not idempotent: a failure is not retried (the uploader tries the
// whole file again), so no upload is left that nothing aborts.
TEST_F(S3FakeServerTest, CreateMultipartUploadIsNotRetried) {
  S3Options o = Options();
  o.multipart_threshold = 4;
  o.part_size = 4;
  auto c = Client(o);
  const fs::path file = fs::temp_directory_path() / ("sloop-s3-fake3-" + std::to_string(getpid()));
  std::ofstream(file, std::ios::binary) << "abcdefgh";
  server_.FailMatching("?uploads=", 503, "SlowDown");
  auto r = c->PutFile("big", file);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(server_.seen().size(), 1u);
  ASSERT_TRUE(c->PutFile("big", file).has_value()) << "the next attempt goes through";
  fs::remove(file);
  EXPECT_EQ(server_.objects().at("big"), "abcdefgh");
}

TEST_F(S3FakeServerTest, ManyThreadsAtOnce) {
  auto c = Client(Options());
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        const std::string k = "t" + std::to_string(t) + "/" + std::to_string(i);
        EXPECT_TRUE(c->PutBytes(k, k).has_value());
        EXPECT_EQ(*c->Get(k), k);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(server_.objects().size(), 160u);
  EXPECT_EQ(c->stats().requests, 320u);
}

TEST_F(S3FakeServerTest, CreateChecksOptionsAndAnUnreachableEndpointIsUnavailable) {
  auto bad = [&](auto change, std::string_view says) {
    S3Options o = Options();
    change(o);
    auto c = S3Client::Create(o);
    ASSERT_FALSE(c.has_value()) << says;
    EXPECT_EQ(c.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(c.error().message.find(says), std::string::npos) << c.error().message;
  };
  bad([](S3Options& o) { o.endpoint = "ftp://x"; }, "http or https");
  bad([](S3Options& o) { o.endpoint = "127.0.0.1:9000"; }, "must start with http");
  bad([](S3Options& o) { o.endpoint = "http://h:99999"; }, "bad port");
  bad([](S3Options& o) { o.endpoint = "http://h/path"; }, "no path");
  bad([](S3Options& o) { o.addressing = "dns"; }, "path, virtual or auto");
  bad([](S3Options& o) { o.access_key.clear(); }, "no S3 credentials");
  bad([](S3Options& o) { o.bucket = "Bad_Bucket"; }, "lower-case");
  bad([](S3Options& o) { o.ca_file = "/nonexistent/ca.pem"; }, "CA file");

  S3Options o = Options();
  o.endpoint = "https://s3.example.com/";
  EXPECT_EQ(Client(o)->BucketUrl(), "https://s3.example.com/bucket")
      << "path style with an endpoint";
  o.endpoint.clear();
  EXPECT_EQ(Client(o)->BucketUrl(), "https://bucket.s3.eu-west-3.amazonaws.com") << "AWS: virtual";
  o.bucket = "my.bucket";
  EXPECT_EQ(Client(o)->BucketUrl(), "https://s3.eu-west-3.amazonaws.com/my.bucket")
      << "a dotted name would not match the certificate";

  // Nothing listens on a port bound and closed without listening.
  o = Options();
  {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
    ::close(fd);
    o.endpoint = "http://127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  }
  o.retries = 1;
  auto c = Client(o);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = c->CheckBucket();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("cannot reach"), std::string::npos) << r.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
  EXPECT_EQ(c->stats().retries, 1u);
}

}  // namespace
}  // namespace sloop::objstore
