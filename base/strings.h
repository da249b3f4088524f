// Small string helpers every layer uses.
#pragma once

#include <algorithm>
#include <cctype>
#include <string_view>

namespace sloop {

// True when a and b are the same but for ASCII letter case ("gzip" and "GZip"; "Pod" and "pod").
inline bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace sloop
