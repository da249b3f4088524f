#include "base/status.h"

#include <cstring>

namespace sloop {

const char* ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return "invalid argument";
    case ErrorCode::kNotFound:
      return "not found";
    case ErrorCode::kAlreadyExists:
      return "already exists";
    case ErrorCode::kCorruption:
      return "corruption";
    case ErrorCode::kUnsupported:
      return "unsupported";
    case ErrorCode::kIOError:
      return "I/O error";
    case ErrorCode::kUnavailable:
      return "unavailable";
    case ErrorCode::kAborted:
      return "aborted";
  }
  return "error";
}

std::unexpected<Error> IOError(const std::string& what, const std::string& path, int errnum) {
  return MakeError(ErrorCode::kIOError, what + ": " + path + ": " + std::strerror(errnum));
}

}  // namespace sloop
