// JsonLogic (jsonlogic.com) rules, compiled once and evaluated many times against a JSON document
// already parsed by simdjson. Semantics follow json-logic-js, the reference implementation, and
// pass JsonLogic's published test suite (tests/testdata/jsonlogic/tests.json).
//
// Operators: var missing missing_some | if ?: and or ! !! | == === != !== < <= > >= |
// + - * / % min max | cat substr in | merge some all none filter map reduce.
//
// Where this differs from json-logic-js, on purpose:
//  - A rule is checked when it is compiled: an unknown operator, a wrong argument count, an object
//    that is not a single {"operator": arguments} pair, or text that is not JSON is an error naming
//    the rule's path, never a surprise at evaluation time. Evaluation itself cannot fail.
//  - `log` and method calls ("a.b" operators) are not supported (rejected as unknown).
//  - `var` also finds keys that contain dots, which plain JsonLogic cannot address: when the path
//    "metadata.labels.app.kubernetes.io/name" has no match split at every dot, the key
//    "app.kubernetes.io/name" is tried. A path that matches the plain way is unaffected.
//  - `min`/`max` of no numbers give null; `all`/`some`/`none` of a non-array treat it as empty.
//  - Strings are UTF-8: `substr` counts code points and `<` compares code points (JavaScript counts
//    UTF-16 units; the two agree outside the astral planes).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "base/status.h"

namespace simdjson::dom {
class element;
}

namespace sloop {

// An owned JSON value: what a rule evaluates to. Numbers are doubles (JavaScript numbers); NaN and
// the infinities, which JSON cannot spell, print as null the way JSON.stringify does.
class JsonValue {
 public:
  using Array = std::vector<JsonValue>;
  using Object = std::vector<std::pair<std::string, JsonValue>>;  // in document order
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };

  JsonValue() = default;  // null
  explicit JsonValue(bool b) : v_(b) {}
  explicit JsonValue(double n) : v_(n) {}
  explicit JsonValue(std::string s) : v_(std::move(s)) {}
  explicit JsonValue(Array a) : v_(std::move(a)) {}
  explicit JsonValue(Object o) : v_(std::move(o)) {}

  // Parses JSON text (kInvalidArgument when it is not JSON).
  static Result<JsonValue> Parse(std::string_view json);
  // Copies a parsed element.
  static JsonValue FromElement(const simdjson::dom::element& element);

  Kind kind() const { return static_cast<Kind>(v_.index()); }
  bool is_null() const { return kind() == Kind::kNull; }
  // Accessors; each requires the matching kind().
  bool as_bool() const { return std::get<bool>(v_); }
  double as_number() const { return std::get<double>(v_); }
  const std::string& as_string() const { return std::get<std::string>(v_); }
  const Array& as_array() const { return std::get<Array>(v_); }
  const Object& as_object() const { return std::get<Object>(v_); }

  // JsonLogic truthiness: false, null, 0, NaN, "" and [] are false; everything else, "0" and {}
  // included, is true.
  bool IsTruthy() const;

  // Compact JSON text.
  std::string ToJson() const;

  // Structural equality (numbers by value, objects by keys in order); for tests.
  friend bool operator==(const JsonValue& a, const JsonValue& b) { return a.v_ == b.v_; }

 private:
  std::variant<std::monostate, bool, double, std::string, Array, Object> v_;
};

// One compiled rule. Immutable, cheap to copy (the program is shared), safe to evaluate from many
// threads at once.
class JsonLogic {
 public:
  using Value = JsonValue;

  // Compiles rule_json. On an invalid rule returns kInvalidArgument whose message starts with
  // path_for_errors, e.g. `exclusionRules.Pod[2]: unknown operator "foo" (at or[1])`.
  static Result<JsonLogic> Compile(std::string_view rule_json, std::string path_for_errors);
  // The same for a rule that is part of a document parsed already (a config file).
  static Result<JsonLogic> Compile(const simdjson::dom::element& rule, std::string path_for_errors);

  // Evaluates the rule with `data` as its data (the element's document must outlive the call).
  Value Evaluate(const simdjson::dom::element& data) const;
  // IsTruthy(Evaluate(data)) without building the result: the ingest fast path. No allocation
  // for rules made of var, comparisons, in, and/or/!/if over literals.
  bool Matches(const simdjson::dom::element& data) const;

  static bool IsTruthy(const Value& value) { return value.IsTruthy(); }

  // The path given to Compile, for log lines ("exclusionRules.Pod[2]").
  const std::string& path() const;

  struct Program;  // the compiled tree; defined in json_logic.cc

 private:
  explicit JsonLogic(std::shared_ptr<const Program> program) : program_(std::move(program)) {}
  std::shared_ptr<const Program> program_;
};

}  // namespace sloop
