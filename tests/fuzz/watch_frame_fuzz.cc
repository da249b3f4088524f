// Fuzzes the watch-frame path of the ingester: each line of the input is classified by
// ParseWatchFrame (frame → FindMember / StringValue / type dispatch), and an event's object goes
// through TypeRecorder::OnWatchEvent (simdjson, identity, Event fields) into a sink that keeps
// nothing. Any bytes must be classified or refused: no crash, no read outside the input, no
// unbounded recursion.
#include <cstdint>
#include <string>
#include <string_view>

#include "ingest/ingest_options.h"
#include "ingest/type_recorder.h"
#include "ingest/watch_frame.h"
#include "tests/fuzz/null_sink.h"

using sloop::fuzz::NullSink;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sloop::ingest;
  static NullSink sink;
  static IngestOptions options;
  static ParseScratch scratch;
  // Fresh recorders per input (the parser scratch is reused): known objects do not pile up.
  TypeRecorder pods({"", "v1", "pods", "Pod", true, false}, sink, options, nullptr, scratch);
  TypeRecorder events({"", "v1", "events", "Event", true, false}, sink, options, nullptr, scratch);
  std::string_view in(reinterpret_cast<const char*>(data), size);
  while (!in.empty()) {
    size_t nl = in.find('\n');
    std::string line(in.substr(0, nl));  // a copy of exactly the frame: ASan sees past its end
    in.remove_prefix(nl == std::string_view::npos ? in.size() : nl + 1);
    WatchFrame f = ParseWatchFrame(line);
    size_t sum = f.type_name.size() + f.resource_version.size() + f.error_code.size() +
                 f.error_message.size();
    for (char c : f.resource_version) sum += static_cast<unsigned char>(c);
    (void)sum;
    if (f.kind != WatchFrame::Kind::kEvent) continue;
    (void)RawMetadataField(f.object, "name");
    TypeRecorder& rec = f.object.find("\"Event\"") != std::string_view::npos ? events : pods;
    (void)rec.OnWatchEvent(f.type, f.object, 1);
  }
  return 0;
}
