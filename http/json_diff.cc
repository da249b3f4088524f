#include "http/json_diff.h"

#include <simdjson.h>

#include <map>

#include "http/json_writer.h"

namespace sloop::http {

namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

struct Differ {
  JsonWriter* w = nullptr;                 // writes the ops as JSON, or
  std::vector<JsonDiffOp>* out = nullptr;  // collects them
  size_t ops = 0;

  static std::string Escape(std::string_view token) {
    std::string out;
    for (char c : token) {
      if (c == '~')
        out += "~0";
      else if (c == '/')
        out += "~1";
      else
        out.push_back(c);
    }
    return out;
  }

  static bool IsNumber(element_type t) {
    return t == element_type::INT64 || t == element_type::UINT64 || t == element_type::DOUBLE;
  }

  static std::string FieldKey(const std::string& field, std::string_view key) {
    if (key.find_first_of("./[]") == std::string_view::npos && !key.empty()) {
      return field.empty() ? std::string(key) : field + "." + std::string(key);
    }
    std::string quoted = "[\"";
    for (char c : key) {
      if (c == '"' || c == '\\') quoted.push_back('\\');
      quoted.push_back(c);
    }
    return field + quoted + "\"]";
  }

  void Op(std::string_view op, const std::string& path, const std::string& field,
          const element* value, const element* old) {
    if (w) {
      w->BeginObject().Field("op", op).Field("path", path);
      if (value) w->Key("value").Raw(simdjson::minify(*value));
      if (old) w->Key("old").Raw(simdjson::minify(*old));
      w->EndObject();
    }
    if (out) {
      out->push_back(JsonDiffOp{op, path, field, value ? simdjson::minify(*value) : "",
                                old ? simdjson::minify(*old) : ""});
    }
    ++ops;
  }

  void Diff(const element& a, const element& b, const std::string& path, const std::string& name) {
    element_type ta = a.type(), tb = b.type();
    if (ta == element_type::OBJECT && tb == element_type::OBJECT) {
      std::map<std::string_view, element> bkeys;
      for (auto field : simdjson::dom::object(b)) bkeys.emplace(field.key, field.value);
      std::map<std::string_view, bool> seen;
      for (auto field : simdjson::dom::object(a)) {
        std::string child = path + "/" + Escape(field.key);
        std::string child_field = FieldKey(name, field.key);
        seen[field.key] = true;
        auto it = bkeys.find(field.key);
        if (it == bkeys.end()) {
          Op("remove", child, child_field, nullptr, &field.value);
        } else {
          Diff(field.value, it->second, child, child_field);
        }
      }
      for (auto field : simdjson::dom::object(b)) {
        if (!seen.count(field.key)) {
          Op("add", path + "/" + Escape(field.key), FieldKey(name, field.key), &field.value,
             nullptr);
        }
      }
      return;
    }
    if (ta == element_type::ARRAY && tb == element_type::ARRAY) {
      simdjson::dom::array aa(a), ab(b);
      std::vector<element> ea(aa.begin(), aa.end()), eb(ab.begin(), ab.end());
      size_t common = std::min(ea.size(), eb.size());
      auto at = [&](size_t i) { return name + "[" + std::to_string(i) + "]"; };
      for (size_t i = 0; i < common; ++i) {
        Diff(ea[i], eb[i], path + "/" + std::to_string(i), at(i));
      }
      for (size_t i = common; i < eb.size(); ++i) {
        Op("add", path + "/" + std::to_string(i), at(i), &eb[i], nullptr);
      }
      for (size_t i = ea.size(); i > common; --i) {
        Op("remove", path + "/" + std::to_string(i - 1), at(i - 1), nullptr, &ea[i - 1]);
      }
      return;
    }
    bool same_kind = ta == tb || (IsNumber(ta) && IsNumber(tb));
    if (same_kind && simdjson::minify(a) == simdjson::minify(b)) return;
    Op("replace", path, name, &b, &a);
  }
};

}  // namespace

bool WriteJsonDiff(std::string_view from, std::string_view to, JsonWriter& w, size_t* op_count) {
  simdjson::dom::parser pa, pb;
  element a, b;
  if (pa.parse(from.data(), from.size(), true).get(a)) return false;
  if (pb.parse(to.data(), to.size(), true).get(b)) return false;
  Differ d;
  d.w = &w;
  w.BeginArray();
  d.Diff(a, b, "", "");
  w.EndArray();
  if (op_count) *op_count = d.ops;
  return true;
}

bool JsonDiffOps(std::string_view from, std::string_view to, std::vector<JsonDiffOp>* ops) {
  simdjson::dom::parser pa, pb;
  element a, b;
  if (pa.parse(from.data(), from.size(), true).get(a)) return false;
  if (pb.parse(to.data(), to.size(), true).get(b)) return false;
  Differ d;
  d.out = ops;
  d.Diff(a, b, "", "");
  return true;
}

}  // namespace sloop::http
