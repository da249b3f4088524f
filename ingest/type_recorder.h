// TypeRecorder: turns what the API server says about one resource type — watch events and list
// pages — into records for the sink: reconciles relists against what is known, drops minor Node
// updates and excluded objects, counts everything. Shared by live watching and playback.
// Not thread-safe: one recorder is driven by one thread.
#pragma once

#include <simdjson.h>

#include <string>
#include <string_view>

#include "engine/record_sink.h"
#include "ingest/ingest_metrics.h"
#include "ingest/ingest_options.h"
#include "ingest/object_table.h"
#include "ingest/resource_object.h"

namespace sloop::ingest {

// Parser state reused across objects (one per thread).
struct ParseScratch {
  simdjson::dom::parser parser;
  std::string padded;
  std::string synthesized;
};

class TypeRecorder {
 public:
  TypeRecorder(ResourceType type, RecordSink& sink, const IngestOptions& options,
               KindMetrics* metrics, ParseScratch& scratch);

  // One ADDED / MODIFIED / DELETED watch event observed at ts_ns. kCorruption when the object is
  // not a valid object (the caller relists: a change may have been lost); a store error as is.
  Result<void> OnWatchEvent(WatchType type, std::string_view object_json, int64_t ts_ns);

  // Before the first list: takes the objects of this type that the sink holds as alive
  // (RecordSink::LiveObjects; namespaced types in namespace_ only, "" = all) as known, so that
  // the first list is reconciled like a relist. Live ingest calls it at start, when what the store
  // recorded before this process may have changed or vanished while nothing was recording.
  // Returns how many objects were taken.
  size_t SeedFromSink(std::string_view namespace_);

  // A list, possibly in pages: BeginList, OnListItem for each item, EndList. The first list of a
  // type not seeded records every object as ADDED; later ones (relists), and a first list after
  // SeedFromSink, record only differences: new objects ADDED, changed ones MODIFIED, vanished
  // ones DELETED_INFERRED (observed at the end of the list, the deletion's time being unknown).
  // EndList returns how many objects vanished. A list that could not be read whole (an item skipped
  // as unreadable, a page given up) ends with kKeepUnseen: what it did not show may still exist, so
  // nothing is inferred deleted and every known object stays known.
  enum class ListEnd { kInferDeletions, kKeepUnseen };
  void BeginList();
  // The list starts again from its first page (its continue token expired): what the pages
  // before showed no longer says an object is still there, so only what the new pages show
  // keeps an object from being inferred deleted at EndList.
  void RestartList();
  Result<void> OnListItem(std::string_view object_json, int64_t ts_ns);
  Result<size_t> EndList(int64_t ts_ns, ListEnd end = ListEnd::kInferDeletions);
  bool listing() const { return listing_; }
  bool listed_once() const { return lists_ > 0; }

  const ResourceType& type() const { return type_; }
  size_t known_objects() const { return table_.size(); }
  uint64_t records() const { return records_; }
  int64_t last_event_ns() const { return last_event_ns_; }
  KindMetrics* metrics() const { return metrics_; }

 private:
  // Appends r to the sink, counting it (or the failure).
  Result<void> Record(const RecordView& r);
  Result<void> Emit(const ResourceObject& obj, WatchType type, int64_t ts_ns);
  bool Excluded(const ResourceObject& obj);
  Result<void> OnExcluded(const ResourceObject& obj, WatchType type, int64_t ts_ns);
  // A record of a known object with its last recorded state (in scratch_.synthesized).
  RecordView LastStateRecord(const ObjectTable::Entry& e, WatchType type, int64_t ts_ns);
  uint64_t Fingerprint(const ResourceObject& obj) const;

  ResourceType type_;
  RecordSink& sink_;
  const IngestOptions& options_;
  KindMetrics* metrics_;
  ParseScratch& scratch_;
  ObjectTable table_;
  bool is_event_ = false;
  bool filter_nodes_ = false;
  bool listing_ = false;
  uint64_t lists_ = 0;
  uint64_t records_ = 0;
  int64_t last_event_ns_ = 0;
};

}  // namespace sloop::ingest
