#include "segments/columnar_block.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <type_traits>

#include "base/varint.h"

namespace sloop::columnar_block {
namespace {

constexpr int64_t kNanosPerSecond = 1000000000;

// The first column: one byte per record, its watch type and whether it has Event fields.
constexpr uint8_t kTypeMask = 0x07;
constexpr uint8_t kHasEvent = 0x08;

// The entry of a string column is a varint tag, (length << 2) | how, then what `how` needs.
enum How : uint64_t {
  kSame = 0,       // the value of the entry before in this column; length 0, nothing follows
  kLiteral = 1,    // `length` bytes follow
  kInPayload = 2,  // a zigzag varint follows: the value's offset in the record's payload, as a
                   // delta from the offset of the column's previous kInPayload entry (from 0)
};

// The string columns, in order: those of every record, then those of the Event records.
using RecordField = std::string_view RecordView::*;
using EventField = std::string_view EventInfoView::*;
constexpr RecordField kRecordFields[] = {
    &RecordView::api_group,       &RecordView::api_version, &RecordView::kind,
    &RecordView::namespace_,      &RecordView::name,        &RecordView::uid,
    &RecordView::resource_version};
constexpr EventField kEventFields[] = {
    &EventInfoView::involved_kind, &EventInfoView::involved_namespace,
    &EventInfoView::involved_name, &EventInfoView::involved_uid,
    &EventInfoView::reason,        &EventInfoView::message};

using varint::UnZigZag;
using varint::ZigZag;

void PutVarint(uint64_t v, std::string* out) { varint::Put(out, v); }

// Whole seconds (rounded down) and the nanoseconds after them. Observation times are whole
// seconds plus a small tie-breaking count more often than not, and Event timestamps are whole
// seconds: split, the two compress; as one nanosecond delta they smear over every varint byte.
void SplitTime(int64_t ns, int64_t* seconds, int64_t* nanos) {
  *seconds = ns / kNanosPerSecond;
  *nanos = ns % kNanosPerSecond;
  if (*nanos < 0) {
    *nanos += kNanosPerSecond;
    *seconds -= 1;
  }
}

// A time as (zigzag seconds - base_seconds, nanoseconds); *seconds gets its seconds. The seconds
// of any int64 of nanoseconds are within ±9.3e9, so the difference cannot overflow.
void PutTime(int64_t ns, int64_t base_seconds, int64_t* seconds, std::string* out) {
  int64_t nanos;
  SplitTime(ns, seconds, &nanos);
  PutVarint(ZigZag(*seconds - base_seconds), out);
  PutVarint(static_cast<uint64_t>(nanos), out);
}

// Where `value` occurs in `payload`: at `hint` (where the same column found its value in the
// record before, which holds for most records of a kind), else its first occurrence in the first
// kSearchBytes (metadata and Event fields come first; a value not found costs a search of at
// most that much, not of a whole large object); -1 when not found (an empty value is never
// looked for: a literal of length 0 is one byte).
constexpr size_t kSearchBytes = 8 * 1024;

int64_t FindInPayload(std::string_view payload, std::string_view value, int64_t hint) {
  if (value.empty() || value.size() > payload.size()) return -1;
  if (static_cast<uint64_t>(hint) <= payload.size() - value.size() &&
      std::memcmp(payload.data() + hint, value.data(), value.size()) == 0) {
    return hint;
  }
  const size_t window = std::min(payload.size(), kSearchBytes);
  const void* at = ::memmem(payload.data(), window, value.data(), value.size());
  return at ? static_cast<const char*>(at) - payload.data() : -1;
}

// Bounds-checked reading of [0, end) of a body.
class Cursor {
 public:
  Cursor(std::string_view data, size_t end) : data_(data), end_(end) {}
  size_t pos() const { return pos_; }

  bool Varint(uint64_t* v) {
    uint64_t result = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= end_) return false;
      const uint8_t b = static_cast<uint8_t>(data_[pos_++]);
      if (shift == 63 && b > 1) return false;  // more than 64 bits
      result |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) {
        *v = result;
        return true;
      }
    }
    return false;
  }
  bool Bytes(uint64_t n, std::string_view* out) {
    if (n > end_ - pos_) return false;
    *out = data_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  // A time written by PutTime against base_seconds.
  bool Time(int64_t base_seconds, int64_t* ns, int64_t* seconds) {
    uint64_t delta, nanos;
    if (!Varint(&delta) || !Varint(&nanos) || nanos >= static_cast<uint64_t>(kNanosPerSecond)) {
      return false;
    }
    int64_t whole;
    return !__builtin_add_overflow(base_seconds, UnZigZag(delta), seconds) &&
           !__builtin_mul_overflow(*seconds, kNanosPerSecond, &whole) &&
           !__builtin_add_overflow(whole, static_cast<int64_t>(nanos), ns);
  }

 private:
  std::string_view data_;
  size_t end_;
  size_t pos_ = 0;
};

// Calls fn(record) for the records of a column: all of them, or those with Event fields.
template <class Records, class Fn>
void ForRows(Records& records, bool events_only, Fn&& fn) {
  for (auto& r : records) {
    if (!events_only || r.event) fn(r);
  }
}

}  // namespace

BodyParts Encode(std::span<const RecordView> records, std::string* out) {
  const size_t start = out->size();
  for (const RecordView& r : records) {
    out->push_back(
        static_cast<char>(static_cast<uint8_t>(r.watch_type) | (r.event ? kHasEvent : 0)));
  }
  int64_t seconds = 0;  // each observation time against the seconds of the one before
  for (const RecordView& r : records) PutTime(r.observed_ns, seconds, &seconds, out);
  BodyParts parts;
  parts.heads = out->size() - start;
  for (const RecordView& r : records) PutVarint(r.payload.size(), out);
  auto column = [&](bool events_only, auto&& field) {
    std::string_view prev;
    bool has_prev = false;
    int64_t prev_offset = 0;
    ForRows(records, events_only, [&](const RecordView& r) {
      const std::string_view v = field(r);
      if (has_prev && v == prev) {
        out->push_back(static_cast<char>(kSame));
        return;
      }
      prev = v;
      has_prev = true;
      const int64_t at = FindInPayload(r.payload, v, prev_offset);
      if (at >= 0) {
        PutVarint((static_cast<uint64_t>(v.size()) << 2) | kInPayload, out);
        PutVarint(ZigZag(at - prev_offset), out);
        prev_offset = at;
      } else {
        PutVarint((static_cast<uint64_t>(v.size()) << 2) | kLiteral, out);
        out->append(v);
      }
    });
  };
  for (RecordField f : kRecordFields) {
    column(false, [f](const RecordView& r) { return r.*f; });
  }
  for (EventField f : kEventFields) {
    column(true, [f](const RecordView& r) { return (*r.event).*f; });
  }
  // Event numbers: severity, count, first timestamp against the observation time's seconds,
  // last timestamp against the first's.
  ForRows(records, true, [&](const RecordView& r) {
    const EventInfoView& e = *r.event;
    int64_t observed_s, nanos, first_s, last_s;
    SplitTime(r.observed_ns, &observed_s, &nanos);
    out->push_back(static_cast<char>(e.severity));
    PutVarint(ZigZag(e.count), out);
    PutTime(e.first_timestamp_ns, observed_s, &first_s, out);
    PutTime(e.last_timestamp_ns, first_s, &last_s, out);
  });
  parts.columns = out->size() - start;
  for (const RecordView& r : records) out->append(r.payload);
  return parts;
}

size_t HeadBytes(uint32_t count) {
  // A watch type byte, then a time of two varints (at most 10 and 5 bytes) a record.
  return size_t{count} * 16;
}

// The first two columns of a body at c: watch types (and, for a RecordView, which records have
// Event fields), then observation times, into *out (count rows, assigned). False with *why.
template <class Row>
bool DecodeFirstColumns(Cursor& c, uint32_t count, std::vector<Row>* out, const char** why) {
  std::string_view types;
  if (!c.Bytes(count, &types)) {
    *why = "block shorter than its record count";
    return false;
  }
  for (uint32_t i = 0; i < count; ++i) {
    const uint8_t b = static_cast<uint8_t>(types[i]);
    if ((b & ~(kTypeMask | kHasEvent)) != 0 ||
        (b & kTypeMask) > static_cast<uint8_t>(WatchType::kDeletedInferred)) {
      *why = "record has an unknown watch type";
      return false;
    }
    (*out)[i].watch_type = static_cast<WatchType>(b & kTypeMask);
    if constexpr (std::is_same_v<Row, RecordView>) {
      if (b & kHasEvent) (*out)[i].event.emplace();
    }
  }
  int64_t seconds = 0;
  for (Row& r : *out) {
    if (!c.Time(seconds, &r.observed_ns, &seconds)) {
      *why = "bad observation time";
      return false;
    }
  }
  return true;
}

bool DecodeHeads(std::string_view prefix, uint32_t count, std::vector<RecordHead>* out,
                 const char** why) {
  // Each record takes at least 3 bytes there (type, and a time of two varints).
  if (count > prefix.size() / 3) {
    *why = "block shorter than its record count";
    return false;
  }
  out->assign(count, RecordHead{});
  Cursor c(prefix, prefix.size());
  return DecodeFirstColumns(c, count, out, why);
}

bool Decode(std::string_view body, uint32_t count, std::vector<RecordView>* out, const char** why) {
  auto fail = [&](const char* reason) {
    *why = reason;
    return false;
  };
  // Each record takes at least 11 bytes (type, time, payload length, seven string tags): check
  // before allocating a view per record.
  if (count > body.size() / 11) return fail("block shorter than its record count");
  out->assign(count, RecordView{});
  Cursor c(body, body.size());
  if (!DecodeFirstColumns(c, count, out, why)) return false;
  // The payloads fill the end of the body: the sum of their lengths says where the columns end.
  uint64_t total = 0;
  for (RecordView& r : *out) {
    uint64_t n;
    if (!c.Varint(&n) || n > body.size() - total) {
      return fail("payload lengths run past the end of the block");
    }
    r.payload = body.substr(0, n);  // its length for now; placed below
    total += n;
  }
  const size_t columns_end = body.size() - total;
  if (c.pos() > columns_end) return fail("payload lengths run past the end of the block");
  size_t at = columns_end;
  for (RecordView& r : *out) {
    r.payload = body.substr(at, r.payload.size());
    at += r.payload.size();
  }
  Cursor cols(body, columns_end);
  std::string_view skipped;
  cols.Bytes(c.pos(), &skipped);
  auto column = [&](bool events_only, auto&& field) {
    std::string_view prev;
    bool has_prev = false;
    int64_t prev_offset = 0;
    bool ok = true;
    ForRows(*out, events_only, [&](RecordView& r) {
      if (!ok) return;
      std::string_view& v = field(r);
      uint64_t tag, delta;
      int64_t offset;
      ok = cols.Varint(&tag);
      if (!ok) return;
      switch (tag & 3) {
        case kSame:
          ok = tag == kSame && has_prev;
          v = prev;
          return;
        case kLiteral:
          ok = cols.Bytes(tag >> 2, &v);
          break;
        case kInPayload:
          ok = cols.Varint(&delta) &&
               !__builtin_add_overflow(prev_offset, UnZigZag(delta), &offset) && offset >= 0 &&
               static_cast<uint64_t>(offset) <= r.payload.size() &&
               (tag >> 2) <= r.payload.size() - static_cast<uint64_t>(offset);
          if (ok) {
            v = r.payload.substr(static_cast<size_t>(offset), tag >> 2);
            prev_offset = offset;
          }
          break;
        default:
          ok = false;
      }
      prev = v;
      has_prev = true;
    });
    return ok;
  };
  for (RecordField f : kRecordFields) {
    if (!column(false, [f](RecordView& r) -> std::string_view& { return r.*f; })) {
      return fail("bad string column");
    }
  }
  for (EventField f : kEventFields) {
    if (!column(true, [f](RecordView& r) -> std::string_view& { return (*r.event).*f; })) {
      return fail("bad Event string column");
    }
  }
  bool ok = true;
  ForRows(*out, true, [&](RecordView& r) {
    if (!ok) return;
    EventInfoView& e = *r.event;
    std::string_view severity;
    uint64_t n;
    int64_t observed_s, nanos, first_s, last_s;
    SplitTime(r.observed_ns, &observed_s, &nanos);
    ok = cols.Bytes(1, &severity) &&
         static_cast<uint8_t>(severity[0]) <= static_cast<uint8_t>(EventSeverity::kWarning) &&
         cols.Varint(&n) && UnZigZag(n) >= std::numeric_limits<int32_t>::min() &&
         UnZigZag(n) <= std::numeric_limits<int32_t>::max() &&
         cols.Time(observed_s, &e.first_timestamp_ns, &first_s) &&
         cols.Time(first_s, &e.last_timestamp_ns, &last_s);
    if (ok) {
      e.severity = static_cast<EventSeverity>(severity[0]);
      e.count = static_cast<int32_t>(UnZigZag(n));
    }
  });
  if (!ok) return fail("bad Event number column");
  if (cols.pos() != columns_end) return fail("columns do not end where the payloads start");
  return true;
}

}  // namespace sloop::columnar_block
