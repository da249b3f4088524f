// Fuzzes the link-template parser and evaluator (http/link_template.h) with arbitrary template
// text: any input is either refused with a message or expands; it never crashes, hangs or grows
// without bound.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "http/link_template.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto t = sloop::http::LinkTemplate::Parse(text, sloop::http::ResourceLinkFields());
  if (!t) {
    if (t.error().message.empty()) std::abort();  // every refusal says why
    return 0;
  }
  auto out = t->Expand({{"Name", "web-1"}, {"Namespace", "shop"}, {"Kind", "Pod"}, {"Uuid", "u"}});
  if (out && out->size() > (1u << 20)) std::abort();
  return 0;
}
