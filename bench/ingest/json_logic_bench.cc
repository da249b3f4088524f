// Exclusion-rule micro benchmarks on the Pod fixture, parsed once as ingest parses each watch
// frame once. items_per_second is rules (or objects, for the ExclusionRules cases) per second.
//   BM_Rule/<name>      JsonLogic::Matches, one rule on the parsed Pod: the per-rule cost
//   BM_RuleEvaluate     JsonLogic::Evaluate of a rule whose result is a whole sub-object (copied)
//   BM_ShouldExclude    ExclusionRules with 5 rules for Pods (3 Pod + 2 _all), none matching
//   BM_ParseAndExclude  simdjson parse of the Pod (reused parser) + ShouldExclude, for scale
#include <benchmark/benchmark.h>
#include <simdjson.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "ingest/exclusion_rules.h"
#include "ingest/json_logic.h"

namespace {

using namespace sloop;
namespace dom = simdjson::dom;

std::string ReadFixture(const std::string& name) {
  std::ifstream in(std::string(SLOOP_FIXTURES_DIR) + "/" + name, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The Pod fixture, parsed once.
struct ParsedPod {
  ParsedPod() : json(ReadFixture("pod.json")) {
    if (parser.parse(json).get(root)) {
      std::cerr << "cannot parse " SLOOP_FIXTURES_DIR "/pod.json\n";
      std::exit(1);
    }
  }
  std::string json;
  dom::parser parser;
  dom::element root;
};

const ParsedPod& Pod() {
  static const ParsedPod pod;
  return pod;
}

JsonLogic MustCompile(const char* rule) {
  Result<JsonLogic> logic = JsonLogic::Compile(rule, "bench");
  if (!logic) {
    std::cerr << logic.error().message << "\n";
    std::exit(1);
  }
  return *logic;
}

// The typical exclusion rule: namespace is kube-system, or a label is in a short list. On the
// fixture both arms are evaluated (neither matches).
constexpr const char* kTypical = R"({"or": [
    {"==": [{"var": "metadata.namespace"}, "kube-system"]},
    {"in": [{"var": "metadata.labels.version"}, ["v1.0.0", "v1.1.0", "canary"]]}]})";

constexpr const char* kEquality = R"({"==": [{"var": "metadata.namespace"}, "kube-system"]})";

// A label key with dots: found by var's dotted-key fallback.
constexpr const char* kDottedLabel =
    R"({"in": [{"var": "metadata.labels.app.kubernetes.io/name"}, ["istio", "linkerd"]]})";

// Namespace in a 32-name list: looked up through the hash set compiled for long constant lists.
constexpr const char* kLongList = R"({"in": [{"var": "metadata.namespace"}, [
    "ns00", "ns01", "ns02", "ns03", "ns04", "ns05", "ns06", "ns07", "ns08", "ns09", "ns10",
    "ns11", "ns12", "ns13", "ns14", "ns15", "ns16", "ns17", "ns18", "ns19", "ns20", "ns21",
    "ns22", "ns23", "ns24", "ns25", "ns26", "ns27", "ns28", "ns29", "ns30", "ns31"]]})";

// Walks a list inside the object.
constexpr const char* kSomeContainer = R"({"some": [{"var": "spec.containers"},
    {"in": ["docker.io/", {"var": "image"}]}]})";

// Builds a string (allocates): the arena path.
constexpr const char* kCat = R"({"==": [{"cat": [{"var": "metadata.namespace"}, "/",
    {"var": "metadata.name"}]}, "kube-system/coredns"]})";

void BM_Rule(benchmark::State& state, const char* rule) {
  const JsonLogic logic = MustCompile(rule);
  const dom::element& pod = Pod().root;
  for (auto _ : state) {
    benchmark::DoNotOptimize(logic.Matches(pod));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_CAPTURE(BM_Rule, typical_or_namespace_label_in_list, kTypical);
BENCHMARK_CAPTURE(BM_Rule, namespace_equals, kEquality);
BENCHMARK_CAPTURE(BM_Rule, dotted_label_key_in_list, kDottedLabel);
BENCHMARK_CAPTURE(BM_Rule, namespace_in_32_names, kLongList);
BENCHMARK_CAPTURE(BM_Rule, some_container_image, kSomeContainer);
BENCHMARK_CAPTURE(BM_Rule, cat_namespace_name, kCat);

void BM_RuleEvaluate(benchmark::State& state) {
  const JsonLogic logic = MustCompile(R"({"var": "metadata"})");
  const dom::element& pod = Pod().root;
  for (auto _ : state) {
    benchmark::DoNotOptimize(logic.Evaluate(pod));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RuleEvaluate);

ExclusionRules FiveRules() {
  Result<ExclusionRules> rules = ExclusionRules::FromConfig(R"({
      "_all": [{"==": [{"var": "metadata.namespace"}, "kube-system"]},
               {"in": [{"var": "metadata.labels.app.kubernetes.io/part-of"}, ["istio"]]}],
      "Pod": [{"==": [{"var": "metadata.name"}, "sloop-0"]},
              {"==": [{"var": "spec.nodeName"}, "spot-node-1"]},
              {"in": [{"var": "metadata.labels.version"}, ["canary", "v0"]]}],
      "Job": [{"in": [{"var": "metadata.name"}, ["cron1", "cron3"]]}]})");
  if (!rules) {
    std::cerr << rules.error().message << "\n";
    std::exit(1);
  }
  return std::move(*rules);
}

void BM_ShouldExclude(benchmark::State& state) {
  const ExclusionRules rules = FiveRules();
  const dom::element& pod = Pod().root;
  for (auto _ : state) {
    benchmark::DoNotOptimize(rules.ShouldExclude("Pod", pod));
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["rules_per_object"] = static_cast<double>(rules.RulesFor("Pod"));
}
BENCHMARK(BM_ShouldExclude);

void BM_ParseAndExclude(benchmark::State& state) {
  const ExclusionRules rules = FiveRules();
  const std::string json = Pod().json;
  dom::parser parser;
  for (auto _ : state) {
    dom::element pod;
    if (parser.parse(json).get(pod)) state.SkipWithError("parse failed");
    benchmark::DoNotOptimize(rules.ShouldExclude("Pod", pod));
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(json.size()));
}
BENCHMARK(BM_ParseAndExclude);

}  // namespace

BENCHMARK_MAIN();
