// Fuzzes request targets through http/params (ParseTarget, percent-decoding, the typed getters)
// and the parameter validation of every Sloop and /api/v1 route, against a small healthy store.
// Any input must be answered (never crash, never hang); a 500 means a route failed on input it
// should have refused with 400, and aborts.
#include <prometheus/registry.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "engine/store.h"
#include "http/params.h"
#include "http/path_router.h"
#include "http/routes.h"
#ifndef SLOOP_FIXTURES_DIR
#define SLOOP_FIXTURES_DIR SLOOP_TESTDATA_DIR "/k8s"  // record_maker.h reads fixtures from here
#endif
#include "tests/engine/record_maker.h"

namespace {

using namespace sloop;

constexpr int64_t kSec = 1'000'000'000LL;
constexpr int64_t kT0 = 1795165200LL * kSec;

struct World {
  World() {
    dir = std::filesystem::temp_directory_path() /
          ("sloop-http-params-fuzz-" + std::to_string(getpid()));
    std::filesystem::remove_all(dir);
    StoreOptions o;
    o.root = dir;
    o.background = false;
    o.now_ns = [] { return kT0 + 3600 * kSec; };
    store = std::move(*Store::Open(o));
    testing::RecordMaker mk;
    for (int i = 0; i < 20; ++i) {
      (void)store->Append(mk.Pod(kT0 + i * 60 * kSec, i % 2 ? "shop" : "default",
                                 "pod-" + std::to_string(i % 5), "uid-" + std::to_string(i % 5),
                                 i + 1, i < 5 ? WatchType::kAdded : WatchType::kModified));
    }
    (void)store->SealActive();
    (void)store->Append(mk.Pod(kT0 + 1800 * kSec, "shop", "late", "uid-late", 99));
    http::HttpOptions h;
    h.display_context = "cluster";
    // Links and user metrics run on every request's parameters and headers: fuzz them too.
    h.resource_links = {
        {"Logs", "https://logs/?q={{.Name | urlquery}}&u={{printf \"%.8s\" .Uuid}}", {}}};
    h.enable_user_metrics = true;
    router = http::MakeSloopRouter(h, *store, registry);
  }
  ~World() {
    router.reset();
    store.reset();
    std::filesystem::remove_all(dir);
  }
  std::filesystem::path dir;
  std::unique_ptr<Store> store;
  prometheus::Registry registry;
  std::unique_ptr<http::Router> router;
};

// Targets the first byte picks when the input is a bare query string.
constexpr std::string_view kBases[] = {
    "/api/v1/timeline?",     "/api/v1/resources?",   "/api/v1/history?",    "/api/v1/payload?",
    "/api/v1/diff?",         "/api/v1/events?",      "/api/v1/namespaces?", "/api/v1/kinds?",
    "/api/v1/shards?",       "/api/v1/stats?",       "/cluster/data?",      "/cluster/resource?",
    "/cluster/debug/shard?", "/cluster/debug/view?", "/cluster?",           "/cluster/webfiles/",
    "/api/v1/links?",
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World* world = new World();  // one store for the whole run
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (in.size() > 8192) return 0;  // the server refuses longer heads with 431
  http::Request req;
  req.method = "GET";
  if (!in.empty() && in.front() == '/') {
    req.target = std::string(in);
  } else if (!in.empty()) {
    req.target = std::string(kBases[static_cast<uint8_t>(in.front()) % std::size(kBases)]);
    req.target.append(in.substr(1));
  } else {
    req.target = "/";
  }
  std::string why;
  if (!http::ParseTarget(&req, &why)) return 0;
  if (req.path.find("backup") != std::string::npos) return 0;  // streams whole archives

  // The typed getters on every parameter given: a value is accepted or refused with ParamError.
  for (const auto& [name, value] : req.query) {
    try {
      (void)http::ParseDuration(value, name);
    } catch (const http::ParamError&) {
    }
    try {
      (void)http::ParseTime(value, name);
    } catch (const http::ParamError&) {
    }
    try {
      (void)http::ParseInt(value, name, INT64_MIN, INT64_MAX);
    } catch (const http::ParamError&) {
    }
    try {
      (void)http::ParseBool(value, name);
    } catch (const http::ParamError&) {
    }
  }

  http::Response res = world->router->Handle(req);
  if (res.status == 500) {
    std::fprintf(stderr, "500 for %s: %s\n", req.target.c_str(), res.body.c_str());
    std::abort();
  }
  return 0;
}
