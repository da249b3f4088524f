#include "bench/harness/replay.h"

#include <sys/resource.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include "base/time_text.h"

namespace sloop::bench {

namespace {
std::string_view Str(const simdjson::dom::element& e, const char* key) {
  std::string_view s;
  if (e[key].get_string().get(s)) return {};
  return s;
}
}  // namespace

bool ObjectParser::Parse(const CaptureRecord& rec, ObjectFields* out) {
  using namespace simdjson;
  dom::element root;
  // The object lies inside the reader's buffer, which has readable padding after it.
  if (parser_.parse(rec.object.data(), rec.object.size(), false).get(root)) return false;
  *out = ObjectFields{};
  out->root = root;
  dom::element meta;
  if (root["metadata"].get(meta)) return false;
  out->name = Str(meta, "name");
  if (out->name.empty()) return false;
  out->ns = Str(meta, "namespace");
  out->uid = Str(meta, "uid");
  out->resource_version = Str(meta, "resourceVersion");
  out->creation_timestamp = Str(meta, "creationTimestamp");
  dom::array owners;
  if (!meta["ownerReferences"].get(owners)) {
    for (dom::element o : owners)
      out->owners.push_back({Str(o, "kind"), Str(o, "name"), Str(o, "uid")});
  }
  if (rec.kind == "Event" && (rec.group.empty() || rec.group == "events.k8s.io")) {
    out->is_event = true;
    dom::element inv;
    if (!root["involvedObject"].get(inv) || !root["regarding"].get(inv)) {
      out->involved_kind = Str(inv, "kind");
      out->involved_namespace = Str(inv, "namespace");
      out->involved_name = Str(inv, "name");
      out->involved_uid = Str(inv, "uid");
    }
    out->reason = Str(root, "reason");
    out->type = Str(root, "type");
    out->message = Str(root, "message");
    if (out->message.empty()) out->message = Str(root, "note");
    out->first_timestamp = Str(root, "firstTimestamp");
    out->last_timestamp = Str(root, "lastTimestamp");
    int64_t c = 0;
    if (!root["count"].get_int64().get(c)) out->count = c;
  }
  return true;
}

std::string_view ListReconciler::Apply(const CaptureRecord& rec, const ObjectFields& f) {
  key_.assign(rec.kind);
  key_ += '/';
  key_ += f.ns;
  key_ += '/';
  key_ += f.name;
  if (rec.type == "DELETED") {
    known_.erase(key_);
    return "DELETED";
  }
  uint64_t h = XXH3_64bits(rec.object.data(), rec.object.size());
  auto [it, inserted] = known_.try_emplace(key_, h);
  if (rec.type == "LIST") {
    if (inserted) return "ADDED";
    if (it->second == h) return "";
    it->second = h;
    return "MODIFIED";
  }
  it->second = h;
  return rec.type;
}

uint64_t NodeFingerprint(std::string_view json) {
  // Debian's xxhash.h keeps XXH3_state_t opaque unless XXH_STATIC_LINKING_ONLY: one per thread.
  thread_local std::unique_ptr<XXH3_state_t, XXH_errorcode (*)(XXH3_state_t*)> state(
      XXH3_createState(), &XXH3_freeState);
  XXH3_state_t* st = state.get();
  XXH3_64bits_reset(st);
  static constexpr std::string_view kMasked[] = {"\"resourceVersion\":\"",
                                                 "\"lastHeartbeatTime\":\""};
  size_t pos = 0;
  bool rv_done = false;
  while (pos < json.size()) {
    size_t best = std::string_view::npos, len = 0;
    for (int i = 0; i < 2; ++i) {
      if (i == 0 && rv_done) continue;
      size_t p = json.find(kMasked[i], pos);
      if (p < best) {
        best = p;
        len = kMasked[i].size();
      }
    }
    if (best == std::string_view::npos) break;
    if (json.compare(best, len, kMasked[0]) == 0) rv_done = true;  // the first is metadata's
    size_t value = best + len;
    XXH3_64bits_update(st, json.data() + pos, value - pos);
    size_t close = json.find('"', value);
    if (close == std::string_view::npos) break;
    pos = close;
  }
  if (pos < json.size()) XXH3_64bits_update(st, json.data() + pos, json.size() - pos);
  return XXH3_64bits_digest(st);
}

int64_t ParseRfc3339(std::string_view s) { return sloop::ParseRfc3339(s).value_or(0); }

void PlanBuilder::Observe(const CaptureRecord& rec, const ObjectFields& f) {
  if (!first_) first_ = rec.ts_ns;
  last_ = rec.ts_ns;
  if (listing_ && rec.type == "LIST")
    list_end_ = rec.ts_ns;
  else
    listing_ = false;
  if (!f.is_event || f.involved_kind != "Pod" || f.involved_name.empty()) return;
  std::string key(f.involved_namespace);
  key += '/';
  key += f.involved_name;
  if (seen_.emplace(key, true).second)
    pods_.push_back({std::string(f.involved_namespace), std::string(f.involved_name),
                     std::string(f.involved_uid)});
}

QueryPlan PlanBuilder::Finish(size_t n) const {
  QueryPlan p;
  p.first_ns = first_;
  p.last_ns = last_;
  p.list_end_ns = list_end_;
  size_t k = std::min(n, pods_.size());
  for (size_t i = 0; i < k; ++i) p.pods.push_back(pods_[i * pods_.size() / k]);
  for (const auto& pod : p.pods) {
    // The name up to its second dash ("svc-12-"), else its first 8 characters.
    size_t a = pod.name.find('-');
    size_t b = a == std::string::npos ? a : pod.name.find('-', a + 1);
    p.needles.push_back(b != std::string::npos ? pod.name.substr(0, b + 1) : pod.name.substr(0, 8));
  }
  return p;
}

std::string ComputePlan(const std::string& capture, size_t n, QueryPlan* out) {
  ObjectParser parser;
  PlanBuilder plan;
  ObjectFields f;
  std::string err = ReadCapture(
      capture,
      [&](const CaptureRecord& rec) {
        if (parser.Parse(rec, &f)) plan.Observe(rec, f);
      },
      nullptr);
  if (err.empty()) *out = plan.Finish(n);
  return err;
}

std::string SerializePlan(const QueryPlan& p) {
  std::string s = "range " + std::to_string(p.first_ns) + " " + std::to_string(p.last_ns) + " " +
                  std::to_string(p.list_end_ns) + "\n";
  for (const auto& pod : p.pods) s += "pod " + pod.ns + " " + pod.name + " " + pod.uid + "\n";
  for (const auto& n : p.needles) s += "needle " + n + "\n";
  return s;
}

QueryPlan ParsePlan(std::string_view text) {
  QueryPlan p;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    std::vector<std::string> w;
    for (size_t pos = 0; pos <= line.size();) {
      size_t sp = line.find(' ', pos);
      if (sp == std::string_view::npos) sp = line.size();
      w.emplace_back(line.substr(pos, sp - pos));
      pos = sp + 1;
    }
    if (w[0] == "range" && w.size() == 4) {
      p.first_ns = std::stoll(w[1]);
      p.last_ns = std::stoll(w[2]);
      p.list_end_ns = std::stoll(w[3]);
    } else if (w[0] == "pod" && w.size() == 4) {
      p.pods.push_back({w[1], w[2], w[3]});
    } else if (w[0] == "needle" && w.size() == 2) {
      p.needles.push_back(w[1]);
    }
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return p;
}

void Figures::Set(const std::string& k, double v) {
  for (auto& [key, value] : items)
    if (key == k) {
      value = v;
      return;
    }
  items.emplace_back(k, v);
}
double Figures::Get(const std::string& k) const {
  for (const auto& [key, value] : items)
    if (key == k) return value;
  return 0;
}
bool Figures::Has(const std::string& k) const {
  for (const auto& [key, value] : items)
    if (key == k) return true;
  return false;
}
std::string Figures::Serialize() const {
  std::string out;
  char buf[64];
  for (const auto& [k, v] : items) {
    std::snprintf(buf, sizeof(buf), " %.17g\n", v);
    out += k + buf;
  }
  return out;
}
Figures Figures::Parse(std::string_view text) {
  Figures f;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    size_t sp = line.find(' ');
    if (sp != std::string_view::npos)
      f.Set(std::string(line.substr(0, sp)),
            std::strtod(std::string(line.substr(sp + 1)).c_str(), nullptr));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return f;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}
double P99(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[std::min(v.size() - 1, v.size() * 99 / 100)];
}
void SetTimes(Figures& f, const std::string& name, const std::vector<double>& ms) {
  f.Set(name + "_median_ms", Median(ms));
  f.Set(name + "_p99_ms", P99(ms));
}

double CurrentRssMb() {
  std::ifstream in("/proc/self/statm");
  long pages = 0, resident = 0;
  in >> pages >> resident;
  return resident * sysconf(_SC_PAGESIZE) / (1024.0 * 1024.0);
}
namespace {
double StatusKb(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  size_t n = std::strlen(field);
  while (std::getline(in, line))
    if (line.compare(0, n, field) == 0 && line.size() > n && line[n] == ':')
      return std::strtod(line.c_str() + n + 1, nullptr);
  return 0;
}
}  // namespace
double CurrentRssAnonMb() { return StatusKb("RssAnon") / 1024.0; }
double CurrentRssFileMb() { return StatusKb("RssFile") / 1024.0; }
double PeakRssMb() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024.0;
}
uint64_t DirBytes(const std::string& dir) {
  uint64_t n = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir, ec)) {
    if (e.is_regular_file()) n += e.file_size();
  }
  return n;
}

void Pacer::Wait() {
  if (n_ == 0) start_ = std::chrono::steady_clock::now();
  ++n_;
  if (rate_ <= 0) return;
  std::this_thread::sleep_until(
      start_ + std::chrono::nanoseconds(static_cast<int64_t>(double(n_) * 1e9 / rate_)));
}

std::string WriteShiftedCapture(const std::string& capture, int64_t from_ns, int64_t shift_ns,
                                const std::string& out, uint64_t* records) {
  *records = 0;
  CaptureWriter w(out, 3);
  if (!w.ok()) return "cannot create " + out;
  w.Header("busy", 0);
  std::string err = ReadCapture(
      capture,
      [&](const CaptureRecord& rec) {
        if (rec.ts_ns < from_ns) return;
        w.Record(rec.ts_ns + shift_ns, rec.type, rec.group, rec.version, rec.resource, rec.kind,
                 rec.namespaced, rec.object);
        ++*records;
      },
      nullptr);
  if (!w.Close() && err.empty()) err = "cannot write " + out;
  return err;
}

}  // namespace sloop::bench
