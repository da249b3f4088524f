#include "index/resource_key.h"

namespace sloop {

std::string ResourceKeyView::ToString() const {
  std::string out(kind);
  out += '/';
  if (!namespace_.empty()) (out += namespace_) += '/';
  out += name;
  if (!uid.empty()) ((out += " (") += uid) += ')';
  return out;
}

std::string ResourceKey::ToString() const { return view().ToString(); }

}  // namespace sloop
