// The ground truth of end-to-end tests: what kubesim emitted, read back from its --capture file
// (docs/format/capture.md), per object (uid) and, for Events, what they were about. Read with
// simdjson here rather than with the recorder's own capture reader, so the tests stay independent.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace sloop::testing {

// What the simulator emitted about one object (one uid).
struct Emitted {
  std::string kind, ns, name, uid;
  int64_t first_ns = 0, last_ns = 0;
  int versions = 0;
  bool deleted = false;
  std::string last_rv;
};

// One Event the simulator emitted: the object it is about, its reason and type.
struct EmittedEvent {
  std::string kind, ns, name, reason, type;
};

struct EmittedCapture {
  std::map<std::string, Emitted> by_uid;
  std::vector<EmittedEvent> events;
};

// Reads a capture; a torn last line (the writer was stopped mid-line) is skipped.
inline EmittedCapture LoadEmitted(const std::filesystem::path& file) {
  EmittedCapture out;
  std::ifstream in(file);
  std::string line;
  simdjson::dom::parser parser;
  bool header = true;
  while (std::getline(in, line)) {
    simdjson::dom::element doc;
    if (line.empty() || parser.parse(line).get(doc)) continue;
    if (header) {
      header = false;
      continue;
    }
    int64_t ts = doc["ts"].get_int64().value_unsafe();
    auto meta = doc["object"]["metadata"];
    std::string_view ns;
    if (meta["namespace"].get_string().get(ns)) ns = "";
    std::string uid(meta["uid"].get_string().value_unsafe());
    Emitted& e = out.by_uid[uid];
    if (e.versions == 0) {
      e.kind = doc["kind"].get_string().value_unsafe();
      e.ns = ns;
      e.name = meta["name"].get_string().value_unsafe();
      e.uid = uid;
      e.first_ns = ts;
    }
    e.versions++;
    e.last_ns = ts;
    e.last_rv = meta["resourceVersion"].get_string().value_unsafe();
    if (doc["type"].get_string().value_unsafe() == "DELETED") e.deleted = true;
    if (e.kind == "Event") {
      auto involved = doc["object"]["involvedObject"];
      std::string_view ik, ins, iname, reason, etype;
      if (involved["kind"].get_string().get(ik)) continue;
      if (involved["namespace"].get_string().get(ins)) ins = "";
      if (involved["name"].get_string().get(iname)) continue;
      if (doc["object"]["reason"].get_string().get(reason)) reason = "";
      if (doc["object"]["type"].get_string().get(etype)) etype = "";
      out.events.push_back({std::string(ik), std::string(ins), std::string(iname),
                            std::string(reason), std::string(etype)});
    }
  }
  return out;
}

}  // namespace sloop::testing
