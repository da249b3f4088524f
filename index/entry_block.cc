#include "index/entry_block.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "index/index_format.h"
#include "base/varint.h"

namespace sloop::index_internal {
namespace {

using namespace index_format;
using varint::Put;
using varint::PutSigned;

constexpr int64_t kNsPerSec = 1000000000LL;
constexpr size_t kChunkBytes = 16 << 10;

// Entry masks: which of an entry's optional parts follow in the streams.
enum Mask : uint32_t {
  kHasTimes = 1,
  kHasCounts = 2,
  kHasChanges = 4,
  kHasCreation = 8,
  kHasOwners = 16,
  kHasVersion = 32,
  kHasEvent = 64,
  kHasHeat = 128,
  kHasNoChanges = 256,
  kRef = 512,  // the key is the base entry's (refs stream), and maybe more (Inherit << 10)
  kInheritShift = 10,
  kInheritBits = 0xf,
  // Its times and ticks are left out: an Event entry with records in an index rewritten against
  // its base (WriteRebasedIndex). Readers take them from its records in the segment.
  kTimesInSegment = 1 << 14,
  kKnownMask = (1 << 15) - 1,
};

// A 32-bit value after a difference read from a stream (modulo 2^32, as written).
uint32_t Step(uint32_t previous, uint64_t difference) {
  return static_cast<uint32_t>(previous + difference);
}

// The index `gap` places after `next` (the first a list of ascending indices may name next: the
// one after the previous, 0 before the first), when it lies below `end`. Checked without
// overflow: a gap near 2^64 must not wrap back to an index before `next`.
bool NextIndex(uint64_t next, uint64_t gap, uint64_t end, uint64_t* index) {
  if (next >= end || gap >= end - next) return false;
  *index = next + gap;
  return true;
}

// The mask bits of the parts an entry named through the base inherits (Inherit): it holds none
// of them itself. Each Inherit bit is its part's mask bit shifted right by three.
constexpr uint32_t kInheritToMaskShift = 3;
static_assert(kInheritCreation << kInheritToMaskShift == kHasCreation &&
              kInheritOwners << kInheritToMaskShift == kHasOwners &&
              kInheritVersion << kInheritToMaskShift == kHasVersion &&
              kInheritEvent << kInheritToMaskShift == kHasEvent);
uint32_t InheritedParts(uint8_t inherit) { return uint32_t{inherit} << kInheritToMaskShift; }

int64_t Sub(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
}
int64_t Add(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}

// A time difference: whole seconds as an even varint, anything else as an odd one, or (a
// difference too large for that) 1 and eight bytes.
void PutTime(std::string* out, int64_t d) {
  if (d % kNsPerSec == 0) {
    Put(out, varint::ZigZag(d / kNsPerSec) << 1);  // |d / 1e9| < 2^34: no overflow
    return;
  }
  const uint64_t z = varint::ZigZag(d);
  if (z < (uint64_t{1} << 63)) {
    Put(out, (z << 1) | 1);
    return;
  }
  Put(out, 1);
  char raw[8];
  std::memcpy(raw, &d, 8);
  out->append(raw, 8);
}

int64_t GetTime(varint::Reader& r) {
  const uint64_t v = r.Get();
  if (v == 1) {
    std::string_view raw = r.Bytes(8);
    int64_t d = 0;
    if (raw.size() == 8) std::memcpy(&d, raw.data(), 8);
    return d;
  }
  const int64_t q = varint::UnZigZag(v >> 1);
  if (v & 1) return q;
  return static_cast<int64_t>(static_cast<uint64_t>(q) * static_cast<uint64_t>(kNsPerSec));
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// A uid in the canonical form (36 characters, lower-case hex 8-4-4-4-12) is stored as its 16
// bytes (tag 0), any other string as tag length + 1 and its bytes.
void PutUid(std::string* out, std::string_view uid) {
  if (uid.size() == 36) {
    char bin[16];
    size_t k = 0;
    bool canonical = true;
    for (size_t i = 0; i < 36 && canonical; ++i) {
      if (i == 8 || i == 13 || i == 18 || i == 23) {
        canonical = uid[i] == '-';
        continue;
      }
      const int hi = HexValue(uid[i]), lo = i + 1 < 36 ? HexValue(uid[i + 1]) : -1;
      if (hi < 0 || lo < 0) {
        canonical = false;
        break;
      }
      bin[k++] = static_cast<char>(hi << 4 | lo);
      ++i;
    }
    if (canonical && k == 16) {
      Put(out, 0);
      out->append(bin, 16);
      return;
    }
  }
  Put(out, uid.size() + 1);
  out->append(uid);
}

std::string_view GetUid(varint::Reader& r, CharArena& chars) {
  const uint64_t tag = r.Get();
  if (tag != 0) return chars.Copy(r.Bytes(tag - 1));
  std::string_view bin = r.Bytes(16);
  if (bin.size() != 16) return {};
  // Two hex digits a byte, from a table made once.
  static const auto kPairs = [] {
    std::array<char, 512> t{};
    constexpr char kHex[] = "0123456789abcdef";
    for (int b = 0; b < 256; ++b) {
      t[2 * b] = kHex[b >> 4];
      t[2 * b + 1] = kHex[b & 15];
    }
    return t;
  }();
  char* p = chars.Allocate(36);
  char* out = p;
  for (size_t k = 0; k < 16; ++k) {
    if (k == 4 || k == 6 || k == 8 || k == 10) *out++ = '-';
    const auto b = static_cast<uint8_t>(bin[k]);
    *out++ = kPairs[2 * b];
    *out++ = kPairs[2 * b + 1];
  }
  return {p, 36};
}

void PutString(std::string* out, std::string_view s) {
  Put(out, s.size());
  out->append(s);
}

std::string_view GetString(varint::Reader& r, CharArena& chars) {
  const uint64_t n = r.Get();
  return chars.Copy(r.Bytes(n));
}

// A resourceVersion that is a decimal number (no sign, no leading zero, below 2^64) is stored as
// its difference from the last such one of the block (even), any other as 1 and the string.
bool DecimalValue(std::string_view s, uint64_t* v) {
  if (s.empty() || s.size() > 20 || (s.size() > 1 && s[0] == '0')) return false;
  uint64_t x = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (x > (UINT64_MAX - d) / 10) return false;
    x = x * 10 + d;
  }
  *v = x;
  return true;
}

std::string OwnersKey(const std::vector<OwnerRefData>& owners) {
  std::string key;
  for (const OwnerRefData& o : owners) {
    for (std::string_view f :
         {std::string_view(o.kind), std::string_view(o.name), std::string_view(o.uid)}) {
      Put(&key, f.size());
      key.append(f);
    }
    key.push_back(o.controller ? 1 : 0);
  }
  return key;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// CharArena, EntryBlock

char* CharArena::Allocate(size_t n) {
  if (n > left_) {
    const size_t size = std::max(n, kChunkBytes);
    if (chunks_.empty()) first_bytes_ = size;
    chunks_.emplace_back(new char[size]);
    at_ = chunks_.back().get();
    left_ = size;
    bytes_ += size;
  }
  char* p = at_;
  at_ += n;
  left_ -= n;
  return p;
}

std::string_view CharArena::Copy(std::string_view s) {
  if (s.empty()) return {};
  char* p = Allocate(s.size());
  std::memcpy(p, s.data(), s.size());
  return {p, s.size()};
}

void CharArena::Reset() {
  if (chunks_.empty()) return;
  chunks_.resize(1);
  at_ = chunks_[0].get();
  left_ = bytes_ = first_bytes_;
}

void EntryBlock::Clear() {
  rows.clear();
  ticks.clear();
  heat.clear();
  owners.clear();
  events.clear();
  about.clear();
  chars.Reset();
  raw.reset();
  raw_bytes = 0;
}

size_t EntryBlock::bytes() const {
  return sizeof(*this) + rows.capacity() * sizeof(EntryRow) + ticks.capacity() * 4 +
         heat.capacity() * sizeof(IndexHeatCell) + owners.capacity() * sizeof(IndexOwner) +
         events.capacity() * sizeof(EventRow) + about.capacity() * 4 + chars.bytes() + raw_bytes;
}

// ---------------------------------------------------------------------------------------------
// EntryBlockBuilder

EntryBlockBuilder::EntryBlockBuilder(int64_t window_start_ns, StringId string_id)
    : window_start_ns_(window_start_ns), string_id_(std::move(string_id)) {}

void EntryBlockBuilder::Start(uint32_t first_entry, uint64_t expected_ordinal) {
  first_entry_ = first_entry;
  expected_ordinal_ = next_ordinal_ = expected_ordinal;
}

void EntryBlockBuilder::EndRun() {
  if (run_length_ == 0) return;
  std::string& out = streams_[kKeyRuns];
  Put(&out, run_length_);
  for (uint32_t v : run_) Put(&out, v);
  run_length_ = 0;
}

bool EntryBlockBuilder::Add(const ResourceKeyView& key, const ResourceSummary& s,
                            std::optional<uint64_t> ordinal, bool linked,
                            std::span<const uint32_t> about, const EntryRef* ref,
                            bool times_in_segment) {
  // Kind, namespace, API group and version: runs of one combination.
  const uint32_t refs[4] = {string_id_(key.kind), string_id_(key.namespace_),
                            string_id_(s.api_group), string_id_(s.api_version)};
  if (run_length_ == 0 || !std::equal(refs, refs + 4, run_)) {
    EndRun();
    std::copy(refs, refs + 4, run_);
  }
  ++run_length_;
  const uint8_t inherit = ref ? ref->inherit : 0;
  if (ref) {
    // Named by its entry in the base index: no name or uid here.
    Put(&streams_[kRefs], static_cast<uint64_t>(int64_t{ref->entry} - previous_ref_ - 1));
    previous_ref_ = ref->entry;
  } else {
    // The name after what it shares with the one before.
    size_t shared = 0;
    const size_t most = std::min(previous_name_.size(), key.name.size());
    while (shared < most && previous_name_[shared] == key.name[shared]) ++shared;
    Put(&streams_[kNames], shared);
    PutString(&streams_[kNames], key.name.substr(shared));
    previous_name_.assign(key.name);
    PutUid(&streams_[kUids], key.uid);
  }
  streams_[kFlags].push_back(static_cast<char>(s.flags));

  // A carried-over entry with no record spans the whole shard: its times are implied.
  const bool implied_span = (s.flags & kCarriedOver) && s.record_count == 0;
  const ResourceKeyView* inv = s.involved();
  uint32_t mask = 0;
  // Times in the segment need records there to read them from.
  const bool in_segment = times_in_segment && s.record_count > 0 && ordinal.has_value();
  if (in_segment) {
    mask |= kTimesInSegment;
  } else {
    if (!implied_span && (s.first_ns != 0 || s.last_ns != 0)) mask |= kHasTimes;
    if (!s.change_secs.empty()) mask |= kHasChanges;
    if (!s.nochange_secs.empty()) mask |= kHasNoChanges;
  }
  if (s.record_count || s.change_count || s.nochange_count) mask |= kHasCounts;
  if (s.creation_ns != 0 && !(inherit & kInheritCreation)) mask |= kHasCreation;
  if (s.owners && !s.owners->empty() && !(inherit & kInheritOwners)) mask |= kHasOwners;
  if (!s.last_resource_version.empty() && !(inherit & kInheritVersion)) mask |= kHasVersion;
  if (inv && !(inherit & kInheritEvent)) mask |= kHasEvent;
  if (!s.heat.empty()) mask |= kHasHeat;
  if (ref) mask |= kRef | uint32_t{inherit} << kInheritShift;
  Put(&streams_[kMasks], mask);

  if (mask & kHasCounts) {
    std::string& out = streams_[kCounts];
    Put(&out, s.record_count);
    Put(&out, s.change_count);
    Put(&out, s.nochange_count);
  }
  const int64_t first_ns = (mask & kHasTimes) ? s.first_ns : window_start_ns_;
  if (mask & kHasTimes) {
    PutTime(&streams_[kTimes], Sub(s.first_ns, window_start_ns_));
    PutTime(&streams_[kTimes], Sub(s.last_ns, s.first_ns));
  }
  if (mask & kHasCreation) {
    PutTime(&streams_[kTimes],
            Sub(s.creation_ns, previous_creation_ ? previous_creation_ : window_start_ns_));
    previous_creation_ = s.creation_ns;
  }
  // Ticks: the first against the entry's first second, then each against the one before.
  const uint32_t base_sec = static_cast<uint32_t>(first_ns / kNsPerSec);
  for (const TickList* ticks : {&s.change_secs, &s.nochange_secs}) {
    if (ticks->empty() || in_segment) continue;
    std::string& out = streams_[kTicks];
    Put(&out, ticks->size());
    uint32_t previous = base_sec;
    bool first = true;
    for (uint32_t t : *ticks) {
      if (first) {
        PutSigned(&out, static_cast<int64_t>(t) - static_cast<int64_t>(previous));
        first = false;
      } else {
        Put(&out, static_cast<uint32_t>(t - previous));
      }
      previous = t;
    }
  }
  if (mask & kHasHeat) {
    std::string& out = streams_[kHeat];
    Put(&out, s.heat.size());
    const uint32_t base_min = static_cast<uint32_t>(window_start_ns_ / (60 * kNsPerSec));
    uint32_t previous = base_min;
    bool first = true;
    for (const HeatCellData& h : s.heat) {
      if (first) {
        PutSigned(&out, static_cast<int64_t>(h.minute) - static_cast<int64_t>(previous));
        first = false;
      } else {
        Put(&out, static_cast<uint32_t>(h.minute - previous));
      }
      previous = h.minute;
      Put(&out, h.count);
      Put(&out, h.reason);
      out.push_back(static_cast<char>(h.severity));
    }
  }
  if (mask & kHasOwners) {
    // Owner lists are kept once a block, in the order first met; entries name theirs. No list
    // holds more than a reader takes (ParseObjectMeta already cuts an object's).
    const std::vector<OwnerRefData>* owners = s.owners.get();
    std::vector<OwnerRefData> cut;
    if (owners->size() > kMaxOwnersPerEntry) {
      cut = *owners;
      KeepIndexedOwners(&cut);
      owners = &cut;
    }
    std::string content = OwnersKey(*owners);
    uint32_t id = owner_lists_;
    auto it = std::find_if(owner_ids_.begin(), owner_ids_.end(),
                           [&](const auto& p) { return p.first == content; });
    if (it != owner_ids_.end()) {
      id = it->second;
    } else {
      owner_ids_.emplace_back(std::move(content), id);
      ++owner_lists_;
      Put(&owner_table_, owners->size());
      for (const OwnerRefData& o : *owners) {
        Put(&owner_table_, string_id_(o.kind));
        PutString(&owner_table_, o.name);
        PutUid(&owner_table_, o.uid);
        owner_table_.push_back(o.controller ? 1 : 0);
      }
    }
    Put(&streams_[kOwners], id);
  }
  if (mask & kHasVersion) {
    std::string& out = streams_[kVersions];
    uint64_t v = 0;
    if (DecimalValue(s.last_resource_version, &v) &&
        varint::ZigZag(static_cast<int64_t>(v - previous_version_)) < (uint64_t{1} << 63)) {
      Put(&out, varint::ZigZag(static_cast<int64_t>(v - previous_version_)) << 1);
      previous_version_ = v;
    } else {
      Put(&out, 1);
      PutString(&out, s.last_resource_version);
    }
  }
  if (mask & kHasEvent) {
    std::string& out = streams_[kEvents];
    Put(&out, string_id_(inv->kind));
    PutSigned(&out, s.event->count);
    PutTime(&out, Sub(s.event->last_ns, first_ns));
    if (linked) {
      Put(&out, 0);
    } else {
      Put(&out, 1);
      Put(&out, string_id_(inv->namespace_));
      PutString(&out, inv->name);
      PutUid(&out, inv->uid);
    }
  }
  if (s.record_count > 0) {
    // Records follow those of the entry before, almost always: 0.
    std::string& out = streams_[kPositions];
    if (ordinal) {
      Put(&out, varint::ZigZag(static_cast<int64_t>(*ordinal - next_ordinal_)) << 1);
    } else {
      Put(&out, 1);
    }
    next_ordinal_ += s.record_count;
  }
  if (!about.empty()) {
    const int64_t local = n_;
    Put(&about_, static_cast<uint64_t>(local - previous_about_local_ - 1));
    previous_about_local_ = local;
    Put(&about_, about.size());
    bool first = true;
    for (uint32_t e : about) {
      if (first) {
        PutSigned(&about_, static_cast<int64_t>(e) - static_cast<int64_t>(previous_event_));
        first = false;
      } else {
        Put(&about_, static_cast<uint32_t>(e - previous_event_));
      }
      previous_event_ = e;
    }
    ++about_targets_;
  }
  ++n_;
  return in_segment;
}

std::string EntryBlockBuilder::Finish() {
  EndRun();
  std::string out;
  Put(&out, n_);
  Put(&out, expected_ordinal_);
  std::string owners;
  Put(&owners, owner_lists_);
  owners.append(owner_table_);
  owners.append(streams_[kOwners]);
  streams_[kOwners] = std::move(owners);
  std::string about;
  Put(&about, about_targets_);
  about.append(about_);
  streams_[kAbout] = std::move(about);
  for (std::string& s : streams_) {
    Put(&out, s.size());
    out.append(s);
    s.clear();
  }
  owner_table_.clear();
  owner_lists_ = 0;
  owner_ids_.clear();
  n_ = 0;
  previous_name_.clear();
  previous_creation_ = 0;
  previous_version_ = 0;
  run_length_ = 0;
  previous_about_local_ = -1;
  about_targets_ = 0;
  about_.clear();
  previous_event_ = 0;
  previous_ref_ = -1;
  return out;
}

// ---------------------------------------------------------------------------------------------
// DecodeEntryBlock

namespace {

// The about stream: which Event entries are about which entry of the block. The entries are
// strictly ascending (so no more than the block's), and so are each one's Events, every one an
// entry of the shard (so no more than the shard's): whatever the stream says, nothing wraps,
// no row is named twice and no link lies outside the shard.
bool DecodeAbout(varint::Reader& ab, const BlockContext& ctx, EntryBlock* out, std::string* why) {
  auto fail = [&](const char* what) {
    *why = what;
    return false;
  };
  const uint64_t n = out->rows.size();
  const uint64_t targets = ab.GetCount(2);  // an entry index and a count at least
  if (targets > n) return fail("more entries with Event links than entries");
  uint64_t next_local = 0;
  uint64_t previous_event = 0;
  for (uint64_t t = 0; t < targets && ab.ok(); ++t) {
    uint64_t local = 0;
    if (!NextIndex(next_local, ab.Get(), n, &local)) return fail("Event links cut short");
    next_local = local + 1;
    EntryRow& e = out->rows[local];
    const uint64_t count = ab.GetCount(1);
    if (count > ctx.shard_entries) return fail("more Event links than entries in the shard");
    e.about = static_cast<uint32_t>(out->about.size());
    e.about_n = static_cast<uint32_t>(count);
    for (uint64_t k = 0; k < count && ab.ok(); ++k) {
      // The first against the previous entry's last (signed), then each against the one before
      // (a difference of 1 at least: 0 is a gap of 2^64 - 1 after it, refused).
      uint64_t ev = 0;
      if (k == 0) {
        const int64_t d = ab.GetSigned();
        const int64_t lowest = -static_cast<int64_t>(previous_event);
        if (d < lowest || d >= int64_t{ctx.shard_entries} + lowest) {
          return fail("an Event link names no entry");
        }
        ev = static_cast<uint64_t>(static_cast<int64_t>(previous_event) + d);
      } else if (!NextIndex(previous_event + 1, ab.Get() - 1, ctx.shard_entries, &ev)) {
        return fail("an Event link names no entry, or not after the one before");
      }
      out->about.push_back(static_cast<uint32_t>(ev));
      previous_event = ev;
    }
  }
  return true;
}

}  // namespace

bool DecodeEntryBlock(std::string_view payload, const BlockContext& ctx, EntryBlock* out,
                      std::string* why) {
  varint::Reader head(payload);
  auto fail = [&](const char* what) {
    *why = what;
    return false;
  };
  const uint64_t n = head.Get();
  uint64_t ordinal = head.Get();
  if (!head.ok() || n != ctx.entries) return fail("wrong number of entries");
  varint::Reader streams[kBlockStreams];
  for (varint::Reader& s : streams) {
    const uint64_t size = head.Get();
    std::string_view bytes = head.Bytes(size);
    if (!head.ok()) return fail("a stream overruns the block");
    s = varint::Reader(bytes);
  }
  if (!head.done()) return fail("bytes after the last stream");
  // One flag byte an entry (and so no more entries than the block has bytes).
  if (streams[kFlags].left() != n) return fail("wrong number of entry flags");
  auto ref = [&](uint64_t id, bool* ok) -> std::string_view {
    if (id >= ctx.strings.size()) {
      *ok = false;
      return {};
    }
    return ctx.strings[id];
  };
  bool refs_ok = true;

  // The block's owner lists. The builder writes only lists that an entry names, so there are no
  // more than entries (bytes alone would let a block of zeros claim millions); an owner takes
  // four bytes at least (kind ref, name length, uid tag, controller byte).
  varint::Reader& ow = streams[kOwners];
  const uint64_t lists = ow.GetCount(1);
  if (lists > n) return fail("more owner lists than entries");
  std::vector<std::pair<uint32_t, uint32_t>> owner_lists;
  owner_lists.reserve(lists);
  for (uint64_t l = 0; l < lists && ow.ok(); ++l) {
    const uint64_t k = ow.GetCount(4);
    if (k > kMaxOwnersPerEntry) return fail("an owner list longer than an entry keeps");
    const auto at = static_cast<uint32_t>(out->owners.size());
    for (uint64_t j = 0; j < k && ow.ok(); ++j) {
      IndexOwner o;
      o.kind = ref(ow.Get(), &refs_ok);
      o.name = GetString(ow, out->chars);
      o.uid = GetUid(ow, out->chars);
      o.controller = ow.Byte() != 0;
      out->owners.push_back(o);
    }
    owner_lists.emplace_back(at, static_cast<uint32_t>(out->owners.size() - at));
  }
  if (!ow.ok()) return fail("owner lists cut short");

  out->rows.assign(n, kEmptyRow);
  varint::Reader& runs = streams[kKeyRuns];
  std::string_view kind, ns, group, version;
  uint64_t run_left = 0;
  std::string_view previous_name;
  uint64_t name_bytes = 0;
  uint64_t next_ref = 0;  // the lowest base entry the next entry with a ref may name
  int64_t previous_creation = 0;
  uint64_t previous_version = 0;
  uint64_t expected = ordinal;
  const int64_t base_min = ctx.window_start_ns / (60 * kNsPerSec);
  for (uint64_t i = 0; i < n; ++i) {
    EntryRow& e = out->rows[i];
    if (run_left == 0) {
      run_left = runs.Get();
      kind = ref(runs.Get(), &refs_ok);
      ns = ref(runs.Get(), &refs_ok);
      group = ref(runs.Get(), &refs_ok);
      version = ref(runs.Get(), &refs_ok);
      if (run_left == 0 || !runs.ok()) return fail("key runs cut short");
    }
    --run_left;
    e.key.kind = kind;
    e.key.namespace_ = ns;
    e.api_group = group;
    e.api_version = version;
    e.flags = streams[kFlags].Byte();
    const uint64_t mask = streams[kMasks].Get();
    if (mask & ~uint64_t{kKnownMask}) return fail("an entry has parts this build does not know");
    if (mask & kRef) {
      // Named through the base index: entries strictly ascending within the block, each below
      // the base's count (IndexEntry reads base_->entry(ref)).
      uint64_t ref = 0;
      const uint64_t gap = streams[kRefs].Get();
      if (!streams[kRefs].ok() || !NextIndex(next_ref, gap, ctx.base_entries, &ref)) {
        return fail("an entry names no entry of the base index");
      }
      e.ref = static_cast<uint32_t>(ref);
      e.inherit = static_cast<uint8_t>((mask >> kInheritShift) & kInheritBits);
      next_ref = ref + 1;
      // A part both inherited and held would be read from the base, and its bytes by no one.
      if (mask & InheritedParts(e.inherit)) return fail("an entry inherits a part it holds");
    } else if ((mask >> kInheritShift) & kInheritBits) {
      return fail("an entry of its own inherits parts");
    } else {
      // Name: a prefix of the one before, then its own bytes.
      varint::Reader& nm = streams[kNames];
      const uint64_t shared = nm.Get();
      const uint64_t rest = nm.Get();
      std::string_view tail = nm.Bytes(rest);
      if (!nm.ok() || shared > previous_name.size()) return fail("names cut short");
      // Shared prefixes could make a few bytes spell names without end: the block's names are
      // bounded like its raw size.
      name_bytes += shared + rest;
      if (name_bytes > kMaxBlockRawBytes) return fail("names too long");
      if (shared + rest > 0) {
        char* p = out->chars.Allocate(shared + rest);
        if (shared) std::memcpy(p, previous_name.data(), shared);
        if (rest) std::memcpy(p + shared, tail.data(), rest);
        e.key.name = {p, shared + rest};
      }
      previous_name = e.key.name;
      e.key.uid = GetUid(streams[kUids], out->chars);
    }
    if (mask & kTimesInSegment) {
      if (!ctx.times_in_segment) return fail("an entry's times are in the segment (version 4)");
      if (mask & (kHasTimes | kHasChanges | kHasNoChanges)) {
        return fail("an entry holds times it says are in the segment");
      }
      e.times_in_segment = true;
    }
    if (mask & kHasCounts) {
      varint::Reader& c = streams[kCounts];
      const uint64_t records = c.Get(), changes = c.Get(), nochanges = c.Get();
      if ((records | changes | nochanges) > UINT32_MAX) return fail("a count above 2^32");
      e.record_count = static_cast<uint32_t>(records);
      e.change_count = static_cast<uint32_t>(changes);
      e.nochange_count = static_cast<uint32_t>(nochanges);
    }
    varint::Reader& tm = streams[kTimes];
    if (mask & kHasTimes) {
      e.first_ns = Add(ctx.window_start_ns, GetTime(tm));
      e.last_ns = Add(e.first_ns, GetTime(tm));
    }
    if (mask & kHasCreation) {
      e.creation_ns = Add(previous_creation ? previous_creation : ctx.window_start_ns, GetTime(tm));
      previous_creation = e.creation_ns;
    }
    const int64_t first_ns = (mask & kHasTimes) ? e.first_ns : ctx.window_start_ns;
    const auto base_sec = static_cast<uint32_t>(first_ns / kNsPerSec);
    e.ticks = static_cast<uint32_t>(out->ticks.size());
    for (uint32_t which = 0; which < 2; ++which) {
      if (!(mask & (which == 0 ? kHasChanges : kHasNoChanges))) continue;
      varint::Reader& tk = streams[kTicks];
      const uint64_t count = tk.GetCount(1);
      uint32_t previous = base_sec;
      for (uint64_t k = 0; k < count && tk.ok(); ++k) {
        const uint32_t t =
            Step(previous, k == 0 ? static_cast<uint64_t>(tk.GetSigned()) : tk.Get());
        out->ticks.push_back(t);
        previous = t;
      }
      (which == 0 ? e.change_n : e.nochange_n) = static_cast<uint32_t>(count);
    }
    if (mask & kHasHeat) {
      varint::Reader& ht = streams[kHeat];
      const uint64_t count = ht.GetCount(4);
      e.heat = static_cast<uint32_t>(out->heat.size());
      e.heat_n = static_cast<uint32_t>(count);
      uint32_t previous = static_cast<uint32_t>(base_min);
      for (uint64_t k = 0; k < count && ht.ok(); ++k) {
        IndexHeatCell h;
        h.minute = Step(previous, k == 0 ? static_cast<uint64_t>(ht.GetSigned()) : ht.Get());
        previous = h.minute;
        h.count = static_cast<uint32_t>(ht.Get());
        h.reason = static_cast<uint16_t>(ht.Get());
        h.severity = ht.Byte();
        out->heat.push_back(h);
      }
    }
    if (mask & kHasOwners) {
      const uint64_t id = ow.Get();
      if (id >= owner_lists.size()) return fail("an entry names an owner list the block lacks");
      e.owners = owner_lists[id].first;
      e.owners_n = owner_lists[id].second;
    }
    if (mask & kHasVersion) {
      varint::Reader& vr = streams[kVersions];
      const uint64_t v = vr.Get();
      if (v == 1) {
        e.last_resource_version = GetString(vr, out->chars);
      } else if (v & 1) {
        return fail("a resourceVersion of unknown form");
      } else {
        const uint64_t value = previous_version + static_cast<uint64_t>(varint::UnZigZag(v >> 1));
        previous_version = value;
        char digits[20];
        size_t len = 0;
        uint64_t x = value;
        do {
          digits[len++] = static_cast<char>('0' + x % 10);
          x /= 10;
        } while (x);
        char* p = out->chars.Allocate(len);
        for (size_t k = 0; k < len; ++k) p[k] = digits[len - 1 - k];
        e.last_resource_version = {p, len};
      }
    }
    if (mask & kHasEvent) {
      varint::Reader& ev = streams[kEvents];
      EventRow r;
      r.kind = ref(ev.Get(), &refs_ok);
      r.count = static_cast<int32_t>(ev.GetSigned());
      r.last_ns = Add(first_ns, GetTime(ev));
      const uint64_t spelled = ev.Get();
      if (spelled == 1) {
        r.namespace_ = ref(ev.Get(), &refs_ok);
        r.name = GetString(ev, out->chars);
        r.uid = GetUid(ev, out->chars);
      } else if (spelled != 0) {
        return fail("an Event entry of unknown form");
      }
      e.event = static_cast<uint32_t>(out->events.size());
      out->events.push_back(r);
    }
    if (e.record_count > 0) {
      const uint64_t p = streams[kPositions].Get();
      if (p != 1) {
        if (p & 1) return fail("a record position of unknown form");
        e.position = expected + static_cast<uint64_t>(varint::UnZigZag(p >> 1));
        e.has_position = true;
      }
      expected += e.record_count;
    }
    if (e.times_in_segment && !e.has_position) {
      return fail("an entry whose times are in the segment has no record there");
    }
  }
  // Which Event entries are about which entry of this block.
  if (!DecodeAbout(streams[kAbout], ctx, out, why)) return false;
  for (const varint::Reader& s : streams) {
    if (!s.ok()) return fail("a stream is cut short");
    // Bytes no entry read would be read by the wrong entries in a block written differently:
    // a version-4 block holds exactly its entries' parts (files of version 3 were written by
    // builds that did not check this, and are read as they were).
    if (ctx.times_in_segment && !s.done()) return fail("a stream holds more than its entries");
  }
  if (!refs_ok) return fail("an entry names a string the index does not have");
  if (run_left != 0 || !streams[kKeyRuns].done()) return fail("key runs do not match the entries");
  return true;
}

}  // namespace sloop::index_internal
