// A resource's identity inside the store: kind, namespace, name, uid. Ordered bytewise field by
// field, which is the order of a sealed shard's records and index entries.
#pragma once

#include <compare>
#include <string>
#include <string_view>
#include <tuple>

namespace sloop {

struct ResourceKeyView {
  std::string_view kind;
  std::string_view namespace_;
  std::string_view name;
  std::string_view uid;

  auto operator<=>(const ResourceKeyView& o) const {
    return std::tie(kind, namespace_, name, uid) <=> std::tie(o.kind, o.namespace_, o.name, o.uid);
  }
  bool operator==(const ResourceKeyView&) const = default;

  // "Pod/default/web-1 (uid)" for logs and errors.
  std::string ToString() const;
};

struct ResourceKey {
  std::string kind;
  std::string namespace_;
  std::string name;
  std::string uid;

  ResourceKey() = default;
  ResourceKey(std::string_view k, std::string_view ns, std::string_view n, std::string_view u)
      : kind(k), namespace_(ns), name(n), uid(u) {}
  explicit ResourceKey(const ResourceKeyView& v)
      : ResourceKey(v.kind, v.namespace_, v.name, v.uid) {}

  ResourceKeyView view() const { return {kind, namespace_, name, uid}; }
  auto operator<=>(const ResourceKey& o) const { return view() <=> o.view(); }
  bool operator==(const ResourceKey& o) const { return view() == o.view(); }

  // "Pod/default/web-1 (uid)" for logs and errors.
  std::string ToString() const;
};

// Events are known by kind, namespace and name alone, as Sloop knows them (its keys hold no uid):
// an Event's name is unique in its namespace (client-go names it "<object>.<hex time>"), and its
// uid, 16 random bytes in every index that lists it, cost more than a fifth of the indexes. Since
// 2026-12-07 an Event's records and index entries carry an empty uid (ParseObject); its payload
// keeps metadata.uid. Stores written before hold Event uids: a lookup of an Event leaves out the
// uid asked for, so that both answer by name.
inline constexpr std::string_view kEventKind = "Event";
// The Events of Kubernetes (core/v1 and events.k8s.io), the ones recorded without a uid: not a
// custom resource that happens to be called Event, which keeps its uid like any other kind.
inline bool IsKubernetesEvent(std::string_view api_group, std::string_view kind) {
  return kind == kEventKind && (api_group.empty() || api_group == "events.k8s.io");
}
inline ResourceKeyView LookupKey(ResourceKeyView k) {
  if (k.kind == kEventKind) k.uid = {};
  return k;
}

// Transparent ordering so maps keyed by ResourceKey can be searched with a view.
struct ResourceKeyLess {
  using is_transparent = void;
  static ResourceKeyView V(const ResourceKey& k) { return k.view(); }
  static ResourceKeyView V(const ResourceKeyView& k) { return k; }
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    return V(a) < V(b);
  }
};

}  // namespace sloop
