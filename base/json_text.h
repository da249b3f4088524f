// JSON text: one way to write a string as a JSON string literal, for every layer that writes JSON
// by hand (capture files, backup manifests, API request bodies, kubesim's API answers).
#pragma once

#include <string>
#include <string_view>

namespace sloop {

// Appends s to *out as a JSON string literal (RFC 8259): '"' and '\\' escaped, \b \f \n \r \t in
// their short forms, every other byte below 0x20 as \u00xx (lower-case hex). Every other byte is
// copied as it is: UTF-8 passes through, and invalid UTF-8 is not checked (what the web answers
// write needs http/json_writer.h's AppendJsonString, which also makes the text safe in HTML).
void AppendJsonString(std::string* out, std::string_view s);

// The JSON string literal of s, as AppendJsonString writes it.
std::string JsonQuote(std::string_view s);

}  // namespace sloop
