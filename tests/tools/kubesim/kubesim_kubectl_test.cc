// The real kubectl (/usr/bin/kubectl, v1.32 via the gcloud dispatcher) against the kubesim
// binary on a loopback port: listing, JSON output, api-resources, watching, the 410 of a watch
// from a compacted resourceVersion, and TLS with a bearer token. Asserts on what kubectl prints.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int count(const std::string& s, std::string_view needle) {
  int n = 0;
  for (size_t p = s.find(needle); p != std::string::npos; p = s.find(needle, p + needle.size())) {
    ++n;
  }
  return n;
}

std::string kubectl_path() {
  for (const char* p : {"/usr/bin/kubectl", "/usr/local/bin/kubectl"}) {
    if (access(p, X_OK) == 0) return p;
  }
  return "";
}

// A kubesim child process with its own directory (port file, kubeconfig, log, HOME for kubectl).
class Kubesim {
 public:
  explicit Kubesim(std::vector<std::string> extra) {
    dir_ = fs::temp_directory_path() /
           ("kubesim-kubectl-" + std::to_string(getpid()) + "-" + std::to_string(next_++));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "home");
    std::vector<std::string> args{KUBESIM_BINARY, "--port",     "0",
                                  "--port-file",  port_file(),  "--kubeconfig-out",
                                  kubeconfig(),   "--cert-dir", (dir_ / "certs").string()};
    args.insert(args.end(), extra.begin(), extra.end());
    pid_ = fork();
    if (pid_ == 0) {
      FILE* f = std::freopen((dir_ / "kubesim.log").c_str(), "w", stderr);
      (void)f;
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline && !fs::exists(port_file())) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    // The kubeconfig is written right after the port file.
    while (std::chrono::steady_clock::now() < deadline && !fs::exists(kubeconfig())) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  ~Kubesim() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    fs::remove_all(dir_);
  }
  bool ready() const { return fs::exists(port_file()) && fs::exists(kubeconfig()); }
  std::string port_file() const { return (dir_ / "port").string(); }
  std::string kubeconfig() const { return (dir_ / "kubeconfig").string(); }
  std::string log() const { return read_file(dir_ / "kubesim.log"); }

  // Runs kubectl with this server's kubeconfig and a fresh-per-server HOME (kubectl caches
  // /version and discovery there); returns stdout+stderr; *rc gets the exit status.
  std::string kubectl(const std::string& args, int timeout_s = 15, int* rc = nullptr) {
    const std::string cmd = "HOME=" + (dir_ / "home").string() + " timeout " +
                            std::to_string(timeout_s) + " " + kubectl_path() + " --kubeconfig " +
                            kubeconfig() + " " + args + " 2>&1";
    std::string out;
    FILE* p = popen(cmd.c_str(), "r");
    if (p == nullptr) return "popen failed";
    std::array<char, 4096> buf;
    size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
    const int status = pclose(p);
    if (rc != nullptr) *rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return out;
  }

  // SIGTERM; the exit status, or -1 when it did not exit within `timeout`.
  int stop(std::chrono::milliseconds timeout) {
    kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return -1;
  }

 private:
  static inline int next_ = 0;
  fs::path dir_;
  pid_t pid_ = -1;
};

class KubectlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (kubectl_path().empty()) GTEST_SKIP() << "kubectl is not installed";
  }
};

TEST_F(KubectlTest, GetListsJsonApiResourcesWatch) {
  Kubesim sim({"--scenario", "e2e", "--speed", "2", "--seed", "5"});
  ASSERT_TRUE(sim.ready()) << sim.log();
  EXPECT_NE(sim.log().find("kubesim: serving http://127.0.0.1:"), std::string::npos);
  EXPECT_NE(sim.log().find("scenario e2e seed 5 speed 2 kubeconfig: "), std::string::npos);

  // The watch runs beside the rest while the e2e script rolls out and deletes pods.
  std::string watch_out;
  std::thread watcher([&] { watch_out = sim.kubectl("get pods -A --watch", 5); });

  // The scenario creates its workloads a few hundred milliseconds in: until their Pods exist
  // kubectl rightly says "No resources found".
  int rc = 0;
  std::string out;
  for (int i = 0; i < 50; ++i) {
    out = sim.kubectl("get pods -A", 15, &rc);
    if (rc != 0 || out.find("No resources found") == std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out.rfind("NAMESPACE", 0), 0u) << out;
  EXPECT_NE(out.find("NAME"), std::string::npos);
  EXPECT_NE(out.find("READY   STATUS"), std::string::npos) << out;
  // RESTARTS is as wide as its widest value: "1 (1s ago)" once the crashing Pod restarted.
  const size_t restarts = out.find("RESTARTS ");
  ASSERT_NE(restarts, std::string::npos) << out;
  const size_t age = out.find_first_not_of(' ', restarts + 8);
  ASSERT_NE(age, std::string::npos) << out;
  EXPECT_EQ(out.compare(age, 4, "AGE\n"), 0) << out;

  std::this_thread::sleep_for(std::chrono::seconds(2));
  out = sim.kubectl("get pods -A", 15, &rc);
  EXPECT_NE(out.find("e2e-data    db-0"), std::string::npos) << out;
  EXPECT_NE(out.find("e2e-apps    web-"), std::string::npos) << out;

  out = sim.kubectl("get deploy,rs,pods -n e2e-apps -o json", 15, &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("\"kind\": \"List\""), std::string::npos) << out.substr(0, 500);
  EXPECT_NE(out.find("\"kind\": \"Deployment\""), std::string::npos);
  EXPECT_NE(out.find("\"kind\": \"ReplicaSet\""), std::string::npos);
  EXPECT_NE(out.find("\"kind\": \"Pod\""), std::string::npos);
  EXPECT_NE(out.find("\"ownerReferences\""), std::string::npos);
  EXPECT_NE(out.find("\"containerStatuses\""), std::string::npos);
  EXPECT_EQ(out.find("\"namespace\": \"e2e-data\""), std::string::npos);

  out = sim.kubectl("api-resources", 15, &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out.rfind("NAME", 0), 0u) << out;
  EXPECT_NE(out.find("SHORTNAMES   APIVERSION"), std::string::npos) << out;
  EXPECT_NE(out.find("deployments                 deploy       apps/v1"), std::string::npos) << out;
  EXPECT_NE(out.find("widgets"), std::string::npos);
  EXPECT_NE(out.find("example.com/v1"), std::string::npos);

  out = sim.kubectl("get widgets -n e2e-apps", 15, &rc);
  EXPECT_NE(out.find("alpha"), std::string::npos) << out;
  out = sim.kubectl("get pod nope -n e2e-apps", 15, &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_NE(out.find("Error from server (NotFound): pods \"nope\" not found"), std::string::npos)
      << out;

  watcher.join();
  // The initial list, then one row per change without headers.
  EXPECT_EQ(watch_out.rfind("NAMESPACE", 0), 0u) << watch_out;
  EXPECT_EQ(count(watch_out, "NAMESPACE"), 1) << watch_out;
  const int rows = count(watch_out, "\n") - 1;
  EXPECT_GE(rows, 8) << watch_out;
  EXPECT_TRUE(watch_out.find("ContainerCreating") != std::string::npos ||
              watch_out.find("Terminating") != std::string::npos ||
              watch_out.find("Pending") != std::string::npos)
      << watch_out;

  EXPECT_EQ(sim.stop(std::chrono::milliseconds(1000)), 0) << sim.log();
}

TEST_F(KubectlTest, RawWatchFromCompactedVersionGets410) {
  Kubesim sim({"--scenario", "e2e", "--window", "20", "--speed", "4"});
  ASSERT_TRUE(sim.ready()) << sim.log();
  // A watch from now sees frames; one from resourceVersion 1 is past the window.
  int rc = 0;
  std::string out = sim.kubectl("get --raw '/api/v1/pods?watch=1&timeoutSeconds=1'", 10, &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out.rfind("{\"type\":\"ADDED\",\"object\":{\"kind\":\"Pod\"", 0), 0u) << out;

  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  out = sim.kubectl("get --raw '/api/v1/pods?watch=1&resourceVersion=1'", 10, &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\""), std::string::npos)
      << out;
  EXPECT_NE(out.find("\"message\":\"too old resource version: 1 ("), std::string::npos) << out;
  EXPECT_NE(out.find("\"reason\":\"Expired\",\"code\":410"), std::string::npos) << out;
}

TEST_F(KubectlTest, TlsAndToken) {
  Kubesim sim({"--scenario", "e2e", "--tls", "--token", "s3cret-token"});
  ASSERT_TRUE(sim.ready()) << sim.log();
  const std::string kc = read_file(sim.kubeconfig());
  EXPECT_NE(kc.find("server: https://127.0.0.1:"), std::string::npos) << kc;
  EXPECT_NE(kc.find("certificate-authority-data: "), std::string::npos);
  EXPECT_NE(kc.find("token: s3cret-token"), std::string::npos);

  int rc = 0;
  std::string out = sim.kubectl("get nodes", 15, &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out.rfind("NAME", 0), 0u) << out;
  EXPECT_NE(out.find("Ready"), std::string::npos) << out;

  out = sim.kubectl("get pods -A --token wrong-token", 15, &rc);
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("error: You must be logged in to the server (Unauthorized)"),
            std::string::npos)
      << out;
}

// A pod's view: the service account kubesim writes (token, ca.crt, namespace, readable by any
// uid) and RBAC enforced with the apiserver's 403, as kubectl shows it.
TEST_F(KubectlTest, ServiceAccountAndRbac) {
  const fs::path scratch = fs::temp_directory_path() / ("kubesim-rbac-" + std::to_string(getpid()));
  fs::remove_all(scratch);
  fs::create_directories(scratch);
  std::ofstream(scratch / "rbac.yaml") << R"(
kind: ClusterRole
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: pods-only}
rules: [{apiGroups: [""], resources: [pods], verbs: [get, list, watch]}]
---
kind: ClusterRoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: pods-only}
roleRef: {kind: ClusterRole, name: pods-only}
subjects: [{kind: ServiceAccount, name: recorder, namespace: tools}]
)";
  const fs::path sa = scratch / "serviceaccount";
  Kubesim sim({"--scenario", "e2e", "--tls", "--token", "admin", "--serviceaccount",
               "tools:recorder", "--serviceaccount-dir", sa.string(), "--rbac",
               (scratch / "rbac.yaml").string()});
  ASSERT_TRUE(sim.ready()) << sim.log();
  const std::string token = read_file(sa / "token");
  EXPECT_GE(token.size(), 32u);
  EXPECT_EQ(read_file(sa / "namespace"), "tools");
  EXPECT_EQ(read_file(sa / "ca.crt").rfind("-----BEGIN CERTIFICATE-----", 0), 0u);
  for (const char* f : {"token", "ca.crt", "namespace"}) {
    EXPECT_EQ(fs::status(sa / f).permissions(), fs::perms(0644)) << f;
  }
  int rc = 0;
  std::string out = sim.kubectl("get pods -A --token " + token, 15, &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out.find("Forbidden"), std::string::npos) << out;
  out = sim.kubectl("get configmaps -A --token " + token, 15, &rc);
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("Error from server (Forbidden): configmaps is forbidden: User "
                     "\"system:serviceaccount:tools:recorder\" cannot list resource "
                     "\"configmaps\" in API group \"\" at the cluster scope"),
            std::string::npos)
      << out;
  out = sim.kubectl("get deployments -n default --token " + token, 15, &rc);
  EXPECT_NE(out.find("deployments.apps is forbidden: User \"system:serviceaccount:tools:recorder\" "
                     "cannot list resource \"deployments\" in API group \"apps\" in the "
                     "namespace \"default\""),
            std::string::npos)
      << out;
  out = sim.kubectl("get configmaps -A", 15, &rc);  // --token's user is system:masters
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(sim.log().find("kubesim: 403 configmaps is forbidden"), std::string::npos) << sim.log();
  fs::remove_all(scratch);
}

TEST_F(KubectlTest, ClientCertificate) {
  Kubesim sim({"--scenario", "e2e", "--tls", "--client-ca", "generated"});
  ASSERT_TRUE(sim.ready()) << sim.log();
  EXPECT_NE(read_file(sim.kubeconfig()).find("client-certificate-data: "), std::string::npos);
  int rc = 0;
  const std::string out = sim.kubectl("get namespaces", 15, &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("e2e-apps"), std::string::npos) << out;
}

}  // namespace
