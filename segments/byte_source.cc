#include "segments/byte_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sloop {

Result<std::unique_ptr<FileByteSource>> FileByteSource::Open(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return IOError("open segment", path.string(), errno);
  return std::unique_ptr<FileByteSource>(new FileByteSource(fd));
}

FileByteSource::~FileByteSource() { ::close(fd_); }

uint64_t FileByteSource::Size() const {
  struct stat st;
  return fstat(fd_, &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

bool FileByteSource::ReadAt(char* buf, size_t n, uint64_t offset, int* err,
                            std::string* why) const {
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd_, buf + done, n - done, static_cast<off_t>(offset + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      *err = errno;
      *why = std::string("read failed: ") + std::strerror(errno);
      return false;
    }
    if (r == 0) {
      *err = 0;
      *why = "end of file";
      return false;
    }
    done += static_cast<size_t>(r);
  }
  return true;
}

}  // namespace sloop
