// The Go text/template subset of link templates: what Sloop's users write expands as Go expands
// it, and what is outside the subset is refused with the construct named.
#include "http/link_template.h"

#include <gtest/gtest.h>

#include <string>

namespace sloop::http {
namespace {

const LinkTemplate::Data kPod = {
    {"Name", "web-7d9f b"}, {"Namespace", "Shop"}, {"Kind", "Pod"}, {"Uuid", "u-1"}};

std::string Expand(const std::string& tmpl, const LinkTemplate::Data& data = kPod) {
  auto t = LinkTemplate::Parse(tmpl, ResourceLinkFields());
  if (!t) return "PARSE ERROR: " + t.error().message;
  auto out = t->Expand(data);
  if (!out) return "EXEC ERROR: " + out.error().message;
  return *out;
}

TEST(LinkTemplate, ExpandsAsGoDoes) {
  struct Case {
    const char* tmpl;
    const char* want;  // what Go's text/template prints for the same data
  } cases[] = {
      {"https://logs/", "https://logs/"},
      {"https://logs/?pod={{.Name}}&ns={{.Namespace}}", "https://logs/?pod=web-7d9f b&ns=Shop"},
      {"{{ .Kind }}", "Pod"},
      {"{{ToLower .Namespace}}/{{ToUpper .Kind}}", "shop/POD"},
      {"{{.Namespace | ToLower}}", "shop"},
      {"{{.Name | urlquery}}", "web-7d9f+b"},
      {"{{urlquery .Name}}", "web-7d9f+b"},
      {"{{urlquery \"a/b\" \"c&d\"}}", "a%2Fbc%26d"},
      {"{{printf \"%s/%s\" .Namespace .Name}}", "Shop/web-7d9f b"},
      {"{{printf \"%s/%s\" .Namespace .Name | urlquery}}", "Shop%2Fweb-7d9f+b"},
      {"{{.Name | printf \"%q\"}}", "\"web-7d9f b\""},
      {"{{printf \"%.3s\" .Name}}", "web"},
      {"{{printf \"%5d|%-4d|%x\" 42 7 255}}", "   42|7   |ff"},
      {"{{printf \"%d\" .Name}}", "%!d(string=web-7d9f b)"},
      {"{{printf \"%s\"}}", "%!s(MISSING)"},
      {"{{printf \"x\" 1}}", "x%!(EXTRA int=1)"},
      {"{{printf \"100%%\"}}", "100%"},
      {"{{index .Name 0}}", "119"},  // a byte, printed as a number (Go)
      {"{{len .Name}}", "10"},
      {"{{print 1 2 \"a\" 3}}", "1 2a3"},
      {"{{html \"<a&b>\"}}", "&lt;a&amp;b&gt;"},
      {"{{js \"it's\"}}", "it\\'s"},
      {"{{ToUpper (printf \"%s-%s\" .Kind .Uuid)}}", "POD-U-1"},
      {"a {{- .Kind -}} b", "aPodb"},
      {"a{{/* a comment with }} inside */}}b", "ab"},
      {"{{`raw \\n`}}", "raw \\n"},
      {"{{true}} {{42}}", "true 42"},
      {"{{.Uuid}}", "u-1"},
  };
  for (const auto& c : cases) EXPECT_EQ(Expand(c.tmpl), c.want) << c.tmpl;
}

TEST(LinkTemplate, AFieldMissingFromTheDataIsEmpty) {
  EXPECT_EQ(Expand("[{{.Uuid}}]", {{"Name", "x"}}), "[]");
}

TEST(LinkTemplate, RefusesWhatItDoesNotRunNamingIt) {
  struct Case {
    std::string tmpl;
    const char* names;
  } cases[] = {
      {"{{if .Name}}x{{end}}", "\"if\""},
      {"{{range .Name}}{{end}}", "\"range\""},
      {"{{with .Name}}{{end}}", "\"with\""},
      {"{{template \"x\"}}", "\"template\""},
      {"{{$x := .Name}}", "variables"},
      {"{{.Pod}}", "field .Pod does not exist"},
      {"{{.Name.First}}", "field chains"},
      {"{{.}}", "{{.}}"},
      {"{{lower .Name}}", "\"lower\" is not defined (use ToLower)"},
      {"{{.Name", "unclosed action"},
      {"{{}}", "empty action"},
      {"{{.Name | }}", "missing command"},
      {"{{.Name .Kind}}", "only a function takes arguments"},
      {"{{.Name | .Kind}}", "a pipeline can only end in a function"},
      {"{{ToUpper .Name .Kind}}", "wants one argument"},
      {"{{printf 3}}", "format string"},
      {"{{index .Name \"a\"}}", "cannot index"},
      {"{{\"abc}}", "unterminated string"},
      {"{{(.Name}}", "missing \")\""},
      {"{{/* open", "unclosed comment"},
      {"{{1.5}}", "integer"},
      {"{{" + std::string(60, '(') + ".Name" + std::string(60, ')') + "}}", "nested too deeply"},
  };
  for (const auto& c : cases) {
    auto t = LinkTemplate::Parse(c.tmpl, ResourceLinkFields());
    ASSERT_FALSE(t) << c.tmpl << " was accepted";
    EXPECT_NE(t.error().message.find(c.names), std::string::npos)
        << c.tmpl << ": " << t.error().message;
    EXPECT_NE(t.error().message.find("offset "), std::string::npos) << t.error().message;
  }
}

TEST(LinkTemplate, IndexOutOfRangeIsARunTimeErrorNotAStartUpError) {
  auto t = LinkTemplate::Parse("{{index .Name 5}}", ResourceLinkFields());
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(*t->Expand({{"Name", "abcdef"}}), "102");
  EXPECT_FALSE(t->Expand({{"Name", "ab"}}));
}

TEST(LinkTemplate, LeftBarLinksSeeThePageFields) {
  auto t = LinkTemplate::Parse("https://g/?c={{urlquery .CurrentContext}}&k={{.DefaultKind}}",
                               LeftBarLinkFields());
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(*t->Expand({{"CurrentContext", "prod eu"}, {"DefaultKind", "Pod"}}),
            "https://g/?c=prod+eu&k=Pod");
  EXPECT_FALSE(LinkTemplate::Parse("{{.Name}}", LeftBarLinkFields()));
}

}  // namespace
}  // namespace sloop::http
