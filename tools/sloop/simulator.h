// The built-in cluster simulator for `sloop` started with no kubeconfig: runs the `kubesim`
// program that is built beside `sloop` as a child process on a free loopback port and writes a
// kubeconfig that points at it. The child dies with its parent (PR_SET_PDEATHSIG).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>

#include "base/status.h"

namespace sloop {

class SimulatorProcess {
 public:
  // Starts `kubesim --port 0 --scenario SCENARIO --kubeconfig-out F` and waits for the kubeconfig
  // it writes into work_dir (context kContext). kNotFound names where kubesim was looked for.
  static Result<SimulatorProcess> Start(const std::filesystem::path& work_dir,
                                        const std::string& scenario);
  SimulatorProcess(SimulatorProcess&& other) noexcept;
  SimulatorProcess& operator=(SimulatorProcess&&) = delete;
  ~SimulatorProcess();  // Stop()s

  void Stop();  // SIGTERM, then SIGKILL after 3 s; idempotent
  const std::string& url() const { return url_; }
  const std::filesystem::path& kubeconfig() const { return kubeconfig_; }
  static constexpr const char* kContext = "kubesim";

 private:
  SimulatorProcess() = default;
  pid_t pid_ = -1;
  std::string url_;
  std::filesystem::path kubeconfig_;
};

// The kubesim binary: beside this program's own executable, else on PATH; empty when neither.
std::filesystem::path FindKubesim();

}  // namespace sloop
