#include "http/json_diff.h"

#include <simdjson.h>

#include <map>

#include "http/json_writer.h"

namespace sloop::http {

namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

struct Differ {
  JsonWriter& w;
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

  void Op(std::string_view op, const std::string& path, const element* value, const element* old) {
    w.BeginObject().Field("op", op).Field("path", path);
    if (value) w.Key("value").Raw(simdjson::minify(*value));
    if (old) w.Key("old").Raw(simdjson::minify(*old));
    w.EndObject();
    ++ops;
  }

  void Diff(const element& a, const element& b, const std::string& path) {
    element_type ta = a.type(), tb = b.type();
    if (ta == element_type::OBJECT && tb == element_type::OBJECT) {
      std::map<std::string_view, element> bkeys;
      for (auto field : simdjson::dom::object(b)) bkeys.emplace(field.key, field.value);
      std::map<std::string_view, bool> seen;
      for (auto field : simdjson::dom::object(a)) {
        std::string child = path + "/" + Escape(field.key);
        seen[field.key] = true;
        auto it = bkeys.find(field.key);
        if (it == bkeys.end()) {
          Op("remove", child, nullptr, &field.value);
        } else {
          Diff(field.value, it->second, child);
        }
      }
      for (auto field : simdjson::dom::object(b)) {
        if (!seen.count(field.key))
          Op("add", path + "/" + Escape(field.key), &field.value, nullptr);
      }
      return;
    }
    if (ta == element_type::ARRAY && tb == element_type::ARRAY) {
      simdjson::dom::array aa(a), ab(b);
      std::vector<element> ea(aa.begin(), aa.end()), eb(ab.begin(), ab.end());
      size_t common = std::min(ea.size(), eb.size());
      for (size_t i = 0; i < common; ++i) Diff(ea[i], eb[i], path + "/" + std::to_string(i));
      for (size_t i = common; i < eb.size(); ++i) {
        Op("add", path + "/" + std::to_string(i), &eb[i], nullptr);
      }
      for (size_t i = ea.size(); i > common; --i) {
        Op("remove", path + "/" + std::to_string(i - 1), nullptr, &ea[i - 1]);
      }
      return;
    }
    bool same_kind = ta == tb || (IsNumber(ta) && IsNumber(tb));
    if (same_kind && simdjson::minify(a) == simdjson::minify(b)) return;
    Op("replace", path, &b, &a);
  }
};

}  // namespace

bool WriteJsonDiff(std::string_view from, std::string_view to, JsonWriter& w, size_t* op_count) {
  simdjson::dom::parser pa, pb;
  element a, b;
  if (pa.parse(from.data(), from.size(), true).get(a)) return false;
  if (pb.parse(to.data(), to.size(), true).get(b)) return false;
  Differ d{w};
  w.BeginArray();
  d.Diff(a, b, "");
  w.EndArray();
  if (op_count) *op_count = d.ops;
  return true;
}

}  // namespace sloop::http
