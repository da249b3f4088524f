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

// Appends the escape of the one byte c: \" \\ \b \f \n \r \t, or \u00xx (lower-case hex) for
// any other byte, for a writer whose own rules say which bytes to escape.
void AppendJsonEscape(std::string* out, unsigned char c);

// The JSON string literal of s, as AppendJsonString writes it.
std::string JsonQuote(std::string_view s);

// json without the white space (space, tab, CR, LF) between its tokens, as an API server sends
// it; what stands inside strings is kept as it is. The text is not checked: anything that is not
// a string's content loses its white space.
std::string CompactJson(std::string_view json);

}  // namespace sloop
