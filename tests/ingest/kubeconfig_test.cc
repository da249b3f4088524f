// LoadClusterConfig: kubeconfig files (merged as kubectl merges $KUBECONFIG), contexts,
// credentials, the in-cluster service account, -apiserver-host and privileged_access=false; and
// ExecCredentialSource with a tiny shell-script plugin. HOME points at a temp dir in every test,
// so the machine's ~/.kube/config never leaks in.
#include "ingest/kubeconfig.h"

#include <curl/curl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "base/time_text.h"
#include "ingest/api_client.h"
#include "ingest_test_util.h"

namespace sloop::ingest {
namespace {

namespace fs = std::filesystem;
using testing::ReadText;
using testing::ScopedEnv;
using testing::TempDir;
using testing::WriteText;

std::string Base64(std::string_view in) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < in.size(); i += 3) {
    uint32_t n = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) n |= static_cast<unsigned char>(in[i + 1]) << 8;
    if (i + 2 < in.size()) n |= static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += i + 2 < in.size() ? kAlphabet[n & 63] : '=';
  }
  return out;
}

const char kCaPem[] = "-----BEGIN CERTIFICATE-----\nMIIBfakeCA\n-----END CERTIFICATE-----\n";
const char kCertPem[] = "-----BEGIN CERTIFICATE-----\nMIIBfakeCert\n-----END CERTIFICATE-----\n";
const char kKeyPem[] = "-----BEGIN PRIVATE KEY-----\nMIIBfakeKey\n-----END PRIVATE KEY-----\n";

// A kubeconfig with one context "dev" → cluster "dev-cluster", user "dev-user"; `cluster` and
// `user` are the bodies (indented by 4) of the cluster and user entries.
std::string OneContext(const std::string& cluster, const std::string& user,
                       const std::string& current = "dev") {
  return "apiVersion: v1\nkind: Config\n" +
         (current.empty() ? std::string() : "current-context: " + current + "\n") +
         "clusters:\n- name: dev-cluster\n  cluster:\n" + cluster +
         "users:\n- name: dev-user\n  user:\n" + user +
         "contexts:\n- name: dev\n  context:\n    cluster: dev-cluster\n    user: dev-user\n"
         "    namespace: team-a\n";
}

const std::string kServer = "    server: https://dev.example.com:6443\n";
const std::string kToken = "    token: abc123\n";

class KubeconfigTest : public ::testing::Test {
 protected:
  void SetUp() override { options.service_account_dir = dir / "no-such-serviceaccount"; }

  std::string Write(const std::string& name, const std::string& text) {
    std::string path = dir / name;
    fs::create_directories(fs::path(path).parent_path());
    WriteText(path, text);
    return path;
  }

  Result<ClusterConfig> LoadFile(const std::string& path) {
    options.kubeconfig_path = path;
    return LoadClusterConfig(options);
  }

  // The error of loading `text`, which must fail.
  Error LoadError(const std::string& text) {
    auto c = LoadFile(Write("config", text));
    EXPECT_FALSE(c) << "loaded: " << (c ? c->Describe() : "");
    return c ? Error{} : c.error();
  }

  TempDir dir;
  ScopedEnv home{"HOME", dir / "home"};
  ScopedEnv kubeconfig{"KUBECONFIG", std::nullopt};
  ScopedEnv host{"KUBERNETES_SERVICE_HOST", std::nullopt};
  ScopedEnv port{"KUBERNETES_SERVICE_PORT", std::nullopt};
  ScopedEnv pod_ns{"POD_NAMESPACE", std::nullopt};
  IngestOptions options;
};

#define EXPECT_CONTAINS(haystack, needle) \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << (haystack)

// ---- bad kubeconfigs: each names the file, the context or the setting, and the fix

TEST_F(KubeconfigTest, MissingExplicitFile) {
  auto c = LoadFile(dir / "nope.yaml");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ErrorCode::kNotFound);
  EXPECT_CONTAINS(c.error().message, dir / "nope.yaml");
  EXPECT_CONTAINS(c.error().message, "check the path");
}

TEST_F(KubeconfigTest, YamlSyntaxErrorNamesFileAndLine) {
  Error e = LoadError("apiVersion: v1\nclusters:\n- name: a\n  cluster: [unclosed\nusers: []\n");
  EXPECT_EQ(e.code, ErrorCode::kInvalidArgument);
  EXPECT_CONTAINS(e.message, dir / "config");
  EXPECT_CONTAINS(e.message, "not valid YAML at line ");
  EXPECT_CONTAINS(e.message, "fix the file");
}

TEST_F(KubeconfigTest, YamlSyntaxErrorLineNumber) {
  Error e = LoadError("apiVersion: v1\nkind: Config\n- oops\ncurrent-context: dev\n");
  EXPECT_CONTAINS(e.message, "line 3");
}

TEST_F(KubeconfigTest, NotAMappingOrBadLists) {
  EXPECT_CONTAINS(LoadError("- a\n- b\n").message, "not a kubeconfig");
  EXPECT_CONTAINS(LoadError("clusters: 5\n").message, "'clusters' must be a list");
  EXPECT_CONTAINS(LoadError("users:\n- user: {}\n").message, "users[0] has no name");
}

TEST_F(KubeconfigTest, EmptyFileHasNoCurrentContext) {
  Error e = LoadError("");
  EXPECT_CONTAINS(e.message, "sets no current-context");
  EXPECT_CONTAINS(e.message, "contexts: none");
}

TEST_F(KubeconfigTest, UnknownContextListsTheKnownOnes) {
  options.context = "prod";
  Error e = LoadError(OneContext(kServer, kToken));
  EXPECT_EQ(e.code, ErrorCode::kNotFound);
  EXPECT_CONTAINS(e.message, "context \"prod\" not found");
  EXPECT_CONTAINS(e.message, dir / "config");
  EXPECT_CONTAINS(e.message, "(contexts: dev)");
  EXPECT_CONTAINS(e.message, "-context");
}

TEST_F(KubeconfigTest, UnknownCurrentContext) {
  Error e = LoadError(OneContext(kServer, kToken, "gone"));
  EXPECT_CONTAINS(e.message, "context \"gone\" not found");
}

TEST_F(KubeconfigTest, NoCurrentContext) {
  Error e = LoadError(OneContext(kServer, kToken, ""));
  EXPECT_CONTAINS(e.message, dir / "config");
  EXPECT_CONTAINS(e.message, "sets no current-context");
  EXPECT_CONTAINS(e.message, "pass -context NAME (contexts: dev)");
  EXPECT_CONTAINS(e.message, "kubectl config use-context");
}

TEST_F(KubeconfigTest, ContextNamingAMissingCluster) {
  std::string text = OneContext(kServer, kToken);
  text = testing::With(text, "    cluster: dev-cluster\n", "    cluster: other\n");
  Error e = LoadError(text);
  EXPECT_CONTAINS(e.message, "context \"dev\" of kubeconfig " + (dir / "config"));
  EXPECT_CONTAINS(e.message, "cluster \"other\", which is not defined");
  EXPECT_CONTAINS(e.message, "add it under 'clusters'");
}

TEST_F(KubeconfigTest, ContextNamingAMissingUser) {
  std::string text = OneContext(kServer, kToken);
  text = testing::With(text, "    user: dev-user\n", "    user: nobody\n");
  Error e = LoadError(text);
  EXPECT_CONTAINS(e.message, "context \"dev\"");
  EXPECT_CONTAINS(e.message, "user \"nobody\", which is not defined");
  EXPECT_CONTAINS(e.message, "'users'");
}

TEST_F(KubeconfigTest, ClusterWithoutServer) {
  Error e = LoadError(OneContext("    insecure-skip-tls-verify: true\n", kToken));
  EXPECT_CONTAINS(e.message, "cluster \"dev-cluster\" in " + (dir / "config"));
  EXPECT_CONTAINS(e.message, "has no server URL");
  EXPECT_CONTAINS(e.message, "-apiserver-host");
  // -apiserver-host supplies it.
  options.apiserver_host = "10.1.2.3:6443";
  auto c = LoadFile(dir / "config");
  ASSERT_TRUE(c) << c.error().ToString();
  EXPECT_EQ(c->server, "https://10.1.2.3:6443");
}

TEST_F(KubeconfigTest, BadBase64CaData) {
  Error e =
      LoadError(OneContext(kServer + "    certificate-authority-data: 'not*base64!'\n", kToken));
  EXPECT_EQ(e.code, ErrorCode::kInvalidArgument);
  EXPECT_CONTAINS(e.message, "cluster \"dev-cluster\" in " + (dir / "config"));
  EXPECT_CONTAINS(e.message, "certificate-authority-data is not valid base64");
}

TEST_F(KubeconfigTest, BadBase64ClientData) {
  Error e = LoadError(OneContext(kServer,
                                 "    client-certificate-data: '%%%'\n"
                                 "    client-key-data: " +
                                     Base64(kKeyPem) + "\n"));
  EXPECT_CONTAINS(e.message, "user \"dev-user\" in " + (dir / "config"));
  EXPECT_CONTAINS(e.message, "client-certificate-data is not valid base64");
}

TEST_F(KubeconfigTest, MissingCaFile) {
  Error e = LoadError(OneContext(kServer + "    certificate-authority: ca/missing.crt\n", kToken));
  EXPECT_EQ(e.code, ErrorCode::kNotFound);
  // Relative paths resolve against the kubeconfig's directory, and the message says so.
  EXPECT_CONTAINS(e.message, "certificate-authority " + (dir / "ca/missing.crt"));
  EXPECT_CONTAINS(e.message, "cannot be read");
  EXPECT_CONTAINS(e.message, "fix the path in " + (dir / "config"));
}

TEST_F(KubeconfigTest, MissingClientCertAndKeyFiles) {
  Write("key.pem", kKeyPem);
  Write("cert.pem", kCertPem);
  Error e = LoadError(OneContext(
      kServer, "    client-certificate: " + (dir / "nocert.pem") + "\n    client-key: key.pem\n"));
  EXPECT_CONTAINS(e.message, "client-certificate " + (dir / "nocert.pem"));
  EXPECT_CONTAINS(e.message, "user \"dev-user\"");
  e = LoadError(OneContext(kServer,
                           "    client-certificate: cert.pem\n"
                           "    client-key: nokey.pem\n"));
  EXPECT_CONTAINS(e.message, "client-key " + (dir / "nokey.pem"));
}

TEST_F(KubeconfigTest, MissingTokenFile) {
  Error e = LoadError(OneContext(kServer, "    tokenFile: secrets/token\n"));
  EXPECT_EQ(e.code, ErrorCode::kNotFound);
  EXPECT_CONTAINS(e.message, "user \"dev-user\" in " + (dir / "config"));
  EXPECT_CONTAINS(e.message, "tokenFile " + (dir / "secrets/token"));
}

TEST_F(KubeconfigTest, ConflictingSettings) {
  EXPECT_CONTAINS(LoadError(OneContext(kServer +
                                           "    insecure-skip-tls-verify: true\n"
                                           "    certificate-authority-data: " +
                                           Base64(kCaPem) + "\n",
                                       kToken))
                      .message,
                  "both insecure-skip-tls-verify and a certificate authority");
  EXPECT_CONTAINS(
      LoadError(OneContext(kServer, "    client-certificate-data: " + Base64(kCertPem) + "\n"))
          .message,
      "client certificate without a key");
  EXPECT_CONTAINS(
      LoadError(OneContext(kServer, kToken + "    username: u\n    password: p\n")).message,
      "more than one authentication method");
}

TEST_F(KubeconfigTest, RemovedAuthProviderAndUnknownExecVersion) {
  Error e = LoadError(OneContext(kServer, "    auth-provider:\n      name: gcp\n"));
  EXPECT_EQ(e.code, ErrorCode::kUnsupported);
  EXPECT_CONTAINS(e.message, "auth-provider \"gcp\"");
  EXPECT_CONTAINS(e.message, "gke-gcloud-auth-plugin");
  e = LoadError(OneContext(kServer,
                           "    exec:\n      apiVersion: client.authentication.k8s.io/"
                           "v1alpha1\n      command: aws\n"));
  EXPECT_EQ(e.code, ErrorCode::kUnsupported);
  EXPECT_CONTAINS(e.message, "v1alpha1");
  e = LoadError(OneContext(kServer,
                           "    exec:\n      apiVersion: client.authentication.k8s.io/"
                           "v1\n"));
  EXPECT_CONTAINS(e.message, "exec has no command");
}

// From memory (the fuzz target's entry point): the same resolution as one file, but files the
// config names are refused rather than read, and bad YAML is an error, not an exception.
TEST_F(KubeconfigTest, ParseFromMemoryReadsNoFile) {
  auto c = ParseKubeconfig(
      OneContext(kServer + "    certificate-authority-data: " + Base64(kCaPem) + "\n", kToken),
      options);
  ASSERT_TRUE(c) << c.error().ToString();
  EXPECT_EQ(c->server, "https://dev.example.com:6443");
  EXPECT_EQ(c->ca_pem, kCaPem);
  EXPECT_EQ(c->token, "abc123");
  Write("ca.crt", kCaPem);
  auto e = ParseKubeconfig(
      OneContext(kServer + "    certificate-authority: " + (dir / "ca.crt") + "\n", kToken),
      options);
  ASSERT_FALSE(e);
  EXPECT_CONTAINS(e.error().message, "not read here");
  e = ParseKubeconfig(OneContext(kServer, "    tokenFile: /etc/hostname\n"), options);
  ASSERT_FALSE(e);
  EXPECT_CONTAINS(e.error().message, "tokenFile");
  for (const char* bad : {"{{{", "clusters: 5\n", "- [a, b]\n", "clusters:\n- x\n- [1]\n"}) {
    auto b = ParseKubeconfig(bad, options);
    EXPECT_FALSE(b) << bad;
  }
}

TEST_F(KubeconfigTest, NothingToConnectTo) {
  options.kubeconfig_path.clear();
  auto c = LoadClusterConfig(options);
  ASSERT_FALSE(c);
  EXPECT_CONTAINS(c.error().message, "KUBECONFIG is unset, ~/.kube/config does not exist");
  EXPECT_CONTAINS(c.error().message, "KUBERNETES_SERVICE_HOST unset");
}

TEST_F(KubeconfigTest, KubeconfigEnvWithOnlyMissingFiles) {
  ScopedEnv env("KUBECONFIG", (dir / "a") + ":" + (dir / "b"));
  auto c = LoadClusterConfig(options);
  ASSERT_FALSE(c);
  EXPECT_CONTAINS(c.error().message, "none of the files in KUBECONFIG exist");
  EXPECT_CONTAINS(c.error().message, (dir / "a") + ":" + (dir / "b"));
}

TEST_F(KubeconfigTest, KubeconfigEnvWithABrokenFileNamesIt) {
  std::string good = Write("good", OneContext(kServer, kToken));
  std::string bad = Write("bad", "clusters: [\n");
  ScopedEnv env("KUBECONFIG", good + ":" + bad);
  auto c = LoadClusterConfig(options);
  ASSERT_FALSE(c);
  EXPECT_CONTAINS(c.error().message, bad);
}

// ---- good kubeconfigs

TEST_F(KubeconfigTest, TokenAndContextSettings) {
  auto c = LoadFile(Write("config", OneContext("    server: https://dev.example.com:6443/prefix/\n"
                                               "    tls-server-name: api.internal\n"
                                               "    proxy-url: http://proxy:3128\n",
                                               kToken)));
  ASSERT_TRUE(c) << c.error().ToString();
  EXPECT_EQ(c->context, "dev");
  EXPECT_EQ(c->server, "https://dev.example.com:6443/prefix");
  EXPECT_EQ(c->token, "abc123");
  EXPECT_EQ(c->namespace_, "team-a");
  EXPECT_EQ(c->tls_server_name, "api.internal");
  EXPECT_EQ(c->proxy_url, "http://proxy:3128");
  EXPECT_TRUE(c->uses_tls());
  EXPECT_FALSE(c->insecure_skip_tls_verify);
  EXPECT_FALSE(c->exec);
  EXPECT_EQ(c->source, "kubeconfig " + (dir / "config"));
  EXPECT_EQ(c->Describe(), "context \"dev\" of kubeconfig " + (dir / "config") +
                               " (server https://dev.example.com:6443/prefix)");
}

TEST_F(KubeconfigTest, TokenFileIsKeptAsAPathToReread) {
  Write("tokens/t", "secret-token\n");
  auto c = LoadFile(Write("config", OneContext(kServer, "    tokenFile: tokens/t\n")));
  ASSERT_TRUE(c) << c.error().ToString();
  EXPECT_EQ(c->token_file, dir / "tokens/t");
  EXPECT_EQ(c->token, "");
}

TEST_F(KubeconfigTest, BasicAuth) {
  auto c = LoadFile(Write("config", OneContext(kServer,
                                               "    username: admin\n"
                                               "    password: s3cret\n")));
  ASSERT_TRUE(c) << c.error().ToString();
  EXPECT_EQ(c->username, "admin");
  EXPECT_EQ(c->password, "s3cret");
  EXPECT_EQ(c->token, "");
}

TEST_F(KubeconfigTest, CertificateData) {
  // Base64 wrapped over lines, as some tools write it.
  std::string ca = Base64(kCaPem);
  ca.insert(20, "\n      ");
  auto c = LoadFile(
      Write("config", OneContext(kServer + "    certificate-authority-data: |\n      " + ca + "\n",
                                 "    client-certificate-data: " + Base64(kCertPem) +
                                     "\n    client-key-data: " + Base64(kKeyPem) + "\n")));
  ASSERT_TRUE(c) << c.error().ToString();
  EXPECT_EQ(c->ca_pem, kCaPem);
  EXPECT_EQ(c->client_cert_pem, kCertPem);
  EXPECT_EQ(c->client_key_pem, kKeyPem);
}

TEST_F(KubeconfigTest, CertificateFilesRelativeAbsoluteAndHome) {
  Write("pki/ca.crt", kCaPem);
  Write("home/.kube/client.crt", kCertPem);
  std::string key = Write("elsewhere/client.key", kKeyPem);
  auto c = LoadFile(Write("config", OneContext(kServer + "    certificate-authority: pki/ca.crt\n",
                                               "    client-certificate: ~/.kube/client.crt\n"
                                               "    client-key: " +
                                                   key + "\n")));
  ASSERT_TRUE(c) << c.error().ToString();
  EXPECT_EQ(c->ca_pem, kCaPem);
  EXPECT_EQ(c->client_cert_pem, kCertPem);
  EXPECT_EQ(c->client_key_pem, kKeyPem);
}

TEST_F(KubeconfigTest, DataWinsOverFile) {
  auto c = LoadFile(Write("config", OneContext(kServer +
                                                   "    certificate-authority: missing.crt\n"
                                                   "    certificate-authority-data: " +
                                                   Base64(kCaPem) + "\n",
                                               kToken)));
  ASSERT_TRUE(c) << c.error().ToString();
  EXPECT_EQ(c->ca_pem, kCaPem);
}

TEST_F(KubeconfigTest, InsecureSkipTlsVerify) {
  auto c = LoadFile(
      Write("config", OneContext(kServer + "    insecure-skip-tls-verify: true\n", kToken)));
  ASSERT_TRUE(c) << c.error().ToString();
  EXPECT_TRUE(c->insecure_skip_tls_verify);
  EXPECT_EQ(c->ca_pem, "");
}

TEST_F(KubeconfigTest, ApiserverHostOverridesTheServer) {
  std::string path = Write("config", OneContext(kServer, kToken));
  options.apiserver_host = "https://override.example.com:8443/";
  auto c = LoadFile(path);
  ASSERT_TRUE(c) << c.error().ToString();
  EXPECT_EQ(c->server, "https://override.example.com:8443");
  EXPECT_EQ(c->token, "abc123");  // credentials still come from the kubeconfig
  options.apiserver_host = "http://127.0.0.1:8001";
  c = LoadFile(path);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->server, "http://127.0.0.1:8001");
  EXPECT_FALSE(c->uses_tls());
}

TEST_F(KubeconfigTest, ContextOverride) {
  std::string text = OneContext(kServer, kToken) +
                     "- name: staging\n  context:\n    cluster: staging-cluster\n"
                     "    user: dev-user\n";
  text = testing::With(text, "users:\n",
                       "- name: staging-cluster\n  cluster:\n"
                       "    server: https://staging.example.com\nusers:\n");
  std::string path = Write("config", text);
  auto c = LoadFile(path);
  ASSERT_TRUE(c) << c.error().ToString();
  EXPECT_EQ(c->context, "dev");
  options.context = "staging";
  c = LoadFile(path);
  ASSERT_TRUE(c) << c.error().ToString();
  EXPECT_EQ(c->context, "staging");
  EXPECT_EQ(c->server, "https://staging.example.com");
  EXPECT_EQ(c->namespace_, "");
}

TEST_F(KubeconfigTest, ContextWithoutUserHasNoCredentials) {
  auto c = LoadFile(Write("config",
                          "current-context: anon\nclusters:\n- name: c\n  cluster:\n"
                          "    server: https://x\ncontexts:\n- name: anon\n"
                          "  context:\n    cluster: c\n"));
  ASSERT_TRUE(c) << c.error().ToString();
  EXPECT_EQ(c->token, "");
  EXPECT_EQ(c->username, "");
}

TEST_F(KubeconfigTest, HomeKubeConfigIsTheDefault) {
  Write("home/.kube/config", OneContext(kServer, kToken));
  options.kubeconfig_path.clear();
  auto c = LoadClusterConfig(options);
  ASSERT_TRUE(c) << c.error().ToString();
  EXPECT_EQ(c->source, "kubeconfig " + (dir / "home/.kube/config"));
  EXPECT_EQ(c->token, "abc123");
}

// ---- KUBECONFIG merging, as kubectl does it

class KubeconfigMergeTest : public KubeconfigTest {
 protected:
  void SetUp() override {
    KubeconfigTest::SetUp();
    // First file: no current-context (unless a test adds one); defines "shared" names.
    first = Write("first/config",
                  "clusters:\n"
                  "- name: shared-cluster\n  cluster:\n    server: https://first.example.com\n"
                  "    certificate-authority: ca.crt\n"
                  "- name: only-first\n  cluster:\n    server: https://only-first.example.com\n"
                  "users:\n- name: shared-user\n  user:\n    token: first-token\n"
                  "contexts:\n"
                  "- name: shared\n  context:\n    cluster: shared-cluster\n"
                  "    user: shared-user\n"
                  "- name: first-ctx\n  context:\n    cluster: only-second\n"
                  "    user: second-user\n");
    Write("first/ca.crt", "first CA");
    second = Write("second/config",
                   "current-context: second-ctx\n"
                   "clusters:\n"
                   "- name: shared-cluster\n  cluster:\n    server: https://second.example.com\n"
                   "- name: only-second\n  cluster:\n    server: https://only-second.example.com\n"
                   "    certificate-authority: ca.crt\n"
                   "users:\n- name: shared-user\n  user:\n    token: second-token\n"
                   "- name: second-user\n  user:\n    tokenFile: token\n"
                   "contexts:\n"
                   "- name: shared\n  context:\n    cluster: only-second\n"
                   "    user: second-user\n"
                   "- name: second-ctx\n  context:\n    cluster: shared-cluster\n"
                   "    user: shared-user\n");
    Write("second/ca.crt", "second CA");
    Write("second/token", "t2");
  }
  std::string first, second;
};

TEST_F(KubeconfigMergeTest, FirstFileWinsAndCurrentContextFromFirstFileThatSetsIt) {
  ScopedEnv env("KUBECONFIG", (dir / "missing") + "::" + first + ":" + second);
  auto c = LoadClusterConfig(options);
  ASSERT_TRUE(c) << c.error().ToString();
  // current-context from the second file (the first sets none); its cluster and user names are
  // resolved against the merged maps, where the first file's definitions won.
  EXPECT_EQ(c->context, "second-ctx");
  EXPECT_EQ(c->server, "https://first.example.com");
  EXPECT_EQ(c->token, "first-token");
  EXPECT_EQ(c->ca_pem, "first CA");  // relative to the file that defined the cluster
  EXPECT_EQ(c->source, "kubeconfig files " + first + ", " + second);
}

TEST_F(KubeconfigMergeTest, ContextsFromEitherFile) {
  ScopedEnv env("KUBECONFIG", first + ":" + second);
  options.context = "shared";  // defined by both: the first file's wins
  auto c = LoadClusterConfig(options);
  ASSERT_TRUE(c) << c.error().ToString();
  EXPECT_EQ(c->server, "https://first.example.com");
  // A context of the first file using names only the second file defines.
  options.context = "first-ctx";
  c = LoadClusterConfig(options);
  ASSERT_TRUE(c) << c.error().ToString();
  EXPECT_EQ(c->server, "https://only-second.example.com");
  EXPECT_EQ(c->ca_pem, "second CA");
  EXPECT_EQ(c->token_file, fs::path(second).parent_path() / "token");
}

TEST_F(KubeconfigMergeTest, CurrentContextOfTheFirstFileWins) {
  std::string third = Write("third/config", "current-context: shared\n");
  ScopedEnv env("KUBECONFIG", third + ":" + second + ":" + first);
  auto c = LoadClusterConfig(options);
  ASSERT_TRUE(c) << c.error().ToString();
  EXPECT_EQ(c->context, "shared");
  // Now the second file comes before the first: its definitions win.
  EXPECT_EQ(c->server, "https://only-second.example.com");
  EXPECT_EQ(c->token_file, fs::path(second).parent_path() / "token");
}

TEST_F(KubeconfigMergeTest, UnknownContextListsContextsOfAllFiles) {
  ScopedEnv env("KUBECONFIG", first + ":" + second);
  options.context = "nope";
  auto c = LoadClusterConfig(options);
  ASSERT_FALSE(c);
  EXPECT_CONTAINS(c.error().message, "kubeconfig files " + first + ", " + second);
  EXPECT_CONTAINS(c.error().message, "contexts: first-ctx, second-ctx, shared");
}

TEST_F(KubeconfigMergeTest, ExplicitPathWinsOverKubeconfigEnv) {
  ScopedEnv env("KUBECONFIG", first + ":" + second);
  std::string own = Write("own", OneContext(kServer, kToken));
  auto c = LoadFile(own);
  ASSERT_TRUE(c) << c.error().ToString();
  EXPECT_EQ(c->context, "dev");
}

// ---- in-cluster

// ---- whether there is any cluster configuration at all (sloop starts the simulator if not)

TEST_F(KubeconfigTest, ClusterConfiguredFollowsTheLoadingRules) {
  EXPECT_FALSE(ClusterConfigured(options)) << "nothing: no KUBECONFIG, no ~/.kube/config";
  {
    IngestOptions o = options;
    o.apiserver_host = "https://10.0.0.1:6443";
    EXPECT_TRUE(ClusterConfigured(o));
  }
  {
    ScopedEnv env("KUBECONFIG", dir / "does-not-exist-yet");
    EXPECT_TRUE(ClusterConfigured(options)) << "a set KUBECONFIG is used, and its errors shown";
  }
  Write("home/.kube/config", "apiVersion: v1\nkind: Config\n");
  EXPECT_TRUE(ClusterConfigured(options));
  options.privileged_access = false;  // reads no kubeconfig: only in-cluster or apiserver_host
  EXPECT_FALSE(ClusterConfigured(options));
}

class InClusterTest : public KubeconfigTest {
 protected:
  void SetUp() override {
    KubeconfigTest::SetUp();
    options.service_account_dir = dir / "sa";
    Write("sa/token", "sa-token");
    Write("sa/ca.crt", kCaPem);
    Write("sa/namespace", "monitoring");
  }
  ScopedEnv host_{"KUBERNETES_SERVICE_HOST", "10.96.0.1"};
  ScopedEnv port_{"KUBERNETES_SERVICE_PORT", "443"};
};

TEST_F(InClusterTest, ServiceAccount) {
  auto c = LoadClusterConfig(options);
  ASSERT_TRUE(c) << c.error().ToString();
  EXPECT_EQ(c->server, "https://10.96.0.1:443");
  EXPECT_EQ(c->token_file, dir / "sa/token");
  EXPECT_EQ(c->ca_pem, kCaPem);
  EXPECT_EQ(c->namespace_, "monitoring");
  EXPECT_EQ(c->context, "");
  EXPECT_CONTAINS(c->source, "in-cluster service account");
  EXPECT_CONTAINS(c->Describe(), "(server https://10.96.0.1:443)");
}

TEST_F(InClusterTest, Ipv6HostPodNamespaceAndApiserverHost) {
  ScopedEnv h("KUBERNETES_SERVICE_HOST", "fd00::1");
  ScopedEnv ns("POD_NAMESPACE", "from-env");
  auto c = LoadClusterConfig(options);
  ASSERT_TRUE(c) << c.error().ToString();
  EXPECT_EQ(c->server, "https://[fd00::1]:443");
  EXPECT_EQ(c->namespace_, "from-env");
  options.apiserver_host = "kubernetes.default.svc:443";
  c = LoadClusterConfig(options);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->server, "https://kubernetes.default.svc:443");
}

TEST_F(InClusterTest, MissingCa) {
  fs::remove(dir / "sa/ca.crt");
  auto c = LoadClusterConfig(options);
  ASSERT_FALSE(c);
  EXPECT_CONTAINS(c.error().message, dir / "sa/ca.crt");
  EXPECT_CONTAINS(c.error().message, "service account CA is missing");
}

TEST_F(InClusterTest, NotInClusterWithoutEnv) {
  ScopedEnv h("KUBERNETES_SERVICE_HOST", std::nullopt);
  EXPECT_FALSE(ClusterConfigured(options));
  EXPECT_FALSE(LoadClusterConfig(options));
}

// In a pod, a token that cannot be read (not projected yet, a broken mount) is not a reason to
// connect elsewhere (the simulator): the config names the token file, whose reading fails on each
// request and is retried. A half-set environment is a clear error.
TEST_F(InClusterTest, InAPodAMissingTokenStaysInCluster) {
  fs::remove(dir / "sa/token");
  EXPECT_TRUE(ClusterConfigured(options));
  auto c = LoadClusterConfig(options);
  ASSERT_TRUE(c) << c.error().ToString();
  EXPECT_EQ(c->token_file, dir / "sa/token");
  ScopedEnv p("KUBERNETES_SERVICE_PORT", std::nullopt);
  EXPECT_TRUE(ClusterConfigured(options));
  auto e = LoadClusterConfig(options);
  ASSERT_FALSE(e);
  EXPECT_CONTAINS(e.error().message, "KUBERNETES_SERVICE_PORT is not");
}

TEST_F(InClusterTest, KubeconfigBeatsInCluster) {
  Write("home/.kube/config", OneContext(kServer, kToken));
  auto c = LoadClusterConfig(options);
  ASSERT_TRUE(c) << c.error().ToString();
  EXPECT_EQ(c->server, "https://dev.example.com:6443");
}

// ---- privileged_access = false (Sloop's -allow-privileged-access=false): no kubeconfig read

TEST_F(InClusterTest, UnprivilegedReadsNoKubeconfig) {
  Write("home/.kube/config", "this: [is not yaml\n");
  ScopedEnv env("KUBECONFIG", Write("broken", "{{{"));
  options.privileged_access = false;
  options.kubeconfig_path = dir / "broken";
  auto c = LoadClusterConfig(options);
  ASSERT_TRUE(c) << c.error().ToString();
  EXPECT_EQ(c->server, "https://10.96.0.1:443");
  EXPECT_EQ(c->token_file, dir / "sa/token");
  options.apiserver_host = "api.example.com:6443";
  options.context = "ignored-but-kept";
  c = LoadClusterConfig(options);
  ASSERT_TRUE(c) << c.error().ToString();
  EXPECT_EQ(c->server, "https://api.example.com:6443");
  EXPECT_EQ(c->token_file, "");
  EXPECT_EQ(c->token, "");
  EXPECT_CONTAINS(c->source, "kubeconfig not read");
}

TEST_F(KubeconfigTest, UnprivilegedWithNothingToConnectTo) {
  Write("home/.kube/config", OneContext(kServer, kToken));
  options.privileged_access = false;
  auto c = LoadClusterConfig(options);
  ASSERT_FALSE(c);
  EXPECT_CONTAINS(c.error().message, "-allow-privileged-access=false");
  EXPECT_CONTAINS(c.error().message, "set -apiserver-host");
}

TEST(DecodeBase64Test, Basics) {
  EXPECT_EQ(*DecodeBase64("aGVsbG8="), "hello");
  EXPECT_EQ(*DecodeBase64("aGVs\nbG8h"), "hello!");
  EXPECT_EQ(*DecodeBase64(""), "");
  EXPECT_EQ(*DecodeBase64(Base64(kCertPem)), kCertPem);
  EXPECT_FALSE(DecodeBase64("a*b"));
}

// ---- exec credential plugins

// A plugin script that counts its runs in `dir`/count, saves its KUBERNETES_EXEC_INFO and argv,
// and prints a token "tok-<run>" expiring at $EXPIRY (none when EXPIRY is empty).
const char kPlugin[] = R"SH(#!/bin/sh
d=$(dirname "$0")
n=$(cat "$d/count" 2>/dev/null || echo 0)
n=$((n+1))
echo $n > "$d/count"
printf '%s' "$KUBERNETES_EXEC_INFO" > "$d/info"
echo "$@" > "$d/args"
if [ -n "$FAIL" ]; then echo "error: you must be logged in to the server ($FAIL)" >&2; exit 3; fi
if [ -n "$EXPIRY" ]; then
  printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"tok-%s","expirationTimestamp":"%s"}}\n' "$n" "$EXPIRY"
else
  printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"tok-%s"}}\n' "$n"
fi
)SH";

std::string Rfc3339In(std::chrono::seconds from_now) {
  const auto t = std::chrono::system_clock::now() + from_now;
  return FormatRfc3339Fixed(
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count(), 0);
}

class ExecPluginTest : public KubeconfigTest {
 protected:
  void SetUp() override {
    KubeconfigTest::SetUp();
    plugin = WriteScript("plugins/plugin.sh", kPlugin);
  }
  std::string WriteScript(const std::string& name, const std::string& text) {
    std::string path = Write(name, text);
    chmod(path.c_str(), 0755);
    return path;
  }
  ExecConfig Config(const std::string& expiry) {
    ExecConfig e;
    e.api_version = "client.authentication.k8s.io/v1";
    e.command = plugin;
    e.args = {"token", "--cluster", "dev"};
    e.env = {{"EXPIRY", expiry}};
    return e;
  }
  int Runs() { return std::stoi(ReadText(dir / "plugins/count")); }
  std::string plugin;
};

TEST_F(ExecPluginTest, KubeconfigExecSection) {
  auto c = LoadFile(Write("config", OneContext(kServer, R"(    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: ./plugins/plugin.sh
      args: [token, --cluster, dev]
      env:
      - name: EXPIRY
        value: "2030-01-01T00:00:00Z"
      installHint: install the plugin
      provideClusterInfo: true
      interactiveMode: Never
)")));
  ASSERT_TRUE(c) << c.error().ToString();
  ASSERT_TRUE(c->exec);
  EXPECT_EQ(c->exec->command, plugin);  // relative to the kubeconfig's directory
  EXPECT_EQ(c->exec->args, (std::vector<std::string>{"token", "--cluster", "dev"}));
  ASSERT_EQ(c->exec->env.size(), 1u);
  EXPECT_EQ(c->exec->env[0].first, "EXPIRY");
  EXPECT_EQ(c->exec->install_hint, "install the plugin");
  EXPECT_TRUE(c->exec->provide_cluster_info);
  EXPECT_EQ(c->exec->interactive_mode, "Never");
}

TEST_F(ExecPluginTest, BareCommandIsLookedUpInPath) {
  auto c = LoadFile(Write("config", OneContext(kServer,
                                               "    exec:\n      apiVersion: "
                                               "client.authentication.k8s.io/v1beta1\n"
                                               "      command: aws\n")));
  ASSERT_TRUE(c) << c.error().ToString();
  EXPECT_EQ(c->exec->command, "aws");
}

TEST_F(ExecPluginTest, TokenIsCachedUntilRefresh) {
  ExecCredentialSource src(Config("2099-01-01T00:00:00Z"), "https://dev.example.com", kCaPem);
  auto a = src.Get(false);
  ASSERT_TRUE(a) << a.error().ToString();
  EXPECT_EQ(a->token, "tok-1");
  EXPECT_EQ(a->expiry_ns, 4070908800LL * 1'000'000'000);
  auto b = src.Get(false);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->token, "tok-1");
  EXPECT_EQ(src.runs(), 1);
  auto c = src.Get(true);  // the server said 401
  ASSERT_TRUE(c);
  EXPECT_EQ(c->token, "tok-2");
  EXPECT_EQ(src.Get(false)->token, "tok-2");
  EXPECT_EQ(src.runs(), 2);
  EXPECT_EQ(Runs(), 2);
  EXPECT_EQ(ReadText(dir / "plugins/args"), "token --cluster dev\n");
  std::string info = ReadText(dir / "plugins/info");
  EXPECT_CONTAINS(info, R"("apiVersion":"client.authentication.k8s.io/v1")");
  EXPECT_CONTAINS(info, R"("kind":"ExecCredential")");
  EXPECT_CONTAINS(info, R"("interactive":false)");
  EXPECT_EQ(info.find("dev.example.com"), std::string::npos);  // provideClusterInfo unset
}

TEST_F(ExecPluginTest, NoExpiryMeansCachedForever) {
  ExecCredentialSource src(Config(""), "https://x", "");
  EXPECT_EQ(src.Get(false)->token, "tok-1");
  EXPECT_EQ(src.Get(false)->expiry_ns, 0);
  EXPECT_EQ(src.runs(), 1);
}

TEST_F(ExecPluginTest, ExpiredOrSoonExpiringTokensAreRenewed) {
  // Expired already: every Get runs the plugin.
  ExecCredentialSource past(Config("2001-01-01T00:00:00Z"), "https://x", "");
  EXPECT_EQ(past.Get(false)->token, "tok-1");
  EXPECT_EQ(past.Get(false)->token, "tok-2");
  EXPECT_EQ(past.runs(), 2);
  // Expiring within the 10 s margin counts as expired.
  fs::remove(dir / "plugins/count");
  ExecCredentialSource soon(Config(Rfc3339In(std::chrono::seconds(5))), "https://x", "");
  EXPECT_EQ(soon.Get(false)->token, "tok-1");
  EXPECT_EQ(soon.Get(false)->token, "tok-2");
}

TEST_F(ExecPluginTest, CachedUntilShortlyBeforeExpiryThenRerun) {
  ExecCredentialSource src(Config(Rfc3339In(std::chrono::seconds(12))), "https://x", "");
  EXPECT_EQ(src.Get(false)->token, "tok-1");
  EXPECT_EQ(src.Get(false)->token, "tok-1");
  EXPECT_EQ(src.runs(), 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(2200));
  EXPECT_EQ(src.Get(false)->token, "tok-2");
  EXPECT_EQ(src.runs(), 2);
}

TEST_F(ExecPluginTest, ProvideClusterInfo) {
  ExecConfig e = Config("");
  e.provide_cluster_info = true;
  ExecCredentialSource src(e, "https://dev.example.com:6443", kCaPem);
  ASSERT_TRUE(src.Get(false));
  std::string info = ReadText(dir / "plugins/info");
  EXPECT_CONTAINS(info, R"("cluster":{"server":"https://dev.example.com:6443")");
  EXPECT_CONTAINS(info, R"("certificate-authority-data":")" + Base64(kCaPem) + "\"");
}

TEST_F(ExecPluginTest, FailingPluginNamesExitStatusAndStderr) {
  ExecConfig e = Config("");
  e.env.emplace_back("FAIL", "sso session expired");
  ExecCredentialSource src(e, "https://x", "");
  auto c = src.Get(false);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ErrorCode::kUnavailable);
  EXPECT_CONTAINS(c.error().message, "exec credential plugin " + plugin);
  EXPECT_CONTAINS(c.error().message, "exit status 3");
  EXPECT_CONTAINS(c.error().message,
                  "error: you must be logged in to the server (sso session expired)");
}

TEST_F(ExecPluginTest, MissingPluginGivesTheInstallHint) {
  ExecConfig e = Config("");
  e.command = dir / "no-such-plugin";
  e.install_hint = "brew install aws-iam-authenticator";
  ExecCredentialSource src(e, "https://x", "");
  auto c = src.Get(false);
  ASSERT_FALSE(c);
  EXPECT_CONTAINS(c.error().message, "cannot be started");
  EXPECT_CONTAINS(c.error().message, "brew install aws-iam-authenticator");
  e.command = "sloop-no-such-plugin-in-path";
  e.install_hint.clear();
  ExecCredentialSource src2(e, "https://x", "");
  c = src2.Get(false);
  ASSERT_FALSE(c);
  EXPECT_CONTAINS(c.error().message, "install it or fix exec.command");
}

TEST_F(ExecPluginTest, PluginPrintingGarbageOrNoCredential) {
  ExecConfig e = Config("");
  e.command = WriteScript("garbage.sh", "#!/bin/sh\necho 'not json'\n");
  auto c = ExecCredentialSource(e, "https://x", "").Get(false);
  ASSERT_FALSE(c);
  EXPECT_CONTAINS(c.error().message, "printed no ExecCredential JSON");
  e.command = WriteScript("empty.sh", "#!/bin/sh\necho '{\"status\":{}}'\n");
  c = ExecCredentialSource(e, "https://x", "").Get(false);
  ASSERT_FALSE(c);
  EXPECT_CONTAINS(c.error().message, "neither status.token nor status.clientCertificateData");
}

TEST_F(ExecPluginTest, ClientCertificateCredential) {
  ExecConfig e = Config("");
  e.command =
      WriteScript("cert.sh",
                  "#!/bin/sh\nprintf '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":"
                  "\"ExecCredential\",\"status\":{\"clientCertificateData\":\"CERT\\\\n\","
                  "\"clientKeyData\":\"KEY\"}}'\n");
  auto c = ExecCredentialSource(e, "https://x", "").Get(false);
  ASSERT_TRUE(c) << c.error().ToString();
  EXPECT_EQ(c->client_cert_pem, "CERT\n");
  EXPECT_EQ(c->client_key_pem, "KEY");
  EXPECT_EQ(c->token, "");
}

// The exec token is what requests carry; a 401 makes the next request run the plugin again.
std::string AuthorizationHeader(curl_slist* headers) {
  for (curl_slist* h = headers; h; h = h->next) {
    std::string_view line(h->data);
    if (line.starts_with("Authorization: ")) return std::string(line);
  }
  return "";
}

TEST_F(ExecPluginTest, ApiClientSendsTheExecTokenAndRefreshesAfter401) {
  ClusterConfig cfg;
  cfg.server = "https://dev.example.com:6443";
  cfg.token = "static-token";  // an exec plugin's token takes precedence
  cfg.exec = Config("2099-01-01T00:00:00Z");
  ApiClient client(cfg);
  CURL* easy = curl_easy_init();
  ASSERT_NE(easy, nullptr);
  auto h1 = client.Prepare(easy, "/api", "application/json");
  ASSERT_TRUE(h1) << h1.error().ToString();
  EXPECT_EQ(AuthorizationHeader(*h1), "Authorization: Bearer tok-1");
  curl_slist_free_all(*h1);
  auto h2 = client.Prepare(easy, "/api", "application/json");
  ASSERT_TRUE(h2);
  EXPECT_EQ(AuthorizationHeader(*h2), "Authorization: Bearer tok-1");
  curl_slist_free_all(*h2);
  EXPECT_EQ(client.exec_runs(), 1);
  client.CredentialsRejected();
  auto h3 = client.Prepare(easy, "/api", "application/json");
  ASSERT_TRUE(h3);
  EXPECT_EQ(AuthorizationHeader(*h3), "Authorization: Bearer tok-2");
  curl_slist_free_all(*h3);
  EXPECT_EQ(client.exec_runs(), 2);
  curl_easy_cleanup(easy);
}

TEST_F(ExecPluginTest, ApiClientPropagatesAFailingPlugin) {
  ClusterConfig cfg;
  cfg.server = "https://dev.example.com:6443";
  cfg.exec = Config("");
  cfg.exec->env.emplace_back("FAIL", "x");
  ApiClient client(cfg);
  CURL* easy = curl_easy_init();
  auto h = client.Prepare(easy, "/api", "application/json");
  ASSERT_FALSE(h);
  EXPECT_CONTAINS(h.error().message, "exit status 3");
  curl_easy_cleanup(easy);
}

TEST_F(KubeconfigTest, ApiClientRereadsTheTokenFile) {
  ClusterConfig cfg;
  cfg.server = "https://dev.example.com:6443";
  cfg.token_file = dir / "token";
  WriteText(cfg.token_file, "first\n");
  ApiClient client(cfg);
  CURL* easy = curl_easy_init();
  auto h = client.Prepare(easy, "/api", "application/json");
  ASSERT_TRUE(h);
  EXPECT_EQ(AuthorizationHeader(*h), "Authorization: Bearer first");
  curl_slist_free_all(*h);
  WriteText(cfg.token_file, "rotated");
  h = client.Prepare(easy, "/api", "application/json");
  ASSERT_TRUE(h);
  EXPECT_EQ(AuthorizationHeader(*h), "Authorization: Bearer rotated");
  curl_slist_free_all(*h);
  fs::remove(cfg.token_file);
  h = client.Prepare(easy, "/api", "application/json");
  ASSERT_FALSE(h);
  EXPECT_CONTAINS(h.error().message, "token file " + cfg.token_file);
  curl_easy_cleanup(easy);
}

TEST_F(KubeconfigTest, ApiClientSendsNoCredentialsWithoutTls) {
  ClusterConfig cfg;
  cfg.server = "http://127.0.0.1:8001";
  cfg.token = "secret";
  ApiClient client(cfg);
  CURL* easy = curl_easy_init();
  auto h = client.Prepare(easy, "/api", "application/json");
  ASSERT_TRUE(h);
  EXPECT_EQ(AuthorizationHeader(*h), "");
  curl_slist_free_all(*h);
  curl_easy_cleanup(easy);
}

}  // namespace
}  // namespace sloop::ingest
