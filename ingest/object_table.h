// ObjectTable: what ingest knows of one resource type's live objects — identity and
// resourceVersion only, never the objects themselves — so that a relist after a watch gap can be
// reconciled: new objects are ADDED, changed ones MODIFIED, and the ones that vanished meanwhile
// are reported as deleted while disconnected.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace sloop::ingest {

class ObjectTable {
 public:
  // An object as EndRelist reports it (views valid during the callback).
  struct Entry {
    std::string_view namespace_, name, uid, resource_version;
  };
  enum class Change { kNew, kChanged, kUnchanged };
  struct Observation {
    Change change;
    uint64_t previous_fingerprint;  // 0 when new
  };

  // An object seen in a watch event or a list page: remembers it and says how it compares with
  // what was known. Objects are keyed by uid (by namespace/name when they have none), so an
  // object deleted and re-created under the same name while disconnected is a new object.
  Observation Observe(std::string_view ns, std::string_view name, std::string_view uid,
                      std::string_view rv, uint64_t fingerprint);
  // An object known from before this process (what the store holds as alive), as if listed:
  // the next relist compares against its resourceVersion. Its NodeFingerprint is not known (0),
  // so a Node seeded here and changed by the next list counts as a real change.
  void Seed(std::string_view ns, std::string_view name, std::string_view uid, std::string_view rv);
  // A DELETED event: forgets the object. False when it was unknown.
  bool Remove(std::string_view ns, std::string_view name, std::string_view uid);
  // An object seen whose state is not recorded (an exclusion rule matches it now): a known one
  // stays known as it was, counted as seen by the relist under way. False when it was unknown.
  bool Touch(std::string_view ns, std::string_view name, std::string_view uid);
  // The known object with this identity, if any (the view is valid until the table changes).
  std::optional<Entry> Find(std::string_view ns, std::string_view name, std::string_view uid) const;
  // What Observe just noted could not be recorded (the store refused it): the next sighting of
  // the object must be recorded again. A new object is forgotten; a known one keeps no
  // resourceVersion or fingerprint, so that any next one differs.
  void Unrecorded(std::string_view ns, std::string_view name, std::string_view uid,
                  const Observation& observed);

  // Relist: BeginRelist, Observe every listed object, then EndRelist calls `vanished` for each
  // object that the new list did not contain, and forgets it when `vanished` returns true (its
  // deletion was recorded); one it returns false for stays known, and vanishes again at the next
  // relist. Returns how many the list did not contain.
  void BeginRelist();
  size_t EndRelist(const std::function<bool(const Entry&)>& vanished);

  size_t size() const { return entries_.size(); }
  void Clear() { entries_.clear(); }

 private:
  // A big cluster has hundreds of thousands of live objects, so each costs ~200 bytes: the key
  // is a 128-bit hash of the uid (or of namespace/name), and the identity and resourceVersion
  // share one string.
  struct Id {
    uint64_t lo = 0, hi = 0;
    bool operator==(const Id&) const = default;
  };
  struct IdHash {
    size_t operator()(const Id& id) const noexcept { return static_cast<size_t>(id.lo); }
  };
  struct Known {
    std::string text;          // namespace '\0' name '\0' uid '\0' resourceVersion
    uint64_t fingerprint = 0;  // NodeFingerprint for Nodes, else 0
    uint64_t relist_epoch = 0;
  };
  static Id MakeId(std::string_view ns, std::string_view name, std::string_view uid);
  static Entry View(const Known& k);

  std::unordered_map<Id, Known, IdHash> entries_;
  uint64_t epoch_ = 0;
};

}  // namespace sloop::ingest
