#include "ingest/exclusion_rules.h"

#include <simdjson.h>

namespace sloop {
namespace {

namespace dom = simdjson::dom;

constexpr std::string_view kAllKinds = "_all";

const char* TypeName(dom::element_type type) {
  switch (type) {
    case dom::element_type::ARRAY:
      return "an array";
    case dom::element_type::OBJECT:
      return "an object";
    case dom::element_type::INT64:
    case dom::element_type::UINT64:
    case dom::element_type::DOUBLE:
      return "a number";
    case dom::element_type::STRING:
      return "a string";
    case dom::element_type::BOOL:
      return "a boolean";
    case dom::element_type::NULL_VALUE:
      return "null";
  }
  return "a value";
}

}  // namespace

Result<ExclusionRules> ExclusionRules::FromConfig(std::string_view json, std::string_view path) {
  dom::parser parser;
  dom::element rules;
  if (auto error = parser.parse(json.data(), json.size()).get(rules)) {
    return MakeError(ErrorCode::kInvalidArgument, std::string(path) + ": not valid JSON (" +
                                                      simdjson::error_message(error) + ")");
  }
  return FromConfig(rules, path);
}

Result<ExclusionRules> ExclusionRules::FromConfig(const simdjson::dom::element& rules,
                                                  std::string_view path) {
  ExclusionRules result;
  if (rules.type() == dom::element_type::NULL_VALUE) return result;
  if (rules.type() != dom::element_type::OBJECT) {
    return MakeError(ErrorCode::kInvalidArgument,
                     std::string(path) + ": expected an object that maps a kind (or \"_all\") to " +
                         "a list of JsonLogic rules, got " + TypeName(rules.type()));
  }
  const dom::object kinds = rules.get_object().value_unsafe();
  for (dom::key_value_pair entry : kinds) {
    const std::string kind_path = std::string(path) + "." + std::string(entry.key);
    if (entry.key.empty()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       std::string(path) + ": an empty kind name; use a kind such as \"Pod\", " +
                           "or \"_all\" for every kind");
    }
    if (entry.value.type() != dom::element_type::ARRAY) {
      return MakeError(ErrorCode::kInvalidArgument,
                       kind_path + ": expected a list of JsonLogic rules, got " +
                           TypeName(entry.value.type()) + " (write a single rule as [rule])");
    }
    std::vector<JsonLogic>& list =
        entry.key == kAllKinds ? result.all_ : result.by_kind_[std::string(entry.key)];
    size_t index = 0;
    const dom::array kind_rules = entry.value.get_array().value_unsafe();
    for (dom::element rule : kind_rules) {
      Result<JsonLogic> compiled =
          JsonLogic::Compile(rule, kind_path + "[" + std::to_string(index++) + "]");
      if (!compiled) return std::unexpected(compiled.error());
      list.push_back(std::move(*compiled));
      ++result.size_;
    }
  }
  return result;
}

const std::vector<JsonLogic>* ExclusionRules::KindRules(std::string_view kind) const {
  if (by_kind_.empty()) return nullptr;
  auto it = by_kind_.find(kind);
  return it == by_kind_.end() ? nullptr : &it->second;
}

const JsonLogic* ExclusionRules::FirstMatch(std::string_view kind,
                                            const simdjson::dom::element& object) const {
  if (const std::vector<JsonLogic>* rules = KindRules(kind)) {
    for (const JsonLogic& rule : *rules) {
      if (rule.Matches(object)) return &rule;
    }
  }
  for (const JsonLogic& rule : all_) {
    if (rule.Matches(object)) return &rule;
  }
  return nullptr;
}

size_t ExclusionRules::RulesFor(std::string_view kind) const {
  const std::vector<JsonLogic>* rules = KindRules(kind);
  return all_.size() + (rules ? rules->size() : 0);
}

}  // namespace sloop
