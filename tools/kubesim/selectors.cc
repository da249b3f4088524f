#include "selectors.h"

#include <algorithm>
#include <cctype>

namespace kubesim {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

// Splits on commas outside parentheses.
std::vector<std::string_view> split_terms(std::string_view s) {
  std::vector<std::string_view> out;
  int depth = 0;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || (s[i] == ',' && depth == 0)) {
      out.push_back(trim(s.substr(start, i - start)));
      start = i + 1;
    } else if (s[i] == '(') {
      ++depth;
    } else if (s[i] == ')') {
      --depth;
    }
  }
  return out;
}

bool valid_key(std::string_view k) {
  if (k.empty()) return false;
  return std::all_of(k.begin(), k.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
           c == '/';
  });
}

bool valid_value(std::string_view v) {
  if (v.empty()) return true;
  if (v.size() > 63) return false;
  auto alnum = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  if (!alnum(v.front()) || !alnum(v.back())) return false;
  return std::all_of(v.begin(), v.end(),
                     [&](char c) { return alnum(c) || c == '-' || c == '_' || c == '.'; });
}

}  // namespace

std::optional<LabelSelector> LabelSelector::parse(std::string_view text, std::string* error) {
  LabelSelector sel;
  text = trim(text);
  if (text.empty()) return sel;
  for (std::string_view term : split_terms(text)) {
    Requirement r;
    if (term.empty()) {
      *error = "unable to parse requirement: empty term in \"" + std::string(text) + "\"";
      return std::nullopt;
    }
    size_t pos;
    if (term.front() == '!') {
      r.op = Requirement::Op::NotExists;
      r.key = trim(term.substr(1));
    } else if ((pos = term.find("!=")) != std::string_view::npos) {
      r.op = Requirement::Op::NotEquals;
      r.key = trim(term.substr(0, pos));
      r.values.emplace_back(trim(term.substr(pos + 2)));
    } else if ((pos = term.find("==")) != std::string_view::npos) {
      r.op = Requirement::Op::Equals;
      r.key = trim(term.substr(0, pos));
      r.values.emplace_back(trim(term.substr(pos + 2)));
    } else if ((pos = term.find('=')) != std::string_view::npos) {
      r.op = Requirement::Op::Equals;
      r.key = trim(term.substr(0, pos));
      r.values.emplace_back(trim(term.substr(pos + 1)));
    } else if ((pos = term.find(" notin ")) != std::string_view::npos ||
               (pos = term.find(" in ")) != std::string_view::npos) {
      const bool notin = term.substr(pos, 7) == " notin ";
      r.op = notin ? Requirement::Op::NotIn : Requirement::Op::In;
      r.key = trim(term.substr(0, pos));
      std::string_view rest = trim(term.substr(pos + (notin ? 7 : 4)));
      if (rest.size() < 2 || rest.front() != '(' || rest.back() != ')') {
        *error = "unable to parse requirement: found '" + std::string(rest) + "', expected: '('";
        return std::nullopt;
      }
      rest = rest.substr(1, rest.size() - 2);
      size_t start = 0;
      for (size_t i = 0; i <= rest.size(); ++i) {
        if (i == rest.size() || rest[i] == ',') {
          r.values.emplace_back(trim(rest.substr(start, i - start)));
          start = i + 1;
        }
      }
    } else {
      r.op = Requirement::Op::Exists;
      r.key = term;
    }
    if (!valid_key(r.key)) {
      *error = "unable to parse requirement: invalid label key \"" + r.key + "\"";
      return std::nullopt;
    }
    for (size_t i = 0; i < r.values.size(); ++i) {
      if (!valid_value(r.values[i])) {
        *error = "unable to parse requirement: values[" + std::to_string(i) + "][" + r.key +
                 "]: Invalid value: \"" + r.values[i] +
                 "\": a valid label must be an empty string or consist of alphanumeric "
                 "characters, '-', '_' or '.', and must start and end with an alphanumeric "
                 "character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for "
                 "validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
        return std::nullopt;
      }
    }
    sel.reqs_.push_back(std::move(r));
  }
  return sel;
}

bool LabelSelector::matches(const std::vector<std::pair<std::string, std::string>>& labels) const {
  for (const auto& r : reqs_) {
    const std::string* value = nullptr;
    for (const auto& [k, v] : labels) {
      if (k == r.key) value = &v;
    }
    const bool in = value && std::find(r.values.begin(), r.values.end(), *value) != r.values.end();
    switch (r.op) {
      case Requirement::Op::Equals:
      case Requirement::Op::In:
        if (!in) return false;
        break;
      case Requirement::Op::NotEquals:
      case Requirement::Op::NotIn:
        if (in) return false;
        break;
      case Requirement::Op::Exists:
        if (!value) return false;
        break;
      case Requirement::Op::NotExists:
        if (value) return false;
        break;
    }
  }
  return true;
}

std::optional<FieldSelector> FieldSelector::parse(std::string_view text, Kind kind,
                                                  std::string* error) {
  FieldSelector sel;
  text = trim(text);
  if (text.empty()) return sel;
  for (std::string_view term : split_terms(text)) {
    Requirement r;
    size_t pos;
    if ((pos = term.find("!=")) != std::string_view::npos) {
      r.negate = true;
      r.field = trim(term.substr(0, pos));
      r.value = trim(term.substr(pos + 2));
    } else if ((pos = term.find("==")) != std::string_view::npos) {
      r.negate = false;
      r.field = trim(term.substr(0, pos));
      r.value = trim(term.substr(pos + 2));
    } else if ((pos = term.find('=')) != std::string_view::npos) {
      r.negate = false;
      r.field = trim(term.substr(0, pos));
      r.value = trim(term.substr(pos + 1));
    } else {
      *error = "invalid selector: '" + std::string(text) + "'; can't understand '" +
               std::string(term) + "'";
      return std::nullopt;
    }
    if (!supports_field(kind, r.field)) {
      *error = "field label not supported: " + r.field;
      return std::nullopt;
    }
    sel.reqs_.push_back(std::move(r));
  }
  return sel;
}

bool FieldSelector::matches(const ObjectVersion& v) const {
  for (const auto& r : reqs_) {
    std::string_view actual;
    if (r.field == "metadata.name") {
      actual = v.name;
    } else if (r.field == "metadata.namespace") {
      actual = v.ns;
    } else if (const std::string* f = v.field(r.field)) {
      actual = *f;
    }
    if ((actual == r.value) == r.negate) return false;
  }
  return true;
}

std::string FieldSelector::pinned_namespace() const {
  for (const auto& r : reqs_) {
    if (r.field == "metadata.namespace" && !r.negate) return r.value;
  }
  return "";
}

bool supports_field(Kind kind, std::string_view field) {
  if (field == "metadata.name" || field == "metadata.namespace") return true;
  switch (kind) {
    case Kind::Pod:
      return field == "spec.nodeName" || field == "status.phase" || field == "spec.restartPolicy" ||
             field == "spec.schedulerName" || field == "spec.serviceAccountName" ||
             field == "status.podIP";
    case Kind::Event:
      return field.starts_with("involvedObject.") || field == "reason" || field == "type" ||
             field == "source" || field == "reportingComponent";
    case Kind::Node:
      return field == "spec.unschedulable";
    case Kind::Namespace:
      return field == "status.phase";
    default:
      return false;
  }
}

}  // namespace kubesim
