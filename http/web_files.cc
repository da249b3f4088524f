// The UI routes: /<ctx> (index.html, with Sloop's template values filled in) and
// /<ctx>/webfiles/<path> (static files from -web-files-path, else the embedded table).
#include "http/web_files.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "http/json_writer.h"
#include "http/routes_internal.h"

namespace sloop::http {

const EmbeddedFile* FindEmbeddedWebFile(std::string_view path) {
  auto files = EmbeddedWebFiles();
  auto it = std::lower_bound(files.begin(), files.end(), path,
                             [](const EmbeddedFile& f, std::string_view p) { return f.path < p; });
  if (it == files.end() || it->path != path) return nullptr;
  return &*it;
}

namespace {

constexpr uintmax_t kMaxDiskFileBytes = 64ull << 20;

void ReplaceAll(std::string& s, std::string_view from, std::string_view to) {
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) {
    s.replace(pos, from.size(), to);
  }
}

// The file rel under root, when it resolves (symlinks followed) to a regular file inside root.
// A path that leaves the root through a symlink is treated as absent.
std::optional<std::filesystem::path> ResolveUnder(const std::string& root, const std::string& rel) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path base = fs::weakly_canonical(fs::path(root), ec);
  if (ec) return std::nullopt;
  fs::path real = fs::weakly_canonical(base / rel, ec);
  if (ec) return std::nullopt;
  // real must be base or below it, compared component by component.
  auto b = base.begin(), r = real.begin();
  for (; b != base.end() && !b->empty(); ++b, ++r) {
    if (r == real.end() || *r != *b) return std::nullopt;
  }
  if (!fs::is_regular_file(real, ec)) return std::nullopt;
  return real;
}

// Looks the file up on disk (when a directory is configured) and then in the embedded table.
// Returns false when neither has it.
bool LoadWebFile(const HandlerContext& ctx, const std::string& rel, std::string* data,
                 std::string* type) {
  if (!ctx.options.web_files_path.empty()) {
    std::error_code ec;
    if (auto p = ResolveUnder(ctx.options.web_files_path, rel)) {
      auto size = std::filesystem::file_size(*p, ec);
      if (!ec && size <= kMaxDiskFileBytes) {
        std::ifstream in(*p, std::ios::binary);
        std::ostringstream ss;
        ss << in.rdbuf();
        if (in) {
          *data = ss.str();
          *type = std::string(ContentTypeForPath(rel));
          return true;
        }
      }
    }
  }
  if (const EmbeddedFile* f = FindEmbeddedWebFile(rel)) {
    *data = std::string(f->data);
    *type = std::string(f->content_type);
    return true;
  }
  return false;
}

Response Index(const HandlerContext& ctx, const Request& req) {
  Params p(req);
  std::string data, type;
  if (!LoadWebFile(ctx, "index.html", &data, &type)) {
    return ErrorResponse(404, "", "the UI has no index.html");
  }
  // Sloop's index template fields.
  ReplaceAll(data, "{{.DefaultLookback}}", HtmlEscape(ctx.options.default_lookback));
  ReplaceAll(data, "{{.DefaultNamespace}}", HtmlEscape(ctx.options.default_namespace));
  ReplaceAll(data, "{{.DefaultKind}}", HtmlEscape(ctx.options.default_kind));
  ReplaceAll(data, "{{.CurrentContext}}", HtmlEscape(ctx.options.UrlContext()));
  Response r = TextResponse(std::move(data), 200, type);
  r.SetHeader("Cache-Control", "no-cache");
  return r;
}

Response WebFile(const HandlerContext& ctx, const Request& req) {
  const std::string prefix = ctx.prefix + "/webfiles/";
  std::string rel = req.path.substr(prefix.size());
  if (rel.empty()) return ErrorResponse(404, "", "no file named");
  if (rel.front() == '/' || rel.find('\\') != std::string::npos) {
    return ErrorResponse(400, "path", "absolute paths are not served");
  }
  for (size_t pos = 0; pos <= rel.size();) {
    size_t slash = rel.find('/', pos);
    if (slash == std::string::npos) slash = rel.size();
    std::string_view seg(rel.data() + pos, slash - pos);
    if (seg == "..") return ErrorResponse(400, "path", "\"..\" is not allowed in a path");
    if (seg.empty() || seg == ".") return ErrorResponse(400, "path", "empty path segment");
    pos = slash + 1;
  }
  std::string data, type;
  if (!LoadWebFile(ctx, rel, &data, &type)) {
    return ErrorResponse(404, "", "no such file: " + rel.substr(0, 200));
  }
  Response r = TextResponse(std::move(data), 200, type);
  r.SetHeader("Cache-Control", "public, max-age=300");
  return r;
}

}  // namespace

void AddWebFileRoutes(Router& router, ContextPtr ctx) {
  Handler index = [ctx](const Request& req) { return Index(*ctx, req); };
  // Files are small and bounded (64 MiB at most): answered on the I/O threads.
  const RouteClass quick{Lane::kInline, Access::kUser};
  router.Exact(ctx->prefix, "index", index, quick);
  router.Exact(ctx->prefix + "/", "index", index, quick);
  router.Prefix(
      ctx->prefix + "/webfiles/", "webFile",
      [ctx](const Request& req) { return WebFile(*ctx, req); }, quick);
}

}  // namespace sloop::http
