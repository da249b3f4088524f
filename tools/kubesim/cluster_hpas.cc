// The HorizontalPodAutoscaler controller.
#include <algorithm>

#include "cluster.h"
#include "cluster_internal.h"

namespace kubesim {

void Cluster::add_hpa(const std::string& ns, const std::string& deployment, int min, int max,
                      SimTime age) {
  auto d = deployments_.find(object_key(ns, deployment));
  if (d == deployments_.end()) return;
  auto h = std::make_unique<HpaState>();
  h->meta = meta(ns, deployment, age);
  h->target = deployment;
  h->min = min;
  h->max = max;
  h->current = h->desired = d->second->replicas;
  const std::string key = key_of(h->meta);
  auto& ref = *h;
  hpas_.emplace(key, std::move(h));
  commit(ref, EventType::Added);
  every(15 * kSecond, 30 * kSecond, kSecond, [this, ns, name = deployment] { hpa_tick(ns, name); });
}

void Cluster::hpa_tick(const std::string& ns, const std::string& name) {
  auto it = hpas_.find(object_key(ns, name));
  if (it == hpas_.end()) return;
  HpaState& h = *it->second;
  auto d = deployments_.find(object_key(ns, h.target));
  if (d == deployments_.end()) return;
  // A load that drifts; the HPA follows it with the usual ratio rule and a 60 s stabilisation.
  h.current_cpu = std::clamp(h.current_cpu + static_cast<int>(random(41)) - 20, 5, 180);
  h.current = d->second->replicas;
  int desired = (h.current * h.current_cpu + h.target_cpu - 1) / h.target_cpu;
  desired = std::clamp(desired, h.min, h.max);
  h.desired = desired;
  h.meta.updated = now_;
  if (desired != h.current && now_ - h.last_scale >= kMinute && d->second->progressing_done) {
    h.last_scale = now_;
    record(Kind::HorizontalPodAutoscaler, h.meta, "Normal", "SuccessfulRescale",
           "New size: " + std::to_string(desired) +
               "; reason: cpu resource utilization "
               "(percentage of request) " +
               (desired > h.current ? "above" : "below") + " target",
           "horizontal-pod-autoscaler");
    scale(ns, h.target, desired);
    h.current = desired;
  }
  commit(h, EventType::Modified);
}

}  // namespace kubesim
