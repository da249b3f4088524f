// The core of Cluster: the action queue, ids and randomness, listing, and the batching that
// runs controllers after what they watch changed. The controllers live in cluster_*.cc.
#include "cluster.h"

#include <algorithm>
#include <climits>

#include "cluster_internal.h"

namespace kubesim {
namespace {

constexpr std::string_view kNameAlphabet = "bcdfghjklmnpqrstvwxz2456789";

}  // namespace

Cluster::Cluster(uint64_t seed, SimTime start, EventSink* sink)
    : sink_(sink), rng_(seed), now_(start) {}

// ---------------------------------------------------------------------------------------------
// The action queue

void Cluster::at(SimTime t, std::function<void()> fn) {
  queue_.push(Action{std::max(t, now_), seq_++, std::move(fn)});
}

void Cluster::every(SimTime first, SimTime period, SimTime jitter, std::function<void()> fn) {
  auto shared = std::make_shared<std::function<void()>>(std::move(fn));
  auto tick = std::make_shared<std::function<void()>>();
  *tick = [this, shared, period, jitter, weak = std::weak_ptr(tick)] {
    (*shared)();
    const SimTime j = jitter > 0 ? static_cast<SimTime>(random(static_cast<uint64_t>(jitter))) : 0;
    if (auto self = weak.lock()) after(period + j, [self] { (*self)(); });
  };
  // The queue entry keeps the tick alive; the tick only refers to itself weakly.
  after(first, [tick] { (*tick)(); });
}

SimTime Cluster::next_action_time() const { return queue_.empty() ? INT64_MAX : queue_.top().t; }

void Cluster::advance_to(SimTime t) {
  while (!queue_.empty() && queue_.top().t <= t) {
    Action a = std::move(const_cast<Action&>(queue_.top()));
    queue_.pop();
    now_ = std::max(now_, a.t);
    a.fn();
  }
  now_ = std::max(now_, t);
}

uint64_t Cluster::random(uint64_t n) { return n == 0 ? 0 : rng_() % n; }
double Cluster::random_real() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }

std::string Cluster::uid() {
  static constexpr char kHex[] = "0123456789abcdef";
  const uint64_t a = rng_(), b = rng_();
  std::string s;
  s.reserve(36);
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) s += '-';
    const uint64_t w = i < 16 ? a : b;
    int nib = static_cast<int>((w >> ((i % 16) * 4)) & 15);
    if (i == 12) nib = 4;
    if (i == 16) nib = 8 | (nib & 3);
    s += kHex[nib];
  }
  return s;
}

std::string Cluster::hash(size_t len) {
  std::string s;
  for (size_t i = 0; i < len; ++i) s += kNameAlphabet[random(kNameAlphabet.size())];
  return s;
}

ObjectMeta Cluster::meta(const std::string& ns, const std::string& name, SimTime age) {
  ObjectMeta m;
  m.ns = ns;
  m.name = name;
  m.uid = uid();
  m.created = now_ - age;
  m.updated = m.created;
  return m;
}

// ---------------------------------------------------------------------------------------------
// Listing

namespace {
template <class T>
void each(const std::map<std::string, std::unique_ptr<T>>& c,
          const std::function<void(const ObjectVersion&)>& fn) {
  for (const auto& [k, s] : c) fn(render(*s));
}
}  // namespace

void Cluster::for_each(Kind k, const std::function<void(const ObjectVersion&)>& fn) const {
  switch (k) {
    case Kind::Namespace:
      return each(namespaces_, fn);
    case Kind::Node:
      return each(nodes_, fn);
    case Kind::Pod:
      return each(pods_, fn);
    case Kind::Service:
      return each(services_, fn);
    case Kind::Endpoints:
      return each(endpoints_, fn);
    case Kind::ConfigMap:
      return each(configmaps_, fn);
    case Kind::Event:
      return each(events_, fn);
    case Kind::PersistentVolume:
      return each(pvs_, fn);
    case Kind::PersistentVolumeClaim:
      return each(pvcs_, fn);
    case Kind::Deployment:
      return each(deployments_, fn);
    case Kind::ReplicaSet:
      return each(replicasets_, fn);
    case Kind::StatefulSet:
      return each(statefulsets_, fn);
    case Kind::DaemonSet:
      return each(daemonsets_, fn);
    case Kind::Job:
      return each(jobs_, fn);
    case Kind::CronJob:
      return each(cronjobs_, fn);
    case Kind::HorizontalPodAutoscaler:
      return each(hpas_, fn);
    case Kind::Lease:
      return each(leases_, fn);
    case Kind::CustomResourceDefinition:
      return each(crds_, fn);
    case Kind::Widget:
      return each(widgets_, fn);
  }
}

size_t Cluster::count(Kind k) const {
  switch (k) {
    case Kind::Namespace:
      return namespaces_.size();
    case Kind::Node:
      return nodes_.size();
    case Kind::Pod:
      return pods_.size();
    case Kind::Service:
      return services_.size();
    case Kind::Endpoints:
      return endpoints_.size();
    case Kind::ConfigMap:
      return configmaps_.size();
    case Kind::Event:
      return events_.size();
    case Kind::PersistentVolume:
      return pvs_.size();
    case Kind::PersistentVolumeClaim:
      return pvcs_.size();
    case Kind::Deployment:
      return deployments_.size();
    case Kind::ReplicaSet:
      return replicasets_.size();
    case Kind::StatefulSet:
      return statefulsets_.size();
    case Kind::DaemonSet:
      return daemonsets_.size();
    case Kind::Job:
      return jobs_.size();
    case Kind::CronJob:
      return cronjobs_.size();
    case Kind::HorizontalPodAutoscaler:
      return hpas_.size();
    case Kind::Lease:
      return leases_.size();
    case Kind::CustomResourceDefinition:
      return crds_.size();
    case Kind::Widget:
      return widgets_.size();
  }
  return 0;
}

std::vector<std::string> Cluster::deployment_keys() const {
  std::vector<std::string> v;
  for (const auto& [k, d] : deployments_) v.push_back(k);
  return v;
}
std::vector<std::string> Cluster::node_names() const { return node_list_; }
std::vector<std::string> Cluster::namespace_names() const {
  std::vector<std::string> v;
  for (const auto& [k, n] : namespaces_) v.push_back(k);
  return v;
}

// ---------------------------------------------------------------------------------------------
// Controllers

void Cluster::mark_owner_dirty(const OwnerRef& o, const std::string& ns) {
  mark_dirty(o.kind, object_key(ns, o.name));
}

// Controllers react a few milliseconds after the change, once per batch of changes, as
// informer-driven controllers with work queues do.
void Cluster::mark_dirty(Kind k, const std::string& key) {
  if (!dirty_.insert({static_cast<int>(k), key}).second) return;
  if (flush_scheduled_) return;
  flush_scheduled_ = true;
  at(now_ + 5 * kMillisecond, [this] { flush_dirty(); });
}

void Cluster::flush_dirty() {
  flush_scheduled_ = false;
  auto work = std::move(dirty_);
  dirty_.clear();
  for (const auto& [k, key] : work) {
    switch (static_cast<Kind>(k)) {
      case Kind::ReplicaSet:
        reconcile_rs(key);
        break;
      case Kind::Deployment:
        rollout_step(key);
        break;
      case Kind::StatefulSet:
        reconcile_sts(key);
        break;
      case Kind::DaemonSet:
        reconcile_ds(key);
        break;
      case Kind::Job:
        job_status(key);
        break;
      case Kind::Endpoints:
        endpoints_update(key);
        break;
      default:
        break;
    }
  }
}

}  // namespace kubesim
