// Builds realistic records for engine tests from the Kubernetes fixtures, owning their bytes.
#pragma once

#include <cstdint>
#include <deque>
#include <fstream>
#include <sstream>
#include <string>

#include "base/json_text.h"
#include "base/time_text.h"
#include "segments/record.h"

namespace sloop::testing {

// A fixture of tests/testdata/k8s made compact (whitespace outside strings goes).
inline std::string ReadFixture(const std::string& name) {
  std::ifstream in(std::string(SLOOP_FIXTURES_DIR) + "/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return CompactJson(ss.str());
}

inline void ReplaceAll(std::string& s, const std::string& from, const std::string& to) {
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) {
    s.replace(pos, from.size(), to);
  }
}

// Owns the strings behind the RecordViews it hands out (a deque keeps them in place).
class RecordMaker {
 public:
  RecordMaker()
      : pod_(ReadFixture("pod.json")),
        node_(ReadFixture("node.json")),
        event_(ReadFixture("event.json")) {}

  RecordView Pod(int64_t t, const std::string& ns, const std::string& name, const std::string& uid,
                 int rv, WatchType type = WatchType::kModified, int64_t created = 0) {
    std::string json = pod_;
    ReplaceAll(json, "\"shop\"", "\"" + ns + "\"");
    ReplaceAll(json, "checkout-7d9f8c6b5d-x2k4q", name);
    ReplaceAll(json, "5f1c2b9e-3a47-4c0e-9d4b-8e2f6a1c7b30", uid);
    ReplaceAll(json, "\"resourceVersion\":\"48213377\"",
               "\"resourceVersion\":\"" + std::to_string(rv) + "\"");
    ReplaceAll(json, "\"creationTimestamp\":\"2026-11-20T09:14:03Z\"",
               "\"creationTimestamp\":\"" + FormatRfc3339Fixed(created ? created : t, 0) + "\"");
    return Make(t, type, "", "v1", "Pod", ns, name, uid, std::to_string(rv), std::move(json));
  }

  RecordView Node(int64_t t, const std::string& name, const std::string& uid, int rv,
                  WatchType type = WatchType::kModified) {
    std::string json = node_;
    ReplaceAll(json, "ip-10-42-17-203.ec2.internal", name);
    return Make(t, type, "", "v1", "Node", "", name, uid, std::to_string(rv), std::move(json));
  }

  // A core/v1 Event about (kind, ns, name, uid).
  RecordView Event(int64_t t, const std::string& ns, const std::string& name,
                   const std::string& involved_kind, const std::string& involved_name,
                   const std::string& involved_uid, const std::string& reason, bool warning,
                   int count, int64_t first, int rv, WatchType type = WatchType::kModified) {
    std::string json = event_;
    ReplaceAll(json, "checkout-7d9f8c6b5d-x2k4q.1879c3f1a2b4d6e8", name);
    ReplaceAll(json, "\"Pulled\"", "\"" + reason + "\"");
    RecordView v = Make(t, type, "", "v1", "Event", ns, name, "uid-" + name, std::to_string(rv),
                        std::move(json));
    auto& s = strings_;
    s.push_back(involved_kind);
    std::string_view k = s.back();
    s.push_back(ns);
    std::string_view n = s.back();
    s.push_back(involved_name);
    std::string_view in = s.back();
    s.push_back(involved_uid);
    std::string_view iu = s.back();
    s.push_back(reason);
    std::string_view r = s.back();
    v.event = EventInfoView{k,     involved_kind == "Node" ? std::string_view() : n,
                            in,    iu,
                            r,     warning ? EventSeverity::kWarning : EventSeverity::kNormal,
                            count, first,
                            t,     "message"};
    return v;
  }

 private:
  RecordView Make(int64_t t, WatchType type, std::string group, std::string version,
                  std::string kind, std::string ns, std::string name, std::string uid,
                  std::string rv, std::string payload) {
    auto& s = strings_;
    RecordView v;
    v.observed_ns = t;
    v.watch_type = type;
    s.push_back(std::move(group));
    v.api_group = s.back();
    s.push_back(std::move(version));
    v.api_version = s.back();
    s.push_back(std::move(kind));
    v.kind = s.back();
    s.push_back(std::move(ns));
    v.namespace_ = s.back();
    s.push_back(std::move(name));
    v.name = s.back();
    s.push_back(std::move(uid));
    v.uid = s.back();
    s.push_back(std::move(rv));
    v.resource_version = s.back();
    s.push_back(std::move(payload));
    v.payload = s.back();
    return v;
  }

  std::string pod_, node_, event_;
  std::deque<std::string> strings_;
};

}  // namespace sloop::testing
