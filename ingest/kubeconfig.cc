#include "ingest/kubeconfig.h"

#include <fcntl.h>
#include <poll.h>
#include <simdjson.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "base/json_text.h"
#include "base/time_text.h"
#include "ingest/raw_json.h"
#include "ingest/resource_object.h"

extern char** environ;

namespace sloop::ingest {
namespace fs = std::filesystem;

namespace {

struct Named {
  YAML::Node node;
  std::string file;  // the file that defined it: relative paths resolve against its directory
};

struct MergedConfig {
  // False when parsing text from memory: files the config names are not read (ParseKubeconfig).
  bool read_referenced_files = true;
  std::vector<std::string> files;
  std::string current_context;
  std::map<std::string, Named> clusters, users, contexts;
};

std::string Joined(const std::vector<std::string>& v, const char* sep = ", ") {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

std::string FilesText(const MergedConfig& m) {
  return m.files.size() == 1 ? "kubeconfig " + m.files[0] : "kubeconfig files " + Joined(m.files);
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return IOError("open", path, errno);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Resolve(const std::string& path, const std::string& defining_file) {
  if (path.empty() || fs::path(path).is_absolute()) return path;
  if (path.starts_with("~/")) {
    const char* home = std::getenv("HOME");
    return std::string(home ? home : "") + path.substr(1);
  }
  return (fs::path(defining_file).parent_path() / path).lexically_normal().string();
}

std::string Scalar(const YAML::Node& n, const char* key) {
  if (!n || !n.IsMap()) return {};
  YAML::Node v = n[key];
  if (!v || !v.IsScalar()) return {};
  return v.as<std::string>();
}

bool Bool(const YAML::Node& n, const char* key) {
  std::string v = Scalar(n, key);
  return v == "true" || v == "True" || v == "TRUE";
}

Result<void> MergeRoot(const YAML::Node& root, const std::string& path, MergedConfig& m);

Result<void> MergeFile(const std::string& path, MergedConfig& m) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    return MakeError(ErrorCode::kNotFound, "kubeconfig " + path + ": cannot read it (" +
                                               std::strerror(errno) +
                                               "); check the path or set KUBECONFIG");
  } catch (const YAML::Exception& e) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "kubeconfig " + path + ": not valid YAML at line " +
                         std::to_string(e.mark.line + 1) + ": " + e.msg +
                         "; fix the file (kubectl config view shows what kubectl makes of it)");
  }
  try {
    return MergeRoot(root, path, m);
  } catch (const YAML::Exception& e) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "kubeconfig " + path + ": " + e.msg +
                         "; fix the file (kubectl config view shows what kubectl makes of it)");
  }
}

Result<void> MergeRoot(const YAML::Node& root, const std::string& path, MergedConfig& m) {
  m.files.push_back(path);
  if (root.IsNull()) return {};
  if (!root.IsMap()) {
    return MakeError(ErrorCode::kInvalidArgument, "kubeconfig " + path +
                                                      ": not a kubeconfig (expected a mapping with "
                                                      "clusters, users and contexts)");
  }
  if (m.current_context.empty()) m.current_context = Scalar(root, "current-context");
  auto take = [&](const char* list, const char* item,
                  std::map<std::string, Named>& into) -> Result<void> {
    YAML::Node seq = root[list];
    if (!seq || seq.IsNull()) return {};
    if (!seq.IsSequence()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "kubeconfig " + path + ": '" + list + "' must be a list");
    }
    for (size_t i = 0; i < seq.size(); ++i) {
      std::string name = Scalar(seq[i], "name");
      if (name.empty()) {
        return MakeError(ErrorCode::kInvalidArgument, "kubeconfig " + path + ": " + list + "[" +
                                                          std::to_string(i) + "] has no name");
      }
      into.try_emplace(name, Named{seq[i][item], path});  // the first file to set a name wins
    }
    return {};
  };
  if (auto r = take("clusters", "cluster", m.clusters); !r) return r;
  if (auto r = take("users", "user", m.users); !r) return r;
  if (auto r = take("contexts", "context", m.contexts); !r) return r;
  return {};
}

Result<std::string> DataOrFile(const MergedConfig& m, const YAML::Node& n, const char* data_key,
                               const char* file_key, const std::string& defining_file,
                               const std::string& what) {
  std::string data = Scalar(n, data_key);
  if (!data.empty()) {
    auto decoded = DecodeBase64(data);
    if (!decoded) {
      return MakeError(ErrorCode::kInvalidArgument,
                       what + ": " + data_key + " is not valid base64; it must hold base64 PEM");
    }
    return *decoded;
  }
  std::string file = Scalar(n, file_key);
  if (file.empty()) return std::string();
  std::string resolved = Resolve(file, defining_file);
  if (!m.read_referenced_files) {
    return MakeError(ErrorCode::kInvalidArgument,
                     what + ": " + file_key + " names a file, which is not read here");
  }
  auto content = ReadFile(resolved);
  if (!content) {
    return MakeError(ErrorCode::kNotFound, what + ": " + file_key + " " + resolved +
                                               " cannot be read (" + content.error().message +
                                               "); fix the path in " + defining_file);
  }
  return *content;
}

std::string NormalizeServer(std::string s) {
  if (s.find("://") == std::string::npos) s = "https://" + s;
  while (s.ends_with('/')) s.pop_back();
  return s;
}

// In a pod (KUBERNETES_SERVICE_HOST is set by the kubelet in every container). The token is not
// looked at here: it is read on every request, so an unreadable one is an error that is logged
// and retried (a token projected late, or rotated), never a reason to pick another cluster.
bool InClusterPossible(const IngestOptions&) {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  return host != nullptr && *host != '\0';
}

Result<ClusterConfig> InCluster(const IngestOptions& o) {
  ClusterConfig c;
  c.source = "in-cluster service account (" + o.service_account_dir + ")";
  std::string host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  if (port == nullptr || *port == '\0') {
    return MakeError(ErrorCode::kInvalidArgument,
                     "in-cluster config: KUBERNETES_SERVICE_HOST is set but "
                     "KUBERNETES_SERVICE_PORT is not; set both (the kubelet does) or pass a "
                     "kubeconfig");
  }
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  c.server = "https://" + host + ":" + port;
  c.token_file = o.service_account_dir + "/token";
  auto ca = ReadFile(o.service_account_dir + "/ca.crt");
  if (!ca) {
    return MakeError(ErrorCode::kNotFound,
                     "in-cluster config: " + ca.error().message +
                         "; the pod's service account CA is missing: mount the service account "
                         "(automountServiceAccountToken: true) or pass a kubeconfig");
  }
  c.ca_pem = *ca;
  if (const char* ns = std::getenv("POD_NAMESPACE"); ns && *ns) {
    c.namespace_ = ns;
  } else if (auto f = ReadFile(o.service_account_dir + "/namespace"); f) {
    c.namespace_ = *f;
  } else {
    c.namespace_ = "default";
  }
  return c;
}

Result<ClusterConfig> FromMerged(const MergedConfig& m, const IngestOptions& o) {
  std::string ctx_name = o.context.empty() ? m.current_context : o.context;
  std::vector<std::string> names;
  for (const auto& [n, _] : m.contexts) names.push_back(n);
  if (ctx_name.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     FilesText(m) + " sets no current-context; pass -context NAME (contexts: " +
                         (names.empty() ? std::string("none") : Joined(names)) +
                         ") or run 'kubectl config use-context NAME'");
  }
  auto ctx_it = m.contexts.find(ctx_name);
  if (ctx_it == m.contexts.end()) {
    return MakeError(ErrorCode::kNotFound,
                     "context \"" + ctx_name + "\" not found in " + FilesText(m) +
                         " (contexts: " + (names.empty() ? std::string("none") : Joined(names)) +
                         "); pass -context with one of them");
  }
  const YAML::Node& ctx = ctx_it->second.node;
  std::string where = "context \"" + ctx_name + "\" of " + FilesText(m);
  ClusterConfig c;
  c.source = FilesText(m);
  c.context = ctx_name;
  c.namespace_ = Scalar(ctx, "namespace");
  std::string cluster_name = Scalar(ctx, "cluster");
  auto cl_it = m.clusters.find(cluster_name);
  if (cluster_name.empty() || cl_it == m.clusters.end()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     where + " refers to cluster \"" + cluster_name +
                         "\", which is not defined; add it under 'clusters' or fix the context");
  }
  const YAML::Node& cl = cl_it->second.node;
  std::string cl_what = "cluster \"" + cluster_name + "\" in " + cl_it->second.file;
  c.server = Scalar(cl, "server");
  if (c.server.empty() && o.apiserver_host.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     cl_what +
                         " has no server URL; set clusters[].cluster.server or pass "
                         "-apiserver-host");
  }
  c.insecure_skip_tls_verify = Bool(cl, "insecure-skip-tls-verify");
  c.tls_server_name = Scalar(cl, "tls-server-name");
  c.proxy_url = Scalar(cl, "proxy-url");
  auto ca = DataOrFile(m, cl, "certificate-authority-data", "certificate-authority",
                       cl_it->second.file, cl_what);
  if (!ca) return std::unexpected(ca.error());
  c.ca_pem = *ca;
  if (c.insecure_skip_tls_verify && !c.ca_pem.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     cl_what +
                         " sets both insecure-skip-tls-verify and a certificate authority; "
                         "remove one of them");
  }
  std::string user_name = Scalar(ctx, "user");
  if (!user_name.empty()) {
    auto u_it = m.users.find(user_name);
    if (u_it == m.users.end()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       where + " refers to user \"" + user_name +
                           "\", which is not defined; add it under 'users' or fix the context");
    }
    const YAML::Node& u = u_it->second.node;
    const std::string& file = u_it->second.file;
    std::string u_what = "user \"" + user_name + "\" in " + file;
    auto cert = DataOrFile(m, u, "client-certificate-data", "client-certificate", file, u_what);
    if (!cert) return std::unexpected(cert.error());
    auto key = DataOrFile(m, u, "client-key-data", "client-key", file, u_what);
    if (!key) return std::unexpected(key.error());
    c.client_cert_pem = *cert;
    c.client_key_pem = *key;
    if (c.client_cert_pem.empty() != c.client_key_pem.empty()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       u_what +
                           " has a client certificate without a key (or a key without a "
                           "certificate); set both");
    }
    c.token = Scalar(u, "token");
    c.token_file = Resolve(Scalar(u, "tokenFile"), file);
    if (!c.token_file.empty() && c.token.empty()) {
      if (!m.read_referenced_files) {
        return MakeError(ErrorCode::kInvalidArgument,
                         u_what + ": tokenFile names a file, which is not read here");
      }
      auto t = ReadFile(c.token_file);
      if (!t) {
        return MakeError(ErrorCode::kNotFound, u_what + ": tokenFile " + c.token_file +
                                                   " cannot be read (" + t.error().message + ")");
      }
    }
    c.username = Scalar(u, "username");
    c.password = Scalar(u, "password");
    if ((!c.token.empty() || !c.token_file.empty()) && !c.username.empty()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       u_what +
                           " sets more than one authentication method (token and "
                           "username/password); keep one");
    }
    if (YAML::Node ex = u["exec"]; ex && ex.IsMap()) {
      ExecConfig e;
      e.api_version = Scalar(ex, "apiVersion");
      e.command = Scalar(ex, "command");
      if (e.command.empty()) {
        return MakeError(ErrorCode::kInvalidArgument, u_what + ": exec has no command");
      }
      if (e.api_version != "client.authentication.k8s.io/v1" &&
          e.api_version != "client.authentication.k8s.io/v1beta1") {
        return MakeError(ErrorCode::kUnsupported,
                         u_what + ": exec apiVersion \"" + e.api_version +
                             "\" is not supported; use client.authentication.k8s.io/v1");
      }
      if (e.command.find('/') != std::string::npos) e.command = Resolve(e.command, file);
      if (YAML::Node args = ex["args"]; args && args.IsSequence()) {
        for (const auto& a : args) e.args.push_back(a.as<std::string>());
      }
      if (YAML::Node env = ex["env"]; env && env.IsSequence()) {
        for (const auto& kv : env) e.env.emplace_back(Scalar(kv, "name"), Scalar(kv, "value"));
      }
      e.install_hint = Scalar(ex, "installHint");
      e.provide_cluster_info = Bool(ex, "provideClusterInfo");
      e.interactive_mode = Scalar(ex, "interactiveMode");
      c.exec = std::move(e);
    }
    if (YAML::Node ap = u["auth-provider"]; ap && ap.IsMap()) {
      return MakeError(ErrorCode::kUnsupported,
                       u_what + " uses auth-provider \"" + Scalar(ap, "name") +
                           "\", which Kubernetes removed; switch to an exec plugin (for GKE: "
                           "gke-gcloud-auth-plugin, for AKS: kubelogin)");
    }
  }
  return c;
}

}  // namespace

std::string ClusterConfig::Describe() const {
  std::string s = context.empty() ? source : "context \"" + context + "\" of " + source;
  return s + " (server " + server + ")";
}

Result<std::string> DecodeBase64(std::string_view in) {
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v;
    if (c >= 'A' && c <= 'Z') {
      v = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      v = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      v = c - '0' + 52;
    } else if (c == '+' || c == '-') {
      v = 62;
    } else if (c == '/' || c == '_') {
      v = 63;
    } else if (c == '=' || c == ' ' || c == '\n' || c == '\r' || c == '\t') {
      continue;
    } else {
      return MakeError(ErrorCode::kInvalidArgument, "invalid base64 character");
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

// The kubeconfig files to merge, as kubectl finds them: the explicit path, else $KUBECONFIG
// (colon-separated; *from_env set), else ~/.kube/config when it exists.
static std::vector<std::string> KubeconfigPaths(const IngestOptions& o, bool* from_env) {
  std::vector<std::string> paths;
  if (!o.kubeconfig_path.empty()) {
    paths.push_back(o.kubeconfig_path);
    return paths;
  }
  if (const char* env = std::getenv("KUBECONFIG"); env && *env) {
    std::string list = env;
    size_t start = 0;
    while (start <= list.size()) {
      size_t colon = list.find(':', start);
      std::string p = list.substr(start, colon == std::string::npos ? colon : colon - start);
      if (!p.empty()) paths.push_back(p);
      if (colon == std::string::npos) break;
      start = colon + 1;
    }
  }
  *from_env = !paths.empty();
  if (paths.empty()) {
    const char* home = std::getenv("HOME");
    std::string def = std::string(home ? home : "") + "/.kube/config";
    std::error_code ec;
    if (home && fs::exists(def, ec)) paths.push_back(def);
  }
  return paths;
}

bool ClusterConfigured(const IngestOptions& o) {
  if (!o.apiserver_host.empty()) return true;
  bool from_env = false;
  if (o.privileged_access && !KubeconfigPaths(o, &from_env).empty()) return true;
  return InClusterPossible(o);
}

Result<ClusterConfig> LoadClusterConfig(const IngestOptions& o) {
  if (!o.privileged_access) {
    // Sloop's -allow-privileged-access=false: no kubeconfig is read; -apiserver-host, else the
    // pod's service account.
    if (!o.apiserver_host.empty()) {
      ClusterConfig c;
      c.source = "-apiserver-host (kubeconfig not read: -allow-privileged-access=false)";
      c.context = o.context;
      c.server = NormalizeServer(o.apiserver_host);
      return c;
    }
    if (!InClusterPossible(o)) {
      return MakeError(ErrorCode::kNotFound,
                       "-allow-privileged-access=false reads no kubeconfig, -apiserver-host is "
                       "empty and this is not a pod (KUBERNETES_SERVICE_HOST unset); set "
                       "-apiserver-host or allow privileged access");
    }
    auto c = InCluster(o);
    if (c) c->context = o.context;
    return c;
  }
  bool from_env = false;
  std::vector<std::string> paths = KubeconfigPaths(o, &from_env);

  Result<ClusterConfig> result = MakeError(ErrorCode::kNotFound, "");
  if (paths.empty()) {
    if (!InClusterPossible(o)) {
      if (!o.apiserver_host.empty()) {
        ClusterConfig c;
        c.source = "-apiserver-host";
        c.server = NormalizeServer(o.apiserver_host);
        return c;
      }
      return MakeError(
          ErrorCode::kNotFound,
          "no cluster to connect to: KUBECONFIG is unset, ~/.kube/config does not exist, and "
          "this is not a pod (KUBERNETES_SERVICE_HOST unset); pass the kubeconfig path, set "
          "KUBECONFIG or run inside the cluster");
    }
    result = InCluster(o);
  } else {
    MergedConfig merged;
    for (const auto& p : paths) {
      std::error_code ec;
      if (from_env && !fs::exists(p, ec)) continue;  // kubectl skips missing $KUBECONFIG entries
      if (auto r = MergeFile(p, merged); !r) return std::unexpected(r.error());
    }
    if (merged.files.empty()) {
      return MakeError(ErrorCode::kNotFound, "none of the files in KUBECONFIG exist (" +
                                                 Joined(paths, ":") +
                                                 "); fix KUBECONFIG or create one of them");
    }
    try {
      result = FromMerged(merged, o);
    } catch (const YAML::Exception& e) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "kubeconfig " + Joined(merged.files, ":") + ": " + e.msg +
                           "; fix the file (kubectl config view shows what kubectl makes of it)");
    }
  }
  if (!result) return result;
  if (!o.apiserver_host.empty()) result->server = o.apiserver_host;
  result->server = NormalizeServer(result->server);
  return result;
}

Result<ClusterConfig> ParseKubeconfig(std::string_view yaml, const IngestOptions& o) {
  const std::string name = "kubeconfig (in memory)";
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        name + ": not valid YAML at line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  MergedConfig merged;
  merged.read_referenced_files = false;
  Result<ClusterConfig> result = [&]() -> Result<ClusterConfig> {
    try {
      if (auto r = MergeRoot(root, name, merged); !r) return std::unexpected(r.error());
      return FromMerged(merged, o);
    } catch (const YAML::Exception& e) {
      return MakeError(ErrorCode::kInvalidArgument, name + ": " + e.msg);
    }
  }();
  if (!result) return result;
  if (!o.apiserver_host.empty()) result->server = o.apiserver_host;
  result->server = NormalizeServer(result->server);
  return result;
}

// ---- exec credential plugins

int ExecCredentialSource::runs() const {
  std::lock_guard lock(mu_);
  return runs_;
}

Result<ExecCredential> ExecCredentialSource::Get(bool refresh) {
  std::lock_guard lock(mu_);
  int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  if (!refresh && cached_ &&
      (cached_->expiry_ns == 0 || cached_->expiry_ns - 10'000'000'000 > now)) {
    return *cached_;
  }
  auto fresh = Run();
  if (!fresh) return fresh;
  cached_ = *fresh;
  return fresh;
}

namespace {}  // namespace

Result<ExecCredential> ExecCredentialSource::Run() {
  ++runs_;
  const std::string what = "exec credential plugin " + config_.command;
  std::string info = "{\"apiVersion\":\"" + config_.api_version +
                     "\",\"kind\":\"ExecCredential\",\"spec\":{\"interactive\":false";
  if (config_.provide_cluster_info) {
    std::string ca_b64;
    static const char* kAlphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < ca_pem_.size(); i += 3) {
      uint32_t n = static_cast<unsigned char>(ca_pem_[i]) << 16;
      if (i + 1 < ca_pem_.size()) n |= static_cast<unsigned char>(ca_pem_[i + 1]) << 8;
      if (i + 2 < ca_pem_.size()) n |= static_cast<unsigned char>(ca_pem_[i + 2]);
      ca_b64 += kAlphabet[(n >> 18) & 63];
      ca_b64 += kAlphabet[(n >> 12) & 63];
      ca_b64 += i + 1 < ca_pem_.size() ? kAlphabet[(n >> 6) & 63] : '=';
      ca_b64 += i + 2 < ca_pem_.size() ? kAlphabet[n & 63] : '=';
    }
    info += ",\"cluster\":{\"server\":";
    AppendJsonString(&info, server_);
    info += ",\"certificate-authority-data\":\"" + ca_b64 + "\"}";
  }
  info += "}}";

  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    std::string_view kv(*e);
    bool overridden = kv.starts_with("KUBERNETES_EXEC_INFO=");
    for (const auto& [k, v] : config_.env) overridden |= kv.starts_with(k + "=");
    if (!overridden) env_strings.emplace_back(kv);
  }
  for (const auto& [k, v] : config_.env) env_strings.push_back(k + "=" + v);
  env_strings.push_back("KUBERNETES_EXEC_INFO=" + info);
  std::vector<char*> envp, argv;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string cmd = config_.command;
  std::vector<std::string> args = config_.args;
  argv.push_back(cmd.data());
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0) return IOError("pipe for", what, errno);
  if (pipe2(err, O_CLOEXEC) != 0) {
    int e = errno;
    close(out[0]);
    close(out[1]);
    return IOError("pipe for", what, e);
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, cmd.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close(out[1]);
  close(err[1]);
  if (rc != 0) {
    close(out[0]);
    close(err[0]);
    return MakeError(ErrorCode::kNotFound,
                     what + " cannot be started (" + std::strerror(rc) + ")" +
                         (config_.install_hint.empty() ? "; install it or fix exec.command"
                                                       : "; " + config_.install_hint));
  }
  // stdout holds the ExecCredential; stderr is kept for the error message.
  std::string output, errors;
  char buf[4096];
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  bool timed_out = false;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  while (fds[0].fd >= 0 || fds[1].fd >= 0) {
    int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    deadline - std::chrono::steady_clock::now())
                                    .count());
    if (left <= 0) {
      timed_out = true;
      break;
    }
    if (poll(fds, 2, left) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;  // poll ignores negative descriptors
        continue;
      }
      std::string& into = i == 0 ? output : errors;
      if (i == 0 || into.size() < 64 * 1024) into.append(buf, static_cast<size_t>(n));
    }
  }
  for (const pollfd& p : fds) {
    if (p.fd >= 0) close(p.fd);
  }
  if (timed_out) kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  while (!errors.empty() && std::isspace(static_cast<unsigned char>(errors.back()))) {
    errors.pop_back();
  }
  if (errors.size() > 2000) errors = "..." + errors.substr(errors.size() - 2000);
  const std::string said = errors.empty() ? "" : "; it said: " + errors;
  if (timed_out) return MakeError(ErrorCode::kUnavailable, what + " ran for more than 60 s" + said);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return MakeError(ErrorCode::kUnavailable,
                     what + " failed (exit status " +
                         std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + ")" + said +
                         "; run it by hand to see why");
  }
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(output).get(doc) != simdjson::SUCCESS || !doc.is_object()) {
    return MakeError(ErrorCode::kInvalidArgument, what + " printed no ExecCredential JSON");
  }
  ExecCredential cred;
  auto str = [&](std::string_view key) -> std::string {
    std::string_view v;
    if (doc.at_pointer(std::string("/status/") + std::string(key)).get(v) == simdjson::SUCCESS) {
      return std::string(v);
    }
    return {};
  };
  cred.token = str("token");
  cred.client_cert_pem = str("clientCertificateData");
  cred.client_key_pem = str("clientKeyData");
  std::string expiry = str("expirationTimestamp");
  if (!expiry.empty()) cred.expiry_ns = ParseRfc3339(expiry, {.space_for_t = true}).value_or(0);
  if (cred.token.empty() && cred.client_cert_pem.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     what + " returned neither status.token nor status.clientCertificateData");
  }
  return cred;
}

}  // namespace sloop::ingest
