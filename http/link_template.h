// The subset of Go's text/template that Sloop's resourceLinks and leftBarLinks are written in:
// text with {{ actions }}; an action is a pipeline of commands joined by '|', the value on the
// left given as the last argument of the command on the right. Operands: fields of the data
// ({{.Name}}), string ("a", `raw`), integer and boolean constants, and parenthesised pipelines.
// Functions: ToUpper, ToLower (Sloop's own), urlquery, printf, print, index, len, html, js.
// Trim markers ({{- and -}}) and comments ({{/* … */}}) work as in Go.
//
// What is outside the subset (if/range/with/define/template/block, variables, methods, an
// unknown function or field) fails in Parse with a message naming it, so that a config file is
// refused at start-up rather than showing a half-expanded link.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace sloop::http {

class LinkTemplate {
 public:
  // The data a template may name: field name → value (all strings, as in Sloop's structs).
  using Data = std::map<std::string, std::string, std::less<>>;

  // Parses `text`; every {{.Field}} must be one of `fields`. The error names the construct and
  // its byte offset, e.g. "offset 12: function \"lower\" is not defined (use ToLower)".
  static Result<LinkTemplate> Parse(std::string_view text, const std::vector<std::string>& fields);

  // Runs the template over `data` (a field missing from data reads as ""). An error is a
  // run-time failure Go would report too: index out of range, a wrong argument type.
  Result<std::string> Expand(const Data& data) const;

  const std::string& text() const { return text_; }

  struct Node;  // parsed form (link_template.cc)
  LinkTemplate(const LinkTemplate&);
  LinkTemplate& operator=(const LinkTemplate&);
  LinkTemplate(LinkTemplate&&) noexcept;
  LinkTemplate& operator=(LinkTemplate&&) noexcept;
  ~LinkTemplate();

 private:
  LinkTemplate() = default;
  std::string text_;
  std::shared_ptr<const std::vector<Node>> nodes_;  // immutable once parsed: copies share it
};

// The fields Sloop gives each kind of link: a resource link sees the resource
// (Name, Namespace, Kind, Uuid); a left-bar link sees the page (CurrentContext, DefaultKind,
// DefaultNamespace, DefaultLookback).
const std::vector<std::string>& ResourceLinkFields();
const std::vector<std::string>& LeftBarLinkFields();

}  // namespace sloop::http
