// Chooses the content of a segment's zstd dictionary (WriterOptions::dictionary) from the
// records it will hold: the first payload seen of each kind, the kinds with the most payload
// bytes nearest the end (where zstd reaches them most cheaply), within a size budget.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "segments/record.h"

namespace sloop {

class DictionarySampler {
 public:
  // Notes one record (any order). Keeps a copy of the first payload of each kind.
  void Add(const RecordView& record);

  // The dictionary content, at most max_bytes: one example payload per kind, taken for the
  // kinds with the most payload bytes while they fit. Empty when no record was added.
  std::string Content(size_t max_bytes) const;

 private:
  struct Kind {
    std::string example;  // its first payload
    uint64_t bytes = 0;   // of all its payloads
  };
  std::map<std::string, Kind, std::less<>> kinds_;
};

}  // namespace sloop
