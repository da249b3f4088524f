// The records of tests/testdata/segments/format-v1.seg, a segment written by the build that had
// only block format 1 (FlatBuffers records). They are built here from code alone (no fixture
// file), so that the committed file can be checked against them by every later build.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "segments/record.h"

namespace sloop::testing {

struct OwnedRecord {
  int64_t t = 0;
  WatchType type = WatchType::kAdded;
  std::string group, version, kind, ns, name, uid, rv, payload;
  bool event = false;
  std::string ik, ins, in, iu, reason, message;
  EventSeverity severity = EventSeverity::kUnknown;
  int32_t count = 0;
  int64_t first = 0, last = 0;

  RecordView view() const {
    RecordView v{t, type, group, version, kind, ns, name, uid, rv, payload, std::nullopt};
    if (event) {
      v.event = EventInfoView{ik, ins, in, iu, reason, severity, count, first, last, message};
    }
    return v;
  }
};

// 48 records in arrival order: Pods, Nodes (cluster-scoped), Deployments (group apps) and core
// Events, every watch type, an Event message with a quote and a newline, a name with non-ASCII
// UTF-8, a record with an empty payload and one with a uid that is not a canonical UUID.
inline std::vector<OwnedRecord> FormatV1Records() {
  const int64_t t0 = 1795165200LL * 1000000000LL;
  std::vector<OwnedRecord> out;
  for (int i = 0; i < 48; ++i) {
    OwnedRecord r;
    r.t = t0 + i * 1500000000LL + (i % 7);
    r.type = static_cast<WatchType>(i % 5);
    r.rv = std::to_string(48213300 + i);
    char uid[40];
    std::snprintf(uid, sizeof(uid), "%08x-1b3d-4f6a-8c0e-%012x", 0xc7e2a900u + i,
                  0x6a8c0e00u + static_cast<unsigned>(i * 37));
    r.uid = uid;
    r.version = "v1";
    const std::string n = std::to_string(i);
    switch (i % 4) {
      case 0:
        r.kind = "Pod", r.ns = "shop", r.name = "checkout-" + std::to_string(i % 3);
        break;
      case 1:
        r.kind = "Node", r.name = "ip-10-42-17-" + std::to_string(i % 5) + ".ec2.internal";
        break;
      case 2:
        r.kind = "Event", r.ns = "shop", r.name = "checkout-" + n + ".1879c3f1a2b4d6e8";
        r.event = true, r.ik = "Pod", r.ins = "shop", r.in = "checkout-" + std::to_string(i % 3);
        r.iu = "5f1c2b9e-3a47-4c0e-9d4b-8e2f6a1c7b30";
        r.reason = i % 3 ? "BackOff" : "Pulled";
        r.message = i % 3 ? "Back-off restarting \"checkout\"\nagain" : "Container image pulled";
        r.severity = i % 3 ? EventSeverity::kWarning : EventSeverity::kNormal;
        r.count = i;
        r.first = t0 - 3600000000000LL + i;
        r.last = r.t - (r.t % 1000000000LL);
        break;
      default:
        r.group = "apps", r.kind = "Deployment", r.ns = "shop", r.name = "checkout";
        break;
    }
    if (i == 13) r.name = "caf\xc3\xa9-\xe2\x9c\x93";
    if (i == 21) r.uid = "not-a-uuid";
    std::string api = r.group.empty() ? r.version : r.group + "/" + r.version;
    r.payload = "{\"kind\":\"" + r.kind + "\",\"apiVersion\":\"" + api +
                "\",\"metadata\":{\"name\":\"" + r.name + "\"" +
                (r.ns.empty() ? "" : ",\"namespace\":\"" + r.ns + "\"") + ",\"uid\":\"" + r.uid +
                "\",\"resourceVersion\":\"" + r.rv + "\"},\"spec\":{\"n\":" + n + "}}";
    if (i == 30) r.payload.clear();
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace sloop::testing
