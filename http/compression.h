// Response compression: zstd or gzip, chosen from the request's Accept-Encoding.
#pragma once

#include <string>
#include <string_view>

namespace sloop::http {

// "zstd", "gzip" or "" (send as is). zstd wins when both are accepted; q=0 refuses a coding.
std::string_view ChooseEncoding(std::string_view accept_encoding);

// Whether a body of this Content-Type is worth compressing (text, JSON, JS, CSS, SVG).
bool IsCompressibleType(std::string_view content_type);

// Compresses in with the coding ("zstd" or "gzip") into *out; false on failure.
bool Compress(std::string_view encoding, std::string_view in, std::string* out);

// Inverse of Compress, for tests; false on failure.
bool Decompress(std::string_view encoding, std::string_view in, std::string* out);

}  // namespace sloop::http
