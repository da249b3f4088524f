#include "objstore/upload_state.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <string>

#include "base/file_sync.h"
#include "base/log.h"
#include "engine/store.h"

namespace sloop::objstore {
namespace {

constexpr const char* kHeader = "sloop-upload-state 1";

}  // namespace

Result<std::unique_ptr<UploadState>> UploadState::Load(const std::filesystem::path& store_root) {
  std::unique_ptr<UploadState> state(new UploadState(store_root));
  const auto path = store_root / kFileName;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    if (ec) return IOError("stat", path.string(), ec.value());
    return state;
  }
  std::ifstream in(path);
  if (!in) return IOError("open", path.string(), errno);
  std::string line;
  bool ok = static_cast<bool>(std::getline(in, line)) && line == kHeader;
  std::map<uint64_t, uint64_t> uploaded;
  bool ended = false;
  while (ok && std::getline(in, line)) {
    if (line == "end") {
      ended = true;
      break;
    }
    std::istringstream fields(line);
    uint64_t id = 0, bytes = 0;
    std::string rest;
    ok = static_cast<bool>(fields >> id >> bytes) && !(fields >> rest);
    if (ok) uploaded[id] = bytes;
  }
  if (in.bad()) return IOError("read", path.string(), errno);
  if (ok && ended) {
    state->uploaded_ = std::move(uploaded);
    return state;
  }
  const auto aside = std::filesystem::path(path) += ".damaged";
  std::filesystem::rename(path, aside, ec);
  LogLine("objstore", "the upload state " + path.string() +
                          " is damaged; set aside as " + aside.string() +
                          ": shards already in the bucket are recognised by their manifests and "
                          "not uploaded again");
  return state;
}

void UploadState::Attach(UploadState* state, StoreOptions* options) {
  options->shard_uploaded = [state](const ShardInfo& info) {
    return state->Uploaded(info) || state->GaveUp(info.id);
  };
  options->on_sealed = [state](const ShardInfo&) { state->NoteSealed(); };
}

bool UploadState::Uploaded(const ShardInfo& info) const {
  std::lock_guard lock(mu_);
  auto it = uploaded_.find(info.id);
  return it != uploaded_.end() && it->second == info.segment_bytes;
}

Result<void> UploadState::MarkUploaded(const ShardInfo& info) {
  // Writers in turn; the map's lock (which the Store's retention takes) not over the fsyncs.
  std::lock_guard save(save_mu_);
  std::string text;
  {
    std::lock_guard lock(mu_);
    uploaded_[info.id] = info.segment_bytes;
    text = TextLocked();
  }
  return Save(text);
}

Result<void> UploadState::Retain(const std::set<uint64_t>& keep) {
  std::lock_guard save(save_mu_);
  std::string text;
  {
    std::lock_guard lock(mu_);
    const size_t before = uploaded_.size();
    std::erase_if(uploaded_, [&](const auto& kv) { return !keep.contains(kv.first); });
    if (uploaded_.size() == before) return {};
    text = TextLocked();
  }
  return Save(text);
}

size_t UploadState::size() const {
  std::lock_guard lock(mu_);
  return uploaded_.size();
}

void UploadState::GiveUp(uint64_t id) {
  std::lock_guard lock(mu_);
  gave_up_.insert(id);
}

bool UploadState::GaveUp(uint64_t id) const {
  std::lock_guard lock(mu_);
  return gave_up_.contains(id);
}

void UploadState::NoteSealed() {
  // Called with its lock held, so that once SetSealedListener(nullptr) returns, no call of the
  // old listener is running (its owner may go).
  std::lock_guard lock(listener_mu_);
  if (listener_) listener_();
}

void UploadState::SetSealedListener(std::function<void()> listener) {
  std::lock_guard lock(listener_mu_);
  listener_ = std::move(listener);
}

std::string UploadState::TextLocked() const {
  std::string text = std::string(kHeader) + "\n";
  for (const auto& [id, bytes] : uploaded_) {
    text += std::to_string(id) + " " + std::to_string(bytes) + "\n";
  }
  text += "end\n";  // a file cut short is recognised as damaged
  return text;
}

Result<void> UploadState::Save(const std::string& text) const {
  const auto path = root_ / kFileName;
  const auto tmp = std::filesystem::path(path) += ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return IOError("create", tmp.string(), errno);
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      return IOError("write", tmp.string(), e);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    int e = errno;
    ::close(fd);
    return IOError("fsync", tmp.string(), e);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return IOError("rename", tmp.string(), errno);
  return SyncDir(root_);
}

}  // namespace sloop::objstore
