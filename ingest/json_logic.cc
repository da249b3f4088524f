#include "ingest/json_logic.h"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <optional>
#include <unordered_set>

#include "base/json_text.h"

namespace sloop {
namespace {

namespace dom = simdjson::dom;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// Rules deeper than this are rejected at compile time, which bounds evaluation's recursion.
constexpr int kMaxDepth = 128;
// A constant string list at least this long behind `in` is looked up through a hash set.
constexpr size_t kInSetThreshold = 8;

// ---------------------------------------------------------------------------------------------
// Evaluation values. A Val borrows: strings point into the rule, the data document or the
// evaluation's Arena, arrays and objects are views of the document or of arena/program storage.
// Only the values a rule produces are ever copied (and only by Evaluate, into a JsonValue).

struct Val;
struct Member;
using List = std::vector<Val>;
using Members = std::vector<Member>;

struct Val {
  enum class Kind : uint8_t { kNull, kBool, kNumber, kString, kArray, kObject };

  Kind kind = Kind::kNull;
  bool boolean = false;
  bool in_document = false;  // kArray / kObject: `element` holds it; else `list` / `members`
  double number = 0;
  std::string_view str;
  const List* list = nullptr;
  const Members* members = nullptr;
  dom::element element;

  static Val Null() { return Val(); }
  static Val Bool(bool b) {
    Val v;
    v.kind = Kind::kBool;
    v.boolean = b;
    return v;
  }
  static Val Number(double n) {
    Val v;
    v.kind = Kind::kNumber;
    v.number = n;
    return v;
  }
  static Val String(std::string_view s) {
    Val v;
    v.kind = Kind::kString;
    v.str = s;
    return v;
  }
  static Val Array(const List* list) {
    Val v;
    v.kind = Kind::kArray;
    v.list = list;
    return v;
  }
  static Val Object(const Members* members) {
    Val v;
    v.kind = Kind::kObject;
    v.members = members;
    return v;
  }
  // A document value; arrays and objects stay in the document.
  static Val Of(dom::element e) {
    switch (e.type()) {
      case dom::element_type::ARRAY:
      case dom::element_type::OBJECT: {
        Val v;
        v.kind = e.type() == dom::element_type::ARRAY ? Kind::kArray : Kind::kObject;
        v.in_document = true;
        v.element = e;
        return v;
      }
      case dom::element_type::INT64:
        return Number(static_cast<double>(e.get_int64().value_unsafe()));
      case dom::element_type::UINT64:
        return Number(static_cast<double>(e.get_uint64().value_unsafe()));
      case dom::element_type::DOUBLE:
        return Number(e.get_double().value_unsafe());
      case dom::element_type::STRING:
        return String(e.get_string().value_unsafe());
      case dom::element_type::BOOL:
        return Bool(e.get_bool().value_unsafe());
      case dom::element_type::NULL_VALUE:
        break;
    }
    return Null();
  }

  bool is_array() const { return kind == Kind::kArray; }
  bool is_object() const { return kind == Kind::kObject; }
};

struct Member {
  std::string_view key;
  Val value;
};

using Kind = Val::Kind;

size_t ArraySize(const Val& a) {
  return a.in_document ? a.element.get_array().value_unsafe().size() : a.list->size();
}

// Calls f(element) for each element of array `a` until f returns false.
template <typename F>
void ForEachElement(const Val& a, F&& f) {
  if (a.in_document) {
    const dom::array array = a.element.get_array().value_unsafe();
    for (dom::element e : array) {
      if (!f(Val::Of(e))) return;
    }
  } else {
    for (const Val& v : *a.list) {
      if (!f(v)) return;
    }
  }
}

// Same array or object (JavaScript compares them by reference).
bool SameComposite(const Val& a, const Val& b) {
  if (a.kind != b.kind || a.in_document != b.in_document) return false;
  if (!a.in_document) return a.is_array() ? a.list == b.list : a.members == b.members;
  if (a.is_array()) {
    return a.element.get_array().value_unsafe().begin() ==
           b.element.get_array().value_unsafe().begin();
  }
  return a.element.get_object().value_unsafe().begin() ==
         b.element.get_object().value_unsafe().begin();
}

// Storage for what one evaluation creates (strings from cat/substr, arrays from merge/missing/
// filter/map, reduce's scopes). Nothing is allocated until an operator needs it.
class Arena {
 public:
  std::string_view Keep(std::string s) {
    strings_.push_back(std::make_unique<std::string>(std::move(s)));
    return *strings_.back();
  }
  List* NewList() {
    lists_.push_back(std::make_unique<List>());
    return lists_.back().get();
  }
  Members* NewMembers() {
    members_.push_back(std::make_unique<Members>());
    return members_.back().get();
  }

 private:
  std::vector<std::unique_ptr<std::string>> strings_;
  std::vector<std::unique_ptr<List>> lists_;
  std::vector<std::unique_ptr<Members>> members_;
};

// ---------------------------------------------------------------------------------------------
// JavaScript conversions: ToNumber, parseFloat, Number::toString, String(), truthiness.

size_t Utf8Length(unsigned char lead) {
  if (lead < 0xC0) return 1;  // ASCII, or a stray continuation byte counted alone
  if (lead < 0xE0) return 2;
  if (lead < 0xF0) return 3;
  return 4;
}

// Byte length of the JavaScript white space or line terminator at s[i], or 0.
size_t WhiteSpaceAt(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0; };
  unsigned char c = byte(0);
  if (c == ' ' || (c >= 0x09 && c <= 0x0D)) return 1;
  if (c == 0xC2 && byte(1) == 0xA0) return 2;                     // U+00A0
  if (c == 0xE1 && byte(1) == 0x9A && byte(2) == 0x80) return 3;  // U+1680
  if (c == 0xE2 && byte(1) == 0x80 &&
      (byte(2) <= 0x8A || byte(2) == 0xA8 || byte(2) == 0xA9 || byte(2) == 0xAF)) {
    return 3;  // U+2000..U+200A, U+2028, U+2029, U+202F
  }
  if (c == 0xE2 && byte(1) == 0x81 && byte(2) == 0x9F) return 3;  // U+205F
  if (c == 0xE3 && byte(1) == 0x80 && byte(2) == 0x80) return 3;  // U+3000
  if (c == 0xEF && byte(1) == 0xBB && byte(2) == 0xBF) return 3;  // U+FEFF
  return 0;
}

std::string_view TrimLeft(std::string_view s) {
  size_t i = 0;
  while (size_t n = WhiteSpaceAt(s, i)) i += n;
  return s.substr(i);
}

std::string_view Trim(std::string_view s) {
  s = TrimLeft(s);
  size_t end = 0;
  for (size_t i = 0; i < s.size();) {
    if (size_t n = WhiteSpaceAt(s, i)) {
      i += n;
    } else {
      i += Utf8Length(static_cast<unsigned char>(s[i]));
      end = std::min(i, s.size());
    }
  }
  return s.substr(0, end);
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// The longest prefix of s that is a StrDecimalLiteral ([+-] then Infinity, or digits with an
// optional fraction and exponent). Returns its length, 0 when there is none.
size_t DecimalPrefix(std::string_view s, double* out) {
  size_t i = 0;
  bool negative = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
  if (s.substr(i).starts_with("Infinity")) {
    *out = negative ? -kInf : kInf;
    return i + 8;
  }
  const size_t start = i;
  size_t int_digits = 0;
  size_t frac_digits = 0;
  while (i < s.size() && IsDigit(s[i])) ++i, ++int_digits;
  if (i < s.size() && s[i] == '.') {
    size_t j = i + 1;
    while (j < s.size() && IsDigit(s[j])) ++j, ++frac_digits;
    if (int_digits + frac_digits > 0) i = j;
  }
  if (int_digits + frac_digits == 0) return 0;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    size_t j = i + 1;
    if (j < s.size() && (s[j] == '+' || s[j] == '-')) ++j;
    size_t k = j;
    while (k < s.size() && IsDigit(s[k])) ++k;
    if (k > j) i = k;
  }
  double value = 0;
  auto [ptr, ec] = std::from_chars(s.data() + start, s.data() + i, value);
  if (ec == std::errc::result_out_of_range) {
    // from_chars leaves the value alone on overflow and underflow; strtod gives inf or 0.
    value = std::strtod(std::string(s.substr(start, i - start)).c_str(), nullptr);
  }
  *out = negative ? -value : value;
  return i;
}

// JavaScript ToNumber applied to a string.
double StringToNumber(std::string_view s) {
  s = Trim(s);
  if (s.empty()) return 0;
  if (s.size() > 2 && s[0] == '0') {
    int radix = 0;
    switch (s[1]) {
      case 'x':
      case 'X':
        radix = 16;
        break;
      case 'o':
      case 'O':
        radix = 8;
        break;
      case 'b':
      case 'B':
        radix = 2;
        break;
    }
    if (radix != 0) {
      double value = 0;
      for (char c : s.substr(2)) {
        int digit = IsDigit(c)               ? c - '0'
                    : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                    : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                             : 99;
        if (digit >= radix) return kNaN;
        value = value * radix + digit;
      }
      return value;
    }
  }
  double value = 0;
  return DecimalPrefix(s, &value) == s.size() ? value : kNaN;
}

// JavaScript parseFloat applied to a string.
double ParseFloat(std::string_view s) {
  double value = 0;
  return DecimalPrefix(TrimLeft(s), &value) == 0 ? kNaN : value;
}

// JavaScript Number::toString (radix 10): shortest digits that round-trip, no ".0" on integers,
// exponent form below 1e-6 and from 1e21.
void AppendNumber(double v, std::string* out) {
  if (std::isnan(v)) {
    *out += "NaN";
    return;
  }
  if (v == 0) {
    *out += '0';  // -0 too
    return;
  }
  if (std::isinf(v)) {
    *out += v < 0 ? "-Infinity" : "Infinity";
    return;
  }
  char buf[64];
  if (v == std::trunc(v) && std::fabs(v) < 9007199254740992.0) {
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<int64_t>(v));
    out->append(buf, end);
    return;
  }
  if (v < 0) {
    *out += '-';
    v = -v;
  }
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string_view sci(buf, end - buf);  // d[.ddd]e±xx
  const size_t e = sci.find('e');
  std::string digits(1, sci[0]);
  if (e > 1) digits.append(sci.substr(2, e - 2));
  int exponent = 0;
  std::from_chars(sci.data() + e + (sci[e + 1] == '+' ? 2 : 1), sci.data() + sci.size(), exponent);
  const int k = static_cast<int>(digits.size());
  const int n = exponent + 1;  // the decimal point sits after n digits
  if (k <= n && n <= 21) {
    *out += digits;
    out->append(n - k, '0');
  } else if (0 < n && n <= 21) {
    out->append(digits, 0, n);
    *out += '.';
    out->append(digits, n);
  } else if (-6 < n && n <= 0) {
    *out += "0.";
    out->append(-n, '0');
    *out += digits;
  } else {
    *out += digits[0];
    if (k > 1) {
      *out += '.';
      out->append(digits, 1);
    }
    *out += 'e';
    *out += n - 1 < 0 ? '-' : '+';
    *out += std::to_string(std::abs(n - 1));
  }
}

void AppendString(const Val& v, std::string* out);

// Array.prototype.join(","): null elements become empty strings.
void AppendJoined(const Val& array, std::string* out) {
  bool first = true;
  ForEachElement(array, [&](const Val& e) {
    if (!first) *out += ',';
    first = false;
    if (e.kind != Kind::kNull) AppendString(e, out);
    return true;
  });
}

// JavaScript String(v).
void AppendString(const Val& v, std::string* out) {
  switch (v.kind) {
    case Kind::kNull:
      *out += "null";
      break;
    case Kind::kBool:
      *out += v.boolean ? "true" : "false";
      break;
    case Kind::kNumber:
      AppendNumber(v.number, out);
      break;
    case Kind::kString:
      *out += v.str;
      break;
    case Kind::kArray:
      AppendJoined(v, out);
      break;
    case Kind::kObject:
      *out += "[object Object]";
      break;
  }
}

// String(v) as a view: of v itself when it is a string, else of *scratch.
std::string_view ToStringView(const Val& v, std::string* scratch) {
  if (v.kind == Kind::kString) return v.str;
  scratch->clear();
  AppendString(v, scratch);
  return *scratch;
}

// JavaScript ToNumber.
double ToNumber(const Val& v) {
  switch (v.kind) {
    case Kind::kNull:
      return 0;
    case Kind::kBool:
      return v.boolean ? 1 : 0;
    case Kind::kNumber:
      return v.number;
    case Kind::kString:
      return StringToNumber(v.str);
    case Kind::kArray: {
      std::string joined;
      AppendJoined(v, &joined);
      return StringToNumber(joined);
    }
    case Kind::kObject:
      return kNaN;
  }
  return kNaN;
}

// parseFloat(v): parseFloat(String(v)).
double ToFloat(const Val& v) {
  if (v.kind == Kind::kNumber) return v.number;
  std::string scratch;
  return ParseFloat(ToStringView(v, &scratch));
}

bool Truthy(const Val& v) {
  switch (v.kind) {
    case Kind::kNull:
      return false;
    case Kind::kBool:
      return v.boolean;
    case Kind::kNumber:
      return v.number != 0 && !std::isnan(v.number);
    case Kind::kString:
      return !v.str.empty();
    case Kind::kArray:
      return ArraySize(v) != 0;  // JsonLogic: [] is false
    case Kind::kObject:
      return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Equality and order, JavaScript style.

bool StrictEquals(const Val& a, const Val& b) {
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Kind::kNull:
      return true;
    case Kind::kBool:
      return a.boolean == b.boolean;
    case Kind::kNumber:
      return a.number == b.number;
    case Kind::kString:
      return a.str == b.str;
    case Kind::kArray:
    case Kind::kObject:
      return SameComposite(a, b);
  }
  return false;
}

// JavaScript ==.
bool LooseEquals(const Val& a, const Val& b) {
  if (a.kind == b.kind) return StrictEquals(a, b);
  if (a.kind == Kind::kNull || b.kind == Kind::kNull) return false;
  if (a.kind == Kind::kBool) return LooseEquals(Val::Number(a.boolean ? 1 : 0), b);
  if (b.kind == Kind::kBool) return LooseEquals(a, Val::Number(b.boolean ? 1 : 0));
  if (a.kind == Kind::kNumber && b.kind == Kind::kString) return a.number == StringToNumber(b.str);
  if (a.kind == Kind::kString && b.kind == Kind::kNumber) return StringToNumber(a.str) == b.number;
  const bool a_composite = a.is_array() || a.is_object();
  const bool b_composite = b.is_array() || b.is_object();
  if (a_composite && b_composite) return false;  // an array is never == an object
  // An array or object against a number or string: compare its primitive (string) form.
  std::string scratch;
  if (a_composite) return LooseEquals(Val::String(ToStringView(a, &scratch)), b);
  return LooseEquals(a, Val::String(ToStringView(b, &scratch)));
}

enum class Order { kLess, kEqual, kGreater, kUnordered };

// JavaScript's abstract relational comparison: strings (arrays and objects become strings)
// compare as strings, anything else as numbers; NaN is unordered.
Order Compare(const Val& a, const Val& b) {
  auto stringish = [](const Val& v) { return v.kind >= Kind::kString; };
  if (stringish(a) && stringish(b)) {
    std::string sa, sb;
    const int c = ToStringView(a, &sa).compare(ToStringView(b, &sb));
    return c < 0 ? Order::kLess : c > 0 ? Order::kGreater : Order::kEqual;
  }
  const double x = ToNumber(a);
  const double y = ToNumber(b);
  if (std::isnan(x) || std::isnan(y)) return Order::kUnordered;
  return x < y ? Order::kLess : x > y ? Order::kGreater : Order::kEqual;
}

bool Less(const Val& a, const Val& b) { return Compare(a, b) == Order::kLess; }
bool LessOrEqual(const Val& a, const Val& b) {
  const Order o = Compare(a, b);
  return o == Order::kLess || o == Order::kEqual;
}

// ---------------------------------------------------------------------------------------------
// Walking the data: var's dotted paths.

// A canonical array index ("0", "17"; not "01", "-1", "1e1").
bool ParseIndex(std::string_view s, size_t* index) {
  if (s.empty() || (s.size() > 1 && s[0] == '0')) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *index);
  return ec == std::errc() && ptr == s.data() + s.size();
}

// v[key] for an object, v[index] for an array; false when there is no such member.
bool Child(const Val& v, std::string_view key, Val* out) {
  if (v.is_object()) {
    if (v.in_document) {
      dom::element e;
      if (v.element.get_object().value_unsafe().at_key(key).get(e)) return false;
      *out = Val::Of(e);
      return true;
    }
    for (const Member& m : *v.members) {
      if (m.key == key) {
        *out = m.value;
        return true;
      }
    }
    return false;
  }
  if (v.is_array()) {
    size_t index = 0;
    if (!ParseIndex(key, &index)) return false;
    if (v.in_document) {
      dom::element e;
      if (v.element.get_array().value_unsafe().at(index).get(e)) return false;
      *out = Val::Of(e);
      return true;
    }
    if (index >= v.list->size()) return false;
    *out = (*v.list)[index];
    return true;
  }
  return false;
}

// Follows segments[i..] from v. Tries the plain JsonLogic split first; when that finds nothing,
// also keys made of several segments rejoined with their dots (label keys like
// "app.kubernetes.io/name"). *budget bounds the search on pathological paths.
bool Walk(const Val& v, const std::string_view* segments, size_t n, size_t i, int* budget,
          Val* out) {
  if (i == n) {
    *out = v;
    return true;
  }
  if (v.kind == Kind::kNull || --*budget < 0) return false;
  Val child;
  if (Child(v, segments[i], &child) && Walk(child, segments, n, i + 1, budget, out)) return true;
  if (!v.is_object()) return false;
  for (size_t j = i + 1; j < n; ++j) {
    const char* begin = segments[i].data();
    const std::string_view key(begin, segments[j].data() + segments[j].size() - begin);
    if (Child(v, key, &child) && Walk(child, segments, n, j + 1, budget, out)) return true;
  }
  return false;
}

void Split(std::string_view path, std::vector<std::string_view>* segments) {
  segments->clear();
  size_t start = 0;
  while (true) {
    const size_t dot = path.find('.', start);
    segments->push_back(path.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (dot == std::string_view::npos) return;
    start = dot + 1;
  }
}

// data[path] the way var reads it; false when not found.
bool Lookup(const Val& data, const std::vector<std::string_view>& segments, Val* out) {
  int budget = 256;
  return Walk(data, segments.data(), segments.size(), 0, &budget, out);
}

// ---------------------------------------------------------------------------------------------
// The compiled program.

enum class Op : uint8_t {
  kLiteral,  // a constant
  kArray,    // an array literal with logic inside
  kVar,
  kMissing,
  kMissingSome,
  kIf,
  kAnd,
  kOr,
  kNot,
  kNotNot,
  kEquals,
  kStrictEquals,
  kNotEquals,
  kStrictNotEquals,
  kLess,
  kLessOrEqual,
  kGreater,
  kGreaterOrEqual,
  kAdd,
  kSubtract,
  kMultiply,
  kDivide,
  kModulo,
  kMin,
  kMax,
  kCat,
  kSubstr,
  kIn,
  kMerge,
  kSome,
  kAll,
  kNone,
  kFilter,
  kMap,
  kReduce,
};

struct OperatorInfo {
  std::string_view name;
  Op op;
  int min_args;
  int max_args;  // -1: any number
};

constexpr OperatorInfo kOperators[] = {
    {"var", Op::kVar, 0, 2},
    {"missing", Op::kMissing, 0, -1},
    {"missing_some", Op::kMissingSome, 2, 2},
    {"if", Op::kIf, 0, -1},
    {"?:", Op::kIf, 0, -1},
    {"and", Op::kAnd, 1, -1},
    {"or", Op::kOr, 1, -1},
    {"!", Op::kNot, 1, 1},
    {"!!", Op::kNotNot, 1, 1},
    {"==", Op::kEquals, 2, 2},
    {"===", Op::kStrictEquals, 2, 2},
    {"!=", Op::kNotEquals, 2, 2},
    {"!==", Op::kStrictNotEquals, 2, 2},
    {"<", Op::kLess, 2, 3},
    {"<=", Op::kLessOrEqual, 2, 3},
    {">", Op::kGreater, 2, 2},
    {">=", Op::kGreaterOrEqual, 2, 2},
    {"+", Op::kAdd, 0, -1},
    {"-", Op::kSubtract, 1, 2},
    {"*", Op::kMultiply, 1, -1},
    {"/", Op::kDivide, 2, 2},
    {"%", Op::kModulo, 2, 2},
    {"min", Op::kMin, 0, -1},
    {"max", Op::kMax, 0, -1},
    {"cat", Op::kCat, 0, -1},
    {"substr", Op::kSubstr, 2, 3},
    {"in", Op::kIn, 2, 2},
    {"merge", Op::kMerge, 0, -1},
    {"some", Op::kSome, 2, 2},
    {"all", Op::kAll, 2, 2},
    {"none", Op::kNone, 2, 2},
    {"filter", Op::kFilter, 2, 2},
    {"map", Op::kMap, 2, 2},
    {"reduce", Op::kReduce, 2, 3},
};

const OperatorInfo* FindOperator(std::string_view name) {
  for (const OperatorInfo& info : kOperators) {
    if (info.name == name) return &info;
  }
  return nullptr;
}

std::string OperatorList() {
  std::string list;
  for (const OperatorInfo& info : kOperators) {
    if (!list.empty()) list += ' ';
    list += info.name;
  }
  return list;
}

constexpr uint32_t kNoIndex = UINT32_MAX;

struct Node {
  Op op = Op::kLiteral;
  uint32_t first_arg = 0;  // arguments are Program::args[first_arg, first_arg + num_args)
  uint32_t num_args = 0;
  uint32_t path = kNoIndex;        // kVar with a constant path: index into Program::paths
  uint32_t string_set = kNoIndex;  // kIn against a long constant list: Program::string_sets
  Val literal;                     // kLiteral
};

// var's constant path: empty `segments` and whole_data for "" / null.
struct VarPath {
  bool whole_data = false;
  std::vector<std::string_view> segments;
};

}  // namespace

struct JsonLogic::Program {
  std::string path;
  uint32_t root = 0;
  std::vector<Node> nodes;
  std::vector<uint32_t> args;
  std::vector<VarPath> paths;
  std::vector<std::unordered_set<std::string_view>> string_sets;
  // Storage behind the literals' views; unique_ptr keeps addresses stable.
  std::vector<std::unique_ptr<std::string>> strings;
  std::vector<std::unique_ptr<List>> lists;
};

namespace {

using Program = JsonLogic::Program;

// ---------------------------------------------------------------------------------------------
// Compilation: simdjson DOM -> Program, with every check a rule can fail.

class Compiler {
 public:
  explicit Compiler(Program* program) : p_(program) {}

  Result<uint32_t> Compile(const dom::element& e, int depth) {
    if (depth > kMaxDepth) {
      return Fail("the rule nests deeper than " + std::to_string(kMaxDepth) + " levels");
    }
    switch (e.type()) {
      case dom::element_type::ARRAY:
        return CompileArray(e.get_array().value_unsafe(), depth);
      case dom::element_type::OBJECT:
        return CompileOperation(e.get_object().value_unsafe(), depth);
      case dom::element_type::STRING: {
        p_->strings.push_back(std::make_unique<std::string>(e.get_string().value_unsafe()));
        return AddLiteral(Val::String(*p_->strings.back()));
      }
      default:
        return AddLiteral(Val::Of(e));
    }
  }

 private:
  uint32_t AddNode(Node node) {
    p_->nodes.push_back(std::move(node));
    return static_cast<uint32_t>(p_->nodes.size() - 1);
  }
  uint32_t AddLiteral(Val v) {
    Node node;
    node.literal = v;
    return AddNode(std::move(node));
  }
  const Node& node(uint32_t i) const { return p_->nodes[i]; }

  // "<rule path>: <what> (at and[1]/==[0]); <hint>"
  std::unexpected<Error> Fail(const std::string& what, const std::string& hint = "") const {
    std::string message = p_->path + ": " + what;
    if (!where_.empty()) {
      message += " (at ";
      for (size_t i = 0; i < where_.size(); ++i) message += (i ? "/" : "") + where_[i];
      message += ")";
    }
    if (!hint.empty()) message += "; " + hint;
    return MakeError(ErrorCode::kInvalidArgument, std::move(message));
  }

  // Compiles children into consecutive Program::args entries.
  Result<std::pair<uint32_t, uint32_t>> CompileArgs(const std::vector<dom::element>& children,
                                                    std::string_view label, int depth) {
    std::vector<uint32_t> compiled;
    compiled.reserve(children.size());
    for (size_t i = 0; i < children.size(); ++i) {
      where_.push_back(std::string(label) + "[" + std::to_string(i) + "]");
      Result<uint32_t> child = Compile(children[i], depth + 1);
      if (!child) return std::unexpected(child.error());
      where_.pop_back();
      compiled.push_back(*child);
    }
    const auto first = static_cast<uint32_t>(p_->args.size());
    p_->args.insert(p_->args.end(), compiled.begin(), compiled.end());
    return std::pair{first, static_cast<uint32_t>(compiled.size())};
  }

  Result<uint32_t> CompileArray(dom::array array, int depth) {
    std::vector<dom::element> children;
    for (dom::element e : array) children.push_back(e);
    auto args = CompileArgs(children, "", depth);
    if (!args) return std::unexpected(args.error());
    bool constant = true;
    for (uint32_t i = 0; i < args->second; ++i) {
      constant = constant && node(p_->args[args->first + i]).op == Op::kLiteral;
    }
    if (constant) {  // fold into one constant list owned by the program
      auto list = std::make_unique<List>();
      for (uint32_t i = 0; i < args->second; ++i) {
        list->push_back(node(p_->args[args->first + i]).literal);
      }
      p_->lists.push_back(std::move(list));
      return AddLiteral(Val::Array(p_->lists.back().get()));
    }
    Node n;
    n.op = Op::kArray;
    n.first_arg = args->first;
    n.num_args = args->second;
    return AddNode(std::move(n));
  }

  Result<uint32_t> CompileOperation(dom::object object, int depth) {
    const size_t keys = object.size();
    if (keys != 1) {
      std::string what =
          keys == 0 ? "an empty object {}" : "an object with " + std::to_string(keys) + " keys";
      return Fail(what + " is not a JsonLogic operation",
                  "write {\"operator\": [arguments]}, one operator per object, and combine "
                  "operations with \"and\" or \"or\"");
    }
    const dom::key_value_pair kv = *object.begin();
    const OperatorInfo* info = FindOperator(kv.key);
    if (info == nullptr) {
      return Fail("unknown operator \"" + std::string(kv.key) + "\"",
                  "the operators are " + OperatorList());
    }
    std::vector<dom::element> children;
    if (kv.value.type() == dom::element_type::ARRAY) {
      const dom::array array = kv.value.get_array().value_unsafe();
      for (dom::element e : array) children.push_back(e);
    } else {
      children.push_back(kv.value);  // {"var": "x"} is short for {"var": ["x"]}
    }
    const int n = static_cast<int>(children.size());
    if (n < info->min_args || (info->max_args >= 0 && n > info->max_args)) {
      return Fail(ArityMessage(*info, n));
    }
    auto args = CompileArgs(children, info->name, depth);
    if (!args) return std::unexpected(args.error());
    Node op;
    op.op = info->op;
    op.first_arg = args->first;
    op.num_args = args->second;
    if (op.op == Op::kVar && op.num_args > 0) op.path = ConstantPath(p_->args[op.first_arg]);
    if (op.op == Op::kIn) op.string_set = StringSet(p_->args[op.first_arg + 1]);
    return AddNode(std::move(op));
  }

  static std::string ArityMessage(const OperatorInfo& info, int n) {
    auto arguments = [](int count) {
      return std::to_string(count) + (count == 1 ? " argument" : " arguments");
    };
    std::string takes;
    if (info.min_args == info.max_args) {
      takes = "exactly " + arguments(info.min_args);
    } else if (info.max_args < 0) {
      takes = "at least " + arguments(info.min_args);
    } else if (info.min_args == 0) {
      takes = "at most " + arguments(info.max_args);
    } else {
      takes = std::to_string(info.min_args) + " or " + arguments(info.max_args);
    }
    return "\"" + std::string(info.name) + "\" takes " + takes + ", got " + std::to_string(n);
  }

  // var's first argument, when constant, is split once here rather than on every evaluation.
  uint32_t ConstantPath(uint32_t arg) {
    const Node& a = node(arg);
    if (a.op != Op::kLiteral) return kNoIndex;
    VarPath path;
    if (a.literal.kind == Kind::kNull ||
        (a.literal.kind == Kind::kString && a.literal.str.empty())) {
      path.whole_data = true;
    } else {
      std::string text;
      AppendString(a.literal, &text);
      p_->strings.push_back(std::make_unique<std::string>(std::move(text)));
      Split(*p_->strings.back(), &path.segments);
    }
    p_->paths.push_back(std::move(path));
    return static_cast<uint32_t>(p_->paths.size() - 1);
  }

  uint32_t StringSet(uint32_t arg) {
    const Node& a = node(arg);
    if (a.op != Op::kLiteral || !a.literal.is_array() || a.literal.list->size() < kInSetThreshold) {
      return kNoIndex;
    }
    std::unordered_set<std::string_view> set;
    for (const Val& v : *a.literal.list) {
      if (v.kind != Kind::kString) return kNoIndex;
      set.insert(v.str);
    }
    p_->string_sets.push_back(std::move(set));
    return static_cast<uint32_t>(p_->string_sets.size() - 1);
  }

  Program* p_;
  std::vector<std::string> where_;  // "or[1]", "==[0]": where in the rule the compiler is
};

// ---------------------------------------------------------------------------------------------
// Evaluation.

// Code-point offsets for substr.
size_t CodePointCount(std::string_view s) {
  size_t count = 0;
  for (size_t i = 0; i < s.size(); i += Utf8Length(static_cast<unsigned char>(s[i]))) ++count;
  return count;
}

size_t ByteOffset(std::string_view s, size_t code_points) {
  size_t i = 0;
  while (code_points-- > 0 && i < s.size()) i += Utf8Length(static_cast<unsigned char>(s[i]));
  return std::min(i, s.size());
}

// ToIntegerOrInfinity.
double ToInteger(const Val& v) {
  const double d = ToNumber(v);
  return std::isnan(d) ? 0 : std::trunc(d);
}

// String.prototype.substr(start, length) over code points.
std::string_view Substr(std::string_view s, double start, std::optional<double> length) {
  const auto size = static_cast<double>(CodePointCount(s));
  double from = start < 0 ? std::max(size + start, 0.0) : std::min(start, size);
  double count = length ? std::clamp(*length, 0.0, size) : size;
  double to = std::min(from + count, size);
  if (to <= from) return {};
  const size_t begin = ByteOffset(s, static_cast<size_t>(from));
  const size_t end = begin + ByteOffset(s.substr(begin), static_cast<size_t>(to - from));
  return s.substr(begin, end - begin);
}

class Evaluator {
 public:
  Evaluator(const Program& program, Arena* arena) : p_(program), arena_(arena) {}

  Val Eval(uint32_t index, const Val& data) {
    const Node& n = p_.nodes[index];
    switch (n.op) {
      case Op::kLiteral:
        return n.literal;
      case Op::kArray: {
        List* list = arena_->NewList();
        list->reserve(n.num_args);
        for (uint32_t i = 0; i < n.num_args; ++i) list->push_back(Arg(n, i, data));
        return Val::Array(list);
      }
      case Op::kVar:
        return Var(n, data);
      case Op::kMissing:
        return Missing(n, data);
      case Op::kMissingSome:
        return MissingSome(n, data);
      case Op::kIf: {
        uint32_t i = 0;
        for (; i + 1 < n.num_args; i += 2) {
          if (Truthy(Arg(n, i, data))) return Arg(n, i + 1, data);
        }
        return i < n.num_args ? Arg(n, i, data) : Val::Null();
      }
      case Op::kAnd:
      case Op::kOr: {
        const bool stop_when = n.op == Op::kOr;
        Val current;
        for (uint32_t i = 0; i < n.num_args; ++i) {
          current = Arg(n, i, data);
          if (Truthy(current) == stop_when) break;
        }
        return current;  // the deciding value, not a bool
      }
      case Op::kNot:
        return Val::Bool(!Truthy(Arg(n, 0, data)));
      case Op::kNotNot:
        return Val::Bool(Truthy(Arg(n, 0, data)));
      case Op::kEquals:
        return Val::Bool(LooseEquals(Arg(n, 0, data), Arg(n, 1, data)));
      case Op::kStrictEquals:
        return Val::Bool(StrictEquals(Arg(n, 0, data), Arg(n, 1, data)));
      case Op::kNotEquals:
        return Val::Bool(!LooseEquals(Arg(n, 0, data), Arg(n, 1, data)));
      case Op::kStrictNotEquals:
        return Val::Bool(!StrictEquals(Arg(n, 0, data), Arg(n, 1, data)));
      case Op::kLess:
      case Op::kLessOrEqual: {
        auto cmp = n.op == Op::kLess ? Less : LessOrEqual;
        const Val a = Arg(n, 0, data);
        const Val b = Arg(n, 1, data);
        if (n.num_args == 2) return Val::Bool(cmp(a, b));
        const Val c = Arg(n, 2, data);  // between: a < b < c
        return Val::Bool(cmp(a, b) && cmp(b, c));
      }
      case Op::kGreater:
        return Val::Bool(Less(Arg(n, 1, data), Arg(n, 0, data)));
      case Op::kGreaterOrEqual:
        return Val::Bool(LessOrEqual(Arg(n, 1, data), Arg(n, 0, data)));
      case Op::kAdd: {
        double sum = 0;
        for (uint32_t i = 0; i < n.num_args; ++i) sum += ToFloat(Arg(n, i, data));
        return Val::Number(sum);
      }
      case Op::kSubtract: {
        const double a = ToNumber(Arg(n, 0, data));
        return Val::Number(n.num_args == 1 ? -a : a - ToNumber(Arg(n, 1, data)));
      }
      case Op::kMultiply: {
        const Val first = Arg(n, 0, data);
        if (n.num_args == 1) return first;  // Array.reduce without an initial value: as is
        double product = ToFloat(first);
        for (uint32_t i = 1; i < n.num_args; ++i) product *= ToFloat(Arg(n, i, data));
        return Val::Number(product);
      }
      case Op::kDivide:
        return Val::Number(ToNumber(Arg(n, 0, data)) / ToNumber(Arg(n, 1, data)));
      case Op::kModulo:
        return Val::Number(std::fmod(ToNumber(Arg(n, 0, data)), ToNumber(Arg(n, 1, data))));
      case Op::kMin:
      case Op::kMax: {
        if (n.num_args == 0) return Val::Null();
        double best = n.op == Op::kMin ? kInf : -kInf;
        for (uint32_t i = 0; i < n.num_args; ++i) {
          const double x = ToNumber(Arg(n, i, data));
          if (std::isnan(x)) return Val::Number(kNaN);
          best = n.op == Op::kMin ? std::min(best, x) : std::max(best, x);
        }
        return Val::Number(best);
      }
      case Op::kCat: {
        if (n.num_args == 1) {
          const Val only = Arg(n, 0, data);
          if (only.kind == Kind::kString) return only;
        }
        std::string text;
        for (uint32_t i = 0; i < n.num_args; ++i) {
          const Val v = Arg(n, i, data);
          if (v.kind != Kind::kNull) AppendString(v, &text);  // join(""): null adds nothing
        }
        return Val::String(arena_->Keep(std::move(text)));
      }
      case Op::kSubstr:
        return SubstrOp(n, data);
      case Op::kIn:
        return Val::Bool(In(n, data));
      case Op::kMerge: {
        List* list = arena_->NewList();
        for (uint32_t i = 0; i < n.num_args; ++i) {
          const Val v = Arg(n, i, data);
          if (v.is_array()) {
            ForEachElement(v, [&](const Val& e) {
              list->push_back(e);
              return true;
            });
          } else {
            list->push_back(v);
          }
        }
        return Val::Array(list);
      }
      case Op::kSome:
      case Op::kNone: {
        bool found = false;
        const Val items = Arg(n, 0, data);
        if (items.is_array()) {
          ForEachElement(items, [&](const Val& item) {
            found = Truthy(Arg(n, 1, item));
            return !found;
          });
        }
        return Val::Bool(n.op == Op::kSome ? found : !found);
      }
      case Op::kAll: {
        const Val items = Arg(n, 0, data);
        if (!items.is_array() || ArraySize(items) == 0) return Val::Bool(false);
        bool all = true;
        ForEachElement(items, [&](const Val& item) {
          all = Truthy(Arg(n, 1, item));
          return all;
        });
        return Val::Bool(all);
      }
      case Op::kFilter:
      case Op::kMap: {
        List* list = arena_->NewList();
        const Val items = Arg(n, 0, data);
        if (items.is_array()) {
          ForEachElement(items, [&](const Val& item) {
            const Val result = Arg(n, 1, item);
            if (n.op == Op::kMap) {
              list->push_back(result);
            } else if (Truthy(result)) {
              list->push_back(item);
            }
            return true;
          });
        }
        return Val::Array(list);
      }
      case Op::kReduce: {
        Val accumulator = n.num_args > 2 ? Arg(n, 2, data) : Val::Null();
        const Val items = Arg(n, 0, data);
        if (!items.is_array()) return accumulator;
        ForEachElement(items, [&](const Val& item) {
          Members* scope = arena_->NewMembers();
          scope->push_back({"current", item});
          scope->push_back({"accumulator", accumulator});
          accumulator = Arg(n, 1, Val::Object(scope));
          return true;
        });
        return accumulator;
      }
    }
    return Val::Null();
  }

 private:
  Val Arg(const Node& n, uint32_t i, const Val& data) {
    return Eval(p_.args[n.first_arg + i], data);
  }

  Val Var(const Node& n, const Val& data) {
    if (n.num_args == 0) return data;
    Val found;
    if (n.path != kNoIndex) {
      const VarPath& path = p_.paths[n.path];
      if (path.whole_data) return data;
      if (Lookup(data, path.segments, &found)) return found;
    } else {
      const Val key = Arg(n, 0, data);
      if (key.kind == Kind::kNull || (key.kind == Kind::kString && key.str.empty())) return data;
      if (LookupKey(data, key, &found)) return found;
    }
    return n.num_args > 1 ? Arg(n, 1, data) : Val::Null();
  }

  // data[String(key)], split at dots.
  bool LookupKey(const Val& data, const Val& key, Val* out) {
    std::string scratch;
    const std::string_view text = ToStringView(key, &scratch);
    std::vector<std::string_view> segments;
    Split(text, &segments);
    return Lookup(data, segments, out);
  }

  // The keys of `keys` (each looked up like var) whose value is missing, null or "".
  void CollectMissing(const Val& data, const Val& keys, List* missing) {
    ForEachElement(keys, [&](const Val& key) {
      Val value;
      const bool whole = key.kind == Kind::kNull || (key.kind == Kind::kString && key.str.empty());
      if (whole) {
        value = data;
      } else if (!LookupKey(data, key, &value)) {
        value = Val::Null();
      }
      if (value.kind == Kind::kNull || (value.kind == Kind::kString && value.str.empty())) {
        missing->push_back(key);
      }
      return true;
    });
  }

  // missing: the keys are its arguments, or, when the first argument is an array (say, the
  // result of merge), that array's elements.
  Val MissingOf(const Val& data, const Val& args_array) {
    List* missing = arena_->NewList();
    Val first;
    bool first_is_array = false;
    ForEachElement(args_array, [&](const Val& v) {
      first = v;
      first_is_array = v.is_array();
      return false;
    });
    CollectMissing(data, first_is_array ? first : args_array, missing);
    return Val::Array(missing);
  }

  Val Missing(const Node& n, const Val& data) {
    List* args = arena_->NewList();
    args->reserve(n.num_args);
    for (uint32_t i = 0; i < n.num_args; ++i) args->push_back(Arg(n, i, data));
    return MissingOf(data, Val::Array(args));
  }

  // missing_some(need, keys): [] when at least `need` of keys are present, else the missing ones.
  Val MissingSome(const Node& n, const Val& data) {
    const Val need = Arg(n, 0, data);
    Val options = Arg(n, 1, data);
    double option_count = kNaN;
    if (options.is_array()) {
      option_count = static_cast<double>(ArraySize(options));
    } else {
      if (options.kind == Kind::kString) {
        option_count = static_cast<double>(CodePointCount(options.str));
      }
      List* single = arena_->NewList();
      single->push_back(options);
      options = Val::Array(single);
    }
    const Val missing = MissingOf(data, options);
    const double present = option_count - static_cast<double>(missing.list->size());
    if (LessOrEqual(need, Val::Number(present))) return Val::Array(arena_->NewList());
    return missing;
  }

  Val SubstrOp(const Node& n, const Val& data) {
    const Val source = Arg(n, 0, data);
    std::string scratch;
    const std::string_view s = ToStringView(source, &scratch);
    const double start = ToInteger(Arg(n, 1, data));
    std::string_view result;
    if (n.num_args > 2) {
      const Val length = Arg(n, 2, data);
      if (Less(length, Val::Number(0))) {
        // JsonLogic's negative length (PHP-style): drop that many from the end.
        const std::string_view tail = Substr(s, start, std::nullopt);
        result = Substr(tail, 0, static_cast<double>(CodePointCount(tail)) + ToInteger(length));
      } else {
        result = Substr(s, start, ToInteger(length));
      }
    } else {
      result = Substr(s, start, std::nullopt);
    }
    if (source.kind == Kind::kString) return Val::String(result);  // a view of the source
    return Val::String(arena_->Keep(std::string(result)));
  }

  bool In(const Node& n, const Val& data) {
    const Val needle = Arg(n, 0, data);
    const Val haystack = Arg(n, 1, data);
    if (haystack.kind == Kind::kString) {
      if (haystack.str.empty()) return false;  // json-logic-js: `if (!b) return false`
      std::string scratch;
      return haystack.str.find(ToStringView(needle, &scratch)) != std::string_view::npos;
    }
    if (!haystack.is_array()) return false;
    if (n.string_set != kNoIndex && needle.kind == Kind::kString) {
      return p_.string_sets[n.string_set].contains(needle.str);
    }
    bool found = false;
    ForEachElement(haystack, [&](const Val& e) {
      found = StrictEquals(needle, e);  // Array.prototype.indexOf uses ===
      return !found;
    });
    return found;
  }

  const Program& p_;
  Arena* arena_;
};

// ---------------------------------------------------------------------------------------------
// Val -> JsonValue, and JSON text.

JsonValue ToOwned(const Val& v) {
  switch (v.kind) {
    case Kind::kNull:
      return JsonValue();
    case Kind::kBool:
      return JsonValue(v.boolean);
    case Kind::kNumber:
      return JsonValue(v.number);
    case Kind::kString:
      return JsonValue(std::string(v.str));
    case Kind::kArray: {
      JsonValue::Array array;
      ForEachElement(v, [&](const Val& e) {
        array.push_back(ToOwned(e));
        return true;
      });
      return JsonValue(std::move(array));
    }
    case Kind::kObject: {
      JsonValue::Object object;
      if (v.in_document) {
        const dom::object members = v.element.get_object().value_unsafe();
        for (dom::key_value_pair kv : members) {
          object.emplace_back(std::string(kv.key), ToOwned(Val::Of(kv.value)));
        }
      } else {
        for (const Member& m : *v.members) {
          object.emplace_back(std::string(m.key), ToOwned(m.value));
        }
      }
      return JsonValue(std::move(object));
    }
  }
  return JsonValue();
}

void AppendJson(const JsonValue& v, std::string* out) {
  switch (v.kind()) {
    case JsonValue::Kind::kNull:
      *out += "null";
      break;
    case JsonValue::Kind::kBool:
      *out += v.as_bool() ? "true" : "false";
      break;
    case JsonValue::Kind::kNumber:
      if (std::isfinite(v.as_number())) {
        AppendNumber(v.as_number(), out);
      } else {
        *out += "null";  // as JSON.stringify
      }
      break;
    case JsonValue::Kind::kString:
      AppendJsonString(out, v.as_string());
      break;
    case JsonValue::Kind::kArray: {
      *out += '[';
      bool first = true;
      for (const JsonValue& e : v.as_array()) {
        if (!first) *out += ',';
        first = false;
        AppendJson(e, out);
      }
      *out += ']';
      break;
    }
    case JsonValue::Kind::kObject: {
      *out += '{';
      bool first = true;
      for (const auto& [key, value] : v.as_object()) {
        if (!first) *out += ',';
        first = false;
        AppendJsonString(out, key);
        *out += ':';
        AppendJson(value, out);
      }
      *out += '}';
      break;
    }
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------

Result<JsonValue> JsonValue::Parse(std::string_view json) {
  dom::parser parser;
  dom::element element;
  if (auto error = parser.parse(json.data(), json.size()).get(element)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     std::string("not valid JSON: ") + simdjson::error_message(error));
  }
  return FromElement(element);
}

JsonValue JsonValue::FromElement(const simdjson::dom::element& element) {
  return ToOwned(Val::Of(element));
}

bool JsonValue::IsTruthy() const {
  switch (kind()) {
    case Kind::kNull:
      return false;
    case Kind::kBool:
      return as_bool();
    case Kind::kNumber:
      return as_number() != 0 && !std::isnan(as_number());
    case Kind::kString:
      return !as_string().empty();
    case Kind::kArray:
      return !as_array().empty();
    case Kind::kObject:
      return true;
  }
  return false;
}

std::string JsonValue::ToJson() const {
  std::string out;
  AppendJson(*this, &out);
  return out;
}

Result<JsonLogic> JsonLogic::Compile(std::string_view rule_json, std::string path_for_errors) {
  dom::parser parser;
  dom::element rule;
  if (auto error = parser.parse(rule_json.data(), rule_json.size()).get(rule)) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        path_for_errors + ": the rule is not valid JSON (" + simdjson::error_message(error) + ")");
  }
  return Compile(rule, std::move(path_for_errors));
}

Result<JsonLogic> JsonLogic::Compile(const simdjson::dom::element& rule,
                                     std::string path_for_errors) {
  auto program = std::make_shared<Program>();
  program->path = std::move(path_for_errors);
  Compiler compiler(program.get());
  Result<uint32_t> root = compiler.Compile(rule, 0);
  if (!root) return std::unexpected(root.error());
  program->root = *root;
  return JsonLogic(std::move(program));
}

JsonValue JsonLogic::Evaluate(const simdjson::dom::element& data) const {
  Arena arena;
  Evaluator evaluator(*program_, &arena);
  return ToOwned(evaluator.Eval(program_->root, Val::Of(data)));
}

bool JsonLogic::Matches(const simdjson::dom::element& data) const {
  Arena arena;
  Evaluator evaluator(*program_, &arena);
  return Truthy(evaluator.Eval(program_->root, Val::Of(data)));
}

const std::string& JsonLogic::path() const { return program_->path; }

}  // namespace sloop
