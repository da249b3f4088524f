#include "segments/record_codec.h"

#include <cstring>

#include "schema/record_generated.h"
#include "segments/segment_format.h"

namespace sloop::record_codec {
namespace {

namespace sf = segment_format;

std::string_view View(const flatbuffers::String* s) {
  return s ? std::string_view(s->data(), s->size()) : std::string_view();
}

size_t Padded(size_t n) { return (n + sf::kRecordAlign - 1) & ~(sf::kRecordAlign - 1); }

}  // namespace

struct Encoder::Impl {
  flatbuffers::FlatBufferBuilder fbb{16 * 1024};
};

Encoder::Encoder() : impl_(new Impl) {}
Encoder::~Encoder() { delete impl_; }

void Encoder::Append(const RecordView& r, std::string* out) {
  auto& fbb = impl_->fbb;
  fbb.Clear();
  auto str = [&](std::string_view s) { return fbb.CreateString(s.data(), s.size()); };
  flatbuffers::Offset<fb::EventInfo> event;
  if (r.event) {
    const EventInfoView& e = *r.event;
    auto ik = str(e.involved_kind), ins = str(e.involved_namespace), in = str(e.involved_name),
         iu = str(e.involved_uid), reason = str(e.reason), message = str(e.message);
    fb::EventInfoBuilder eb(fbb);
    eb.add_involved_kind(ik);
    eb.add_involved_namespace(ins);
    eb.add_involved_name(in);
    eb.add_involved_uid(iu);
    eb.add_reason(reason);
    eb.add_severity(static_cast<fb::EventSeverity>(e.severity));
    eb.add_count(e.count);
    eb.add_first_timestamp_ns(e.first_timestamp_ns);
    eb.add_last_timestamp_ns(e.last_timestamp_ns);
    eb.add_message(message);
    event = eb.Finish();
  }
  auto group = str(r.api_group), version = str(r.api_version), kind = str(r.kind),
       ns = str(r.namespace_), name = str(r.name), uid = str(r.uid), rv = str(r.resource_version);
  auto payload =
      fbb.CreateVector(reinterpret_cast<const uint8_t*>(r.payload.data()), r.payload.size());
  fb::RecordBuilder b(fbb);
  b.add_observed_ns(r.observed_ns);
  b.add_watch_type(static_cast<fb::WatchType>(r.watch_type));
  b.add_api_group(group);
  b.add_api_version(version);
  b.add_kind(kind);
  b.add_namespace_(ns);
  b.add_name(name);
  b.add_uid(uid);
  b.add_resource_version(rv);
  b.add_payload(payload);
  if (r.event) b.add_event(event);
  fb::FinishRecordBuffer(fbb, b.Finish());

  const uint32_t len = fbb.GetSize();
  const size_t start = out->size();
  out->resize(start + sf::kRecordPrefixSize + Padded(len));
  char* p = out->data() + start;
  std::memcpy(p, &len, 4);
  std::memset(p + 4, 0, 4);
  std::memcpy(p + sf::kRecordPrefixSize, fbb.GetBufferPointer(), len);
  std::memset(p + sf::kRecordPrefixSize + len, 0, Padded(len) - len);
}

namespace {

void Fill(const fb::Record* r, RecordView* out) {
  RecordView v;
  v.observed_ns = r->observed_ns();
  v.watch_type = static_cast<WatchType>(r->watch_type());
  v.api_group = View(r->api_group());
  v.api_version = View(r->api_version());
  v.kind = View(r->kind());
  v.namespace_ = View(r->namespace_());
  v.name = View(r->name());
  v.uid = View(r->uid());
  v.resource_version = View(r->resource_version());
  if (r->payload()) {
    v.payload =
        std::string_view(reinterpret_cast<const char*>(r->payload()->data()), r->payload()->size());
  }
  if (const fb::EventInfo* e = r->event()) {
    v.event = EventInfoView{View(e->involved_kind()),
                            View(e->involved_namespace()),
                            View(e->involved_name()),
                            View(e->involved_uid()),
                            View(e->reason()),
                            static_cast<EventSeverity>(e->severity()),
                            e->count(),
                            e->first_timestamp_ns(),
                            e->last_timestamp_ns(),
                            View(e->message())};
  }
  *out = v;
}

}  // namespace

void View(const char* data, size_t pos, RecordView* record) {
  Fill(fb::GetRecord(data + pos + sf::kRecordPrefixSize), record);
}

bool Skip(const char* data, size_t pos, size_t end, size_t* next) {
  if (end - pos < sf::kRecordPrefixSize) return false;
  uint32_t len;
  std::memcpy(&len, data + pos, 4);
  size_t span = sf::kRecordPrefixSize + Padded(len);
  if (span > end - pos) return false;
  *next = pos + span;
  return true;
}

bool Decode(const char* data, size_t pos, size_t end, RecordView* out, size_t* next,
            const char** why) {
  if (end - pos < sf::kRecordPrefixSize) {
    *why = "record entry shorter than its length prefix";
    return false;
  }
  uint32_t len;
  std::memcpy(&len, data + pos, 4);
  size_t span = sf::kRecordPrefixSize + Padded(len);
  if (span > end - pos) {
    *why = "record length runs past the end of the block";
    return false;
  }
  const auto* buf = reinterpret_cast<const uint8_t*>(data + pos + sf::kRecordPrefixSize);
  flatbuffers::Verifier verifier(buf, len);
  if (!fb::VerifyRecordBuffer(verifier)) {
    *why = "record fails FlatBuffers verification";
    return false;
  }
  const fb::Record* r = fb::GetRecord(buf);
  if (static_cast<uint8_t>(r->watch_type()) > static_cast<uint8_t>(WatchType::kDeletedInferred)) {
    *why = "record has an unknown watch type";
    return false;
  }
  RecordView v;
  Fill(r, &v);
  *out = v;
  *next = pos + span;
  return true;
}

}  // namespace sloop::record_codec
