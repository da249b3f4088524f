#include "ingest/watch_frame.h"

#include "ingest/raw_json.h"

namespace sloop::ingest {

std::string_view RawMetadataField(std::string_view json, std::string_view field) {
  auto meta = FindMember(json, "metadata");
  if (!meta || meta->empty()) return {};
  auto v = FindMember(*meta, field);
  if (!v) return {};
  return StringValue(*v);
}

WatchFrame ParseWatchFrame(std::string_view frame) {
  WatchFrame f;
  auto type = FindMember(frame, "type");
  if (!type || type->empty()) return f;
  auto object = FindMember(frame, "object");
  if (!object || object->empty() || object->front() != '{' || object->back() != '}') return f;
  f.type_name = StringValue(*type);
  f.object = *object;
  f.resource_version = RawMetadataField(f.object, "resourceVersion");
  std::string_view t = f.type_name;
  if (t == "ADDED") {
    f.kind = WatchFrame::Kind::kEvent;
    f.type = WatchType::kAdded;
  } else if (t == "MODIFIED") {
    f.kind = WatchFrame::Kind::kEvent;
    f.type = WatchType::kModified;
  } else if (t == "DELETED") {
    f.kind = WatchFrame::Kind::kEvent;
    f.type = WatchType::kDeleted;
  } else if (t == "BOOKMARK") {
    f.kind = WatchFrame::Kind::kBookmark;
  } else if (t == "ERROR") {
    f.kind = WatchFrame::Kind::kError;
    if (auto code = FindMember(f.object, "code"); code) f.error_code = *code;
    if (auto message = FindMember(f.object, "message"); message) {
      f.error_message = StringValue(*message);
    }
  } else {
    f.kind = WatchFrame::Kind::kUnknownType;
  }
  return f;
}

}  // namespace sloop::ingest
