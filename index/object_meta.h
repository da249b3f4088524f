// The few facts the index needs from an object's JSON: creation time and owner references.
// Parsed on demand (only metadata is visited), once per record at append.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sloop {

struct OwnerRefData {
  std::string kind;
  std::string name;
  std::string uid;
  bool controller = false;
  bool operator==(const OwnerRefData&) const = default;
};

struct ObjectMeta {
  int64_t creation_ns = 0;  // 0 when absent or unparsable
  std::vector<OwnerRefData> owners;
};

// Best effort: malformed JSON yields an empty ObjectMeta (the record is still stored as sent).
// At most index_format::kMaxOwnersPerEntry owners are kept (KeepIndexedOwners).
ObjectMeta ParseObjectMeta(std::string_view json);

// Cuts owners to index_format::kMaxOwnersPerEntry, the first ones, with the controller (if it
// lies beyond them) in place of the last: what an index entry holds of an object's
// ownerReferences. Returns whether it cut any.
bool KeepIndexedOwners(std::vector<OwnerRefData>* owners);

// RFC 3339 ("2024-05-01T10:00:00Z", fractional seconds and offsets allowed) to ns since the
// epoch; nullopt-like 0 with ok=false when it does not parse.
bool ParseRfc3339(std::string_view text, int64_t* ns);

}  // namespace sloop
