#include "base/file_sync.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace sloop {

Result<void> SyncDir(const std::filesystem::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return IOError("open directory", dir.string(), errno);
  int rc = ::fsync(fd);
  int e = errno;
  ::close(fd);
  if (rc != 0) return IOError("fsync directory", dir.string(), e);
  return {};
}

}  // namespace sloop
