#include "http/link_template.h"

#include <algorithm>
#include <cstdint>
#include <variant>

namespace sloop::http {

namespace {

// A run-time value. Sloop's data holds only strings; constants add integers and booleans, and
// index on a string yields a byte (an integer), as in Go.
struct Value {
  enum class Type { kString, kInt, kBool } type = Type::kString;
  std::string s;
  int64_t i = 0;
  bool b = false;

  static Value Str(std::string v) { return {Type::kString, std::move(v), 0, false}; }
  static Value Int(int64_t v) { return {Type::kInt, {}, v, false}; }
  static Value Bool(bool v) { return {Type::kBool, {}, 0, v}; }
  const char* TypeName() const {
    return type == Type::kString ? "string" : type == Type::kInt ? "int" : "bool";
  }
  std::string Print() const {  // fmt's %v
    if (type == Type::kString) return s;
    if (type == Type::kInt) return std::to_string(i);
    return b ? "true" : "false";
  }
};

struct Pipeline;
struct Operand {
  enum class Type { kField, kString, kInt, kBool, kFunction, kPipeline } type;
  std::string text;  // field or function name, or the string constant
  int64_t i = 0;
  bool b = false;
  std::shared_ptr<Pipeline> pipeline;
};
struct Command {
  std::vector<Operand> operands;
};
struct Pipeline {
  std::vector<Command> commands;
};

Result<std::string> Fail(size_t offset, const std::string& what) {
  return MakeError(ErrorCode::kInvalidArgument, "offset " + std::to_string(offset) + ": " + what);
}

constexpr std::string_view kFunctions[] = {"ToUpper", "ToLower", "urlquery", "printf", "print",
                                           "index",   "len",     "html",     "js"};
constexpr std::string_view kUnsupportedKeywords[] = {"if",    "else",     "end",      "range",
                                                     "with",  "define",   "template", "block",
                                                     "break", "continue", "nil"};

bool IsIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsIdentChar(char c) { return IsIdentStart(c) || (c >= '0' && c <= '9'); }
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Parses the inside of one action. `base` is the offset of `s` in the template (for messages).
class ActionParser {
 public:
  ActionParser(std::string_view s, size_t base, const std::vector<std::string>& fields)
      : s_(s), base_(base), fields_(fields) {}

  Result<Pipeline> ParseAll() {
    auto p = ParsePipeline(false);
    if (!p) return std::unexpected(p.error());
    SkipSpace();
    if (pos_ != s_.size()) return Err("unexpected \"" + std::string(s_.substr(pos_, 1)) + "\"");
    if (p->commands.empty()) return Err("empty action {{ }}");
    return p;
  }

 private:
  std::unexpected<Error> Err(const std::string& what) {
    return std::unexpected(Fail(base_ + pos_, what).error());
  }
  void SkipSpace() {
    while (pos_ < s_.size() && IsSpace(s_[pos_])) ++pos_;
  }

  Result<Pipeline> ParsePipeline(bool nested) {
    Pipeline p;
    for (;;) {
      Command c;
      for (;;) {
        SkipSpace();
        if (pos_ >= s_.size() || s_[pos_] == '|' || (nested && s_[pos_] == ')')) break;
        auto op = ParseOperand();
        if (!op) return std::unexpected(op.error());
        c.operands.push_back(std::move(*op));
      }
      if (c.operands.empty()) {
        if (pos_ < s_.size() && s_[pos_] == '|') return Err("missing command before \"|\"");
        if (!p.commands.empty()) return Err("missing command after \"|\"");
        return p;
      }
      if (c.operands.size() > 1 && c.operands[0].type != Operand::Type::kFunction) {
        return Err("only a function takes arguments; \"" + Describe(c.operands[0]) +
                   "\" is not one");
      }
      p.commands.push_back(std::move(c));
      if (pos_ < s_.size() && s_[pos_] == '|') {
        ++pos_;
        continue;
      }
      return p;
    }
  }

  static std::string Describe(const Operand& o) {
    switch (o.type) {
      case Operand::Type::kField:
        return "." + o.text;
      case Operand::Type::kString:
        return "\"" + o.text + "\"";
      case Operand::Type::kInt:
        return std::to_string(o.i);
      case Operand::Type::kBool:
        return o.b ? "true" : "false";
      case Operand::Type::kFunction:
        return o.text;
      case Operand::Type::kPipeline:
        return "( … )";
    }
    return "";
  }

  Result<Operand> ParseOperand() {
    char c = s_[pos_];
    if (c == '(') {
      if (++depth_ > 50) return Err("parentheses nested too deeply");
      ++pos_;
      auto inner = ParsePipeline(true);
      --depth_;
      if (!inner) return std::unexpected(inner.error());
      SkipSpace();
      if (pos_ >= s_.size() || s_[pos_] != ')') return Err("missing \")\"");
      ++pos_;
      if (inner->commands.empty()) return Err("empty parenthesised pipeline");
      Operand o{Operand::Type::kPipeline, {}, 0, false, nullptr};
      o.pipeline = std::make_shared<Pipeline>(std::move(*inner));
      return o;
    }
    if (c == '.') {
      ++pos_;
      size_t start = pos_;
      while (pos_ < s_.size() && IsIdentChar(s_[pos_])) ++pos_;
      std::string name(s_.substr(start, pos_ - start));
      if (name.empty()) {
        return Err("{{.}} (the whole data) is not supported: name a field such as .Name");
      }
      if (pos_ < s_.size() && s_[pos_] == '.') {
        return Err("field chains such as ." + name +
                   ".… are not supported: the fields are strings");
      }
      if (std::find(fields_.begin(), fields_.end(), name) == fields_.end()) {
        std::string known;
        for (const auto& f : fields_) known += (known.empty() ? "." : ", .") + f;
        pos_ = start - 1;
        return Err("field ." + name + " does not exist (known: " + known + ")");
      }
      return Operand{Operand::Type::kField, name, 0, false, nullptr};
    }
    if (c == '"' || c == '`') return ParseString();
    if ((c >= '0' && c <= '9') || c == '-' || c == '+') {
      size_t start = pos_;
      if (c == '-' || c == '+') ++pos_;
      int64_t v = 0;
      size_t digits = 0;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
        if (++digits > 18) return Err("number too large");
        v = v * 10 + (s_[pos_++] - '0');
      }
      if (digits == 0 || (pos_ < s_.size() && (IsIdentChar(s_[pos_]) || s_[pos_] == '.'))) {
        pos_ = start;
        return Err("only decimal integer constants are supported");
      }
      return Operand{Operand::Type::kInt, {}, c == '-' ? -v : v, false, nullptr};
    }
    if (c == '$') return Err("variables ($…) are not supported");
    if (IsIdentStart(c)) {
      size_t start = pos_;
      while (pos_ < s_.size() && IsIdentChar(s_[pos_])) ++pos_;
      std::string word(s_.substr(start, pos_ - start));
      if (word == "true" || word == "false") {
        return Operand{Operand::Type::kBool, {}, 0, word == "true", nullptr};
      }
      for (auto k : kUnsupportedKeywords) {
        if (word == k) {
          pos_ = start;
          return Err("\"" + word + "\" is not supported in link templates (only fields, " +
                     "constants and the functions ToUpper, ToLower, urlquery, printf, print, " +
                     "index, len, html, js)");
        }
      }
      for (auto f : kFunctions) {
        if (word == f) return Operand{Operand::Type::kFunction, word, 0, false, nullptr};
      }
      pos_ = start;
      std::string hint;
      if (word == "upper" || word == "toUpper") hint = " (use ToUpper)";
      if (word == "lower" || word == "toLower") hint = " (use ToLower)";
      return Err("function \"" + word + "\" is not defined" + hint);
    }
    return Err("unexpected \"" + std::string(1, c) + "\"");
  }

  Result<Operand> ParseString() {
    char quote = s_[pos_++];
    std::string out;
    while (pos_ < s_.size() && s_[pos_] != quote) {
      char c = s_[pos_++];
      if (quote == '"' && c == '\\') {
        if (pos_ >= s_.size()) break;
        char e = s_[pos_++];
        switch (e) {
          case 'n':
            out += '\n';
            break;
          case 't':
            out += '\t';
            break;
          case '\\':
          case '"':
            out += e;
            break;
          default:
            return Err(std::string("escape \\") + e + " is not supported in a string");
        }
        continue;
      }
      if (quote == '"' && c == '\n') return Err("newline in a string");
      out += c;
    }
    if (pos_ >= s_.size()) return Err("unterminated string");
    ++pos_;
    return Operand{Operand::Type::kString, std::move(out), 0, false, nullptr};
  }

  std::string_view s_;
  size_t pos_ = 0;
  int depth_ = 0;
  size_t base_;
  const std::vector<std::string>& fields_;
};

// Go's url.QueryEscape.
std::string QueryEscape(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// Go's fmt.Sprint: a space between operands when neither side is a string.
std::string Sprint(const std::vector<Value>& args) {
  std::string out;
  for (size_t k = 0; k < args.size(); ++k) {
    if (k > 0 && args[k].type != Value::Type::kString && args[k - 1].type != Value::Type::kString) {
      out += ' ';
    }
    out += args[k].Print();
  }
  return out;
}

std::string GoQuote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string Pad(std::string s, int width, bool left, bool zero) {
  if (width <= 0 || static_cast<int>(s.size()) >= width) return s;
  std::string fill(static_cast<size_t>(width) - s.size(), zero && !left ? '0' : ' ');
  return left ? s + fill : fill + s;
}

// Go's fmt.Sprintf for the verbs links use: %s %v %d %q %x %X %t %%, with '-' and '0' flags, a
// width and a precision. Mismatches print as Go prints them (%!d(string=x), %!s(MISSING), EXTRA).
std::string Sprintf(std::string_view format, const std::vector<Value>& args) {
  std::string out;
  size_t next = 0;
  for (size_t i = 0; i < format.size(); ++i) {
    char c = format[i];
    if (c != '%') {
      out += c;
      continue;
    }
    if (++i >= format.size()) {
      out += "%!(NOVERB)";
      break;
    }
    bool left = false, zero = false;
    for (; i < format.size() && (format[i] == '-' || format[i] == '0' || format[i] == '+' ||
                                 format[i] == ' ' || format[i] == '#');
         ++i) {
      if (format[i] == '-') left = true;
      if (format[i] == '0') zero = true;
    }
    int width = 0, precision = -1;
    for (; i < format.size() && std::isdigit(static_cast<unsigned char>(format[i])); ++i) {
      width = std::min(width * 10 + (format[i] - '0'), 1000);
    }
    if (i < format.size() && format[i] == '.') {
      precision = 0;
      for (++i; i < format.size() && std::isdigit(static_cast<unsigned char>(format[i])); ++i) {
        precision = std::min(precision * 10 + (format[i] - '0'), 1000);
      }
    }
    if (i >= format.size()) {
      out += "%!(NOVERB)";
      break;
    }
    char verb = format[i];
    if (verb == '%') {
      out += '%';
      continue;
    }
    if (next >= args.size()) {
      out += std::string("%!") + verb + "(MISSING)";
      continue;
    }
    const Value& v = args[next++];
    auto bad = [&] {
      return std::string("%!") + verb + "(" + v.TypeName() + "=" + v.Print() + ")";
    };
    std::string text;
    switch (verb) {
      case 'v':
      case 's':
        if (verb == 's' && v.type != Value::Type::kString) {
          text = bad();
          break;
        }
        text = v.Print();
        if (precision >= 0 && v.type == Value::Type::kString &&
            text.size() > static_cast<size_t>(precision)) {
          text.resize(static_cast<size_t>(precision));
        }
        break;
      case 'd':
        text = v.type == Value::Type::kInt ? std::to_string(v.i) : bad();
        break;
      case 't':
        text = v.type == Value::Type::kBool ? v.Print() : bad();
        break;
      case 'q':
        text = v.type == Value::Type::kString ? GoQuote(v.s) : bad();
        break;
      case 'x':
      case 'X': {
        const char* hex = verb == 'x' ? "0123456789abcdef" : "0123456789ABCDEF";
        if (v.type == Value::Type::kString) {
          for (unsigned char ch : v.s) {
            text += hex[ch >> 4];
            text += hex[ch & 15];
          }
        } else if (v.type == Value::Type::kInt) {
          uint64_t u = v.i < 0 ? uint64_t(0) - uint64_t(v.i) : uint64_t(v.i);
          do {
            text.insert(text.begin(), hex[u & 15]);
            u >>= 4;
          } while (u);
          if (v.i < 0) text.insert(text.begin(), '-');
        } else {
          text = bad();
        }
        break;
      }
      default:
        text = bad();
    }
    out += Pad(std::move(text), width, left, zero && verb != 's' && verb != 'q');
  }
  if (next < args.size()) {
    out += "%!(EXTRA ";
    for (size_t k = next; k < args.size(); ++k) {
      if (k > next) out += ", ";
      out += std::string(args[k].TypeName()) + "=" + args[k].Print();
    }
    out += ")";
  }
  return out;
}

std::string HtmlEscape(std::string_view s) {  // Go's template.HTMLEscapeString
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '\'':
        out += "&#39;";
        break;
      case '"':
        out += "&#34;";
        break;
      case '\0':
        out += "\xef\xbf\xbd";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string JsEscape(std::string_view s) {  // Go's template.JSEscapeString
  std::string out;
  for (unsigned char c : s) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\'':
        out += "\\'";
        break;
      case '"':
        out += "\\\"";
        break;
      case '<':
        out += "\\u003C";
        break;
      case '>':
        out += "\\u003E";
        break;
      case '&':
        out += "\\u0026";
        break;
      case '=':
        out += "\\u003D";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04X", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

}  // namespace

struct LinkTemplate::Node {
  bool is_text = true;
  std::string text;
  size_t offset = 0;
  Pipeline pipeline;
};

namespace {

class Evaluator {
 public:
  explicit Evaluator(const LinkTemplate::Data& data) : data_(data) {}

  Result<Value> Run(const Pipeline& p, size_t offset, int depth = 0) {
    if (depth > 50) return std::unexpected(Fail(offset, "pipelines nested too deeply").error());
    Value piped;
    bool have = false;
    for (const Command& c : p.commands) {
      auto v = RunCommand(c, have ? &piped : nullptr, offset, depth);
      if (!v) return v;
      piped = std::move(*v);
      have = true;
    }
    return piped;
  }

 private:
  Result<Value> Eval(const Operand& o, size_t offset, int depth) {
    switch (o.type) {
      case Operand::Type::kField: {
        auto it = data_.find(o.text);
        return Value::Str(it == data_.end() ? "" : it->second);
      }
      case Operand::Type::kString:
        return Value::Str(o.text);
      case Operand::Type::kInt:
        return Value::Int(o.i);
      case Operand::Type::kBool:
        return Value::Bool(o.b);
      case Operand::Type::kPipeline:
        return Run(*o.pipeline, offset, depth + 1);
      case Operand::Type::kFunction:
        return Call(o.text, {}, offset);
    }
    return Value{};
  }

  Result<Value> RunCommand(const Command& c, const Value* piped, size_t offset, int depth) {
    const Operand& first = c.operands[0];
    if (first.type != Operand::Type::kFunction) {
      if (piped) {
        return std::unexpected(
            Fail(offset, "a pipeline can only end in a function, not a value").error());
      }
      return Eval(first, offset, depth);
    }
    std::vector<Value> args;
    for (size_t k = 1; k < c.operands.size(); ++k) {
      auto v = Eval(c.operands[k], offset, depth);
      if (!v) return v;
      args.push_back(std::move(*v));
    }
    if (piped) args.push_back(*piped);
    return Call(first.text, args, offset);
  }

  Result<Value> Call(const std::string& fn, const std::vector<Value>& args, size_t offset) {
    auto fail = [&](const std::string& why) {
      return std::unexpected(Fail(offset, fn + ": " + why).error());
    };
    if (fn == "ToUpper" || fn == "ToLower") {
      if (args.size() != 1) return fail("wants one argument, got " + std::to_string(args.size()));
      if (args[0].type != Value::Type::kString) return fail("wants a string");
      std::string s = args[0].s;
      for (char& ch : s) {
        ch = static_cast<char>(fn == "ToUpper" ? std::toupper(static_cast<unsigned char>(ch))
                                               : std::tolower(static_cast<unsigned char>(ch)));
      }
      return Value::Str(std::move(s));
    }
    if (fn == "urlquery") return Value::Str(QueryEscape(Sprint(args)));
    if (fn == "html") return Value::Str(HtmlEscape(Sprint(args)));
    if (fn == "js") return Value::Str(JsEscape(Sprint(args)));
    if (fn == "print") return Value::Str(Sprint(args));
    if (fn == "printf") {
      if (args.empty() || args[0].type != Value::Type::kString) {
        return fail("wants a format string first");
      }
      return Value::Str(Sprintf(args[0].s, {args.begin() + 1, args.end()}));
    }
    if (fn == "len") {
      if (args.size() != 1 || args[0].type != Value::Type::kString) return fail("wants a string");
      return Value::Int(static_cast<int64_t>(args[0].s.size()));
    }
    if (fn == "index") {
      if (args.empty()) return fail("wants an item to index");
      if (args.size() == 1) return args[0];
      if (args.size() > 2) return fail("can't index a byte");
      if (args[0].type != Value::Type::kString)
        return fail("can't index item of type " + std::string(args[0].TypeName()));
      if (args[1].type != Value::Type::kInt)
        return fail("cannot index slice/array with type " + std::string(args[1].TypeName()));
      if (args[1].i < 0 || args[1].i >= static_cast<int64_t>(args[0].s.size())) {
        return fail("index out of range: " + std::to_string(args[1].i));
      }
      return Value::Int(static_cast<unsigned char>(args[0].s[static_cast<size_t>(args[1].i)]));
    }
    return fail("is not defined");
  }

  const LinkTemplate::Data& data_;
};

}  // namespace

Result<LinkTemplate> LinkTemplate::Parse(std::string_view text,
                                         const std::vector<std::string>& fields) {
  auto nodes = std::make_shared<std::vector<Node>>();
  size_t pos = 0;
  bool trim_next = false;
  while (pos <= text.size()) {
    size_t open = text.find("{{", pos);
    std::string_view literal =
        text.substr(pos, open == std::string_view::npos ? text.npos : open - pos);
    if (trim_next) {
      while (!literal.empty() && IsSpace(literal.front())) literal.remove_prefix(1);
    }
    size_t body = open + 2;
    bool trim_left = false;
    if (open != std::string_view::npos && body + 1 < text.size() && text[body] == '-' &&
        IsSpace(text[body + 1])) {
      trim_left = true;
      body += 2;
    }
    if (trim_left) {
      while (!literal.empty() && IsSpace(literal.back())) literal.remove_suffix(1);
    }
    if (!literal.empty()) nodes->push_back(Node{true, std::string(literal), pos, {}});
    if (open == std::string_view::npos) break;
    size_t close = text.find("}}", body);
    // A comment may hold "}}": it ends at "*/}}".
    bool comment = false;
    {
      size_t b = body;
      while (b < text.size() && IsSpace(text[b]) && !trim_left) ++b;
      if (text.substr(b).starts_with("/*")) {
        size_t end = text.find("*/", b + 2);
        if (end == std::string_view::npos)
          return std::unexpected(Fail(open, "unclosed comment").error());
        size_t after = end + 2;
        while (after < text.size() && IsSpace(text[after])) ++after;
        if (text.substr(after).starts_with("-}}")) after += 1;
        if (!text.substr(after).starts_with("}}")) {
          return std::unexpected(Fail(open, "comment ends before closing delimiter").error());
        }
        close = after;
        comment = true;
      }
    }
    if (close == std::string_view::npos) {
      return std::unexpected(Fail(open, "unclosed action: \"{{\" without \"}}\"").error());
    }
    size_t inner_end = close;
    trim_next = false;
    if (close >= 2 && close - 1 >= body && text[close - 1] == '-' && IsSpace(text[close - 2])) {
      trim_next = true;
      inner_end = close - 2;
    }
    if (!comment) {
      ActionParser parser(text.substr(body, inner_end - body), body, fields);
      auto p = parser.ParseAll();
      if (!p) return std::unexpected(p.error());
      nodes->push_back(Node{false, {}, open, std::move(*p)});
    }
    pos = close + 2;
  }
  LinkTemplate t;
  t.text_ = std::string(text);
  t.nodes_ = std::move(nodes);
  // A template that cannot run over empty data cannot run at all (a function's argument types
  // are fixed by the template, since every field is a string): check it now, at start-up.
  Data sample;  // as long as a Kubernetes name can be, so that index checks only types
  for (const auto& f : fields) sample[f] = std::string(253, 'x');
  if (auto r = t.Expand(sample); !r) return std::unexpected(r.error());
  return t;
}

Result<std::string> LinkTemplate::Expand(const Data& data) const {
  std::string out;
  if (!nodes_) return out;
  Evaluator ev(data);
  for (const Node& n : *nodes_) {
    if (n.is_text) {
      out += n.text;
      continue;
    }
    auto v = ev.Run(n.pipeline, n.offset);
    if (!v) return std::unexpected(v.error());
    out += v->Print();
    if (out.size() > (1 << 20)) {
      return MakeError(ErrorCode::kInvalidArgument, "the expanded link is over 1 MiB");
    }
  }
  return out;
}

LinkTemplate::LinkTemplate(const LinkTemplate&) = default;
LinkTemplate& LinkTemplate::operator=(const LinkTemplate&) = default;
LinkTemplate::LinkTemplate(LinkTemplate&&) noexcept = default;
LinkTemplate& LinkTemplate::operator=(LinkTemplate&&) noexcept = default;
LinkTemplate::~LinkTemplate() = default;

const std::vector<std::string>& ResourceLinkFields() {
  static const std::vector<std::string> kFields = {"Name", "Namespace", "Kind", "Uuid"};
  return kFields;
}

const std::vector<std::string>& LeftBarLinkFields() {
  static const std::vector<std::string> kFields = {"CurrentContext", "DefaultKind",
                                                   "DefaultNamespace", "DefaultLookback"};
  return kFields;
}

}  // namespace sloop::http
