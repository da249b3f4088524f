// GET /api/v1/gaps (also /<ctx>/api/v1/gaps): the time in a window when changes may not have been
// recorded, so that the UI can shade it (docs/api.md, docs/format/recording-log.md):
//   {"start","end","recording_since","recording","gaps":[{"start","end","scope","kind","group",
//    "reason"}]}
// The gaps come from the recording log (engine/recording_log.h): holes between the sessions of the
// recorder, and the intervals ingest reported (a watch cut and relisted, a cluster it could not
// read). Time before recording_since is not recorded yet, which is no gap.
#include <algorithm>

#include "engine/recording_log.h"
#include "http/json_writer.h"
#include "http/routes_internal.h"

namespace sloop::http {
namespace {

// The /api/v1 window (from/to or lookback [+ to]); start_time and end_time are taken for from and
// to, as Sloop's routes name them.
TimeRange GapsWindow(const Params& p, const HandlerContext& ctx) {
  auto start_time = p.Get("start_time");
  auto end_time = p.Get("end_time");
  if (!start_time && !end_time) return ApiWindow(p, ctx, true);
  const char* named = start_time ? "start_time" : "end_time";
  if (p.Get("from") || p.Get("to")) {
    throw ParamError(named, "give from and to, or start_time and end_time, not both");
  }
  auto lookback = p.Duration("lookback");
  if (start_time && lookback) {
    throw ParamError("lookback",
                     "give either start_time (and end_time) or lookback (and end_time), not both");
  }
  TimeRange r;
  r.end_ns = end_time ? ParseTime(*end_time, "end_time") : ctx.store.Now();
  if (start_time) {
    r.start_ns = ParseTime(*start_time, "start_time");
  } else {
    int64_t lb = lookback ? *lookback : ParseDuration(ctx.options.default_lookback, "lookback");
    r.start_ns = std::max<int64_t>(0, r.end_ns - lb);
  }
  if (r.start_ns > r.end_ns) throw ParamError("start_time", "is after end_time");
  int64_t max_lb = ctx.options.max_look_back.count();
  if (max_lb > 0 && r.end_ns - r.start_ns > max_lb) r.start_ns = r.end_ns - max_lb;
  return r;
}

void WriteTimeOrNull(JsonWriter& w, std::string_view key, int64_t ns) {
  w.Key(key);
  if (ns) {
    w.String(FormatRfc3339(ns));
  } else {
    w.Null();
  }
}

Response Gaps(const HandlerContext& ctx, const Request& req) {
  Params p(req);
  const TimeRange window = GapsWindow(p, ctx);
  std::string_view kind = p.GetOr("kind", "");
  if (kind == "_all") kind = {};  // Sloop's "every kind"
  RecordingState state;
  if (ctx.options.recording_log) state = ctx.options.recording_log->State();
  // The first moment recorded: the oldest retained record, or (none yet) the first session.
  int64_t since = ctx.store.Stats().oldest_ns;
  if (since == 0 || window.start_ns < since) {
    // Shards kept in an object store reach further back (a gateway holds none itself); their
    // manifests say so, nothing is fetched. A bucket that cannot be listed now changes nothing.
    if (auto shards = ctx.store.QuerySnapshot(window.start_ns)) {
      for (const auto& shard : *shards) {
        const ShardInfo i = shard->info();
        if (i.records && i.min_ns && (since == 0 || i.min_ns < since)) since = i.min_ns;
      }
    }
  }
  if (since == 0 && !state.sessions.empty()) since = state.sessions.front().start_ns;
  std::vector<RecordingGap> gaps;
  if (since != 0) gaps = FindGaps(state, since, window.start_ns, window.end_ns, kind);

  std::string body;
  JsonWriter w(&body);
  w.BeginObject();
  WriteTimeOrNull(w, "start", window.start_ns);
  w.Field("end", FormatRfc3339(window.end_ns));
  WriteTimeOrNull(w, "recording_since", since);
  w.Field("recording", state.recording);
  w.Key("gaps").BeginArray();
  for (const RecordingGap& g : gaps) {
    w.BeginObject();
    w.Field("start", FormatRfc3339(g.start_ns));
    WriteTimeOrNull(w, "end", g.end_ns);
    w.Field("scope", g.scope);
    // A gap of every kind (the recorder's) has no kind and no group; a watch's has both ("" is
    // the core group).
    const bool typed = !g.kind.empty();
    w.Key("kind");
    typed ? w.String(g.kind) : w.Null();
    w.Key("group");
    typed ? w.String(g.group) : w.Null();
    w.Field("reason", g.reason);
    w.EndObject();
  }
  w.EndArray().EndObject();
  body.push_back('\n');
  return JsonResponse(std::move(body));
}

}  // namespace

void AddGapsRoutes(Router& router, ContextPtr ctx) {
  AddApiV1Route(router, ctx, "gaps", Gaps);
}

}  // namespace sloop::http
