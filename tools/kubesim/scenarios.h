// Named scenarios: the initial state of a cluster and the churn scheduled on top of it.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "cluster.h"

namespace kubesim {

struct ScenarioInfo {
  std::string_view name;
  std::string_view description;
};

struct ScenarioOptions {
  std::string name = "default";
  int pods = 0;   // 0: the scenario's own size
  int nodes = 0;  // 0: the scenario's own size
};

std::span<const ScenarioInfo> scenarios();

// Builds the scenario's initial objects in `c` (they exist from the start: one ADDED each) and
// queues its churn. Returns false, with a message in *error, for an unknown name or bad sizes.
bool setup_scenario(Cluster& c, const ScenarioOptions& o, std::string* error);

}  // namespace kubesim
