#include "tools/sloop/simulator.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <system_error>
#include <thread>
#include <vector>

namespace sloop {

namespace fs = std::filesystem;

fs::path FindKubesim() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    fs::path beside = self.parent_path() / "kubesim";
    if (access(beside.c_str(), X_OK) == 0) return beside;
  }
  if (const char* path = std::getenv("PATH")) {
    std::stringstream dirs(path);
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
      if (dir.empty()) continue;
      fs::path candidate = fs::path(dir) / "kubesim";
      if (access(candidate.c_str(), X_OK) == 0) return candidate;
    }
  }
  return {};
}

Result<SimulatorProcess> SimulatorProcess::Start(const fs::path& work_dir,
                                                 const std::string& scenario) {
  fs::path binary = FindKubesim();
  if (binary.empty()) {
    return MakeError(ErrorCode::kNotFound,
                     "no kubeconfig was found and the cluster simulator `kubesim` is neither "
                     "beside the sloop binary nor on PATH; build it (make) or set KUBECONFIG");
  }
  std::error_code ec;
  fs::create_directories(work_dir, ec);
  if (ec) return IOError("create directory", work_dir.string(), ec.value());
  fs::path port_file = work_dir / "kubesim.port";
  fs::path kubeconfig = work_dir / "kubesim.kubeconfig";  // context kContext
  fs::remove(port_file, ec);
  fs::remove(kubeconfig, ec);

  // kubesim writes the port file, then the kubeconfig (each by rename, so whole once there).
  std::vector<std::string> args = {binary.string(),
                                   "--port",
                                   "0",
                                   "--bind",
                                   "127.0.0.1",
                                   "--port-file",
                                   port_file.string(),
                                   "--kubeconfig-out",
                                   kubeconfig.string(),
                                   "--scenario",
                                   scenario};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return IOError("fork for", binary.string(), errno);
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(1);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);  // sloop blocks SIGTERM/SIGINT for sigwait
    execv(argv[0], argv.data());
    _exit(127);
  }

  SimulatorProcess sim;
  sim.pid_ = pid;
  std::string port;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      sim.pid_ = -1;
      return MakeError(ErrorCode::kUnavailable,
                       binary.string() + " exited before serving (status " +
                           std::to_string(status) + "); run it by hand to see why");
    }
    std::ifstream in(port_file);
    if (fs::exists(kubeconfig, ec) && in && std::getline(in, port) && !port.empty()) break;
    port.clear();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (port.empty()) {
    return MakeError(
        ErrorCode::kUnavailable,
        binary.string() + " did not report its port in 15 s (" + port_file.string() + ")");
  }
  sim.url_ = "http://127.0.0.1:" + port;
  sim.kubeconfig_ = kubeconfig;
  return sim;
}

SimulatorProcess::SimulatorProcess(SimulatorProcess&& other) noexcept
    : pid_(other.pid_), url_(std::move(other.url_)), kubeconfig_(std::move(other.kubeconfig_)) {
  other.pid_ = -1;
}

SimulatorProcess::~SimulatorProcess() { Stop(); }

void SimulatorProcess::Stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  for (int i = 0; i < 60; ++i) {
    if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

}  // namespace sloop
