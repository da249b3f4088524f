// The browser UI's files, embedded into the binary at build time: webfiles/dist/ when it has been
// built, else a placeholder index.html that says so (http/placeholder/). A -web-files-path
// directory, when given, is read first.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace sloop::http {

struct EmbeddedFile {
  std::string_view path;  // relative, "/"-separated: "index.html", "js/app.js"
  std::string_view content_type;
  std::string_view data;
};

// The embedded table (generated: see http/embed_web_files.cmake), sorted by path.
std::span<const EmbeddedFile> EmbeddedWebFiles();

// The embedded file at path, or nullptr.
const EmbeddedFile* FindEmbeddedWebFile(std::string_view path);

// Content-Type by file extension ("application/octet-stream" when unknown).
constexpr std::string_view ContentTypeForPath(std::string_view path) {
  struct Type {
    std::string_view ext, type;
  };
  constexpr Type kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".htm", "text/html; charset=utf-8"},
      {".js", "application/javascript"},
      {".mjs", "application/javascript"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".gif", "image/gif"},
      {".ico", "image/x-icon"},
      {".txt", "text/plain; charset=utf-8"},
      {".woff", "font/woff"},
      {".woff2", "font/woff2"},
      {".ttf", "font/ttf"},
      {".wasm", "application/wasm"},
  };
  for (const Type& t : kTypes) {
    if (path.size() >= t.ext.size() && path.substr(path.size() - t.ext.size()) == t.ext) {
      return t.type;
    }
  }
  return "application/octet-stream";
}

}  // namespace sloop::http
