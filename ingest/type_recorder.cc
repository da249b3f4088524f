#include "ingest/type_recorder.h"

#include "base/json_text.h"
#include "ingest/exclusion_rules.h"
#include "ingest/raw_json.h"

namespace sloop::ingest {

TypeRecorder::TypeRecorder(ResourceType type, RecordSink& sink, const IngestOptions& options,
                           KindMetrics* metrics, ParseScratch& scratch)
    : type_(std::move(type)), sink_(sink), options_(options), metrics_(metrics), scratch_(scratch) {
  is_event_ = IsEventType(type_.group, type_.kind);
  filter_nodes_ = type_.group.empty() && type_.kind == "Node" && !options_.keep_minor_node_updates;
}

bool TypeRecorder::Excluded(const ResourceObject& obj) {
  if (options_.rules == nullptr || options_.rules->empty()) return false;
  if (!options_.rules->ShouldExclude(type_.kind, obj.root)) return false;
  if (metrics_) metrics_->excluded->Increment();
  return true;
}

uint64_t TypeRecorder::Fingerprint(const ResourceObject& obj) const {
  return filter_nodes_ ? NodeFingerprint(obj.root) : 0;
}

Result<void> TypeRecorder::Record(const RecordView& r) {
  auto ok = sink_.Append(r);
  if (!ok) {
    if (metrics_) metrics_->StoreFailed();
    return ok;
  }
  ++records_;
  if (metrics_) metrics_->Stored(r);
  return {};
}

Result<void> TypeRecorder::Emit(const ResourceObject& obj, WatchType type, int64_t ts_ns) {
  return Record(MakeRecord(type_, obj, type, ts_ns));
}

Result<void> TypeRecorder::OnWatchEvent(WatchType type, std::string_view json, int64_t ts_ns) {
  last_event_ns_ = ts_ns;
  if (metrics_) metrics_->bytes->Increment(static_cast<double>(json.size()));
  auto obj = ParseObject(scratch_.parser, scratch_.padded, json, is_event_);
  if (!obj) {
    if (metrics_) metrics_->Error("malformed");
    return std::unexpected(obj.error());
  }
  if (Excluded(*obj)) return OnExcluded(*obj, type, ts_ns);
  if (type == WatchType::kDeleted) {
    // Forgotten once its record is stored: if the store cannot take it, the object stays known,
    // and the next relist, not showing it, infers the deletion.
    auto stored = Emit(*obj, type, ts_ns);
    if (stored) table_.Remove(obj->namespace_, obj->name, obj->uid);
    if (metrics_) metrics_->objects->Set(static_cast<double>(table_.size()));
    return stored;
  } else {
    uint64_t fp = Fingerprint(*obj);
    auto seen = table_.Observe(obj->namespace_, obj->name, obj->uid, obj->resource_version, fp);
    if (filter_nodes_ && type == WatchType::kModified && seen.change != ObjectTable::Change::kNew &&
        seen.previous_fingerprint == fp) {
      if (metrics_) metrics_->minor_node_updates->Increment();
      return {};
    }
    auto stored = Emit(*obj, type, ts_ns);
    if (!stored && seen.change != ObjectTable::Change::kUnchanged) {
      // Not stored: the next relist records it (a change it would otherwise take as known).
      table_.Unrecorded(obj->namespace_, obj->name, obj->uid, seen);
    }
    if (metrics_) metrics_->objects->Set(static_cast<double>(table_.size()));
    return stored;
  }
}

// An object an exclusion rule matches is not recorded. One recorded before (the rule matches a
// state it reached since, like a Pod's phase Succeeded) stays known as it was recorded, so that
// its history still ends: its deletion is recorded, with its last recorded state, when the watch
// shows it or a relist no longer does; a change out of the rule's reach is recorded as any.
Result<void> TypeRecorder::OnExcluded(const ResourceObject& obj, WatchType type, int64_t ts_ns) {
  if (type != WatchType::kDeleted) {
    table_.Touch(obj.namespace_, obj.name, obj.uid);
    return {};
  }
  auto known = table_.Find(obj.namespace_, obj.name, obj.uid);
  if (!known) return {};
  // Not stored: still known, and the next relist infers the deletion.
  if (auto ok = Record(LastStateRecord(*known, WatchType::kDeleted, ts_ns)); !ok) return ok;
  table_.Remove(obj.namespace_, obj.name, obj.uid);
  if (metrics_) metrics_->objects->Set(static_cast<double>(table_.size()));
  return {};
}

RecordView TypeRecorder::LastStateRecord(const ObjectTable::Entry& e, WatchType type,
                                         int64_t ts_ns) {
  // The record of a deletion not seen with a recorded state carries the object's last known
  // state, as Sloop's does (client-go hands it the final state it cached). This recorder keeps
  // only identities and versions, so the state is read back from the sink; a minimal object
  // carrying the identity stands in when the sink has none (every payload stays parseable).
  std::string& p = scratch_.synthesized;
  p.clear();
  auto last = sink_.LastPayload(type_.group, type_.kind, e.namespace_, e.name, e.uid, ts_ns);
  if (last && !last->empty() && last->front() == '{') {
    p = std::move(*last);
  } else {
    p += "{\"apiVersion\":";
    AppendJsonString(&p, type_.group.empty() ? type_.version : type_.group + "/" + type_.version);
    p += ",\"kind\":";
    AppendJsonString(&p, type_.kind);
    p += ",\"metadata\":{\"name\":";
    AppendJsonString(&p, e.name);
    if (!e.namespace_.empty()) {
      p += ",\"namespace\":";
      AppendJsonString(&p, e.namespace_);
    }
    p += ",\"uid\":";
    AppendJsonString(&p, e.uid);
    p += ",\"resourceVersion\":";
    AppendJsonString(&p, e.resource_version);
    p += "}}";
  }
  RecordView r;
  r.observed_ns = ts_ns;
  r.watch_type = type;
  r.api_group = type_.group;
  r.api_version = type_.version;
  r.kind = type_.kind;
  r.namespace_ = e.namespace_;
  r.name = e.name;
  r.uid = e.uid;
  r.resource_version = e.resource_version;
  r.payload = p;
  return r;
}

size_t TypeRecorder::SeedFromSink(std::string_view namespace_) {
  auto live = sink_.LiveObjects(type_.group, type_.kind, type_.namespaced ? namespace_ : "");
  for (const LiveObject& o : live) {
    table_.Seed(o.namespace_, o.name, o.uid, o.resource_version);
  }
  if (metrics_) metrics_->objects->Set(static_cast<double>(table_.size()));
  return live.size();
}

void TypeRecorder::BeginList() {
  listing_ = true;
  table_.BeginRelist();
  if (lists_ > 0 && metrics_) metrics_->relists->Increment();
}

void TypeRecorder::RestartList() {
  if (listing_) table_.BeginRelist();
}

Result<void> TypeRecorder::OnListItem(std::string_view json, int64_t ts_ns) {
  if (metrics_) metrics_->bytes->Increment(static_cast<double>(json.size()));
  auto obj = ParseObject(scratch_.parser, scratch_.padded, json, is_event_);
  if (!obj) {
    if (metrics_) metrics_->Error("malformed");
    return std::unexpected(obj.error());
  }
  if (Excluded(*obj)) {
    table_.Touch(obj->namespace_, obj->name, obj->uid);  // see OnExcluded
    return {};
  }
  uint64_t fp = Fingerprint(*obj);
  auto seen = table_.Observe(obj->namespace_, obj->name, obj->uid, obj->resource_version, fp);
  WatchType type = WatchType::kAdded;
  switch (seen.change) {
    case ObjectTable::Change::kNew:
      break;
    case ObjectTable::Change::kChanged:
      if (filter_nodes_ && seen.previous_fingerprint == fp) {
        if (metrics_) metrics_->minor_node_updates->Increment();
        return {};
      }
      type = WatchType::kModified;
      break;
    case ObjectTable::Change::kUnchanged:
      if (metrics_) metrics_->relist_unchanged->Increment();
      return {};
  }
  auto stored = Emit(*obj, type, ts_ns);
  // Not stored: the next relist records it again rather than take it as known.
  if (!stored) table_.Unrecorded(obj->namespace_, obj->name, obj->uid, seen);
  return stored;
}

Result<size_t> TypeRecorder::EndList(int64_t ts_ns, ListEnd end) {
  listing_ = false;
  ++lists_;
  if (end == ListEnd::kKeepUnseen) return 0;
  Result<void> status;
  size_t vanished = table_.EndRelist([&](const ObjectTable::Entry& e) {
    auto ok = Record(LastStateRecord(e, WatchType::kDeletedInferred, ts_ns));
    if (!ok) {
      // Still known: the next relist infers the deletion again.
      if (status) status = ok;
      return false;
    }
    if (metrics_) metrics_->inferred_deletions->Increment();
    return true;
  });
  if (metrics_) metrics_->objects->Set(static_cast<double>(table_.size()));
  if (!status) return std::unexpected(status.error());
  return vanished;
}

}  // namespace sloop::ingest
