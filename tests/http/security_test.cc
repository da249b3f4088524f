// Who may read, and what an answer may reveal: TLS with a certificate generated here (and
// reloaded), bearer tokens from a file (re-read when it changes), admin routes, unauthenticated
// probes, web files behind symlinks, and error bodies without paths.
#include <gtest/gtest.h>

#include <algorithm>
#include <httplib.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <prometheus/registry.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "engine/store.h"
#include "http/auth.h"
#include "http/http_server.h"
#include "http/path_router.h"
#include "http/routes.h"
#include "tests/engine/record_maker.h"
#include "tests/http/raw_client.h"

namespace sloop::http {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr int64_t kSec = 1'000'000'000LL;
constexpr int64_t kT0 = 1795165200LL * kSec;

void WriteFile(const fs::path& p, const std::string& text) {
  fs::path tmp = p.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
  }
  fs::rename(tmp, p);  // as a secret or cert-manager update would: whole files
}

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A self-signed certificate for CN=name (EC P-256: quick to generate).
void MakeCert(const fs::path& dir, const std::string& name, const fs::path& cert,
              const fs::path& key) {
  fs::path c = dir / (name + ".crt"), k = dir / (name + ".key");
  std::string cmd =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
      "-days 2 -subj /CN=" +
      name + " -keyout " + k.string() + " -out " + c.string() + " 2>/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  WriteFile(key, ReadFile(k));
  WriteFile(cert, ReadFile(c));
}

// Connects with TLS, returns the server certificate's CN, and the status of GET /healthz.
std::string TlsPeerName(uint16_t port, int* status) {
  *status = 0;
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL* ssl = SSL_new(ctx);
  std::string name;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0) {
    SSL_set_fd(ssl, fd);
    if (SSL_connect(ssl) == 1) {
      if (X509* cert = SSL_get_peer_certificate(ssl)) {
        char buf[256] = {};
        X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, sizeof(buf));
        name = buf;
        X509_free(cert);
      }
      std::string req = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
      SSL_write(ssl, req.data(), static_cast<int>(req.size()));
      std::string resp;
      char buf[4096];
      int n;
      while ((n = SSL_read(ssl, buf, sizeof(buf))) > 0) resp.append(buf, static_cast<size_t>(n));
      if (resp.starts_with("HTTP/1.1 ")) *status = std::stoi(resp.substr(9, 3));
    }
  }
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  close(fd);
  return name;
}

class SecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sloop-http-security-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    StoreOptions o;
    o.root = dir_ / "store";
    o.background = false;
    o.now_ns = [] { return kT0 + 600 * kSec; };
    auto s = Store::Open(o);
    ASSERT_TRUE(s.has_value()) << s.error().ToString();
    store_ = std::move(*s);
    sloop::testing::RecordMaker mk;
    ASSERT_TRUE(store_->Append(mk.Pod(kT0, "shop", "web", "uid-web", 1)).has_value());
    options_.port = 0;
    options_.bind_address = "127.0.0.1";
    options_.display_context = "cluster";
  }
  void TearDown() override {
    server_.reset();
    router_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }

  Result<void> Start() {
    router_ = MakeSloopRouter(options_, *store_, registry_);
    server_ = std::make_unique<HttpServer>(options_, *router_);
    return server_->Start();
  }

  int Get(const std::string& target, const std::string& token = "", std::string* body = nullptr) {
    httplib::Client c("127.0.0.1", server_->port());
    c.set_read_timeout(10, 0);
    httplib::Headers h;
    if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
    auto r = c.Get(target.c_str(), h);
    if (!r) return 0;
    if (body) *body = r->body;
    return r->status;
  }

  fs::path dir_;
  std::unique_ptr<Store> store_;
  HttpOptions options_;
  prometheus::Registry registry_;
  std::unique_ptr<Router> router_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(SecurityTest, TlsServesHttpsAndReloadsItsCertificate) {
  fs::path cert = dir_ / "tls.crt", key = dir_ / "tls.key";
  MakeCert(dir_, "sloop-a", cert, key);
  options_.tls_cert_file = cert.string();
  options_.tls_key_file = key.string();
  ASSERT_TRUE(Start().has_value());
  EXPECT_TRUE(server_->tls());
  int status = 0;
  EXPECT_EQ(TlsPeerName(server_->port(), &status), "sloop-a");
  EXPECT_EQ(status, 200);
  {
    httplib::SSLClient c("127.0.0.1", server_->port());
    c.enable_server_certificate_verification(false);
    auto r = c.Get("/healthz");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
  // Plain HTTP on the TLS port gets no answer.
  std::string plain = RawGet(server_->port(), "/healthz", "", "", 3000ms);
  EXPECT_FALSE(plain.starts_with("HTTP/1.1 200")) << plain;

  // A new pair is picked up by new connections.
  MakeCert(dir_, "sloop-b", cert, key);
  std::this_thread::sleep_for(1100ms);
  EXPECT_EQ(TlsPeerName(server_->port(), &status), "sloop-b");
  EXPECT_EQ(status, 200);
  // A broken pair is refused: the previous one keeps serving.
  WriteFile(cert, "-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n");
  std::this_thread::sleep_for(1100ms);
  EXPECT_EQ(TlsPeerName(server_->port(), &status), "sloop-b");
  EXPECT_EQ(status, 200);
}

TEST_F(SecurityTest, TlsWithAnUnreadablePairFailsToStartNamingTheFile) {
  options_.tls_cert_file = (dir_ / "missing.crt").string();
  options_.tls_key_file = (dir_ / "missing.key").string();
  auto r = Start();
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("missing.crt"), std::string::npos) << r.error().message;
  options_.tls_key_file = "";
  r = Start();
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("both"), std::string::npos) << r.error().message;
}

TEST_F(SecurityTest, BearerTokensGuardDataAndAdminRoutesButNotProbes) {
  fs::path users = dir_ / "tokens", admins = dir_ / "admin-tokens";
  WriteFile(users, "# readers\nreader-token-1\n\n  reader-token-2  \n");
  WriteFile(admins, "admin-token\n");
  auto u = TokenFileAuthenticator::Open(users, "token");
  ASSERT_TRUE(u.has_value()) << u.error().ToString();
  EXPECT_EQ((*u)->size(), 2u);
  auto a = TokenFileAuthenticator::Open(admins, "admin");
  ASSERT_TRUE(a.has_value());
  options_.authenticator = *u;
  options_.admin_authenticator = *a;
  ASSERT_TRUE(Start().has_value());

  EXPECT_EQ(Get("/healthz"), 200) << "probes need no token";
  EXPECT_EQ(Get("/readyz"), 200);
  std::string body;
  EXPECT_EQ(Get("/api/v1/shards", "", &body), 401);
  EXPECT_NE(body.find("Authorization: Bearer"), std::string::npos) << body;
  EXPECT_EQ(Get("/api/v1/shards", "reader-token-3"), 401);
  EXPECT_EQ(Get("/api/v1/shards", "reader-token-"), 401);
  EXPECT_EQ(Get("/api/v1/shards", "reader-token-1"), 200);
  EXPECT_EQ(Get("/api/v1/shards", "reader-token-2"), 200);
  EXPECT_EQ(Get("/metrics"), 401);
  EXPECT_EQ(Get("/metrics", "reader-token-1"), 200);
  EXPECT_EQ(Get("/cluster/webfiles/index.html"), 401);
  EXPECT_EQ(Get("/cluster/data?query=EventHeatMap&lookback=1h", "reader-token-1"), 200);
  {
    httplib::Client c("127.0.0.1", server_->port());
    auto r = c.Get("/api/v1/shards");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->get_header_value("WWW-Authenticate"), "Bearer realm=\"sloop\"");
  }

  // Backups and debug pages need an admin token; admins may read too.
  EXPECT_EQ(Get("/api/v1/backup"), 401);
  EXPECT_EQ(Get("/api/v1/backup", "reader-token-1"), 403);
  EXPECT_EQ(Get("/cluster/data/backup", "reader-token-1"), 403);
  EXPECT_EQ(Get("/cluster/debug/config", "reader-token-1"), 403);
  EXPECT_EQ(Get("/api/v1/backup", "admin-token"), 200);
  EXPECT_EQ(Get("/cluster/debug/shards", "admin-token"), 200);
  EXPECT_EQ(Get("/api/v1/shards", "admin-token"), 200);

  // The token file is re-read when it changes.
  WriteFile(users, "rotated-token\n");
  std::this_thread::sleep_for(1100ms);
  EXPECT_EQ(Get("/api/v1/shards", "reader-token-1"), 401);
  EXPECT_EQ(Get("/api/v1/shards", "rotated-token"), 200);
  // A change that leaves no token keeps the tokens in force.
  WriteFile(users, "# nothing\n");
  std::this_thread::sleep_for(1100ms);
  EXPECT_EQ(Get("/api/v1/shards", "rotated-token"), 200);
}

TEST_F(SecurityTest, AdminRoutesAreClosedWhenUsersAuthenticateButNoAdminTokenIsSet) {
  fs::path users = dir_ / "tokens";
  WriteFile(users, "reader\n");
  options_.authenticator = *TokenFileAuthenticator::Open(users, "token");
  ASSERT_TRUE(Start().has_value());
  std::string body;
  EXPECT_EQ(Get("/api/v1/backup", "reader", &body), 403);
  EXPECT_NE(body.find("-admin-token-file"), std::string::npos) << body;
  EXPECT_EQ(Get("/api/v1/stats", "reader"), 200);
}

TEST_F(SecurityTest, WithoutAuthenticationEverythingStaysOpen) {
  ASSERT_TRUE(Start().has_value());
  EXPECT_EQ(Get("/api/v1/backup"), 200);
  EXPECT_EQ(Get("/cluster/debug/config"), 200);
  EXPECT_EQ(Get("/api/v1/shards"), 200);
}

TEST_F(SecurityTest, WebFilesAreNotServedThroughSymlinksOutOfTheRoot) {
  fs::path web = dir_ / "web";
  fs::create_directories(web / "css");
  WriteFile(web / "ok.txt", "fine");
  WriteFile(web / "css" / "a.css", "body{}");
  WriteFile(dir_ / "secret.txt", "TOP-SECRET");
  fs::create_symlink(dir_ / "secret.txt", web / "leak.txt");
  fs::create_directory_symlink(dir_, web / "up");
  fs::create_symlink(web / "ok.txt", web / "inside.txt");  // a link that stays inside is fine
  options_.web_files_path = web.string();
  ASSERT_TRUE(Start().has_value());
  std::string body;
  EXPECT_EQ(Get("/cluster/webfiles/ok.txt", "", &body), 200);
  EXPECT_EQ(body, "fine");
  EXPECT_EQ(Get("/cluster/webfiles/css/a.css"), 200);
  EXPECT_EQ(Get("/cluster/webfiles/inside.txt", "", &body), 200);
  EXPECT_EQ(body, "fine");
  EXPECT_EQ(Get("/cluster/webfiles/leak.txt", "", &body), 404);
  EXPECT_EQ(body.find("TOP-SECRET"), std::string::npos);
  EXPECT_EQ(Get("/cluster/webfiles/up/secret.txt", "", &body), 404);
  EXPECT_EQ(body.find("TOP-SECRET"), std::string::npos);
  EXPECT_EQ(body.find(dir_.string()), std::string::npos) << body;
}

// A user directory and RBAC in one: "alice-token" is alice, who may read namespace shop only.
class FakeCluster : public Authenticator, public Authorizer {
 public:
  Result<std::optional<Identity>> Authenticate(std::string_view token) override {
    if (token == "alice-token") return std::optional<Identity>(Identity{"alice", {"dev"}});
    return std::optional<Identity>();
  }
  bool MayBlock() const override { return true; }
  Result<bool> MayRead(const Identity& id, std::string_view ns) override {
    ++decisions;
    return id.user == "alice" && ns == "shop";
  }
  std::atomic<int> decisions{0};
};

TEST_F(SecurityTest, UsersSeeOnlyTheNamespacesTheyMayRead) {
  sloop::testing::RecordMaker mk;
  ASSERT_TRUE(store_->Append(mk.Pod(kT0 + kSec, "default", "other", "uid-other", 2)).has_value());
  ASSERT_TRUE(store_->Append(mk.Pod(kT0 + 2 * kSec, "shop", "web-2", "uid-web-2", 3)).has_value());
  auto cluster = std::make_shared<FakeCluster>();
  options_.authenticator = cluster;
  options_.authorizer = cluster;
  ASSERT_TRUE(Start().has_value());
  std::string body;
  EXPECT_EQ(Get("/api/v1/timeline?lookback=1h", "mallory", &body), 401);
  ASSERT_EQ(Get("/api/v1/timeline?lookback=1h", "alice-token", &body), 200);
  EXPECT_NE(body.find("\"web-2\""), std::string::npos) << body;
  EXPECT_EQ(body.find("\"other\""), std::string::npos) << body;
  EXPECT_EQ(Get("/api/v1/timeline?lookback=1h&namespace=default", "alice-token", &body), 403);
  EXPECT_NE(body.find("namespace \\\"default\\\""), std::string::npos) << body;
  ASSERT_EQ(Get("/api/v1/namespaces?lookback=1h", "alice-token", &body), 200);
  EXPECT_NE(body.find("shop"), std::string::npos) << body;
  EXPECT_EQ(body.find("default"), std::string::npos) << body;
  ASSERT_EQ(Get("/cluster/data?query=Namespaces&lookback=1h", "alice-token", &body), 200);
  EXPECT_EQ(body.find("default"), std::string::npos) << body;
  ASSERT_EQ(Get("/cluster/data?query=EventHeatMap&lookback=1h", "alice-token", &body), 200);
  EXPECT_NE(body.find("web-2"), std::string::npos) << body;
  EXPECT_EQ(body.find("\"other\""), std::string::npos) << body;
  EXPECT_EQ(Get("/api/v1/history?kind=Pod&namespace=default&name=other", "alice-token"), 403);
  EXPECT_EQ(Get("/api/v1/history?kind=Pod&namespace=shop&name=web", "alice-token"), 200);
  EXPECT_EQ(Get("/cluster/data?query=GetResPayload&kind=Pod&namespace=default&name=other&"
                "lookback=1h",
                "alice-token"),
            403);
  EXPECT_EQ(Get("/api/v1/resources?search=other", "alice-token", &body), 200);
  EXPECT_EQ(body.find("\"other\""), std::string::npos) << body;
  EXPECT_EQ(Get("/healthz"), 200);
}

TEST_F(SecurityTest, RouteClassesOfTheSloopRouter) {
  router_ = MakeSloopRouter(options_, *store_, registry_);
  auto is = [&](std::string_view path, Lane lane, Access access) {
    RouteClass c = router_->ClassFor(path);
    return c.lane == lane && c.access == access;
  };
  EXPECT_TRUE(is("/healthz", Lane::kInline, Access::kPublic));
  EXPECT_TRUE(is("/readyz", Lane::kInline, Access::kPublic));
  EXPECT_TRUE(is("/metrics", Lane::kInline, Access::kUser));
  EXPECT_TRUE(is("/cluster/webfiles/index.html", Lane::kInline, Access::kUser));
  EXPECT_TRUE(is("/api/v1/timeline", Lane::kWorker, Access::kUser));
  EXPECT_TRUE(is("/cluster/data", Lane::kWorker, Access::kUser));
  EXPECT_TRUE(is("/api/v1/backup", Lane::kWorker, Access::kAdmin));
  EXPECT_TRUE(is("/cluster/data/backup", Lane::kWorker, Access::kAdmin));
  EXPECT_TRUE(is("/cluster/debug/config", Lane::kWorker, Access::kAdmin));
  EXPECT_TRUE(is("/cluster/debug/view", Lane::kWorker, Access::kAdmin));
}

TEST(ErrorBodies, NameNoPath) {
  Router router;
  router.Exact("/throws", "throws", [](const Request&) -> Response {
    throw std::runtime_error("open /var/lib/sloop/secret/x.seg: Permission denied");
  });
  router.Exact("/store", "store", [](const Request&) {
    return StoreErrorResponse(
        Error{ErrorCode::kIOError, "read segment /var/lib/sloop/ctx/shards/7.seg: EIO"}, "test");
  });
  router.Exact("/corrupt", "corrupt", [](const Request&) {
    return StoreErrorResponse(
        Error{ErrorCode::kCorruption, "segment /var/lib/sloop/ctx/shards/7.seg: bad checksum"},
        "test");
  });
  router.Exact("/unavailable", "unavailable", [](const Request&) {
    return StoreErrorResponse(
        Error{ErrorCode::kUnavailable, "bucket s3://history at http://10.0.0.9: timed out"}, "test");
  });
  for (const char* path : {"/throws", "/store", "/corrupt", "/unavailable"}) {
    Request req;
    req.method = "GET";
    req.target = path;
    std::string why;
    ASSERT_TRUE(ParseTarget(&req, &why));
    Response r = router.Handle(req);
    if (std::string(path) == "/unavailable") {
      // Over soon: 503 and when to try again, and nothing of where the bucket is.
      EXPECT_EQ(r.status, 503);
      EXPECT_NE(std::find(r.headers.begin(), r.headers.end(),
                          std::pair<std::string, std::string>{"Retry-After", "5"}),
                r.headers.end());
      EXPECT_EQ(r.body.find("10.0.0.9"), std::string::npos) << r.body;
      continue;
    }
    EXPECT_EQ(r.status, 500);
    EXPECT_EQ(r.body.find("/var"), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find(".seg"), std::string::npos) << r.body;
    if (std::string(path) == "/store") {
      EXPECT_NE(r.body.find("store I/O error"), std::string::npos) << r.body;
    }
  }
}

TEST(TokenHelpers, BearerAndConstantTimeCompare) {
  EXPECT_EQ(BearerToken("Bearer abc"), "abc");
  EXPECT_EQ(BearerToken("bearer   abc  "), "abc");
  EXPECT_EQ(BearerToken("Basic abc"), "");
  EXPECT_EQ(BearerToken("Bearer"), "");
  EXPECT_EQ(BearerToken(""), "");
  EXPECT_TRUE(ConstantTimeEquals("secret", "secret"));
  EXPECT_FALSE(ConstantTimeEquals("secret", "secreT"));
  EXPECT_FALSE(ConstantTimeEquals("secret", "secre"));
  EXPECT_FALSE(ConstantTimeEquals("secret", ""));
  EXPECT_FALSE(ConstantTimeEquals("", "x"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
}

TEST(TokenFile, EmptyOrMissingFileIsAnErrorThatSaysWhatToDo) {
  fs::path dir = fs::temp_directory_path() / ("sloop-tokens-" + std::to_string(getpid()));
  fs::create_directories(dir);
  auto missing = TokenFileAuthenticator::Open(dir / "nope", "t");
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().message.find("nope"), std::string::npos);
  WriteFile(dir / "empty", "# only a comment\n\n");
  auto empty = TokenFileAuthenticator::Open(dir / "empty", "t");
  ASSERT_FALSE(empty.has_value());
  EXPECT_NE(empty.error().message.find("one bearer token per line"), std::string::npos);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace sloop::http
