#include "engine/store_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

namespace sloop {
namespace {

// The pid the holder wrote, or "unknown" (it may not have written it yet).
std::string HolderPid(int fd) {
  char buf[32] = {};
  ssize_t n = ::pread(fd, buf, sizeof(buf) - 1, 0);
  std::string s = n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos) return "unknown";
  return s;
}

}  // namespace

Result<StoreLock> StoreLock::Acquire(const std::filesystem::path& root, std::string_view purpose) {
  std::error_code ec;
  std::filesystem::create_directories(root, ec);
  if (ec) {
    return MakeError(ErrorCode::kIOError, "cannot create the store directory " + root.string() +
                                              ": " + ec.message() +
                                              " (check -store-root and its permissions)");
  }
  StoreLock lock;
  lock.path_ = root / kFileName;
  // A holder that gave up between our open and our flock may have left us a file it unlinked
  // (it never does today, but a person might): lock the inode that is at the path.
  for (int attempt = 0; attempt < 8; ++attempt) {
    int fd = ::open(lock.path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    bool writable = true;
    if (fd < 0 && errno == EROFS) {
      // A store on a read-only filesystem (a mounted snapshot) can only be read: lock the file
      // when it is there (flock needs no write access), else nobody can be writing it.
      writable = false;
      fd = ::open(lock.path_.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0 && errno == ENOENT) return lock;
    }
    if (fd < 0) return IOError("open the store's lock file", lock.path_.string(), errno);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int e = errno;
      if (e == EINTR) {
        ::close(fd);
        continue;
      }
      std::string holder = HolderPid(fd);
      ::close(fd);
      if (e != EWOULDBLOCK) return IOError("lock", lock.path_.string(), e);
      return MakeError(ErrorCode::kUnavailable,
                       "store " + root.string() + " is in use by process " + holder +
                           " (it holds the lock " + lock.path_.string() + "); cannot " +
                           std::string(purpose) +
                           " while it runs: stop that process first, or use another -store-root");
    }
    struct stat by_fd, by_path;
    if (::fstat(fd, &by_fd) != 0 || ::stat(lock.path_.c_str(), &by_path) != 0 ||
        by_fd.st_ino != by_path.st_ino || by_fd.st_dev != by_path.st_dev) {
      ::close(fd);
      continue;
    }
    const std::string pid = std::to_string(::getpid()) + "\n";
    if (writable && (::ftruncate(fd, 0) != 0 ||
                     ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size()))) {
      const int e = errno;
      ::close(fd);
      return IOError("write the pid into the lock file", lock.path_.string(), e);
    }
    lock.fd_ = fd;
    return lock;
  }
  return MakeError(ErrorCode::kUnavailable,
                   "the lock file " + lock.path_.string() +
                       " keeps being replaced while it is taken; is something deleting it?");
}

StoreLock::StoreLock(StoreLock&& o) noexcept
    : fd_(std::exchange(o.fd_, -1)), path_(std::move(o.path_)) {}

StoreLock& StoreLock::operator=(StoreLock&& o) noexcept {
  if (this != &o) {
    Release();
    fd_ = std::exchange(o.fd_, -1);
    path_ = std::move(o.path_);
  }
  return *this;
}

StoreLock::~StoreLock() { Release(); }

void StoreLock::Release() {
  if (fd_ < 0) return;
  // The pid goes with the lock, so that a reader of the file is not misled; closing unlocks.
  if ((::fcntl(fd_, F_GETFL) & O_ACCMODE) == O_RDWR) (void)::ftruncate(fd_, 0);
  ::close(fd_);
  fd_ = -1;
}

}  // namespace sloop
