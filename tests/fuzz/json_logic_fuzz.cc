// Fuzzes JsonLogic: the input is a rule (exclusionRules' language); it is compiled, and when valid
// evaluated (Evaluate and the Matches fast path) against a fixed Pod. Any bytes: refused with an
// error, or evaluated, never a crash or unbounded recursion.
#include <simdjson.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "ingest/json_logic.h"

namespace {

constexpr std::string_view kPod = R"({"kind":"Pod","apiVersion":"v1","metadata":{"name":"web-1",
"namespace":"shop","uid":"u1","resourceVersion":"42","labels":{"app":"web","tier":"front"},
"annotations":{"a":"1"}},"spec":{"nodeName":"n1","containers":[{"name":"c","image":"nginx"}],
"replicas":3},"status":{"phase":"Running","conditions":[{"type":"Ready","status":"True"}],
"restartCount":2.5}})";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static simdjson::dom::parser parser;
  static simdjson::dom::element pod = parser.parse(simdjson::padded_string(kPod)).value();
  std::string_view rule(reinterpret_cast<const char*>(data), size);
  auto compiled = sloop::JsonLogic::Compile(rule, "fuzz");
  if (!compiled) return 0;
  auto value = compiled->Evaluate(pod);
  bool truthy = sloop::JsonLogic::IsTruthy(value);
  bool matches = compiled->Matches(pod);
  if (truthy != matches) __builtin_trap();  // the fast path must agree with the evaluator
  return 0;
}
