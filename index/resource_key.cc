#include "index/resource_key.h"

namespace sloop {

std::string ResourceKey::ToString() const {
  std::string out = kind + "/";
  if (!namespace_.empty()) out += namespace_ + "/";
  out += name;
  if (!uid.empty()) out += " (" + uid + ")";
  return out;
}

}  // namespace sloop
