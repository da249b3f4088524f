// The Widget custom resource: its CRD and the operator that reconciles it.
#include "cluster.h"
#include "cluster_internal.h"

namespace kubesim {

void Cluster::add_widget_crd(SimTime age) {
  if (crds_.count("widgets.example.com")) return;
  auto c = std::make_unique<CrdState>();
  c->meta = meta("", "widgets.example.com", age);
  c->meta.generation = 1;
  auto& ref = *c;
  crds_.emplace("widgets.example.com", std::move(c));
  commit(ref, EventType::Added);
}

void Cluster::add_widget(const std::string& ns, const std::string& name, int size, SimTime age) {
  auto w = std::make_unique<WidgetState>();
  w->meta = meta(ns, name, age);
  w->meta.generation = 1;
  w->meta.labels = {{"app.kubernetes.io/name", "widgets"}};
  w->size = size;
  static constexpr const char* kColors[] = {"blue", "green", "red", "yellow"};
  w->color = kColors[random(4)];
  if (age > 0) {
    w->phase = "Ready";
    w->observed_generation = 1;
  }
  const std::string key = key_of(w->meta);
  auto& ref = *w;
  widgets_.emplace(key, std::move(w));
  commit(ref, EventType::Added);
  if (age == 0) {
    at(now_ + 300 * kMillisecond, [this, key] {
      auto it = widgets_.find(key);
      if (it == widgets_.end()) return;
      it->second->phase = "Ready";
      it->second->observed_generation = it->second->meta.generation;
      it->second->meta.updated = now_;
      commit(*it->second, EventType::Modified);
    });
  }
}

void Cluster::update_widget(const std::string& ns, const std::string& name, int size) {
  auto it = widgets_.find(object_key(ns, name));
  if (it == widgets_.end()) return;
  WidgetState& w = *it->second;
  w.size = size;
  w.meta.generation++;
  w.phase = "Resizing";
  w.meta.updated = now_;
  commit(w, EventType::Modified);
  const std::string key = key_of(w.meta);
  at(now_ + kSecond, [this, key] {
    auto it = widgets_.find(key);
    if (it == widgets_.end()) return;
    it->second->phase = "Ready";
    it->second->observed_generation = it->second->meta.generation;
    it->second->meta.updated = now_;
    commit(*it->second, EventType::Modified);
  });
}

}  // namespace kubesim
