// Fuzzes the list walk: a list page's raw text through FindMember / ForEachMember /
// ForEachElement / SkipJsonValue, and each item through TypeRecorder's list reconciliation into a
// sink that keeps nothing (a list with a bad item ends keeping what it did not see, as the
// ingester does). Any bytes: no crash, no read outside the input, no unbounded recursion.
#include <cstdint>
#include <string>
#include <string_view>

#include "ingest/ingest_options.h"
#include "ingest/raw_json.h"
#include "ingest/type_recorder.h"
#include "ingest/watch_frame.h"
#include "tests/fuzz/null_sink.h"

using sloop::fuzz::NullSink;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sloop::ingest;
  static NullSink sink;
  static IngestOptions options;
  static ParseScratch scratch;
  // A fresh recorder per input (the parser scratch is reused): known objects do not pile up.
  TypeRecorder rec({"", "v1", "pods", "Pod", true, false}, sink, options, nullptr, scratch);
  const std::string body(reinterpret_cast<const char*>(data), size);

  size_t members = 0;
  (void)ForEachMember(body, [&](std::string_view key, std::string_view value) {
    members += key.size() + value.size();
    return true;
  });
  for (size_t pos = 0; pos < body.size() && pos < 64; ++pos) {
    size_t end = SkipJsonValue(body, pos);
    if (end != std::string_view::npos && end > body.size()) __builtin_trap();
  }
  (void)RawMetadataField(body, "continue");
  (void)RawMetadataField(body, "resourceVersion");

  auto items = FindMember(body, "items");
  std::string_view walk = items && !items->empty() ? *items : std::string_view(body);
  rec.BeginList();
  bool whole = true;
  auto each = ForEachElement(walk, [&](std::string_view item) {
    if (item.data() < body.data() || item.data() + item.size() > body.data() + body.size()) {
      __builtin_trap();
    }
    if (!rec.OnListItem(item, 1)) whole = false;
  });
  if (!each) whole = false;
  (void)rec.EndList(
      2, whole ? TypeRecorder::ListEnd::kInferDeletions : TypeRecorder::ListEnd::kKeepUnseen);
  return 0;
}
