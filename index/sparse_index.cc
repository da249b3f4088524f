#include "index/sparse_index.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "schema/index_generated.h"

namespace sloop {
namespace {

std::string_view Str(const flatbuffers::String* s) {
  return s ? std::string_view(s->data(), s->size()) : std::string_view();
}

}  // namespace

SparseIndex::~SparseIndex() {
  if (map_) munmap(map_, size_);
}

Result<std::shared_ptr<SparseIndex>> SparseIndex::Open(const std::filesystem::path& path,
                                                       bool verify) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return IOError("open index", path.string(), errno);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    return IOError("stat index", path.string(), e);
  }
  std::shared_ptr<SparseIndex> index(new SparseIndex());
  index->path_ = path;
  index->size_ = static_cast<size_t>(st.st_size);
  if (index->size_ < 8) {
    ::close(fd);
    return MakeError(ErrorCode::kCorruption,
                     "index " + path.string() + ": file is " + std::to_string(index->size_) +
                         " bytes, too short to be a shard index; delete it to rebuild the index "
                         "from its segment");
  }
  void* map = mmap(nullptr, index->size_, PROT_READ, MAP_SHARED, fd, 0);
  int e = errno;
  ::close(fd);
  if (map == MAP_FAILED) return IOError("mmap index", path.string(), e);
  index->map_ = map;
  const auto* buf = static_cast<const uint8_t*>(map);
  if (!flatbuffers::BufferHasIdentifier(buf, fb::ShardIndexIdentifier())) {
    return MakeError(ErrorCode::kCorruption,
                     "index " + path.string() + ": not a sloop shard index (identifier)");
  }
  flatbuffers::Verifier::Options opts;
  opts.max_tables = 0xffffffffu;  // one table per resource and owner: large clusters have many
  flatbuffers::Verifier verifier(buf, index->size_, opts);
  if (verify && !fb::VerifyShardIndexBuffer(verifier)) {
    return MakeError(ErrorCode::kCorruption,
                     "index " + path.string() + ": failed verification (damaged file)");
  }
  index->root_ = fb::GetShardIndex(buf);
  // Verification touched every page: let them go until a query reads them.
  index->ReleaseMemory();
  if (index->root_->format_version() != kFormatVersion) {
    return MakeError(ErrorCode::kUnsupported, "index " + path.string() + ": format version " +
                                                  std::to_string(index->root_->format_version()) +
                                                  " is not supported by this build (" +
                                                  std::to_string(kFormatVersion) +
                                                  "); upgrade sloop");
  }
  if (!index->root_->entries()) {
    return MakeError(ErrorCode::kCorruption, "index " + path.string() + ": no entry vector");
  }
  return index;
}

Result<void> SparseIndex::WriteFile(const std::filesystem::path& path, const uint8_t* buf,
                                    size_t size) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return IOError("create index", path.string(), errno);
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::write(fd, buf + done, size - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      return IOError("write index", path.string(), e);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    int e = errno;
    ::close(fd);
    return IOError("fsync index", path.string(), e);
  }
  if (::close(fd) != 0) return IOError("close index", path.string(), errno);
  return {};
}

void SparseIndex::ReleaseMemory() const {
  if (map_) madvise(map_, size_, MADV_DONTNEED);
}

SparseIndex::SparseIndex(SparseIndex&& o) noexcept
    : path_(std::move(o.path_)), map_(o.map_), size_(o.size_), root_(o.root_) {
  o.map_ = nullptr;
  o.root_ = nullptr;
}

Result<SparseIndex> SparseIndex::View(const uint8_t* buf, size_t size,
                                      const std::filesystem::path& path) {
  SparseIndex index;
  index.path_ = path;
  index.size_ = size;
  if (size < 8 || !flatbuffers::BufferHasIdentifier(buf, fb::ShardIndexIdentifier())) {
    return MakeError(ErrorCode::kCorruption, "index " + path.string() + ": not a shard index");
  }
  index.root_ = fb::GetShardIndex(buf);
  if (index.root_->format_version() != kFormatVersion || !index.root_->entries()) {
    return MakeError(ErrorCode::kCorruption,
                     "index " + path.string() + ": changed since it was verified");
  }
  return index;
}

uint32_t SparseIndex::size() const { return root_->entries()->size(); }

const fb::ResourceEntry* SparseIndex::entry(uint32_t i) const { return root_->entries()->Get(i); }

ResourceKeyView SparseIndex::key(uint32_t i) const {
  const fb::ResourceEntry* e = entry(i);
  return {Str(e->kind()), Str(e->namespace_()), Str(e->name()), Str(e->uid())};
}

std::pair<uint32_t, uint32_t> SparseIndex::Find(std::string_view kind, std::string_view ns,
                                                std::string_view name) const {
  // Compare an entry with the prefix (kind[, ns[, name]]); -1, 0, 1.
  int depth = kind.empty() ? 0 : ns.empty() ? 1 : name.empty() ? 2 : 3;
  if (depth == 0) return {0, size()};
  auto cmp = [&](uint32_t i) {
    ResourceKeyView k = key(i);
    if (int c = k.kind.compare(kind); c != 0 || depth == 1) return c;
    if (int c = k.namespace_.compare(ns); c != 0 || depth == 2) return c;
    return k.name.compare(name);
  };
  uint32_t lo = 0, hi = size();
  while (lo < hi) {  // first entry not less than the prefix
    uint32_t mid = lo + (hi - lo) / 2;
    if (cmp(mid) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  uint32_t first = lo;
  hi = size();
  while (lo < hi) {  // first entry greater than the prefix
    uint32_t mid = lo + (hi - lo) / 2;
    if (cmp(mid) <= 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return {first, lo};
}

uint32_t SparseIndex::FindExact(const ResourceKeyView& target) const {
  uint32_t lo = 0, hi = size();
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (key(mid) < target)
      lo = mid + 1;
    else
      hi = mid;
  }
  return (lo < size() && key(lo) == target) ? lo : size();
}

std::pair<const fb::EventLink*, const fb::EventLink*> SparseIndex::EventsAbout(
    uint32_t involved) const {
  const auto* links = root_->event_links();
  if (!links || links->size() == 0) return {nullptr, nullptr};
  const fb::EventLink* begin = links->Get(0);
  const fb::EventLink* end = begin + links->size();
  auto lo = std::lower_bound(begin, end, involved,
                             [](const fb::EventLink& l, uint32_t v) { return l.involved() < v; });
  auto hi = std::upper_bound(lo, end, involved,
                             [](uint32_t v, const fb::EventLink& l) { return v < l.involved(); });
  return {lo, hi};
}

}  // namespace sloop
