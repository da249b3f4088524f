#include "segments/dictionary.h"

#include <algorithm>
#include <vector>

namespace sloop {

void DictionarySampler::Add(const RecordView& record) {
  auto it = kinds_.find(record.kind);
  if (it == kinds_.end()) {
    it = kinds_.emplace(std::string(record.kind), Kind{}).first;
    it->second.example.assign(record.payload);
  } else if (it->second.example.empty()) {
    it->second.example.assign(record.payload);  // the first was empty (a deletion marker)
  }
  it->second.bytes += record.payload.size();
}

std::string DictionarySampler::Content(size_t max_bytes) const {
  std::vector<const Kind*> order;
  for (const auto& [name, kind] : kinds_) order.push_back(&kind);
  // Most bytes first, so that the budget goes to the kinds that fill the segment.
  std::stable_sort(order.begin(), order.end(),
                   [](const Kind* a, const Kind* b) { return a->bytes > b->bytes; });
  std::vector<const Kind*> taken;
  size_t used = 0;
  for (const Kind* k : order) {
    if (used + k->example.size() > max_bytes) continue;  // one that does not fit: the next may
    taken.push_back(k);
    used += k->example.size();
  }
  // Laid out with the biggest kind last: zstd refers to recent history most cheaply.
  std::string out;
  out.reserve(used);
  for (auto it = taken.rbegin(); it != taken.rend(); ++it) out += (*it)->example;
  return out;
}

}  // namespace sloop
