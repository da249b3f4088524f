#include "objstore/s3_xml.h"

#include <expat.h>

#include <charconv>
#include <memory>
#include <string>
#include <vector>

namespace sloop::objstore {
namespace {

// A parsed document as a tree: S3's answers are small (a list page is at most 1000 keys), and a
// tree lets each reader ask for its elements by path instead of each carrying a state machine.
struct Node {
  std::string name;
  std::string text;
  std::vector<std::unique_ptr<Node>> children;

  const Node* Child(std::string_view n) const {
    for (const auto& c : children) {
      if (c->name == n) return c.get();
    }
    return nullptr;
  }
  std::string ChildText(std::string_view n) const {
    const Node* c = Child(n);
    return c ? c->text : std::string();
  }
};

// S3's answers nest four elements deep; deeper is hostile (and a tree freed recursively must
// stay shallow).
constexpr size_t kMaxDepth = 32;

struct Builder {
  Node root;
  std::vector<Node*> stack{&root};
  XML_Parser parser = nullptr;
  bool too_deep = false;
};

void XMLCALL OnStart(void* data, const XML_Char* name, const XML_Char** /*attrs*/) {
  auto* b = static_cast<Builder*>(data);
  if (b->too_deep) return;
  if (b->stack.size() > kMaxDepth) {
    b->too_deep = true;
    XML_StopParser(b->parser, XML_FALSE);
    return;
  }
  auto n = std::make_unique<Node>();
  n->name = name;
  Node* raw = n.get();
  b->stack.back()->children.push_back(std::move(n));
  b->stack.push_back(raw);
}

void XMLCALL OnEnd(void* data, const XML_Char* /*name*/) {
  auto* b = static_cast<Builder*>(data);
  if (!b->too_deep && b->stack.size() > 1) b->stack.pop_back();
}

void XMLCALL OnText(void* data, const XML_Char* s, int len) {
  static_cast<Builder*>(data)->stack.back()->text.append(s, static_cast<size_t>(len));
}

// The document's root element; kCorruption naming what (the answer being read) when the XML is
// not well-formed.
Result<std::unique_ptr<Node>> Parse(std::string_view xml, std::string_view what) {
  std::unique_ptr<XML_ParserStruct, decltype(&XML_ParserFree)> p(XML_ParserCreate(nullptr),
                                                                 &XML_ParserFree);
  if (!p) return MakeError(ErrorCode::kIOError, "cannot create an XML parser");
  Builder b;
  b.parser = p.get();
  XML_SetUserData(p.get(), &b);
  XML_SetElementHandler(p.get(), OnStart, OnEnd);
  XML_SetCharacterDataHandler(p.get(), OnText);
  if (xml.size() > static_cast<size_t>(INT32_MAX)) {
    return MakeError(ErrorCode::kCorruption, std::string(what) + ": XML answer too large");
  }
  const auto status = XML_Parse(p.get(), xml.data(), static_cast<int>(xml.size()), XML_TRUE);
  if (b.too_deep) {
    return MakeError(ErrorCode::kCorruption, std::string(what) + ": XML nested deeper than " +
                                                 std::to_string(kMaxDepth) + " elements");
  }
  if (status != XML_STATUS_OK) {
    return MakeError(ErrorCode::kCorruption, std::string(what) + ": bad XML at line " +
                                                 std::to_string(XML_GetCurrentLineNumber(p.get())) +
                                                 ": " + XML_ErrorString(XML_GetErrorCode(p.get())));
  }
  if (b.root.children.empty()) {
    return MakeError(ErrorCode::kCorruption, std::string(what) + ": empty XML answer");
  }
  return std::move(b.root.children.front());
}

Result<std::unique_ptr<Node>> ParseRoot(std::string_view xml, std::string_view root) {
  auto n = Parse(xml, root);
  if (!n) return n;
  if ((*n)->name != root) {
    return MakeError(ErrorCode::kCorruption,
                     "expected an XML <" + std::string(root) + ">, got <" + (*n)->name + ">");
  }
  return n;
}

std::string Unquote(std::string s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') return s.substr(1, s.size() - 2);
  return s;
}

}  // namespace

std::optional<S3ErrorBody> ParseS3Error(std::string_view xml) {
  if (xml.find("<Error") == std::string_view::npos) return std::nullopt;
  auto n = Parse(xml, "Error");
  if (!n || (*n)->name != "Error") return std::nullopt;
  return S3ErrorBody{(*n)->ChildText("Code"), (*n)->ChildText("Message"),
                     (*n)->ChildText("RequestId")};
}

Result<ListPage> ParseListBucketResult(std::string_view xml) {
  auto root = ParseRoot(xml, "ListBucketResult");
  if (!root) return std::unexpected(root.error());
  ListPage page;
  for (const auto& c : (*root)->children) {
    if (c->name == "Contents") {
      ObjectInfo o;
      o.key = c->ChildText("Key");
      const std::string size = c->ChildText("Size");
      auto [end, ec] = std::from_chars(size.data(), size.data() + size.size(), o.size);
      if (ec != std::errc() || end != size.data() + size.size() || o.key.empty()) {
        return MakeError(ErrorCode::kCorruption,
                         "ListBucketResult: a <Contents> without a key or a size (key \"" + o.key +
                             "\", size \"" + size + "\")");
      }
      o.etag = Unquote(c->ChildText("ETag"));
      page.objects.push_back(std::move(o));
    } else if (c->name == "CommonPrefixes") {
      page.common_prefixes.push_back(c->ChildText("Prefix"));
    }
  }
  if ((*root)->ChildText("IsTruncated") == "true") {
    page.next_token = (*root)->ChildText("NextContinuationToken");
    if (page.next_token.empty()) {
      return MakeError(ErrorCode::kCorruption,
                       "ListBucketResult: truncated without a NextContinuationToken");
    }
  }
  return page;
}

Result<std::string> ParseInitiateMultipartUpload(std::string_view xml) {
  auto root = ParseRoot(xml, "InitiateMultipartUploadResult");
  if (!root) return std::unexpected(root.error());
  std::string id = (*root)->ChildText("UploadId");
  if (id.empty()) {
    return MakeError(ErrorCode::kCorruption, "InitiateMultipartUploadResult without an UploadId");
  }
  return id;
}

Result<std::vector<std::string>> ParseListAllMyBuckets(std::string_view xml) {
  auto root = ParseRoot(xml, "ListAllMyBucketsResult");
  if (!root) return std::unexpected(root.error());
  std::vector<std::string> names;
  if (const Node* buckets = (*root)->Child("Buckets")) {
    for (const auto& b : buckets->children) {
      if (b->name == "Bucket") names.push_back(b->ChildText("Name"));
    }
  }
  return names;
}

std::string XmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string CompleteMultipartXml(const std::vector<std::string>& etags) {
  std::string out = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
  for (size_t i = 0; i < etags.size(); ++i) {
    std::string etag = etags[i];
    if (etag.empty() || etag.front() != '"') etag = "\"" + etag + "\"";
    out += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" + XmlEscape(etag) +
           "</ETag></Part>";
  }
  out += "</CompleteMultipartUpload>";
  return out;
}

}  // namespace sloop::objstore
